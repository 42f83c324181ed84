//! What a DAG file declares, after validation: a `DagSpec` with its `TaskSpec`s and edges.
//! Serialized as JSON into the store, so the scheduler never re-evaluates Rhai on its path.

use crate::duration::serde_ms;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// One DAG as declared by a DAG file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DagSpec {
    pub dag_id: String,
    /// Path of the declaring file, relative to the DAGs folder, with `/` separators.
    pub file: String,
    /// Cron (5 or 6 fields), a preset, `@every <duration>`, or `None` for manual/event-only.
    pub schedule: Option<String>,
    /// IANA time zone name the schedule is evaluated in.
    pub timezone: String,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub catchup: bool,
    pub max_active_runs: u32,
    pub max_active_tasks: u32,
    /// Defaults that a run's `conf` overrides key by key.
    pub params: Map<String, Value>,
    /// What a run's `conf` may set each param to (see [`crate::params`]); a param missing
    /// here accepts its default's JSON type.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub param_specs: BTreeMap<String, crate::params::ParamSpec>,
    /// Data-arrival triggers as declared (`on_object(...)`, `on_asset(...)`).
    pub triggers: Vec<Value>,
    pub on_failure: Option<Value>,
    pub on_retry: Option<Value>,
    pub on_success: Option<Value>,
    #[serde(with = "serde_ms::option")]
    pub sla: Option<Duration>,
    pub tags: Vec<String>,
    pub description: Option<String>,
    pub owner: Option<String>,
    /// Tasks in declaration order.
    pub tasks: Vec<TaskSpec>,
    /// Dependencies as `(upstream, downstream)` task ids, without duplicates.
    pub edges: Vec<(String, String)>,
    /// Task groups and how many of a group's tasks may run at once in one run (a tune
    /// task's `max_parallel_trials`).
    #[serde(default)]
    pub task_groups: BTreeMap<String, u32>,
}

/// One task of a DAG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    pub task_id: String,
    /// The operator's registered name (`command`, ...).
    pub operator: String,
    /// The operator's own options, unrendered (string values are templates).
    pub options: Map<String, Value>,
    /// The options every task takes, with `default_args` and defaults applied.
    pub common: TaskOptions,
}

/// Options every task takes. Defaults are those of `dag-files.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskOptions {
    pub retries: u32,
    #[serde(with = "serde_ms")]
    pub retry_delay: Duration,
    pub retry_backoff: RetryBackoff,
    #[serde(with = "serde_ms")]
    pub max_retry_delay: Duration,
    #[serde(with = "serde_ms::option")]
    pub timeout: Option<Duration>,
    pub trigger_rule: TriggerRule,
    pub depends_on_past: bool,
    /// `local`, `container` or `kubernetes`.
    pub executor: String,
    pub image: Option<String>,
    pub resources: Option<Value>,
    pub pull_policy: Option<String>,
    pub pool: String,
    pub priority: i32,
    /// Extra environment; values are templates.
    pub env: BTreeMap<String, String>,
    pub outlets: Vec<String>,
    pub cache: bool,
    pub doc: Option<String>,
    /// The task group whose per-run limit applies (see `DagSpec::task_groups`); tune
    /// trials share their tune task's group.
    #[serde(default)]
    pub group: Option<String>,
}

impl Default for TaskOptions {
    fn default() -> Self {
        TaskOptions {
            retries: 0,
            retry_delay: Duration::from_secs(30),
            retry_backoff: RetryBackoff::Fixed,
            max_retry_delay: Duration::from_secs(3600),
            timeout: None,
            trigger_rule: TriggerRule::AllSuccess,
            depends_on_past: false,
            executor: "local".into(),
            image: None,
            resources: None,
            pull_policy: None,
            pool: "default".into(),
            priority: 0,
            env: BTreeMap::new(),
            outlets: Vec::new(),
            cache: false,
            doc: None,
            group: None,
        }
    }
}

/// How the delay between tries grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryBackoff {
    Fixed,
    Exponential,
}

impl std::str::FromStr for RetryBackoff {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fixed" => Ok(RetryBackoff::Fixed),
            "exponential" => Ok(RetryBackoff::Exponential),
            other => Err(format!(
                "'{other}' is not a retry_backoff; use \"fixed\" or \"exponential\""
            )),
        }
    }
}

/// Airflow's trigger rules: when a task may run given its upstream tasks' states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerRule {
    AllSuccess,
    AllFailed,
    AllDone,
    /// All upstream tasks done and at least one succeeded (Airflow's
    /// `all_done_min_one_success`); none succeeded: `upstream_failed` if any failed, else
    /// `skipped`. What a `tune` task waits for its trials with.
    AllDoneMinOneSuccess,
    OneSuccess,
    OneFailed,
    NoneFailed,
    NoneFailedMinOneSuccess,
    NoneSkipped,
    Always,
}

impl TriggerRule {
    pub const NAMES: &'static [&'static str] = &[
        "all_success",
        "all_failed",
        "all_done",
        "all_done_min_one_success",
        "one_success",
        "one_failed",
        "none_failed",
        "none_failed_min_one_success",
        "none_skipped",
        "always",
    ];
}

impl std::str::FromStr for TriggerRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "all_success" => TriggerRule::AllSuccess,
            "all_failed" => TriggerRule::AllFailed,
            "all_done" => TriggerRule::AllDone,
            "all_done_min_one_success" => TriggerRule::AllDoneMinOneSuccess,
            "one_success" => TriggerRule::OneSuccess,
            "one_failed" => TriggerRule::OneFailed,
            "none_failed" => TriggerRule::NoneFailed,
            "none_failed_min_one_success" => TriggerRule::NoneFailedMinOneSuccess,
            "none_skipped" => TriggerRule::NoneSkipped,
            "always" => TriggerRule::Always,
            other => {
                return Err(format!(
                    "'{other}' is not a trigger_rule; use one of: {}",
                    TriggerRule::NAMES.join(", ")
                ))
            }
        })
    }
}

impl DagSpec {
    /// A DAG with no tasks and the contract's defaults: manual (no schedule), UTC, no
    /// catchup, 16 active runs and tasks.
    pub fn new(dag_id: &str, file: &str) -> DagSpec {
        DagSpec {
            dag_id: dag_id.to_string(),
            file: file.to_string(),
            schedule: None,
            timezone: "UTC".into(),
            start_date: None,
            end_date: None,
            catchup: false,
            max_active_runs: 16,
            max_active_tasks: 16,
            params: Map::new(),
            param_specs: BTreeMap::new(),
            triggers: Vec::new(),
            on_failure: None,
            on_retry: None,
            on_success: None,
            sla: None,
            tags: Vec::new(),
            description: None,
            owner: None,
            tasks: Vec::new(),
            edges: Vec::new(),
            task_groups: BTreeMap::new(),
        }
    }

    /// The task with this id.
    pub fn task(&self, task_id: &str) -> Option<&TaskSpec> {
        self.tasks.iter().find(|t| t.task_id == task_id)
    }

    /// Ids of the tasks directly upstream of `task_id`.
    pub fn upstream_of<'a>(&'a self, task_id: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.edges
            .iter()
            .filter(move |(_, down)| down == task_id)
            .map(|(up, _)| up.as_str())
    }

    /// Ids of the tasks directly downstream of `task_id`.
    pub fn downstream_of<'a>(&'a self, task_id: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.edges
            .iter()
            .filter(move |(up, _)| up == task_id)
            .map(|(_, down)| down.as_str())
    }

    /// `task_ids` and everything downstream of them, transitively, in declaration order.
    pub fn with_downstream(&self, task_ids: &[String]) -> Vec<String> {
        let mut seen: std::collections::HashSet<&str> =
            task_ids.iter().map(String::as_str).collect();
        let mut stack: Vec<&str> = task_ids.iter().map(String::as_str).collect();
        while let Some(t) = stack.pop() {
            for d in self.downstream_of(t) {
                if seen.insert(d) {
                    stack.push(d);
                }
            }
        }
        self.tasks
            .iter()
            .filter(|t| seen.contains(t.task_id.as_str()))
            .map(|t| t.task_id.clone())
            .collect()
    }

    /// Every task upstream of `task_id`, transitively (its ancestors), in declaration order.
    pub fn ancestors(&self, task_id: &str) -> Vec<String> {
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut stack = vec![task_id];
        while let Some(t) = stack.pop() {
            for u in self.upstream_of(t) {
                if seen.insert(u) {
                    stack.push(u);
                }
            }
        }
        self.tasks
            .iter()
            .filter(|t| seen.contains(t.task_id.as_str()))
            .map(|t| t.task_id.clone())
            .collect()
    }

    /// Checks a run's `conf` against the params: only declared keys, each with a value
    /// its declaration accepts. The error names the key.
    pub fn check_conf(&self, conf: &Map<String, Value>) -> Result<(), String> {
        crate::params::check_conf(&self.dag_id, &self.params, &self.param_specs, conf)
    }

    /// A stable content hash input: the JSON form of the spec.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
