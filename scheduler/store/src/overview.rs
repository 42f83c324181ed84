//! Read-only summaries for the web UI and `/metrics`, each one query whatever the number of
//! DAGs: the latest scheduled interval of every DAG (for next runs), the last few runs of
//! every DAG, and counts of runs and task instances by state.

use crate::codec::{int, json, text, time, to_time, Param};
use crate::error::Result;
use crate::records::TaskInstance;
use crate::store::Store;
use cambium_dag::{RunType, TaskState};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A run as the DAG list shows it: a coloured dot.
#[derive(Debug, Clone, PartialEq)]
pub struct RunBrief {
    pub run_id: String,
    pub state: String,
    pub logical_date: DateTime<Utc>,
}

/// One cell of a DAG's grid: a task instance's state, without the rest of the row.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskCell {
    pub run_pk: i64,
    pub task_id: String,
    pub state: String,
    pub try_number: u32,
    pub duration_ms: Option<i64>,
}

/// A task instance as a run list shows it (`runs list`, `GET .../runs`): nine columns of
/// the row, not all twenty-two, which halves the read of 100 runs × 50 tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSummary {
    pub run_pk: i64,
    pub task_id: String,
    pub state: TaskState,
    pub try_number: u32,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub output: Option<Value>,
    pub metrics: Map<String, Value>,
}

impl From<&TaskInstance> for TaskSummary {
    fn from(ti: &TaskInstance) -> Self {
        TaskSummary {
            run_pk: ti.run_pk,
            task_id: ti.task_id.clone(),
            state: ti.state,
            try_number: ti.try_number,
            start_at: ti.start_at,
            end_at: ti.end_at,
            duration_ms: ti.duration_ms,
            output: ti.output.clone(),
            metrics: ti.metrics.clone(),
        }
    }
}

/// A task instance as the database folds it for [`Store::task_summaries_of_runs`]:
/// task, state, try, start and end (µs), duration, output (as stored text, so a JSON
/// `null` output stays apart from none), metrics.
type SummaryCells = (
    String,
    String,
    u32,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<Map<String, Value>>,
);

/// What changes when a DAG changes, without its spec.
#[derive(Debug, Clone, PartialEq)]
pub struct DagHead {
    pub dag_id: String,
    pub file_hash: String,
    pub paused: bool,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// Every active DAG's head, by DAG id: lets a reader keep decoded specs and re-read
    /// only the DAGs that changed.
    pub async fn dag_heads(&self) -> Result<Vec<DagHead>> {
        let rows = sqlx::query(
            "SELECT dag_id, file_hash, paused, updated_at FROM dags WHERE active = 1 ORDER BY dag_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DagHead {
                    dag_id: text(row, "dag_id")?,
                    file_hash: text(row, "file_hash")?,
                    paused: crate::codec::flag(row, "paused")?,
                    updated_at: time(row, "updated_at")?,
                })
            })
            .collect()
    }

    /// These DAGs in full (any order).
    pub async fn dags_by_id(&self, ids: &[String]) -> Result<Vec<crate::DagRecord>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT {} FROM dags WHERE dag_id IN ({})",
                crate::dags::DAG_COLS,
                crate::codec::placeholders(1, chunk.len())
            );
            let params: Vec<Param> = chunk.iter().map(|id| Param::Text(id.clone())).collect();
            let rows = crate::codec::bind_params(sqlx::query(&sql), &params)
                .fetch_all(&self.pool)
                .await?;
            for row in &rows {
                out.push(crate::dags::dag_from_row(row)?);
            }
        }
        Ok(out)
    }

    /// The grid's cells of these runs: five columns per task instance instead of the whole
    /// row, which is what keeps a grid of 100 runs × 50 tasks fast.
    pub async fn task_cells_of_runs(&self, run_pks: &[i64]) -> Result<Vec<TaskCell>> {
        let mut out = Vec::new();
        for chunk in run_pks.chunks(500) {
            let sql = format!(
                "SELECT run_pk, task_id, state, try_number, duration_ms FROM task_instances \
                 WHERE run_pk IN ({})",
                crate::codec::placeholders(1, chunk.len())
            );
            let params: Vec<Param> = chunk.iter().map(|pk| Param::Int(*pk)).collect();
            let rows = crate::codec::bind_params(sqlx::query(&sql), &params)
                .fetch_all(&self.pool)
                .await?;
            for row in &rows {
                out.push(TaskCell {
                    run_pk: int(row, "run_pk")?,
                    task_id: text(row, "task_id")?,
                    state: text(row, "state")?,
                    try_number: crate::codec::u32_col(row, "try_number")?,
                    duration_ms: crate::codec::opt_int(row, "duration_ms")?,
                });
            }
        }
        Ok(out)
    }

    /// The task instances of several runs as run lists show them, by run key then
    /// declaration order. One row per run, its tasks folded into a JSON array by the
    /// database: row by row, 5,000 task instances cost more in hand-offs between the
    /// driver's thread and ours than in reading.
    pub async fn task_summaries_of_runs(&self, run_pks: &[i64]) -> Result<Vec<TaskSummary>> {
        let mut pks = run_pks.to_vec();
        pks.sort_unstable();
        pks.dedup();
        let mut out = Vec::new();
        for chunk in pks.chunks(500) {
            let list = crate::codec::placeholders(1, chunk.len());
            let sql = match self.backend() {
                crate::Backend::Postgres => format!(
                    "SELECT run_pk, json_agg(json_build_array(task_id, state, try_number, \
                     start_at, end_at, duration_ms, output, metrics::json) ORDER BY id)::text \
                     AS tasks FROM task_instances WHERE run_pk IN ({list}) GROUP BY run_pk \
                     ORDER BY run_pk"
                ),
                crate::Backend::Sqlite => format!(
                    "SELECT run_pk, json_group_array(json_array(task_id, state, try_number, \
                     start_at, end_at, duration_ms, output, json(metrics)) ORDER BY id) \
                     AS tasks FROM task_instances WHERE run_pk IN ({list}) GROUP BY run_pk \
                     ORDER BY run_pk"
                ),
            };
            let params: Vec<Param> = chunk.iter().map(|pk| Param::Int(*pk)).collect();
            let rows = crate::codec::bind_params(sqlx::query(&sql), &params)
                .fetch_all(&self.pool)
                .await?;
            for row in &rows {
                let run_pk = int(row, "run_pk")?;
                let tasks: Vec<SummaryCells> = json(row, "tasks")?;
                out.reserve(tasks.len());
                for (task_id, state, try_number, start, end, duration_ms, output, metrics) in tasks
                {
                    out.push(TaskSummary {
                        run_pk,
                        task_id,
                        state: state
                            .parse()
                            .map_err(|e: String| crate::Error::Corrupt(format!("state: {e}")))?,
                        try_number,
                        start_at: start.map(|t| to_time(t, "start_at")).transpose()?,
                        end_at: end.map(|t| to_time(t, "end_at")).transpose()?,
                        duration_ms,
                        output: output
                            .map(|raw| serde_json::from_str(&raw))
                            .transpose()
                            .map_err(|e| {
                                crate::Error::Corrupt(format!("output is not valid JSON: {e}"))
                            })?,
                        metrics: metrics.unwrap_or_default(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Every DAG's latest scheduled run's data interval, by DAG id.
    pub async fn latest_scheduled_intervals(
        &self,
    ) -> Result<HashMap<String, (DateTime<Utc>, DateTime<Utc>)>> {
        let sql = "SELECT r.dag_id, r.data_interval_start, r.data_interval_end \
             FROM dag_runs r JOIN (SELECT dag_id, MAX(logical_date) AS latest FROM dag_runs \
             WHERE run_type = $1 GROUP BY dag_id) m \
             ON r.dag_id = m.dag_id AND r.logical_date = m.latest WHERE r.run_type = $2";
        let rows = crate::codec::bind_params(
            sqlx::query(sql),
            &[
                Param::Text(RunType::Scheduled.as_str().into()),
                Param::Text(RunType::Scheduled.as_str().into()),
            ],
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in &rows {
            out.insert(
                text(row, "dag_id")?,
                (
                    time(row, "data_interval_start")?,
                    time(row, "data_interval_end")?,
                ),
            );
        }
        Ok(out)
    }

    /// The last `per_dag` runs of every active DAG, newest first, by DAG id. One query: per
    /// DAG an index walk of (dag_id, logical_date), `per_dag` rows deep, folded into one
    /// text column (unit and record separators between fields and runs).
    pub async fn recent_runs_by_dag(&self, per_dag: i64) -> Result<HashMap<String, Vec<RunBrief>>> {
        let sql = match self.backend() {
            crate::Backend::Postgres => {
                "SELECT d.dag_id, (SELECT string_agg(x, chr(30)) FROM (SELECT r.state || chr(31) \
                 || r.run_id || chr(31) || r.logical_date::text AS x FROM dag_runs r \
                 WHERE r.dag_id = d.dag_id ORDER BY r.logical_date DESC LIMIT $1) s) AS recent \
                 FROM dags d WHERE d.active = 1"
            }
            _ => {
                "SELECT d.dag_id, (SELECT group_concat(x, char(30)) FROM (SELECT r.state || char(31) \
                 || r.run_id || char(31) || r.logical_date AS x FROM dag_runs r \
                 WHERE r.dag_id = d.dag_id ORDER BY r.logical_date DESC LIMIT $1)) AS recent \
                 FROM dags d WHERE d.active = 1"
            }
        };
        let rows = crate::codec::bind_params(sqlx::query(sql), &[Param::Int(per_dag.max(0))])
            .fetch_all(&self.pool)
            .await?;
        let mut out: HashMap<String, Vec<RunBrief>> = HashMap::new();
        for row in &rows {
            let dag_id = text(row, "dag_id")?;
            let Some(folded) = crate::codec::opt_text(row, "recent")? else {
                continue;
            };
            let mut runs = Vec::new();
            for run in folded.split('\u{1e}') {
                let mut fields = run.split('\u{1f}');
                let (Some(state), Some(run_id), Some(micros)) =
                    (fields.next(), fields.next(), fields.next())
                else {
                    continue;
                };
                let Some(logical_date) = micros
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .and_then(DateTime::<Utc>::from_timestamp_micros)
                else {
                    continue;
                };
                runs.push(RunBrief {
                    run_id: run_id.to_string(),
                    state: state.to_string(),
                    logical_date,
                });
            }
            runs.sort_by_key(|b| std::cmp::Reverse(b.logical_date));
            out.insert(dag_id, runs);
        }
        Ok(out)
    }

    /// How many runs are in each state.
    pub async fn run_state_counts(&self) -> Result<Vec<(String, i64)>> {
        self.state_counts("SELECT state, COUNT(*) AS n FROM dag_runs GROUP BY state")
            .await
    }

    /// How many task instances are in each state.
    pub async fn task_state_counts(&self) -> Result<Vec<(String, i64)>> {
        self.state_counts("SELECT state, COUNT(*) AS n FROM task_instances GROUP BY state")
            .await
    }

    async fn state_counts(&self, sql: &str) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| Ok((text(row, "state")?, int(row, "n")?)))
            .collect()
    }
}
