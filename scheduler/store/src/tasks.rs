//! Task instances and their tries: reads, the compare-and-set batch writer, clearing, and
//! claims.

use crate::codec::{
    bind_params, i32_col, int, json_map, json_text, name, opt_i32_col, opt_int, opt_json,
    opt_micros, opt_text, opt_time, placeholders, text, u32_col, Param,
};
use crate::error::Result;
use crate::records::{ActiveCounts, Applied, Batch, TaskInstance, TryRecord};
use crate::store::Store;
use cambium_dag::{RunState, TaskState};
use sqlx::any::AnyRow;
use std::collections::{BTreeMap, HashMap};

/// The columns `ti_from_row` reads, in select order.
pub(crate) const TI_COLS: &str =
    "id, run_pk, dag_id, run_id, task_id, state, try_number, max_tries, \
     pool, priority, queued_at, start_at, end_at, duration_ms, next_retry_at, output, metrics, \
     claimed_by, hostname, pid, exit_code, error";

const TRY_COLS: &str = "ti_id, try_number, state, start_at, end_at, exit_code, hostname, error";

/// Run keys per `IN (...)` list.
const IN_CHUNK: usize = 500;

/// Every mutable column of a task instance, compared-and-set on its state.
const TI_UPDATE: &str = "UPDATE task_instances SET state = $3, try_number = $4, \
     max_tries = $5, pool = $6, priority = $7, queued_at = $8, start_at = $9, end_at = $10, \
     duration_ms = $11, next_retry_at = $12, output = $13, metrics = $14, claimed_by = $15, \
     hostname = $16, pid = $17, exit_code = $18, error = $19 \
     WHERE id = $1 AND state = $2";

/// A run's state change, compare-and-set on its version (which it bumps).
const RUN_UPDATE: &str = "UPDATE dag_runs SET state = $2, start_at = $3, end_at = $4, \
     version = version + 1 WHERE id = $1 AND version = $5";

/// Checks a run's version and, on Postgres, locks its row until the batch commits, so a
/// clear or mark cannot slip in between the check and the writes planned from it.
const RUN_GUARD: &str = "UPDATE dag_runs SET version = version WHERE id = $1 AND version = $2";

const TRY_UPSERT: &str = "INSERT INTO task_tries (ti_id, try_number, state, start_at, end_at, \
     exit_code, hostname, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (ti_id, try_number) DO UPDATE SET state = excluded.state, \
     start_at = excluded.start_at, end_at = excluded.end_at, exit_code = excluded.exit_code, \
     hostname = excluded.hostname, error = excluded.error";

/// Clears one task: `$1` run, `$2` task, `$3` retries, `$4`/`$5` the active states kept.
const TI_CLEAR: &str = "UPDATE task_instances SET state = $6, max_tries = try_number + $3 + 1, \
     queued_at = NULL, start_at = NULL, end_at = NULL, duration_ms = NULL, \
     next_retry_at = NULL, output = NULL, metrics = '{}', claimed_by = NULL, pid = NULL, \
     exit_code = NULL, error = NULL \
     WHERE run_pk = $1 AND task_id = $2 AND state NOT IN ($4, $5)";

pub(crate) fn ti_from_row(row: &AnyRow) -> Result<TaskInstance> {
    Ok(TaskInstance {
        id: int(row, "id")?,
        run_pk: int(row, "run_pk")?,
        dag_id: text(row, "dag_id")?,
        run_id: text(row, "run_id")?,
        task_id: text(row, "task_id")?,
        state: name(row, "state")?,
        try_number: u32_col(row, "try_number")?,
        max_tries: u32_col(row, "max_tries")?,
        pool: text(row, "pool")?,
        priority: i32_col(row, "priority")?,
        queued_at: opt_time(row, "queued_at")?,
        start_at: opt_time(row, "start_at")?,
        end_at: opt_time(row, "end_at")?,
        duration_ms: opt_int(row, "duration_ms")?,
        next_retry_at: opt_time(row, "next_retry_at")?,
        output: opt_json(row, "output")?,
        metrics: json_map(row, "metrics")?,
        claimed_by: opt_text(row, "claimed_by")?,
        hostname: opt_text(row, "hostname")?,
        pid: opt_int(row, "pid")?,
        exit_code: opt_i32_col(row, "exit_code")?,
        error: opt_text(row, "error")?,
    })
}

fn try_from_row(row: &AnyRow) -> Result<TryRecord> {
    Ok(TryRecord {
        ti_id: int(row, "ti_id")?,
        try_number: u32_col(row, "try_number")?,
        state: name(row, "state")?,
        start_at: opt_time(row, "start_at")?,
        end_at: opt_time(row, "end_at")?,
        exit_code: opt_i32_col(row, "exit_code")?,
        hostname: opt_text(row, "hostname")?,
        error: opt_text(row, "error")?,
    })
}

fn active_params() -> [Param; 2] {
    [
        Param::Text(TaskState::Queued.as_str().into()),
        Param::Text(TaskState::Running.as_str().into()),
    ]
}

impl Store {
    async fn fetch_tis(&self, sql: &str, params: &[Param]) -> Result<Vec<TaskInstance>> {
        let rows = bind_params(sqlx::query(sql), params)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(ti_from_row).collect()
    }

    /// The task instances of a run, in insertion (declaration) order.
    pub async fn task_instances(&self, run_pk: i64) -> Result<Vec<TaskInstance>> {
        let sql = format!("SELECT {TI_COLS} FROM task_instances WHERE run_pk = $1 ORDER BY id");
        self.fetch_tis(&sql, &[Param::Int(run_pk)]).await
    }

    /// The task instances of several runs, by run key then declaration order.
    pub async fn task_instances_of_runs(&self, run_pks: &[i64]) -> Result<Vec<TaskInstance>> {
        let mut pks = run_pks.to_vec();
        pks.sort_unstable();
        pks.dedup();
        let mut out = Vec::new();
        for chunk in pks.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT {TI_COLS} FROM task_instances WHERE run_pk IN ({}) ORDER BY run_pk, id",
                placeholders(1, chunk.len())
            );
            let params: Vec<Param> = chunk.iter().map(|pk| Param::Int(*pk)).collect();
            out.extend(self.fetch_tis(&sql, &params).await?);
        }
        Ok(out)
    }

    /// One task instance by store key.
    pub async fn task_instance(&self, id: i64) -> Result<Option<TaskInstance>> {
        let sql = format!("SELECT {TI_COLS} FROM task_instances WHERE id = $1");
        Ok(self
            .fetch_tis(&sql, &[Param::Int(id)])
            .await?
            .into_iter()
            .next())
    }

    /// The try history of a task instance, by try number.
    pub async fn tries(&self, ti_id: i64) -> Result<Vec<TryRecord>> {
        let sql = format!("SELECT {TRY_COLS} FROM task_tries WHERE ti_id = $1 ORDER BY try_number");
        let rows = sqlx::query(&sql).bind(ti_id).fetch_all(&self.pool).await?;
        rows.iter().map(try_from_row).collect()
    }

    /// Writes a batch in one transaction. Returns, for each entry of
    /// `batch.task_instances`, whether its compare-and-set applied. The batch's runs are
    /// written only while their version is unchanged (see [`Store::apply_guarded`]).
    pub async fn apply(&self, batch: &Batch) -> Result<Vec<bool>> {
        Ok(self.apply_guarded(batch, &[]).await?.task_instances)
    }

    /// Writes a batch in one transaction, as the scheduler does. `guards` lists entries of
    /// `batch.task_instances` (by index) that were planned from a view of their run at a
    /// version: such an entry applies only while the run's stored version is still that
    /// one, so a clear or mark made meanwhile (which bumps the version) is never overtaken
    /// by a plan that did not see it. Each run record applies only while the stored run's
    /// version equals the record's, and bumps it. Entries not guarded (a try's start or
    /// end) apply whenever their state compare-and-set does.
    ///
    /// Rows are locked in one order whatever the batch order — runs by store key, then
    /// task instances by store key — so two schedulers writing overlapping batches on
    /// Postgres, or a scheduler and a clear, cannot deadlock.
    pub async fn apply_guarded(&self, batch: &Batch, guards: &[(usize, i64)]) -> Result<Applied> {
        let mut applied = Applied {
            task_instances: vec![false; batch.task_instances.len()],
            runs: vec![false; batch.runs.len()],
        };
        if batch.is_empty() {
            return Ok(applied);
        }
        let mut order: Vec<usize> = (0..batch.task_instances.len()).collect();
        order.sort_by_key(|&i| batch.task_instances[i].1.id);
        let mut runs: Vec<usize> = (0..batch.runs.len()).collect();
        runs.sort_by_key(|&i| batch.runs[i].id);
        let mut guard_of: HashMap<usize, i64> = HashMap::new();
        // Run key -> the version its guarded entries were planned at.
        let mut expected: BTreeMap<i64, i64> = BTreeMap::new();
        for &(idx, version) in guards {
            if let Some((_, ti)) = batch.task_instances.get(idx) {
                guard_of.insert(idx, version);
                expected.entry(ti.run_pk).or_insert(version);
            }
        }

        let mut tx = self.write_tx().await?;
        // Run key -> whether the versions it was planned at still hold.
        let mut holds: HashMap<(i64, i64), bool> = HashMap::new();
        for (&run_pk, &version) in &expected {
            let done = sqlx::query(RUN_GUARD)
                .bind(run_pk)
                .bind(version)
                .execute(&mut *tx)
                .await?;
            holds.insert((run_pk, version), done.rows_affected() == 1);
        }
        for i in order {
            let (expect, ti) = &batch.task_instances[i];
            if let Some(&version) = guard_of.get(&i) {
                let ok = match holds.get(&(ti.run_pk, version)) {
                    Some(&ok) => ok,
                    None => {
                        let done = sqlx::query(RUN_GUARD)
                            .bind(ti.run_pk)
                            .bind(version)
                            .execute(&mut *tx)
                            .await?;
                        let ok = done.rows_affected() == 1;
                        holds.insert((ti.run_pk, version), ok);
                        ok
                    }
                };
                if !ok {
                    continue;
                }
            }
            let output = ti.output.as_ref().map(json_text).transpose()?;
            let done = sqlx::query(TI_UPDATE)
                .bind(ti.id)
                .bind(expect.as_str())
                .bind(ti.state.as_str())
                .bind(i64::from(ti.try_number))
                .bind(i64::from(ti.max_tries))
                .bind(ti.pool.as_str())
                .bind(i64::from(ti.priority))
                .bind(opt_micros(ti.queued_at))
                .bind(opt_micros(ti.start_at))
                .bind(opt_micros(ti.end_at))
                .bind(ti.duration_ms)
                .bind(opt_micros(ti.next_retry_at))
                .bind(output)
                .bind(json_text(&ti.metrics)?)
                .bind(ti.claimed_by.as_deref())
                .bind(ti.hostname.as_deref())
                .bind(ti.pid)
                .bind(ti.exit_code.map(i64::from))
                .bind(ti.error.as_deref())
                .execute(&mut *tx)
                .await?;
            applied.task_instances[i] = done.rows_affected() == 1;
        }
        for i in runs {
            let run = &batch.runs[i];
            let done = sqlx::query(RUN_UPDATE)
                .bind(run.id)
                .bind(run.state.as_str())
                .bind(opt_micros(run.start_at))
                .bind(opt_micros(run.end_at))
                .bind(run.version)
                .execute(&mut *tx)
                .await?;
            applied.runs[i] = done.rows_affected() == 1;
        }
        for t in &batch.tries {
            sqlx::query(TRY_UPSERT)
                .bind(t.ti_id)
                .bind(i64::from(t.try_number))
                .bind(t.state.as_str())
                .bind(opt_micros(t.start_at))
                .bind(opt_micros(t.end_at))
                .bind(t.exit_code.map(i64::from))
                .bind(t.hostname.as_deref())
                .bind(t.error.as_deref())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(applied)
    }

    /// Task instances in `queued`/`running`, counted by pool and by DAG.
    pub async fn active_counts(&self) -> Result<ActiveCounts> {
        let params = active_params();
        let rows = bind_params(
            sqlx::query(
                "SELECT pool, dag_id, COUNT(*) AS n FROM task_instances \
                 WHERE state IN ($1, $2) GROUP BY pool, dag_id",
            ),
            &params,
        )
        .fetch_all(&self.pool)
        .await?;
        let mut counts = ActiveCounts::default();
        for row in &rows {
            let n = u32_col(row, "n")?;
            *counts.by_pool.entry(text(row, "pool")?).or_default() += n;
            *counts.by_dag.entry(text(row, "dag_id")?).or_default() += n;
        }
        Ok(counts)
    }

    /// Task instances in `queued` or `running` (of any scheduler), by store key.
    pub async fn active_task_instances(&self) -> Result<Vec<TaskInstance>> {
        let sql =
            format!("SELECT {TI_COLS} FROM task_instances WHERE state IN ($1, $2) ORDER BY id");
        self.fetch_tis(&sql, &active_params()).await
    }

    /// Clears tasks of a run so they run again: state `none`, times, output, metrics,
    /// next retry and error emptied, `max_tries` raised to `try_number + retries + 1` (from
    /// `retries_by_task`, 0 when absent), and the run set back to `queued` with no end. One
    /// transaction. Returns how many task instances were cleared; tasks in `queued` or
    /// `running` are left alone.
    ///
    /// The claim, pid and exit code of the last try are emptied too (its history stays in
    /// the tries). When nothing was cleared the run is left as it was.
    pub async fn clear_tasks(
        &self,
        run_pk: i64,
        task_ids: &[String],
        retries_by_task: &HashMap<String, u32>,
    ) -> Result<usize> {
        if task_ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write_tx().await?;
        // The run's row first (the order every writer locks in); its version is bumped
        // below when anything was cleared.
        sqlx::query("UPDATE dag_runs SET version = version WHERE id = $1")
            .bind(run_pk)
            .execute(&mut *tx)
            .await?;
        let mut cleared: u64 = 0;
        for task_id in task_ids {
            let retries = retries_by_task.get(task_id).copied().unwrap_or(0);
            let done = sqlx::query(TI_CLEAR)
                .bind(run_pk)
                .bind(task_id.as_str())
                .bind(i64::from(retries))
                .bind(TaskState::Queued.as_str())
                .bind(TaskState::Running.as_str())
                .bind(TaskState::None.as_str())
                .execute(&mut *tx)
                .await?;
            cleared += done.rows_affected();
        }
        if cleared > 0 {
            sqlx::query(
                "UPDATE dag_runs SET state = $2, end_at = NULL, version = version + 1 \
                 WHERE id = $1",
            )
            .bind(run_pk)
            .bind(RunState::Queued.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(usize::try_from(cleared).unwrap_or(usize::MAX))
    }

    /// Moves the claim of a task instance's current try from one scheduler to another, if
    /// it is still held by `from`; returns whether it moved.
    pub async fn take_over(&self, ti_id: i64, from: Option<&str>, to: &str) -> Result<bool> {
        let done = match from {
            Some(from) => {
                sqlx::query(
                    "UPDATE task_instances SET claimed_by = $3 WHERE id = $1 AND claimed_by = $2",
                )
                .bind(ti_id)
                .bind(from)
                .bind(to)
                .execute(&self.pool)
                .await?
            }
            None => sqlx::query(
                "UPDATE task_instances SET claimed_by = $2 WHERE id = $1 AND claimed_by IS NULL",
            )
            .bind(ti_id)
            .bind(to)
            .execute(&self.pool)
            .await?,
        };
        Ok(done.rows_affected() == 1)
    }
}
