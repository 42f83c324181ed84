//! Assets: recording an asset event and creating the runs it triggers. An event comes from a
//! task with `outlets: [name]` that succeeded (the engine calls [`emit`] with the task as
//! its source), from `cambium assets emit NAME`, or from the API. Every active, unpaused DAG
//! whose `triggers` include `on_asset(name)` gets one `asset_triggered` run per event, with
//! the event in `conf.asset`. A DAG whose own task updates an asset it is triggered by
//! triggers itself again, as in Airflow.

use crate::runs::{seeds, timetable_of, RunError};
use crate::time::{rfc3339, run_id, to_micros};
use cambium_dag::{DagSpec, RunType};
use cambium_store::{AssetEvent, EventSource, NewRun, RunRecord, Store};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use tracing::info;

/// The run-id kind of asset-triggered runs (`asset_triggered__<event time>`).
pub const RUN_KIND: &str = "asset_triggered";

/// The names of the assets a DAG is triggered by (its `on_asset(...)` triggers), in
/// declaration order.
pub fn asset_triggers(spec: &DagSpec) -> Vec<&str> {
    spec.triggers
        .iter()
        .filter(|t| t.get("type").and_then(Value::as_str) == Some("asset"))
        .filter_map(|t| t.get("name").and_then(Value::as_str))
        .collect()
}

/// The event as a triggered run's `conf.asset`:
/// `{"id", "name", "extra", "source": {"dag_id", "run_id", "task_id"} | null, "created"}`.
pub fn event_conf(event: &AssetEvent) -> Value {
    let source = match (
        &event.source_dag_id,
        &event.source_run_id,
        &event.source_task_id,
    ) {
        (Some(dag_id), Some(run_id), Some(task_id)) => {
            json!({"dag_id": dag_id, "run_id": run_id, "task_id": task_id})
        }
        _ => Value::Null,
    };
    json!({
        "id": event.id,
        "name": event.asset,
        "extra": event.extra,
        "source": source,
        "created": rfc3339(event.created_at),
    })
}

/// Records an event of `asset` at `now` and creates one `asset_triggered` run for every
/// active, unpaused DAG triggered by it, by dag_id. Each run's logical date is the event's
/// time, its data interval inferred from the DAG's timetable as for a manual run, and its
/// `conf` is `{"asset": <event>}` (templates see the DAG's params overridden by it, as for
/// a manual run's conf).
pub async fn emit(
    store: &Store,
    asset: &str,
    extra: Map<String, Value>,
    source: Option<EventSource<'_>>,
    now: DateTime<Utc>,
) -> Result<(AssetEvent, Vec<RunRecord>), RunError> {
    if asset.trim().is_empty() {
        return Err(RunError::Invalid(
            "an asset name cannot be empty; pass the name used in outlets and on_asset(...)".into(),
        ));
    }
    let event = store
        .record_asset_event(asset, &extra, source, to_micros(now))
        .await?;
    let mut conf = Map::new();
    conf.insert("asset".into(), event_conf(&event));
    let mut runs = Vec::new();
    for dag in store.list_dags().await? {
        if dag.paused || !dag.active || !asset_triggers(&dag.spec).contains(&asset) {
            continue;
        }
        if let Some(run) = create_run(store, &dag.spec, &event, conf.clone()).await? {
            info!(dag_id = %run.dag_id, run_id = %run.run_id, asset, event_id = event.id, "asset-triggered run created");
            runs.push(run);
        }
    }
    Ok((event, runs))
}

/// One run of `spec` for `event`. Two events at the same microsecond would share a run id:
/// the second run's id then ends in the event id.
async fn create_run(
    store: &Store,
    spec: &DagSpec,
    event: &AssetEvent,
    conf: Map<String, Value>,
) -> Result<Option<RunRecord>, RunError> {
    let at = event.created_at;
    let interval = match timetable_of(spec) {
        Ok(timetable) => timetable.manual_interval(at),
        // A bad schedule does not stop the DAG's asset triggers.
        Err(_) => cambium_timetable::DataInterval { start: at, end: at },
    };
    let mut new = NewRun {
        dag_id: spec.dag_id.clone(),
        run_id: run_id(RUN_KIND, at),
        run_type: RunType::AssetTriggered,
        logical_date: at,
        data_interval_start: interval.start,
        data_interval_end: interval.end,
        run_after: at,
        conf,
        backfill_id: None,
        created_at: at,
    };
    let tasks = seeds(spec);
    if let Some(run) = store.create_run(&new, &tasks).await? {
        return Ok(Some(run));
    }
    new.run_id = format!("{}_{}", new.run_id, event.id);
    Ok(store.create_run(&new, &tasks).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_triggers_are_the_on_asset_names() {
        let spec = DagSpec {
            triggers: vec![
                json!({"type": "asset", "name": "a"}),
                json!({"type": "object", "store": "s", "prefix": "p/"}),
                json!({"type": "asset", "name": "b"}),
                json!("junk"),
            ],
            ..DagSpec::new("d", "d.rhai")
        };
        assert_eq!(asset_triggers(&spec), ["a", "b"]);
        assert!(asset_triggers(&DagSpec::new("e", "e.rhai")).is_empty());
    }

    #[test]
    fn the_event_in_conf() {
        let created = DateTime::from_timestamp(1_790_000_000, 0).expect("time");
        let mut event = AssetEvent {
            id: 7,
            asset: "w".into(),
            extra: json!({"rows": 3}).as_object().cloned().expect("object"),
            source_dag_id: Some("etl".into()),
            source_run_id: Some("r".into()),
            source_task_id: Some("load".into()),
            created_at: created,
        };
        assert_eq!(
            event_conf(&event),
            json!({"id": 7, "name": "w", "extra": {"rows": 3},
                   "source": {"dag_id": "etl", "run_id": "r", "task_id": "load"},
                   "created": "2026-09-21T14:13:20+00:00"})
        );
        event.source_dag_id = None;
        event.source_run_id = None;
        event.source_task_id = None;
        assert_eq!(event_conf(&event)["source"], Value::Null);
    }
}
