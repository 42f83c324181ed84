//! Sweeping old try folders (`<home>/tries/<dag>/<run>/<task>/<try>/`). A try's folder
//! matters while its try runs and until the scheduler has read its result; after
//! `[scheduler] try_retention` it is removed. Logs (`<home>/logs/`) are the runs' history
//! that the UI, the API and `cambium tasks logs` show, and are kept.

use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Removes the try folders under `tries_root` that ended (their `result.json` was written)
/// more than `retention` before `now`, and those whose supervisor never started (no `pid`
/// and no result) with a `spec.json` as old; then the folders left empty above them.
/// Returns how many try folders were removed. A folder that cannot be read is skipped.
pub fn sweep_tries(tries_root: &Path, retention: Duration, now: SystemTime) -> io::Result<usize> {
    let Some(cutoff) = now.checked_sub(retention) else {
        return Ok(0);
    };
    let old = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < cutoff)
    };
    let mut removed = 0;
    for dag in subdirs(tries_root) {
        for run in subdirs(&dag) {
            for task in subdirs(&run) {
                for attempt in subdirs(&task) {
                    let result = attempt.join("result.json");
                    let ended_long_ago = result.exists() && old(&result);
                    let never_started = !result.exists()
                        && !attempt.join("pid").exists()
                        && old(&attempt.join("spec.json"));
                    if (ended_long_ago || never_started)
                        && std::fs::remove_dir_all(&attempt).is_ok()
                    {
                        removed += 1;
                    }
                }
                let _ = std::fs::remove_dir(&task);
            }
            let _ = std::fs::remove_dir(&run);
        }
        let _ = std::fs::remove_dir(&dag);
    }
    Ok(removed)
}

/// The folders directly inside `dir` (none when it cannot be read).
fn subdirs(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make_try(root: &Path, run: &str, files: &[&str]) -> std::path::PathBuf {
        let dir = root.join("d").join(run).join("t").join("1");
        std::fs::create_dir_all(&dir).expect("mkdir");
        for f in files {
            std::fs::write(dir.join(f), "{}").expect("write");
        }
        dir
    }

    #[test]
    fn old_finished_and_never_started_tries_go_running_ones_stay() {
        let root = tempfile::tempdir().expect("tempdir");
        let finished = make_try(root.path(), "r1", &["spec.json", "pid", "result.json"]);
        let running = make_try(root.path(), "r2", &["spec.json", "pid"]);
        let never = make_try(root.path(), "r3", &["spec.json"]);
        let week = Duration::from_secs(7 * 86_400);

        // Nothing is old yet.
        assert_eq!(
            sweep_tries(root.path(), week, SystemTime::now()).expect("sweep"),
            0
        );
        assert!(finished.exists() && running.exists() && never.exists());

        // Eight days later: the finished and the never-started tries go, with their empty
        // run folders; the running one (no result yet) stays.
        let later = SystemTime::now() + Duration::from_secs(8 * 86_400);
        assert_eq!(sweep_tries(root.path(), week, later).expect("sweep"), 2);
        assert!(!finished.exists() && !never.exists());
        assert!(!root.path().join("d").join("r1").exists());
        assert!(running.exists());
    }

    #[test]
    fn a_missing_tries_folder_is_nothing_to_sweep() {
        let root = tempfile::tempdir().expect("tempdir");
        let none = root.path().join("tries");
        assert_eq!(
            sweep_tries(&none, Duration::from_secs(1), SystemTime::now()).expect("sweep"),
            0
        );
    }
}
