//! Marking a task instance `success` or `failed` without running it (the UI's "mark
//! success/failed", `cambium tasks mark`).

use crate::codec::{micros, name, opt_micros};
use crate::error::{Error, Result};
use crate::records::TaskInstance;
use crate::store::Store;
use crate::tasks::{ti_from_row, TI_COLS};
use cambium_dag::{RunState, TaskState};
use chrono::{DateTime, Utc};

/// The state a finished run has when its task instances are in `states`: failed when any
/// failed or was upstream-failed, success otherwise.
fn run_state_of(states: &[TaskState]) -> RunState {
    if states
        .iter()
        .any(|s| matches!(s, TaskState::Failed | TaskState::UpstreamFailed))
    {
        RunState::Failed
    } else {
        RunState::Success
    }
}

impl Store {
    /// Sets a task instance to `success` or `failed` (any other state is
    /// [`Error::Invalid`]). Its end time is set to `now` if it had none (and its duration
    /// from its start, if it had started), a pending retry is dropped, and a try still
    /// marked queued or running in the history takes the new state too. When the run had
    /// ended, its state is recomputed from its task instances (failed if any failed or was
    /// upstream-failed, success otherwise); a run still going is left to the scheduler,
    /// which notices the change on its next compare-and-set or resync (the run's version is
    /// bumped). A try still running is not stopped here: the scheduler that owns it sees
    /// the mark when it next reads the run and kills the try's process group. One
    /// transaction.
    pub async fn mark_task_instance(
        &self,
        ti_id: i64,
        state: TaskState,
        now: DateTime<Utc>,
    ) -> Result<TaskInstance> {
        if !matches!(state, TaskState::Success | TaskState::Failed) {
            return Err(Error::Invalid(format!(
                "a task instance can be marked success or failed, not {state}"
            )));
        }
        let now = DateTime::from_timestamp_micros(micros(now)).unwrap_or(now);
        let mut tx = self.write_tx().await?;
        // The run's row first (the order every writer locks in): a scheduler that planned
        // from a view without this mark finds the version moved and reads the run again.
        sqlx::query(
            "UPDATE dag_runs SET version = version + 1 \
             WHERE id = (SELECT run_pk FROM task_instances WHERE id = $1)",
        )
        .bind(ti_id)
        .execute(&mut *tx)
        .await?;
        let sql = format!("SELECT {TI_COLS} FROM task_instances WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(ti_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Err(Error::UnknownTaskInstance(ti_id));
        };
        let mut ti = ti_from_row(&row)?;
        ti.state = state;
        ti.next_retry_at = None;
        if ti.end_at.is_none() {
            ti.end_at = Some(now);
            if ti.duration_ms.is_none() {
                ti.duration_ms = ti
                    .start_at
                    .map(|start| (now - start).num_milliseconds().max(0));
            }
        }
        sqlx::query(
            "UPDATE task_instances SET state = $2, end_at = $3, duration_ms = $4, \
             next_retry_at = NULL WHERE id = $1",
        )
        .bind(ti.id)
        .bind(ti.state.as_str())
        .bind(opt_micros(ti.end_at))
        .bind(ti.duration_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE task_tries SET state = $3, end_at = COALESCE(end_at, $4) \
             WHERE ti_id = $1 AND try_number = $2 AND state IN ($5, $6)",
        )
        .bind(ti.id)
        .bind(i64::from(ti.try_number))
        .bind(ti.state.as_str())
        .bind(micros(now))
        .bind(TaskState::Queued.as_str())
        .bind(TaskState::Running.as_str())
        .execute(&mut *tx)
        .await?;

        let run = sqlx::query("SELECT state FROM dag_runs WHERE id = $1")
            .bind(ti.run_pk)
            .fetch_optional(&mut *tx)
            .await?;
        let run_state: Option<RunState> = run.as_ref().map(|r| name(r, "state")).transpose()?;
        if run_state.is_some_and(RunState::is_finished) {
            let rows = sqlx::query("SELECT state FROM task_instances WHERE run_pk = $1")
                .bind(ti.run_pk)
                .fetch_all(&mut *tx)
                .await?;
            let states: Vec<TaskState> = rows
                .iter()
                .map(|r| name(r, "state"))
                .collect::<Result<_>>()?;
            sqlx::query("UPDATE dag_runs SET state = $2 WHERE id = $1")
                .bind(ti.run_pk)
                .bind(run_state_of(&states).as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(ti)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_fails_when_any_task_failed() {
        use TaskState::*;
        assert_eq!(run_state_of(&[Success, Skipped]), RunState::Success);
        assert_eq!(run_state_of(&[Success, Failed]), RunState::Failed);
        assert_eq!(run_state_of(&[UpstreamFailed, Success]), RunState::Failed);
        assert_eq!(run_state_of(&[]), RunState::Success);
    }
}
