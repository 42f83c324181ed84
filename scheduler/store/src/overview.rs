//! Read-only summaries for the web UI and `/metrics`, each one query whatever the number of
//! DAGs: the latest scheduled interval of every DAG (for next runs), the last few runs of
//! every DAG, and counts of runs and task instances by state.

use crate::codec::{int, text, time, Param};
use crate::error::Result;
use crate::store::Store;
use cambium_dag::RunType;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// A run as the DAG list shows it: a coloured dot.
#[derive(Debug, Clone, PartialEq)]
pub struct RunBrief {
    pub run_id: String,
    pub state: String,
    pub logical_date: DateTime<Utc>,
}

impl Store {
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

    /// The last `per_dag` runs of every DAG, newest first, by DAG id.
    pub async fn recent_runs_by_dag(&self, per_dag: i64) -> Result<HashMap<String, Vec<RunBrief>>> {
        let sql = "SELECT dag_id, run_id, state, logical_date FROM (SELECT dag_id, run_id, \
             state, logical_date, ROW_NUMBER() OVER (PARTITION BY dag_id \
             ORDER BY logical_date DESC, id DESC) AS n FROM dag_runs) ranked \
             WHERE n <= $1 ORDER BY dag_id, logical_date DESC";
        let rows = crate::codec::bind_params(sqlx::query(sql), &[Param::Int(per_dag.max(0))])
            .fetch_all(&self.pool)
            .await?;
        let mut out: HashMap<String, Vec<RunBrief>> = HashMap::new();
        for row in &rows {
            out.entry(text(row, "dag_id")?).or_default().push(RunBrief {
                run_id: text(row, "run_id")?,
                state: text(row, "state")?,
                logical_date: time(row, "logical_date")?,
            });
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
