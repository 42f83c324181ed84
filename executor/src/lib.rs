//! Cambium's executors: the `Executor` trait the scheduler hands task tries to, the local
//! executor (one supervised process group per try, a slot limit), and the try supervisor
//! (`cambium task supervise DIR`) that runs a try's process, writes its timestamped and
//! masked log, enforces its timeout, and leaves its result on disk so a restarted scheduler
//! can adopt or settle the try.
//!
//! Modules: `local` (the [`LocalExecutor`]), `supervise` (the supervisor's [`supervise::run`]),
//! `files` (the try folder's files and `/proc` checks), `log` (timestamped, masked log lines),
//! `outcome` (result and protocol files -> [`TryOutcome`]), `standby` (supervisors started ahead
//! of time for the local executor), `fault` (crash points for the crash-safety tests).

pub mod fault;
pub mod files;
pub mod local;
pub mod log;
pub mod outcome;
mod standby;
pub mod supervise;

pub use local::LocalExecutor;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Identifies one try of one task instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TryKey {
    /// The task instance's store key.
    pub ti_id: i64,
    pub try_number: u32,
}

/// Everything needed to run one try. Written as `spec.json` into `try_dir` for the
/// supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TryRequest {
    pub key: TryKey,
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    /// The process to run: `["sh", "-c", cmd]` for a string command, or the given argv.
    pub argv: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// The task's environment besides [`BASE_ENV`] (the `CAMBIUM_*` protocol variables
    /// and the task's own `env`). Nothing else of the scheduler's environment is inherited.
    pub env: BTreeMap<String, String>,
    /// Environment the task's process needs but that must never be written to disk (a
    /// built-in operator's database and connection URLs). Not in `spec.json`: handed to
    /// the supervisor through its stdin (see [`TrySecrets`]).
    #[serde(skip)]
    pub secret_env: BTreeMap<String, String>,
    #[serde(with = "cambium_dag::duration::serde_ms::option")]
    pub timeout: Option<Duration>,
    /// Strings replaced by `***` in the log. Not in `spec.json` (see [`TrySecrets`]).
    #[serde(skip)]
    pub secrets: Vec<String>,
    /// A folder for this try: `spec.json`, `pid`, `result.json`, `output.json`,
    /// `metrics.json` live here. Created by the executor.
    pub try_dir: PathBuf,
    /// The try's log file (stdout and stderr, one `[timestamp] line` per line).
    pub log_path: PathBuf,
    /// For a built-in operator: what its `cambium task operator` process runs (an
    /// `Invocation` of `cambium-operators`), read back from `spec.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Value>,
}

/// The variables of the supervisor's own environment a task's process gets (when set);
/// everything else it gets is in its request.
pub const BASE_ENV: &[&str] = &[
    "PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME",
];

/// The part of a [`TryRequest`] that never touches the disk: handed to the supervisor as
/// one JSON line on its stdin (after the try folder's line for a standby supervisor; when
/// [`SECRETS_ON_STDIN`] is set in its environment for one started per try).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrySecrets {
    /// Added to the task's environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Masked as `***` in the try's log.
    #[serde(default)]
    pub secrets: Vec<String>,
}

impl TrySecrets {
    /// The request's secret part.
    pub fn of(request: &TryRequest) -> TrySecrets {
        TrySecrets {
            env: request.secret_env.clone(),
            secrets: request.secrets.clone(),
        }
    }

    /// The JSON line (with its newline) the supervisor reads.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec());
        line.push(b'\n');
        line
    }
}

/// Set (to `1`) in the environment of a supervisor started for one try: it reads the try's
/// [`TrySecrets`] line from its stdin.
pub const SECRETS_ON_STDIN: &str = "CAMBIUM_SUPERVISE_SECRETS_ON_STDIN";

/// How a try ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TryOutcome {
    /// The process's exit code; `None` when it was killed by a signal or lost.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// True when the process vanished without leaving a result (e.g. the machine rebooted).
    pub lost: bool,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub ended_at: chrono::DateTime<chrono::Utc>,
    /// What the task wrote to `$CAMBIUM_OUTPUT` (a JSON value), if anything.
    pub output: Option<Value>,
    /// What the task wrote to `$CAMBIUM_METRICS` (numbers only).
    pub metrics: Map<String, Value>,
    /// A sentence for the user when something other than the exit code went wrong
    /// (timeout, signal, unreadable output file, lost process).
    pub error: Option<String>,
}

/// What an executor reports about the tries it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum TryEvent {
    /// The try's process is running.
    Started {
        key: TryKey,
        pid: i64,
        hostname: String,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// The try ended (or was found ended, or lost).
    Finished { key: TryKey, outcome: TryOutcome },
}

/// Errors submitting or controlling tries.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not start the try's process: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("the executor has no free slot")]
    Full,
    #[error("{0}")]
    Other(String),
}

/// Runs tries somewhere (local processes now; containers and Kubernetes later) and reports
/// `TryEvent`s on the channel it was built with.
pub trait Executor: Send + Sync {
    /// A short name (`local`).
    fn name(&self) -> &'static str;
    /// Starts a try; returns once it is handed over (its `Started` event follows).
    fn submit(&self, request: TryRequest) -> Result<(), Error>;
    /// Kills a running try (its whole process group); its `Finished` event follows.
    fn kill(&self, key: TryKey);
    /// After a restart: watches a try whose supervisor may still run, from its `try_dir`.
    /// Reports `Finished` when it ends, at once if it already ended (from its result file),
    /// or as lost when its process is gone without a result.
    fn adopt(&self, key: TryKey, try_dir: PathBuf);
    /// How many more tries it can take now.
    fn free_slots(&self) -> usize;
}
