//! Watching the DAGs folder: a recursive `notify` watcher that signals when `*.rhai` files (or
//! folders that may hold them) are created, changed, renamed or removed.

use crate::LoaderError;
use notify::{Event, EventKind, RecursiveMode, Watcher};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver};

/// Watches `root` recursively; sends `()` on the channel when `*.rhai` files change. Keep the
/// returned watcher alive for as long as events are wanted.
pub fn watch(root: &Path) -> Result<(notify::RecommendedWatcher, Receiver<()>), LoaderError> {
    let (tx, rx) = channel();
    let to_error = |source| LoaderError::Watch {
        path: root.display().to_string(),
        source,
    };
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<Event>| {
        if let Ok(event) = res {
            if is_relevant(&event) {
                // The receiver may be gone; then nobody is listening any more.
                let _ = tx.send(());
            }
        }
    })
    .map_err(to_error)?;
    watcher
        .watch(root, RecursiveMode::Recursive)
        .map_err(to_error)?;
    Ok((watcher, rx))
}

/// True for events that may change the set or content of `*.rhai` files.
fn is_relevant(event: &Event) -> bool {
    if matches!(event.kind, EventKind::Access(_)) {
        return false;
    }
    event.paths.iter().any(|p| match p.extension() {
        Some(ext) => ext == "rhai",
        // A folder created, moved or removed may hold DAG files.
        None => !matches!(
            event.kind,
            EventKind::Modify(notify::event::ModifyKind::Metadata(_))
        ),
    })
}
