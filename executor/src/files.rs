//! The files in a try's folder and their formats: `spec.json` (the request), `pid` (the
//! supervisor's pid and start time), `child.pid`, `result.json` (how the process ended),
//! and the protocol files `output.json` and `metrics.json`. Also the `/proc` checks that
//! tell whether a recorded pid is still the same live process.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The request the supervisor runs.
pub const SPEC: &str = "spec.json";
/// `"<pid> <start time in clock ticks>"` of the supervisor, or [`RELEASED`]. Created once
/// and never replaced (see [`claim_pid`]): whoever creates it owns the try.
pub const PID: &str = "pid";
/// The `pid` file's text when a scheduler released a try that no supervisor had started.
pub const RELEASED: &str = "released\n";
/// The pid of the task's process (the leader of its process group).
pub const CHILD_PID: &str = "child.pid";
/// How the task's process ended, written atomically by the supervisor.
pub const RESULT: &str = "result.json";
/// What the task wrote to `$CAMBIUM_OUTPUT`.
pub const OUTPUT: &str = "output.json";
/// What the task wrote to `$CAMBIUM_METRICS`.
pub const METRICS: &str = "metrics.json";

/// The supervisor's record of how a try's process ended (`result.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TryResult {
    /// The exit code; `None` when the process was killed by a signal.
    pub exit_code: Option<i32>,
    /// The signal that ended the process, if one did.
    #[serde(default)]
    pub signal: Option<i32>,
    /// True when the supervisor stopped the process because its timeout passed.
    #[serde(default)]
    pub timed_out: bool,
    /// True when the supervisor stopped the process because it was asked to (SIGTERM/SIGINT).
    #[serde(default)]
    pub killed: bool,
    /// When the process started; `None` when it could not be started.
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: DateTime<Utc>,
    /// A sentence for the user when the process could not be started or was stopped.
    #[serde(default)]
    pub error: Option<String>,
}

/// `dir/name`.
pub fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// Writes `bytes` to `dir/name` atomically: a temporary file (mode 0600: only the
/// scheduler's user reads a try's files), then a rename.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(bytes)?;
    }
    fs::rename(&tmp, dir.join(name))
}

/// Reads `dir/name`; `Ok(None)` when it does not exist.
pub fn read_optional(dir: &Path, name: &str) -> io::Result<Option<Vec<u8>>> {
    match fs::read(dir.join(name)) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates `dir/pid` with `text` unless it exists, atomically (a temporary file hard-linked
/// into place, so a reader never sees it half written). Returns whether this call created
/// it. Both a try's supervisor (before it starts the task) and a scheduler releasing a try
/// that never started claim the file this way, so exactly one of them goes on.
pub fn claim_pid(dir: &Path, text: &str) -> io::Result<bool> {
    let tmp = dir.join(format!(".pid.{}.tmp", std::process::id()));
    {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
    }
    let linked = fs::hard_link(&tmp, dir.join(PID));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// For a scheduler taking over a try whose scheduler died: when no supervisor has started
/// the try yet, makes sure none ever will (marks its `pid` file [`RELEASED`]) and returns
/// true; the try never ran and can be run again. False when a supervisor got there first
/// (the try is to be adopted). Creates the try's folder when the dead scheduler had not.
pub fn release_unstarted(dir: &Path) -> io::Result<bool> {
    fs::create_dir_all(dir)?;
    claim_pid(dir, RELEASED)
}

/// Removes `dir/name` if it exists.
pub fn remove_if_present(dir: &Path, name: &str) -> io::Result<()> {
    match fs::remove_file(dir.join(name)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// A process identity that survives pid reuse: the pid and its start time (field 22 of
/// `/proc/<pid>/stat`, in clock ticks since boot; 0 when `/proc` is not available).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessId {
    pub pid: i32,
    pub start_ticks: u64,
}

impl ProcessId {
    /// This process.
    pub fn current() -> ProcessId {
        let pid = std::process::id() as i32;
        let start_ticks = read_small("/proc/self/stat")
            .ok()
            .and_then(|stat| parse_stat(&stat))
            .map(|(_, ticks)| ticks)
            .unwrap_or(0);
        ProcessId { pid, start_ticks }
    }

    /// The `pid` file's text.
    pub fn to_file_text(self) -> String {
        format!("{} {}\n", self.pid, self.start_ticks)
    }

    /// Parses the `pid` file's text.
    pub fn parse(text: &str) -> Option<ProcessId> {
        let mut parts = text.split_whitespace();
        let pid = parts.next()?.parse().ok()?;
        let start_ticks = parts.next().map_or(Some(0), |t| t.parse().ok())?;
        (pid > 0).then_some(ProcessId { pid, start_ticks })
    }

    /// True when this process still runs (not a zombie) and, where `/proc` tells, it is
    /// the same process (same start time), not a later one that reused the pid.
    pub fn is_alive(self) -> bool {
        match fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            Ok(stat) => match parse_stat(&stat) {
                Some((state, ticks)) => {
                    !matches!(state, 'Z' | 'X' | 'x')
                        && (self.start_ticks == 0 || ticks == self.start_ticks)
                }
                None => false,
            },
            Err(_) if Path::new("/proc/self/stat").exists() => false,
            Err(_) => nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid), None).is_ok(),
        }
    }
}

/// A small text file such as `/proc/self/stat` (whose size `/proc` does not tell, so
/// `fs::read_to_string` reads it in many small pieces), read with a buffer big enough for
/// it in one go.
fn read_small(path: &str) -> io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    String::from_utf8(bytes).map_err(io::Error::other)
}

/// From a `/proc/<pid>/stat` line: the state (field 3) and the start time (field 22).
fn parse_stat(stat: &str) -> Option<(char, u64)> {
    // The command name (field 2) is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let ticks = fields.get(22 - 3)?.parse().ok()?;
    Some((state, ticks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_lines_with_odd_names() {
        let line = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100";
        assert_eq!(parse_stat(line), Some(('S', 987_654)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn current_process_is_alive_and_a_changed_start_time_is_not() {
        let me = ProcessId::current();
        assert!(me.start_ticks > 0);
        assert!(me.is_alive());
        let reused = ProcessId {
            start_ticks: me.start_ticks + 1,
            ..me
        };
        assert!(!reused.is_alive());
        assert_eq!(ProcessId::parse(&me.to_file_text()), Some(me));
        assert_eq!(ProcessId::parse("x"), None);
    }

    #[test]
    fn the_pid_file_is_claimed_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let me = ProcessId::current().to_file_text();
        assert!(claim_pid(dir.path(), &me).expect("claim"));
        assert!(
            !release_unstarted(dir.path()).expect("release"),
            "a supervisor owns it"
        );
        let other = tempfile::tempdir().expect("tempdir");
        let try_dir = other.path().join("never-created");
        assert!(release_unstarted(&try_dir).expect("release"));
        assert!(
            !claim_pid(&try_dir, &me).expect("claim"),
            "a late supervisor backs off"
        );
        assert_eq!(
            fs::read_to_string(try_dir.join(PID)).expect("read"),
            RELEASED
        );
    }

    #[test]
    fn atomic_write_and_optional_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read_optional(dir.path(), "a").expect("read"), None);
        write_atomic(dir.path(), "a", b"hello").expect("write");
        assert_eq!(
            read_optional(dir.path(), "a").expect("read"),
            Some(b"hello".to_vec())
        );
        remove_if_present(dir.path(), "a").expect("remove");
        remove_if_present(dir.path(), "a").expect("remove again");
        assert_eq!(read_optional(dir.path(), "a").expect("read"), None);
    }
}
