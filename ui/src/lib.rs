//! Cambium's HTTP side and the views it shares with the CLI: the JSON shapes of DAGs, runs,
//! task instances, next runs, import errors, models and lineage exactly as `cli.md` defines
//! them (the CLI's `--output json` and the API answer with the same structs), the store
//! reads both do (`service`), and the axum server (`web`): the REST API with its OpenAPI
//! document, sign-in and roles, and the server-rendered pages.

pub mod assets;
pub mod lineage;
pub mod service;
pub mod web;

use cambium_dag::{DagSpec, ImportError};
use cambium_store::{RunRecord, TaskSummary, UserRecord};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

/// RFC 3339 with an explicit offset.
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// RFC 3339 in a given zone (e.g. a DAG's), falling back to UTC for an unknown zone.
pub fn time_in(t: DateTime<Utc>, tz: &str) -> String {
    match tz.parse::<chrono_tz::Tz>() {
        Ok(zone) => t
            .with_timezone(&zone)
            .to_rfc3339_opts(SecondsFormat::AutoSi, false),
        Err(_) => time(t),
    }
}

/// One row of `dags list`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DagListItem {
    pub dag_id: String,
    pub file: String,
    pub schedule: Option<String>,
    pub timezone: String,
    pub paused: bool,
    pub next_run: Option<String>,
    pub tags: Vec<String>,
    pub tasks: usize,
}

impl DagListItem {
    pub fn new(spec: &DagSpec, paused: bool, next_run: Option<DateTime<Utc>>) -> Self {
        DagListItem {
            dag_id: spec.dag_id.clone(),
            file: spec.file.clone(),
            schedule: spec.schedule.clone(),
            timezone: spec.timezone.clone(),
            paused,
            next_run: next_run.map(|t| time_in(t, &spec.timezone)),
            tags: spec.tags.clone(),
            tasks: spec.tasks.len(),
        }
    }
}

/// One row of `dags errors`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImportErrorView {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl From<&ImportError> for ImportErrorView {
    fn from(e: &ImportError) -> Self {
        ImportErrorView {
            file: e.file.clone(),
            line: e.line,
            column: e.column,
            message: e.message.clone(),
        }
    }
}

/// One row of `dags next-runs`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NextRunView {
    pub logical_date: String,
    pub data_interval_start: String,
    pub data_interval_end: String,
    pub run_after: String,
}

/// A task instance inside a run view.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    pub task_id: String,
    pub state: String,
    pub try_number: u32,
    pub start: Option<String>,
    pub end: Option<String>,
    pub duration_ms: Option<i64>,
    /// The task's output fields (any JSON), `null` before it has any.
    pub output: Option<Value>,
    pub metrics: Map<String, Value>,
}

/// A run with its tasks (`dags trigger --wait`, `dags test`, `runs show`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunView {
    pub dag_id: String,
    pub run_id: String,
    pub run_type: String,
    pub state: String,
    pub logical_date: String,
    pub data_interval_start: String,
    pub data_interval_end: String,
    pub conf: Map<String, Value>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub tasks: Vec<TaskView>,
}

impl RunView {
    pub fn new(run: &RunRecord, tis: &[TaskSummary]) -> Self {
        RunView {
            dag_id: run.dag_id.clone(),
            run_id: run.run_id.clone(),
            run_type: run.run_type.to_string(),
            state: run.state.to_string(),
            logical_date: time(run.logical_date),
            data_interval_start: time(run.data_interval_start),
            data_interval_end: time(run.data_interval_end),
            conf: run.conf.clone(),
            start: run.start_at.map(time),
            end: run.end_at.map(time),
            tasks: tis
                .iter()
                .map(|ti| TaskView {
                    task_id: ti.task_id.clone(),
                    state: ti.state.to_string(),
                    try_number: ti.try_number,
                    start: ti.start_at.map(time),
                    end: ti.end_at.map(time),
                    duration_ms: ti.duration_ms,
                    output: ti.output.clone(),
                    metrics: ti.metrics.clone(),
                })
                .collect(),
        }
    }
}

/// A user as `users list` and `users create` show it and `GET /api/v1/users` lists it:
/// never the password hash.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub name: String,
    pub role: String,
    pub created: String,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        UserView {
            name: u.name.clone(),
            role: u.role.clone(),
            created: time(u.created_at),
        }
    }
}

/// An API token as `users tokens NAME` and `GET /api/v1/users/{name}/tokens` list it: never
/// its secret (shown once, when made) nor its hash.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    /// What `users revoke-token ID` and `DELETE /api/v1/users/{name}/tokens/{id}` take.
    pub id: i64,
    /// The user it signs in as.
    pub user: String,
    pub created: String,
    /// From then on the token is refused.
    pub expires: String,
    /// True once `expires` has passed.
    pub expired: bool,
    /// When it was last used (to the minute); null if never.
    pub last_used: Option<String>,
}

impl TokenView {
    /// The view of a stored token as of `now`.
    pub fn new(t: &cambium_store::ApiTokenRecord, now: DateTime<Utc>) -> Self {
        TokenView {
            id: t.id,
            user: t.user.clone(),
            created: time(t.created_at),
            expires: time(t.expires_at),
            expired: t.expires_at <= now,
            last_used: t.last_used_at.map(time),
        }
    }
}

/// `dags backfill --wait`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BackfillView {
    pub dag_id: String,
    pub runs: Vec<RunView>,
}

/// `dags show`: a DAG with its tasks, edges and options.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DagDetail {
    pub dag_id: String,
    pub file: String,
    pub schedule: Option<String>,
    pub timezone: String,
    pub paused: bool,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    pub params: Map<String, Value>,
    #[schema(value_type = Vec<Object>)]
    pub tasks: Vec<Value>,
    pub edges: Vec<[String; 2]>,
}

impl DagDetail {
    pub fn new(spec: &DagSpec, paused: bool) -> Self {
        DagDetail {
            dag_id: spec.dag_id.clone(),
            file: spec.file.clone(),
            schedule: spec.schedule.clone(),
            timezone: spec.timezone.clone(),
            paused,
            description: spec.description.clone(),
            owner: spec.owner.clone(),
            tags: spec.tags.clone(),
            params: spec.params.clone(),
            tasks: spec
                .tasks
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "task_id": t.task_id,
                        "operator": t.operator,
                        "options": t.options,
                        "common": t.common,
                        "upstream": spec.upstream_of(&t.task_id).collect::<Vec<_>>(),
                    })
                })
                .collect(),
            edges: spec
                .edges
                .iter()
                .map(|(a, b)| [a.clone(), b.clone()])
                .collect(),
        }
    }

    /// Graphviz DOT text of the DAG.
    pub fn dot(spec: &DagSpec) -> String {
        let mut out = format!(
            "digraph \"{}\" {{\n  rankdir=LR;\n",
            escape_dot(&spec.dag_id)
        );
        for t in &spec.tasks {
            out.push_str(&format!("  \"{}\";\n", escape_dot(&t.task_id)));
        }
        for (a, b) in &spec.edges {
            out.push_str(&format!(
                "  \"{}\" -> \"{}\";\n",
                escape_dot(a),
                escape_dot(b)
            ));
        }
        out.push_str("}\n");
        out
    }
}

fn escape_dot(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
