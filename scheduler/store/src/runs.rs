//! DAG runs: creation (with their task instances), lookups and listings.

use crate::codec::{
    bind_params, int, json_map, json_text, micros, name, opt_int, opt_time, placeholders, text,
    time, Param,
};
use crate::error::Result;
use crate::records::{NewRun, RunFilter, RunRecord, TaskSeed};
use crate::store::Store;
use cambium_dag::{RunState, RunType, TaskState};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

/// The columns `run_from_row` reads, in select order.
pub(crate) const RUN_COLS: &str = "id, dag_id, run_id, run_type, state, logical_date, \
     data_interval_start, data_interval_end, run_after, conf, backfill_id, created_at, \
     start_at, end_at, version";

/// Task instances inserted per statement (8 parameters each stays far below both
/// backends' bind limits).
const SEED_CHUNK: usize = 200;

pub(crate) fn run_from_row(row: &AnyRow) -> Result<RunRecord> {
    Ok(RunRecord {
        id: int(row, "id")?,
        dag_id: text(row, "dag_id")?,
        run_id: text(row, "run_id")?,
        run_type: name(row, "run_type")?,
        state: name(row, "state")?,
        logical_date: time(row, "logical_date")?,
        data_interval_start: time(row, "data_interval_start")?,
        data_interval_end: time(row, "data_interval_end")?,
        run_after: time(row, "run_after")?,
        conf: json_map(row, "conf")?,
        backfill_id: opt_int(row, "backfill_id")?,
        created_at: time(row, "created_at")?,
        start_at: opt_time(row, "start_at")?,
        end_at: opt_time(row, "end_at")?,
        version: int(row, "version")?,
    })
}

async fn insert_seeds(
    conn: &mut AnyConnection,
    run_pk: i64,
    run: &NewRun,
    tasks: &[TaskSeed],
) -> Result<()> {
    const COLS: usize = 8;
    for chunk in tasks.chunks(SEED_CHUNK) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("({}, 0, '{{}}')", placeholders(1 + i * COLS, COLS)))
            .collect();
        let sql = format!(
            "INSERT INTO task_instances (run_pk, dag_id, run_id, task_id, state, max_tries, \
             pool, priority, try_number, metrics) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for seed in chunk {
            query = query
                .bind(run_pk)
                .bind(run.dag_id.as_str())
                .bind(run.run_id.as_str())
                .bind(seed.task_id.as_str())
                .bind(TaskState::None.as_str())
                .bind(i64::from(seed.max_tries))
                .bind(seed.pool.as_str())
                .bind(i64::from(seed.priority));
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

impl Store {
    /// Creates a run (state `queued`) with one task instance per seed (state `none`,
    /// try 0) in one transaction. Returns `None`, writing nothing, when the DAG already has
    /// a run with this `run_id`.
    pub async fn create_run(&self, run: &NewRun, tasks: &[TaskSeed]) -> Result<Option<RunRecord>> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO dag_runs (dag_id, run_id, run_type, state, logical_date, \
             data_interval_start, data_interval_end, run_after, conf, backfill_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (dag_id, run_id) DO NOTHING RETURNING id",
        )
        .bind(run.dag_id.as_str())
        .bind(run.run_id.as_str())
        .bind(run.run_type.as_str())
        .bind(RunState::Queued.as_str())
        .bind(micros(run.logical_date))
        .bind(micros(run.data_interval_start))
        .bind(micros(run.data_interval_end))
        .bind(micros(run.run_after))
        .bind(json_text(&run.conf)?)
        .bind(run.backfill_id)
        .bind(micros(run.created_at))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let id = int(&row, "id")?;
        insert_seeds(&mut tx, id, run, tasks).await?;
        tx.commit().await?;
        Ok(Some(RunRecord {
            id,
            dag_id: run.dag_id.clone(),
            run_id: run.run_id.clone(),
            run_type: run.run_type,
            state: RunState::Queued,
            logical_date: run.logical_date,
            data_interval_start: run.data_interval_start,
            data_interval_end: run.data_interval_end,
            run_after: run.run_after,
            conf: run.conf.clone(),
            backfill_id: run.backfill_id,
            created_at: run.created_at,
            start_at: None,
            end_at: None,
            version: 0,
        }))
    }

    async fn fetch_runs(&self, sql: &str, params: &[Param]) -> Result<Vec<RunRecord>> {
        let rows = bind_params(sqlx::query(sql), params)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(run_from_row).collect()
    }

    async fn fetch_run(&self, sql: &str, params: &[Param]) -> Result<Option<RunRecord>> {
        let row = bind_params(sqlx::query(sql), params)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(run_from_row).transpose()
    }

    /// The run with this id in this DAG.
    pub async fn get_run(&self, dag_id: &str, run_id: &str) -> Result<Option<RunRecord>> {
        let sql = format!("SELECT {RUN_COLS} FROM dag_runs WHERE dag_id = $1 AND run_id = $2");
        self.fetch_run(
            &sql,
            &[Param::Text(dag_id.into()), Param::Text(run_id.into())],
        )
        .await
    }

    /// The run with this store key.
    pub async fn get_run_by_pk(&self, id: i64) -> Result<Option<RunRecord>> {
        let sql = format!("SELECT {RUN_COLS} FROM dag_runs WHERE id = $1");
        self.fetch_run(&sql, &[Param::Int(id)]).await
    }

    /// Runs of any DAG with this run id (run ids are unique per DAG only), ordered by
    /// dag_id.
    pub async fn find_runs(&self, run_id: &str) -> Result<Vec<RunRecord>> {
        let sql = format!("SELECT {RUN_COLS} FROM dag_runs WHERE run_id = $1 ORDER BY dag_id, id");
        self.fetch_runs(&sql, &[Param::Text(run_id.into())]).await
    }

    /// Runs matching the filter, by logical date (ties by store key, in the same
    /// direction).
    pub async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>> {
        let mut clauses: Vec<String> = Vec::new();
        let mut params: Vec<Param> = Vec::new();
        if let Some(dag_id) = &filter.dag_id {
            params.push(Param::Text(dag_id.clone()));
            clauses.push(format!("dag_id = ${}", params.len()));
        }
        if !filter.states.is_empty() {
            let first = params.len() + 1;
            params.extend(filter.states.iter().map(|s| Param::Text(s.as_str().into())));
            clauses.push(format!(
                "state IN ({})",
                placeholders(first, filter.states.len())
            ));
        }
        if !filter.run_types.is_empty() {
            let first = params.len() + 1;
            params.extend(
                filter
                    .run_types
                    .iter()
                    .map(|t| Param::Text(t.as_str().into())),
            );
            clauses.push(format!(
                "run_type IN ({})",
                placeholders(first, filter.run_types.len())
            ));
        }
        if let Some(backfill_id) = filter.backfill_id {
            params.push(Param::Int(backfill_id));
            clauses.push(format!("backfill_id = ${}", params.len()));
        }
        let mut sql = format!("SELECT {RUN_COLS} FROM dag_runs");
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(if filter.oldest_first {
            " ORDER BY logical_date ASC, id ASC"
        } else {
            " ORDER BY logical_date DESC, id DESC"
        });
        if filter.limit.is_some() || filter.offset.is_some() {
            // An offset needs a limit on SQLite; "no limit" is the largest one.
            params.push(Param::Int(filter.limit.unwrap_or(i64::MAX).max(0)));
            sql.push_str(&format!(" LIMIT ${}", params.len()));
            params.push(Param::Int(filter.offset.unwrap_or(0).max(0)));
            sql.push_str(&format!(" OFFSET ${}", params.len()));
        }
        self.fetch_runs(&sql, &params).await
    }

    /// Runs in state `queued` or `running`, of all DAGs, oldest logical date first.
    pub async fn active_runs(&self) -> Result<Vec<RunRecord>> {
        let sql = format!(
            "SELECT {RUN_COLS} FROM dag_runs WHERE state IN ($1, $2) \
             ORDER BY logical_date ASC, id ASC"
        );
        self.fetch_runs(
            &sql,
            &[
                Param::Text(RunState::Queued.as_str().into()),
                Param::Text(RunState::Running.as_str().into()),
            ],
        )
        .await
    }

    /// The run of this DAG, of one of these types, with the latest logical date.
    pub async fn latest_run(&self, dag_id: &str, types: &[RunType]) -> Result<Option<RunRecord>> {
        if types.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {RUN_COLS} FROM dag_runs WHERE dag_id = $1 AND run_type IN ({}) \
             ORDER BY logical_date DESC, id DESC LIMIT 1",
            placeholders(2, types.len())
        );
        let mut params = vec![Param::Text(dag_id.into())];
        params.extend(types.iter().map(|t| Param::Text(t.as_str().into())));
        self.fetch_run(&sql, &params).await
    }

    /// The run of this DAG with the greatest logical date before `before` (any type).
    pub async fn previous_run(
        &self,
        dag_id: &str,
        before: DateTime<Utc>,
    ) -> Result<Option<RunRecord>> {
        let sql = format!(
            "SELECT {RUN_COLS} FROM dag_runs WHERE dag_id = $1 AND logical_date < $2 \
             ORDER BY logical_date DESC, id DESC LIMIT 1"
        );
        self.fetch_run(
            &sql,
            &[Param::Text(dag_id.into()), Param::Int(micros(before))],
        )
        .await
    }

    /// Runs whose id (store key) is greater than `after_pk`, oldest first: how a scheduler
    /// notices runs created by other processes (CLI, API, other schedulers).
    pub async fn runs_created_after(&self, after_pk: i64) -> Result<Vec<RunRecord>> {
        let sql = format!("SELECT {RUN_COLS} FROM dag_runs WHERE id > $1 ORDER BY id");
        self.fetch_runs(&sql, &[Param::Int(after_pk)]).await
    }

    /// The greatest run store key, 0 when there are none.
    pub async fn max_run_pk(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS max_id FROM dag_runs")
            .fetch_one(&self.pool)
            .await?;
        int(&row, "max_id")
    }
}
