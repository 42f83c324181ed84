//! Read-only summaries for the web UI and `/metrics`, each one query whatever the number of
//! DAGs: the latest scheduled interval of every DAG (for next runs), the last few runs of
//! every DAG, and counts of runs and task instances by state.

use crate::codec::{int, parse_json, parse_name, text, to_time, Param};
use crate::error::Result;
use crate::records::TaskInstance;
use crate::store::Store;
use cambium_dag::{RunType, TaskState};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
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
/// the row, not all twenty-two.
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
/// `null` output stays apart from none), metrics (as stored text).
type SummaryCells = (
    String,
    String,
    u32,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    String,
);

/// Rows the database folded into one JSON array of arrays ([`Store::fold`]); none when it
/// folded no rows (Postgres's `json_agg` of nothing is NULL).
fn folded<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> Result<Vec<T>> {
    match crate::codec::opt_text(row, col)? {
        None => Ok(Vec::new()),
        Some(raw) => parse_json(&raw, col),
    }
}

/// What changes when a DAG changes, without its spec.
#[derive(Debug, Clone, PartialEq)]
pub struct DagHead {
    pub dag_id: String,
    pub file_hash: String,
    pub paused: bool,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// An aggregate that folds the selected rows' `columns` into one JSON array of arrays,
    /// in `order`. Reads of thousands of rows go through sqlx one hand-off between threads
    /// per row; folded, a read is one row, several times faster (see docs/benchmarks.md).
    fn fold(&self, columns: &str, order: &str) -> String {
        match self.backend() {
            crate::Backend::Postgres => {
                format!("json_agg(json_build_array({columns}) ORDER BY {order})::text")
            }
            crate::Backend::Sqlite => {
                format!("json_group_array(json_array({columns}) ORDER BY {order})")
            }
        }
    }

    /// Every active DAG's head, by DAG id: lets a reader keep decoded specs and re-read
    /// only the DAGs that changed.
    pub async fn dag_heads(&self) -> Result<Vec<DagHead>> {
        let sql = format!(
            "SELECT {} AS heads FROM dags WHERE active = 1",
            self.fold("dag_id, file_hash, paused, updated_at", "dag_id")
        );
        let row = sqlx::query(&sql).fetch_one(&self.pool).await?;
        folded::<(String, String, i64, i64)>(&row, "heads")?
            .into_iter()
            .map(|(dag_id, file_hash, paused, updated_at)| {
                Ok(DagHead {
                    dag_id,
                    file_hash,
                    paused: paused != 0,
                    updated_at: to_time(updated_at, "updated_at")?,
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
    /// row, folded per run by the database, which is what keeps a grid of 100 runs × 50
    /// tasks fast.
    pub async fn task_cells_of_runs(&self, run_pks: &[i64]) -> Result<Vec<TaskCell>> {
        let mut out = Vec::new();
        let per_run = self
            .fold_tasks_of_runs::<(String, String, u32, Option<i64>)>(
                run_pks,
                "task_id, state, try_number, duration_ms",
            )
            .await?;
        for (run_pk, cells) in per_run {
            out.extend(
                cells
                    .into_iter()
                    .map(|(task_id, state, try_number, duration_ms)| TaskCell {
                        run_pk,
                        task_id,
                        state,
                        try_number,
                        duration_ms,
                    }),
            );
        }
        Ok(out)
    }

    /// `columns` of the task instances of these runs, folded per run in declaration order;
    /// runs in key order, each once, those without task instances left out.
    async fn fold_tasks_of_runs<T: serde::de::DeserializeOwned>(
        &self,
        run_pks: &[i64],
        columns: &str,
    ) -> Result<Vec<(i64, Vec<T>)>> {
        let mut pks = run_pks.to_vec();
        pks.sort_unstable();
        pks.dedup();
        let mut out = Vec::with_capacity(pks.len());
        for chunk in pks.chunks(500) {
            let sql = format!(
                "SELECT run_pk, {} AS tasks FROM task_instances WHERE run_pk IN ({}) \
                 GROUP BY run_pk ORDER BY run_pk",
                self.fold(columns, "id"),
                crate::codec::placeholders(1, chunk.len())
            );
            let params: Vec<Param> = chunk.iter().map(|pk| Param::Int(*pk)).collect();
            let rows = crate::codec::bind_params(sqlx::query(&sql), &params)
                .fetch_all(&self.pool)
                .await?;
            for row in &rows {
                out.push((int(row, "run_pk")?, folded(row, "tasks")?));
            }
        }
        Ok(out)
    }

    /// The task instances of several runs as run lists show them, by run key then
    /// declaration order; folded per run by the database (row by row, 5,000 task instances
    /// cost more in hand-offs between the driver's thread and ours than in reading).
    pub async fn task_summaries_of_runs(&self, run_pks: &[i64]) -> Result<Vec<TaskSummary>> {
        let mut out = Vec::new();
        let per_run = self
            .fold_tasks_of_runs::<SummaryCells>(
                run_pks,
                "task_id, state, try_number, start_at, end_at, duration_ms, output, metrics",
            )
            .await?;
        for (run_pk, tasks) in per_run {
            out.reserve(tasks.len());
            for (task_id, state, try_number, start, end, duration_ms, output, metrics) in tasks {
                out.push(TaskSummary {
                    run_pk,
                    task_id,
                    state: parse_name(&state, "state")?,
                    try_number,
                    start_at: start.map(|t| to_time(t, "start_at")).transpose()?,
                    end_at: end.map(|t| to_time(t, "end_at")).transpose()?,
                    duration_ms,
                    output: output.map(|raw| parse_json(&raw, "output")).transpose()?,
                    metrics: parse_json(&metrics, "metrics")?,
                });
            }
        }
        Ok(out)
    }

    /// Every DAG's latest scheduled run's data interval, by DAG id.
    pub async fn latest_scheduled_intervals(
        &self,
    ) -> Result<HashMap<String, (DateTime<Utc>, DateTime<Utc>)>> {
        let sql = format!(
            "SELECT {} AS latest FROM dag_runs r JOIN (SELECT dag_id, MAX(logical_date) AS \
             logical_date FROM dag_runs WHERE run_type = $1 GROUP BY dag_id) m \
             ON r.dag_id = m.dag_id AND r.logical_date = m.logical_date WHERE r.run_type = $2",
            self.fold(
                "r.dag_id, r.data_interval_start, r.data_interval_end",
                "r.dag_id"
            )
        );
        let row = crate::codec::bind_params(
            sqlx::query(&sql),
            &[
                Param::Text(RunType::Scheduled.as_str().into()),
                Param::Text(RunType::Scheduled.as_str().into()),
            ],
        )
        .fetch_one(&self.pool)
        .await?;
        folded::<(String, i64, i64)>(&row, "latest")?
            .into_iter()
            .map(|(dag_id, start, end)| {
                Ok((
                    dag_id,
                    (
                        to_time(start, "data_interval_start")?,
                        to_time(end, "data_interval_end")?,
                    ),
                ))
            })
            .collect()
    }

    /// The last `per_dag` runs of every active DAG, newest first, by DAG id. One query and
    /// one row: per DAG an index walk of (dag_id, logical_date), `per_dag` rows deep, the
    /// whole folded into JSON (see [`Store::fold`]).
    pub async fn recent_runs_by_dag(&self, per_dag: i64) -> Result<HashMap<String, Vec<RunBrief>>> {
        // The inner fold must reach the outer one as JSON, not as text: SQLite needs
        // `json(...)` around a subquery's result, Postgres keeps the type.
        let sql = match self.backend() {
            crate::Backend::Postgres => {
                "SELECT json_agg(json_build_array(d.dag_id, (SELECT json_agg(json_build_array(\
                 s.state, s.run_id, s.logical_date) ORDER BY s.logical_date DESC) FROM (SELECT \
                 r.state, r.run_id, r.logical_date FROM dag_runs r WHERE r.dag_id = d.dag_id \
                 ORDER BY r.logical_date DESC LIMIT $1) s)))::text AS recent \
                 FROM dags d WHERE d.active = 1"
            }
            crate::Backend::Sqlite => {
                "SELECT json_group_array(json_array(d.dag_id, json((SELECT json_group_array(\
                 json_array(s.state, s.run_id, s.logical_date) ORDER BY s.logical_date DESC) \
                 FROM (SELECT r.state, r.run_id, r.logical_date FROM dag_runs r \
                 WHERE r.dag_id = d.dag_id ORDER BY r.logical_date DESC LIMIT $1) s)))) \
                 AS recent FROM dags d WHERE d.active = 1"
            }
        };
        let row = crate::codec::bind_params(sqlx::query(sql), &[Param::Int(per_dag.max(0))])
            .fetch_one(&self.pool)
            .await?;
        let mut out = HashMap::new();
        for (dag_id, runs) in
            folded::<(String, Option<Vec<(String, String, i64)>>)>(&row, "recent")?
        {
            let runs = runs
                .unwrap_or_default()
                .into_iter()
                .map(|(state, run_id, logical)| {
                    Ok(RunBrief {
                        run_id,
                        state,
                        logical_date: to_time(logical, "logical_date")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            if !runs.is_empty() {
                out.insert(dag_id, runs);
            }
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
