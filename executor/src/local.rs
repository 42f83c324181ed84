//! The local executor: each try runs under its own supervisor process (`cambium task
//! supervise <try_dir>`, in its own process group), up to a number of slots at a time.
//! Tries whose supervisor outlived a scheduler restart are adopted by watching its pid.
//! With a dedicated supervisor binary, a few supervisors are kept started ahead of time
//! (standbys, see `standby`), so a try does not wait for its supervisor's exec.

use crate::files::{self, ProcessId};
use crate::outcome::{self, Missing};
use crate::standby::{self, Pool};
use crate::{
    Error, Executor, TryEvent, TryKey, TryOutcome, TryRequest, TrySecrets, SECRETS_ON_STDIN,
};
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// How long a killed try's supervisor gets before both process groups are SIGKILLed.
const KILL_ESCALATION: Duration = Duration::from_secs(5);
/// How often an adopted supervisor (not our child) is checked.
const ADOPT_POLL: Duration = Duration::from_millis(50);
/// How many standby supervisors are kept ready by default (with a dedicated supervisor
/// binary): one for the next try of a chain, one more for a try started alongside it.
pub const DEFAULT_STANDBY: usize = 2;

/// A try this executor is watching.
#[derive(Debug, Clone)]
struct Running {
    /// The supervisor's pid (also its process group); 0 while it is being started.
    supervisor_pid: i32,
    try_dir: PathBuf,
    /// Tells this run of the key from a later one (for the kill escalation).
    generation: u64,
}

/// Runs tries as local processes, each under a `cambium task supervise` process.
pub struct LocalExecutor {
    supervisor: Vec<String>,
    slots: usize,
    events: UnboundedSender<TryEvent>,
    hostname: String,
    running: Arc<Mutex<HashMap<TryKey, Running>>>,
    generations: AtomicU64,
    /// Supervisors started ahead of time; `None` when standbys are off.
    standbys: Option<Pool>,
}

impl LocalExecutor {
    /// `supervisor`: the argv prefix that starts a supervisor, e.g. `[current_exe, "task",
    /// "supervise"]`; the try_dir is appended. At most `slots` tries run at once. Events
    /// go to `events`. When `supervisor` is a single program (a dedicated supervisor binary
    /// that understands `--standby`), [`DEFAULT_STANDBY`] standby supervisors are kept
    /// ready once the first try is submitted; see [`LocalExecutor::with_standby`].
    pub fn new(supervisor: Vec<String>, slots: usize, events: UnboundedSender<TryEvent>) -> Self {
        let hostname = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "localhost".to_string());
        LocalExecutor {
            supervisor,
            slots,
            events,
            hostname,
            running: Arc::new(Mutex::new(HashMap::new())),
            generations: AtomicU64::new(0),
            standbys: None,
        }
        .with_standby(DEFAULT_STANDBY)
    }

    /// Keeps up to `count` standby supervisors ready (0 turns them off). Standbys are only
    /// used when the supervisor command is a single program, which is started as
    /// `<program> --standby` and reads the try folder from its stdin; a longer command
    /// (`cambium task supervise`) always starts one supervisor per try.
    pub fn with_standby(mut self, count: usize) -> Self {
        self.standbys = match self.supervisor.as_slice() {
            [program] if count > 0 => Some(Pool::new(program.clone(), count)),
            _ => None,
        };
        self
    }

    /// The pids of the standby supervisors ready now (they run no try).
    pub fn standby_pids(&self) -> Vec<u32> {
        self.standbys
            .as_ref()
            .map(Pool::ready_pids)
            .unwrap_or_default()
    }

    fn running(&self) -> MutexGuard<'_, HashMap<TryKey, Running>> {
        lock(&self.running)
    }

    /// Takes a slot for `key`; fails when none is free or the key already runs.
    fn reserve(&self, key: TryKey, try_dir: &Path) -> Result<u64, Error> {
        let mut running = self.running();
        if running.contains_key(&key) {
            return Err(Error::Other(format!(
                "try {} of task instance {} is already running",
                key.try_number, key.ti_id
            )));
        }
        if running.len() >= self.slots {
            return Err(Error::Full);
        }
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        running.insert(
            key,
            Running {
                supervisor_pid: 0,
                try_dir: try_dir.to_path_buf(),
                generation,
            },
        );
        Ok(generation)
    }

    /// Writes the try's folder and starts its supervisor (hands it to a standby when one
    /// is ready); returns the supervisor.
    fn start(&self, request: &TryRequest) -> Result<tokio::process::Child, Error> {
        let Some((program, args)) = self.supervisor.split_first() else {
            return Err(Error::Other("no supervisor command is configured".into()));
        };
        let dir = &request.try_dir;
        // Only the scheduler's user may read a try's folder (and the folders above it it
        // creates): its spec holds the task's options and environment.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        for stale in [
            files::RESULT,
            files::OUTPUT,
            files::METRICS,
            files::PID,
            files::CHILD_PID,
        ] {
            files::remove_if_present(dir, stale)?;
        }
        let spec = serde_json::to_vec(request).map_err(|e| Error::Other(e.to_string()))?;
        files::write_atomic(dir, files::SPEC, &spec)?;
        let secrets = TrySecrets::of(request).to_line();
        crate::fault::point("after-spec");
        if let Some(pool) = self.standbys.as_ref().filter(|_| standby::fits_a_line(dir)) {
            while let Some(standby) = pool.take() {
                match standby.hand_over(dir, &secrets) {
                    Ok(child) => return Ok(child),
                    Err(e) => tracing::debug!("a standby supervisor could not take a try: {e}"),
                }
            }
        }
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .arg(dir)
            .env(SECRETS_ON_STDIN, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        // The secrets go through a pipe, never a file; one short write into an empty pipe
        // does not block. Closing it right after is the supervisor's EOF.
        if let Some(stdin) = child.stdin.take() {
            let mut stdin = std::fs::File::from(stdin.into_owned_fd()?);
            std::io::Write::write_all(&mut stdin, &secrets)?;
        }
        Ok(child)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Frees the slot of `key` (if it is still the same run) and reports its outcome.
fn finish(
    running: &Mutex<HashMap<TryKey, Running>>,
    events: &UnboundedSender<TryEvent>,
    key: TryKey,
    generation: u64,
    outcome: TryOutcome,
) {
    {
        let mut running = lock(running);
        if running
            .get(&key)
            .is_some_and(|r| r.generation == generation)
        {
            running.remove(&key);
        }
    }
    let _ = events.send(TryEvent::Finished { key, outcome });
}

/// The task process's pid from `child.pid`, if recorded.
fn child_pid(try_dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(files::path(try_dir, files::CHILD_PID)).ok()?;
    text.trim().parse().ok().filter(|pid| *pid > 0)
}

impl Executor for LocalExecutor {
    fn name(&self) -> &'static str {
        "local"
    }

    fn submit(&self, request: TryRequest) -> Result<(), Error> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Other("the local executor must be used within a tokio runtime".into())
        })?;
        let _guard = handle.enter();
        let key = request.key;
        let generation = self.reserve(key, &request.try_dir)?;
        let mut child = match self.start(&request) {
            Ok(child) => child,
            Err(e) => {
                let mut running = self.running();
                if running
                    .get(&key)
                    .is_some_and(|r| r.generation == generation)
                {
                    running.remove(&key);
                }
                return Err(e);
            }
        };
        crate::fault::point("after-spawn");
        if let Some(pool) = &self.standbys {
            pool.refill(&handle);
        }
        let pid = child.id().map_or(0, |p| p as i32);
        if let Some(entry) = self.running().get_mut(&key) {
            entry.supervisor_pid = pid;
        }
        let _ = self.events.send(TryEvent::Started {
            key,
            pid: i64::from(pid),
            hostname: self.hostname.clone(),
            at: chrono::Utc::now(),
        });
        let running = Arc::clone(&self.running);
        let events = self.events.clone();
        let try_dir = request.try_dir;
        handle.spawn(async move {
            let how = match child.wait().await {
                Ok(status) => {
                    format!("the try's supervisor ended ({status}) without recording a result")
                }
                Err(e) => format!("could not wait for the try's supervisor: {e}"),
            };
            let outcome = outcome::settle(&try_dir, Missing::SupervisorFailed(how));
            finish(&running, &events, key, generation, outcome);
        });
        Ok(())
    }

    fn kill(&self, key: TryKey) {
        let Some(entry) = self.running().get(&key).cloned() else {
            return;
        };
        if entry.supervisor_pid <= 0 {
            return;
        }
        let supervisor = Pid::from_raw(entry.supervisor_pid);
        let _ = kill(supervisor, Signal::SIGTERM);
        let running = Arc::clone(&self.running);
        let escalate = move || {
            let still_there = lock(&running)
                .get(&key)
                .is_some_and(|r| r.generation == entry.generation);
            if still_there {
                tracing::warn!(
                    ti_id = key.ti_id,
                    try_number = key.try_number,
                    "the try did not stop within 5s of SIGTERM; sending SIGKILL"
                );
                if let Some(task) = child_pid(&entry.try_dir) {
                    let _ = killpg(Pid::from_raw(task), Signal::SIGKILL);
                }
                let _ = killpg(supervisor, Signal::SIGKILL);
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    tokio::time::sleep(KILL_ESCALATION).await;
                    escalate();
                });
            }
            Err(_) => {
                std::thread::spawn(move || {
                    std::thread::sleep(KILL_ESCALATION);
                    escalate();
                });
            }
        }
    }

    fn adopt(&self, key: TryKey, try_dir: PathBuf) {
        let recorded = std::fs::read_to_string(files::path(&try_dir, files::PID))
            .ok()
            .and_then(|text| ProcessId::parse(&text));
        let Some(process) = recorded.filter(|p| p.is_alive()) else {
            // Gone: settle at once from what it left behind.
            let outcome = outcome::settle(&try_dir, Missing::Lost);
            let _ = self.events.send(TryEvent::Finished { key, outcome });
            return;
        };
        let generation = {
            let mut running = self.running();
            if running.contains_key(&key) {
                tracing::warn!(
                    ti_id = key.ti_id,
                    try_number = key.try_number,
                    "asked to adopt a try that is already being watched"
                );
                return;
            }
            // Adopted tries count against the slots, even beyond them.
            let generation = self.generations.fetch_add(1, Ordering::Relaxed);
            running.insert(
                key,
                Running {
                    supervisor_pid: process.pid,
                    try_dir: try_dir.clone(),
                    generation,
                },
            );
            generation
        };
        let running = Arc::clone(&self.running);
        let events = self.events.clone();
        let settle = move || {
            let outcome = outcome::settle(&try_dir, Missing::Lost);
            finish(&running, &events, key, generation, outcome);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    while process.is_alive() {
                        tokio::time::sleep(ADOPT_POLL).await;
                    }
                    settle();
                });
            }
            Err(_) => {
                std::thread::spawn(move || {
                    while process.is_alive() {
                        std::thread::sleep(ADOPT_POLL);
                    }
                    settle();
                });
            }
        }
    }

    fn free_slots(&self) -> usize {
        self.slots.saturating_sub(self.running().len())
    }
}
