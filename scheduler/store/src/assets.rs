//! Asset events: what a task's `outlets` or `cambium assets emit` record, and the lookups
//! behind `cambium assets list`, the API's assets routes and the assets page. Which assets
//! exist comes from the DAG specs (outlets and `on_asset` triggers); this table only holds
//! what happened to them.

use crate::codec::{int, json_map, json_text, micros, opt_text, opt_time, text, time};
use crate::error::Result;
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::any::AnyRow;

/// One recorded asset event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetEvent {
    pub id: i64,
    /// The asset's name, as in `outlets: [name]` and `on_asset(name)`.
    pub asset: String,
    /// What the producer said about this update (a JSON object; `{}` when nothing).
    pub extra: Map<String, Value>,
    /// The task that produced it; all three are `None` for events posted by hand.
    pub source_dag_id: Option<String>,
    pub source_run_id: Option<String>,
    pub source_task_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An asset that has events: how many, and when the last one was recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetSummary {
    pub name: String,
    pub events: i64,
    pub last_event_at: Option<DateTime<Utc>>,
}

/// The task try whose success recorded an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSource<'a> {
    pub dag_id: &'a str,
    pub run_id: &'a str,
    pub task_id: &'a str,
}

const EVENT_COLS: &str =
    "id, asset, extra, source_dag_id, source_run_id, source_task_id, created_at";

fn event_from_row(row: &AnyRow) -> Result<AssetEvent> {
    Ok(AssetEvent {
        id: int(row, "id")?,
        asset: text(row, "asset")?,
        extra: json_map(row, "extra")?,
        source_dag_id: opt_text(row, "source_dag_id")?,
        source_run_id: opt_text(row, "source_run_id")?,
        source_task_id: opt_text(row, "source_task_id")?,
        created_at: time(row, "created_at")?,
    })
}

impl Store {
    /// Records an event of `asset` at `now` and returns it as it reads back (the time at
    /// the store's microsecond precision).
    pub async fn record_asset_event(
        &self,
        asset: &str,
        extra: &Map<String, Value>,
        source: Option<EventSource<'_>>,
        now: DateTime<Utc>,
    ) -> Result<AssetEvent> {
        let created = micros(now);
        let row = sqlx::query(
            "INSERT INTO asset_events (asset, extra, source_dag_id, source_run_id, \
             source_task_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(asset)
        .bind(json_text(extra)?)
        .bind(source.map(|s| s.dag_id))
        .bind(source.map(|s| s.run_id))
        .bind(source.map(|s| s.task_id))
        .bind(created)
        .fetch_one(&self.pool)
        .await?;
        Ok(AssetEvent {
            id: int(&row, "id")?,
            asset: asset.to_string(),
            extra: extra.clone(),
            source_dag_id: source.map(|s| s.dag_id.to_string()),
            source_run_id: source.map(|s| s.run_id.to_string()),
            source_task_id: source.map(|s| s.task_id.to_string()),
            created_at: DateTime::from_timestamp_micros(created).unwrap_or(now),
        })
    }

    /// The newest `limit` events of `asset` (of every asset when `None`), newest first.
    pub async fn asset_events(&self, asset: Option<&str>, limit: i64) -> Result<Vec<AssetEvent>> {
        let limit = limit.max(0);
        let rows = match asset {
            Some(asset) => {
                let sql = format!(
                    "SELECT {EVENT_COLS} FROM asset_events WHERE asset = $1 \
                     ORDER BY created_at DESC, id DESC LIMIT $2"
                );
                sqlx::query(&sql)
                    .bind(asset)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!(
                    "SELECT {EVENT_COLS} FROM asset_events \
                     ORDER BY created_at DESC, id DESC LIMIT $1"
                );
                sqlx::query(&sql).bind(limit).fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(event_from_row).collect()
    }

    /// Every asset that has events, by name, with its count and last event time.
    pub async fn asset_summaries(&self) -> Result<Vec<AssetSummary>> {
        let rows = sqlx::query(
            "SELECT asset, COUNT(*) AS events, MAX(created_at) AS last_event_at \
             FROM asset_events GROUP BY asset ORDER BY asset",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AssetSummary {
                    name: text(row, "asset")?,
                    events: int(row, "events")?,
                    last_event_at: opt_time(row, "last_event_at")?,
                })
            })
            .collect()
    }
}
