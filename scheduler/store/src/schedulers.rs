//! Scheduler processes and their heartbeats.

use crate::codec::{int, micros, text, time};
use crate::error::Result;
use crate::records::SchedulerRecord;
use crate::store::Store;

impl Store {
    /// Registers a scheduler process or refreshes its heartbeat (every field is written).
    pub async fn heartbeat(&self, scheduler: &SchedulerRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO schedulers (id, hostname, pid, started_at, heartbeat_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, pid = excluded.pid, \
             started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
        )
        .bind(scheduler.id.as_str())
        .bind(scheduler.hostname.as_str())
        .bind(scheduler.pid)
        .bind(micros(scheduler.started_at))
        .bind(micros(scheduler.heartbeat_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every scheduler known to the store, ordered by id.
    pub async fn schedulers(&self) -> Result<Vec<SchedulerRecord>> {
        let rows = sqlx::query(
            "SELECT id, hostname, pid, started_at, heartbeat_at FROM schedulers ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SchedulerRecord {
                    id: text(row, "id")?,
                    hostname: text(row, "hostname")?,
                    pid: int(row, "pid")?,
                    started_at: time(row, "started_at")?,
                    heartbeat_at: time(row, "heartbeat_at")?,
                })
            })
            .collect()
    }

    /// Forgets a scheduler (on clean shutdown).
    pub async fn remove_scheduler(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM schedulers WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
