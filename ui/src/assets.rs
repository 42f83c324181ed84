//! Assets as JSON views, shared by `cambium assets ...`, the API's assets routes and the
//! assets page. Which assets exist comes from the DAGs: a task's `outlets` make it a
//! producer, a DAG's `on_asset(name)` trigger a consumer; the store adds how many events
//! each asset had and when the last one was.

use crate::time;
use cambium_scheduler::assets::asset_triggers;
use cambium_store::{AssetEvent, AssetSummary, DagRecord};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A task that updates an asset when it succeeds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub struct AssetProducer {
    pub dag_id: String,
    pub task_id: String,
}

/// One asset: who updates it, which DAGs it triggers, its events.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AssetView {
    pub name: String,
    /// Tasks with this asset in their `outlets`, by DAG then task.
    pub producers: Vec<AssetProducer>,
    /// DAGs with an `on_asset(name)` trigger, by id.
    pub consumers: Vec<String>,
    /// Events recorded for it.
    pub events: i64,
    /// When the last event was recorded.
    pub last_event: Option<String>,
}

/// Every asset named by an active DAG (outlets, `on_asset` triggers) or having events,
/// once each, by name. `dags` as from `Store::list_dags`, `summaries` from
/// `Store::asset_summaries`.
pub fn asset_views<D: std::borrow::Borrow<DagRecord>>(
    dags: &[D],
    summaries: &[AssetSummary],
) -> Vec<AssetView> {
    #[derive(Default)]
    struct Acc {
        producers: BTreeSet<AssetProducer>,
        consumers: BTreeSet<String>,
        events: i64,
        last: Option<chrono::DateTime<chrono::Utc>>,
    }
    let mut by_name: BTreeMap<String, Acc> = BTreeMap::new();
    for dag in dags.iter().map(|d| d.borrow()).filter(|d| d.active) {
        let spec = &dag.spec;
        for task in &spec.tasks {
            for asset in &task.common.outlets {
                by_name
                    .entry(asset.clone())
                    .or_default()
                    .producers
                    .insert(AssetProducer {
                        dag_id: spec.dag_id.clone(),
                        task_id: task.task_id.clone(),
                    });
            }
        }
        for asset in asset_triggers(spec) {
            by_name
                .entry(asset.to_string())
                .or_default()
                .consumers
                .insert(spec.dag_id.clone());
        }
    }
    for s in summaries {
        let acc = by_name.entry(s.name.clone()).or_default();
        acc.events += s.events;
        acc.last = acc.last.max(s.last_event_at);
    }
    by_name
        .into_iter()
        .map(|(name, acc)| AssetView {
            name,
            producers: acc.producers.into_iter().collect(),
            consumers: acc.consumers.into_iter().collect(),
            events: acc.events,
            last_event: acc.last.map(time),
        })
        .collect()
}

/// The task try whose success recorded an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AssetEventSource {
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
}

/// One asset event.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AssetEventView {
    pub id: i64,
    pub asset: String,
    pub extra: Map<String, Value>,
    /// The producing task; `null` for events posted through the API or the CLI.
    pub source: Option<AssetEventSource>,
    pub created: String,
}

impl From<&AssetEvent> for AssetEventView {
    fn from(e: &AssetEvent) -> Self {
        let source = match (&e.source_dag_id, &e.source_run_id, &e.source_task_id) {
            (Some(dag_id), Some(run_id), Some(task_id)) => Some(AssetEventSource {
                dag_id: dag_id.clone(),
                run_id: run_id.clone(),
                task_id: task_id.clone(),
            }),
            _ => None,
        };
        AssetEventView {
            id: e.id,
            asset: e.asset.clone(),
            extra: e.extra.clone(),
            source,
            created: time(e.created_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cambium_dag::{DagSpec, TaskOptions, TaskSpec};
    use chrono::{DateTime, Utc};
    use serde_json::json;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + secs, 0).expect("time")
    }

    fn task(task_id: &str, outlets: &[&str]) -> TaskSpec {
        TaskSpec {
            task_id: task_id.into(),
            operator: "command".into(),
            options: Map::new(),
            common: TaskOptions {
                outlets: outlets.iter().map(|s| s.to_string()).collect(),
                ..TaskOptions::default()
            },
        }
    }

    fn dag(dag_id: &str, tasks: Vec<TaskSpec>, on_assets: &[&str], active: bool) -> DagRecord {
        DagRecord {
            spec: DagSpec {
                tasks,
                triggers: on_assets
                    .iter()
                    .map(|a| json!({"type": "asset", "name": a}))
                    .collect(),
                ..DagSpec::new(dag_id, "f.rhai")
            },
            file_hash: "h".into(),
            paused: false,
            active,
            updated_at: at(0),
        }
    }

    #[test]
    fn every_asset_named_anywhere_once_by_name() {
        let dags = vec![
            dag(
                "etl",
                vec![task("load", &["w", "x"]), task("check", &["w"])],
                &[],
                true,
            ),
            dag("retrain", vec![task("train", &["model"])], &["w"], true),
            dag("report", vec![task("r", &[])], &["w", "model"], true),
            dag("gone", vec![task("g", &["w"])], &["x"], false),
        ];
        let summaries = vec![
            AssetSummary {
                name: "posted_only".into(),
                events: 1,
                last_event_at: Some(at(5)),
            },
            AssetSummary {
                name: "w".into(),
                events: 3,
                last_event_at: Some(at(9)),
            },
        ];
        let views = asset_views(&dags, &summaries);
        let names: Vec<&str> = views.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["model", "posted_only", "w", "x"]);

        let w = &views[2];
        assert_eq!(
            w.producers,
            [
                AssetProducer {
                    dag_id: "etl".into(),
                    task_id: "check".into()
                },
                AssetProducer {
                    dag_id: "etl".into(),
                    task_id: "load".into()
                },
            ],
            "inactive DAGs do not count"
        );
        assert_eq!(w.consumers, ["report", "retrain"]);
        assert_eq!(
            (w.events, w.last_event.as_deref()),
            (3, Some("2026-09-21T14:13:29+00:00"))
        );

        let model = &views[0];
        assert_eq!(model.producers.len(), 1);
        assert_eq!(model.consumers, ["report"]);
        assert_eq!((model.events, model.last_event.as_deref()), (0, None));

        let posted = &views[1];
        assert!(posted.producers.is_empty() && posted.consumers.is_empty());
        assert_eq!(posted.events, 1);

        assert_eq!(
            serde_json::to_value(&views[3]).expect("json"),
            json!({"name": "x", "producers": [{"dag_id": "etl", "task_id": "load"}],
                   "consumers": [], "events": 0, "last_event": null})
        );
    }

    #[test]
    fn events_as_json() {
        let mut event = AssetEvent {
            id: 4,
            asset: "w".into(),
            extra: json!({"rows": 3}).as_object().cloned().expect("object"),
            source_dag_id: Some("etl".into()),
            source_run_id: Some("manual__x".into()),
            source_task_id: Some("load".into()),
            created_at: at(0),
        };
        assert_eq!(
            serde_json::to_value(AssetEventView::from(&event)).expect("json"),
            json!({"id": 4, "asset": "w", "extra": {"rows": 3},
                   "source": {"dag_id": "etl", "run_id": "manual__x", "task_id": "load"},
                   "created": "2026-09-21T14:13:20+00:00"})
        );
        event.source_dag_id = None;
        event.source_run_id = None;
        event.source_task_id = None;
        assert_eq!(AssetEventView::from(&event).source, None);
    }
}
