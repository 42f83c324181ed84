//! Standby supervisors: supervisor processes the local executor starts ahead of time
//! (`<supervisor> --standby`, each in its own process group), so a submitted try only has
//! to write its folder to one's stdin instead of waiting for a fork and exec. A standby
//! whose stdin closes (the executor was dropped, or the scheduler died) exits quietly.

use crate::supervise::STANDBY_ARG;
use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a retired standby is waited for outside a tokio runtime before it is left to
/// tokio's background reaping.
const RETIRE_WAIT: Duration = Duration::from_secs(2);
/// How often a retired standby is checked outside a tokio runtime.
const RETIRE_POLL: Duration = Duration::from_millis(5);

/// A supervisor started ahead of time, waiting for its try folder on stdin.
pub(crate) struct Standby {
    child: tokio::process::Child,
    /// The write end of its stdin (blocking, close-on-exec).
    stdin: File,
}

impl Standby {
    /// Starts `program --standby` in its own process group. Needs a tokio runtime.
    fn spawn(program: &str) -> std::io::Result<Standby> {
        let mut child = tokio::process::Command::new(program)
            .arg(STANDBY_ARG)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let stdin = match child.stdin.take().map(|s| s.into_owned_fd()) {
            Some(Ok(fd)) => File::from(fd),
            Some(Err(e)) => {
                retire(child);
                return Err(e);
            }
            None => {
                retire(child);
                return Err(std::io::Error::other("the standby supervisor has no stdin"));
            }
        };
        Ok(Standby { child, stdin })
    }

    /// Hands `try_dir` and its secrets line (a [`crate::TrySecrets`] line) to this standby,
    /// which then supervises that try; returns it to be
    /// waited for. On failure (it died, say) it is retired and the error returned.
    pub(crate) fn hand_over(
        self,
        try_dir: &Path,
        secrets_line: &[u8],
    ) -> std::io::Result<tokio::process::Child> {
        let Standby { child, mut stdin } = self;
        let mut line = try_dir.as_os_str().as_bytes().to_vec();
        line.push(b'\n');
        line.extend_from_slice(secrets_line);
        // One short write into an empty pipe: it does not block and is not split.
        match stdin.write_all(&line) {
            Ok(()) => Ok(child),
            Err(e) => {
                drop(stdin);
                retire(child);
                Err(e)
            }
        }
    }
}

/// Whether `try_dir` can be handed over as one line (it has no newline in it).
pub(crate) fn fits_a_line(try_dir: &Path) -> bool {
    !try_dir.as_os_str().as_bytes().contains(&b'\n') && !try_dir.as_os_str().is_empty()
}

/// Waits for a standby whose stdin is closed (it exits on EOF), so it is not left a zombie:
/// in a task on the current tokio runtime, else on a short-lived thread.
fn retire(mut child: tokio::process::Child) {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn(async move {
                let _ = child.wait().await;
            });
        }
        Err(_) => {
            std::thread::spawn(move || {
                let until = Instant::now() + RETIRE_WAIT;
                while matches!(child.try_wait(), Ok(None)) && Instant::now() < until {
                    std::thread::sleep(RETIRE_POLL);
                }
            });
        }
    }
}

#[derive(Default)]
struct State {
    ready: VecDeque<Standby>,
    /// Standbys being started right now.
    starting: usize,
    /// Set when the pool is dropped: standbys started later are retired at once.
    closed: bool,
}

/// Up to `target` standby supervisors of one program, refilled in the background.
pub(crate) struct Pool {
    program: String,
    target: usize,
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pool {
    /// A pool of up to `target` standbys of `program` (none are started yet).
    pub(crate) fn new(program: String, target: usize) -> Pool {
        Pool {
            program,
            target,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// A ready standby, if there is one.
    pub(crate) fn take(&self) -> Option<Standby> {
        lock(&self.state).ready.pop_front()
    }

    /// The pids of the ready standbys.
    pub(crate) fn ready_pids(&self) -> Vec<u32> {
        lock(&self.state)
            .ready
            .iter()
            .filter_map(|s| s.child.id())
            .collect()
    }

    /// Starts standbys in a background task on `handle` until `target` are ready or
    /// starting.
    pub(crate) fn refill(&self, handle: &tokio::runtime::Handle) {
        let missing = {
            let mut state = lock(&self.state);
            if state.closed {
                return;
            }
            let have = state.ready.len() + state.starting;
            let missing = self.target.saturating_sub(have);
            state.starting += missing;
            missing
        };
        if missing == 0 {
            return;
        }
        let program = self.program.clone();
        let state = Arc::clone(&self.state);
        handle.spawn(async move {
            for started_so_far in 1..=missing {
                let started = Standby::spawn(&program);
                let mut guard = lock(&state);
                guard.starting -= 1;
                match started {
                    Ok(standby) if !guard.closed => guard.ready.push_back(standby),
                    Ok(standby) => {
                        drop(guard);
                        drop(standby.stdin);
                        retire(standby.child);
                    }
                    Err(e) => {
                        // Give up this round (the next submit tries again).
                        guard.starting -= missing - started_so_far;
                        drop(guard);
                        tracing::warn!("could not start a standby supervisor: {e}");
                        break;
                    }
                }
            }
        });
    }
}

impl Drop for Pool {
    /// Closes every ready standby's stdin (each exits on EOF) and waits for them.
    fn drop(&mut self) {
        let ready = {
            let mut state = lock(&self.state);
            state.closed = true;
            std::mem::take(&mut state.ready)
        };
        for standby in ready {
            drop(standby.stdin);
            retire(standby.child);
        }
    }
}
