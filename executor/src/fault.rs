//! Crash points for the crash-safety tests: `CAMBIUM_FAULT=<point>[:<n>]` makes the process
//! kill itself with SIGKILL (as `kill -9` would) the `n`-th time (default: the first) it
//! passes the named point. Only the end-to-end tests set it; unset, a point costs one
//! look at a value read once.
//!
//! Points: `after-claim` (the scheduler committed a claim and has not handed the try to
//! the executor), `after-spec` (the executor wrote the try's `spec.json` and has not started
//! its supervisor), `after-spawn` (the supervisor is started and the scheduler has not
//! heard of it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The environment variable naming the crash point.
pub const ENV: &str = "CAMBIUM_FAULT";

static SET: OnceLock<Option<(String, u64)>> = OnceLock::new();
static HITS: AtomicU64 = AtomicU64::new(0);

fn parse(text: &str) -> Option<(String, u64)> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.split_once(':') {
        Some((name, n)) => Some((name.to_string(), n.trim().parse().ok()?)),
        None => Some((text.to_string(), 1)),
    }
}

/// Kills this process with SIGKILL when `CAMBIUM_FAULT` names this point and it is the
/// configured hit.
pub fn point(name: &str) {
    let Some((wanted, n)) = SET
        .get_or_init(|| std::env::var(ENV).ok().and_then(|v| parse(&v)))
        .as_ref()
    else {
        return;
    };
    if wanted != name {
        return;
    }
    if HITS.fetch_add(1, Ordering::SeqCst) + 1 == *n {
        eprintln!("{ENV}: crashing at '{name}'");
        let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_point_and_its_hit() {
        assert_eq!(parse("after-claim"), Some(("after-claim".into(), 1)));
        assert_eq!(parse("after-spec:3"), Some(("after-spec".into(), 3)));
        assert_eq!(parse("after-spec:x"), None);
        assert_eq!(parse(""), None);
    }
}
