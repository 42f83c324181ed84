//! Backfill requests.

use crate::codec::{int, micros, text, time, u32_col};
use crate::error::Result;
use crate::records::BackfillRecord;
use crate::store::Store;
use chrono::{DateTime, Utc};

impl Store {
    /// Records a backfill and returns it with its id.
    pub async fn create_backfill(
        &self,
        dag_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        rerun: &str,
        max_active_runs: u32,
        now: DateTime<Utc>,
    ) -> Result<BackfillRecord> {
        let row = sqlx::query(
            "INSERT INTO backfills (dag_id, start_at, end_at, rerun, max_active_runs, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(dag_id)
        .bind(micros(start))
        .bind(micros(end))
        .bind(rerun)
        .bind(i64::from(max_active_runs))
        .bind(micros(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(BackfillRecord {
            id: int(&row, "id")?,
            dag_id: dag_id.to_string(),
            start,
            end,
            rerun: rerun.to_string(),
            max_active_runs,
            created_at: now,
        })
    }

    /// The backfill with this id.
    pub async fn get_backfill(&self, id: i64) -> Result<Option<BackfillRecord>> {
        let row = sqlx::query(
            "SELECT id, dag_id, start_at, end_at, rerun, max_active_runs, created_at \
             FROM backfills WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(BackfillRecord {
                id: int(&row, "id")?,
                dag_id: text(&row, "dag_id")?,
                start: time(&row, "start_at")?,
                end: time(&row, "end_at")?,
                rerun: text(&row, "rerun")?,
                max_active_runs: u32_col(&row, "max_active_runs")?,
                created_at: time(&row, "created_at")?,
            })
        })
        .transpose()
    }
}
