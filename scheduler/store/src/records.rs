//! The rows the store reads and writes, as plain types.

use cambium_dag::{DagSpec, RunState, RunType, TaskState};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A DAG as last imported, with its pause flag.
#[derive(Debug, Clone, PartialEq)]
pub struct DagRecord {
    pub spec: DagSpec,
    /// sha256 of the declaring file's text when the spec was imported.
    pub file_hash: String,
    pub paused: bool,
    /// False once its file is deleted or no longer declares it (kept for history).
    pub active: bool,
    pub updated_at: DateTime<Utc>,
}

/// A run to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    pub dag_id: String,
    pub run_id: String,
    pub run_type: RunType,
    pub logical_date: DateTime<Utc>,
    pub data_interval_start: DateTime<Utc>,
    pub data_interval_end: DateTime<Utc>,
    /// When it may start (the end of its data interval for scheduled runs).
    pub run_after: DateTime<Utc>,
    pub conf: Map<String, Value>,
    /// The backfill this run belongs to, if any.
    pub backfill_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// Store key.
    pub id: i64,
    pub dag_id: String,
    /// Unique within its DAG (not across DAGs).
    pub run_id: String,
    pub run_type: RunType,
    pub state: RunState,
    pub logical_date: DateTime<Utc>,
    pub data_interval_start: DateTime<Utc>,
    pub data_interval_end: DateTime<Utc>,
    pub run_after: DateTime<Utc>,
    pub conf: Map<String, Value>,
    pub backfill_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    /// Bumped by every change of the run's state and by every clear or mark of its tasks.
    /// A batch writes the run only while the stored version is still this one.
    pub version: i64,
}

/// A task to create with a run.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSeed {
    pub task_id: String,
    pub pool: String,
    pub priority: i32,
    /// 1 + retries.
    pub max_tries: u32,
}

/// One task of one run, with its current (or last) try.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInstance {
    pub id: i64,
    pub run_pk: i64,
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    pub state: TaskState,
    /// The current or last try's number; 0 before the first try.
    pub try_number: u32,
    /// Tries allowed in all (grows when the task is cleared).
    pub max_tries: u32,
    pub pool: String,
    pub priority: i32,
    pub queued_at: Option<DateTime<Utc>>,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    /// When an `up_for_retry` task may be tried again.
    pub next_retry_at: Option<DateTime<Utc>>,
    /// What the task wrote to `$CAMBIUM_OUTPUT`.
    pub output: Option<Value>,
    /// What the task wrote to `$CAMBIUM_METRICS`.
    pub metrics: Map<String, Value>,
    /// The scheduler that claimed the current try.
    pub claimed_by: Option<String>,
    pub hostname: Option<String>,
    /// The supervisor process of the current try.
    pub pid: Option<i64>,
    /// Exit code of the last try, when it exited.
    pub exit_code: Option<i32>,
    /// Why the last try failed, in a sentence (timeout, lost process, bad template, ...).
    pub error: Option<String>,
}

impl TaskInstance {
    /// A task instance that has not run: state `none`, try 0, nothing recorded. Store key and
    /// run key are 0 until stored (`tasks test` runs one that is never stored).
    pub fn unstarted(dag_id: &str, run_id: &str, task_id: &str) -> TaskInstance {
        TaskInstance {
            id: 0,
            run_pk: 0,
            dag_id: dag_id.to_string(),
            run_id: run_id.to_string(),
            task_id: task_id.to_string(),
            state: TaskState::None,
            try_number: 0,
            max_tries: 1,
            pool: "default".to_string(),
            priority: 0,
            queued_at: None,
            start_at: None,
            end_at: None,
            duration_ms: None,
            next_retry_at: None,
            output: None,
            metrics: Map::new(),
            claimed_by: None,
            hostname: None,
            pid: None,
            exit_code: None,
            error: None,
        }
    }
}

/// The history row of one try of a task instance.
#[derive(Debug, Clone, PartialEq)]
pub struct TryRecord {
    pub ti_id: i64,
    pub try_number: u32,
    pub state: TaskState,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
    pub hostname: Option<String>,
    pub error: Option<String>,
}

/// Which runs to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    pub dag_id: Option<String>,
    pub states: Vec<RunState>,
    pub run_types: Vec<RunType>,
    pub backfill_id: Option<i64>,
    /// Newest first by logical date when false (the default); oldest first when true.
    pub oldest_first: bool,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Changes written in one transaction. Task-instance updates are compare-and-set: each
/// applies only if the row's state is still `expect`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// `(expected current state, the full new row)`; every mutable column is written.
    pub task_instances: Vec<(TaskState, TaskInstance)>,
    /// Runs whose state/start/end changed: each is written only while the stored run's
    /// version is still the record's `version` (which the write then bumps).
    pub runs: Vec<RunRecord>,
    /// Try history rows to insert or replace (key: `ti_id`, `try_number`).
    pub tries: Vec<TryRecord>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.task_instances.is_empty() && self.runs.is_empty() && self.tries.is_empty()
    }
}

/// What [`crate::Store::apply_guarded`] wrote: for each task instance and each run of the
/// batch, in batch order, whether it applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    pub task_instances: Vec<bool>,
    pub runs: Vec<bool>,
}

/// Task instances in `queued` or `running`, counted by pool and by DAG (across all
/// schedulers).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActiveCounts {
    pub by_pool: HashMap<String, u32>,
    pub by_dag: HashMap<String, u32>,
}

/// A backfill request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackfillRecord {
    pub id: i64,
    pub dag_id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `failed`, `all` or `none`.
    pub rerun: String,
    pub max_active_runs: u32,
    pub created_at: DateTime<Utc>,
}

/// A scheduler process known to the store.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerRecord {
    pub id: String,
    pub hostname: String,
    pub pid: i64,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
}
