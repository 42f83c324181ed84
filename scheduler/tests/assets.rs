//! Asset events and asset-triggered runs: `assets::emit` on a real SQLite store, and the
//! engine (stepped with an injected clock, executor scripted by the test) emitting a task's
//! outlets when it succeeds.

mod common;

use cambium_dag::{DagSpec, RunState, RunType, TaskOptions, TaskSpec, TaskState};
use cambium_scheduler::assets::emit;
use cambium_scheduler::request::template_context;
use cambium_scheduler::runs::create_manual_run;
use cambium_scheduler::{Engine, EngineOptions, Home, ManualClock, Mode};
use cambium_store::{EventSource, RunFilter, RunRecord, Store};
use chrono::{DateTime, TimeZone, Utc};
use common::Scripted;
use serde_json::{json, Map, Value};
use std::sync::Arc;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
        .single()
        .expect("valid time")
}

fn task(task_id: &str, outlets: &[&str]) -> TaskSpec {
    let mut options = Map::new();
    options.insert("cmd".into(), json!("true"));
    TaskSpec {
        task_id: task_id.into(),
        operator: "command".into(),
        options,
        common: TaskOptions {
            outlets: outlets.iter().map(|s| s.to_string()).collect(),
            ..TaskOptions::default()
        },
    }
}

fn dag(dag_id: &str, tasks: Vec<TaskSpec>, on_assets: &[&str]) -> DagSpec {
    DagSpec {
        triggers: on_assets
            .iter()
            .map(|a| json!({"type": "asset", "name": a}))
            .collect(),
        tasks,
        ..DagSpec::new(dag_id, "assets.rhai")
    }
}

/// `etl.load` updates `warehouse.wine_daily`; `retrain` and `report` are triggered by it,
/// `other` by another asset; `paused_consumer` is triggered by it but paused. With
/// `scheduled`, `retrain` also has a daily schedule.
fn dags(scheduled: bool) -> Vec<DagSpec> {
    let mut retrain = dag(
        "retrain",
        vec![task("train", &[])],
        &["warehouse.wine_daily"],
    );
    retrain.params = json!({"lr": 0.1, "asset": "overridden"})
        .as_object()
        .cloned()
        .expect("object");
    if scheduled {
        retrain.schedule = Some("@daily".into());
        retrain.start_date = Some(now() - chrono::Duration::days(30));
    }
    vec![
        dag(
            "etl",
            vec![
                task("extract", &[]),
                task("load", &["warehouse.wine_daily"]),
            ],
            &[],
        ),
        retrain,
        dag("report", vec![task("r", &[])], &["warehouse.wine_daily"]),
        dag("other", vec![task("o", &[])], &["something.else"]),
        dag(
            "paused_consumer",
            vec![task("p", &[])],
            &["warehouse.wine_daily"],
        ),
    ]
}

async fn store_with(dir: &tempfile::TempDir, specs: &[DagSpec]) -> Store {
    let url = format!("sqlite://{}", dir.path().join("cambium.db").display());
    let store = Store::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
        .sync_dag_file("assets.rhai", "hash", specs, &[], false, now())
        .await
        .expect("sync");
    assert!(store
        .set_paused("paused_consumer", true)
        .await
        .expect("pause"));
    store
}

async fn asset_runs(store: &Store) -> Vec<RunRecord> {
    store
        .list_runs(&RunFilter {
            run_types: vec![RunType::AssetTriggered],
            oldest_first: true,
            ..RunFilter::default()
        })
        .await
        .expect("runs")
}

#[tokio::test]
async fn an_emitted_event_creates_one_run_per_triggered_dag_with_the_event_in_conf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let specs = dags(true);
    let store = store_with(&dir, &specs).await;
    let at = now() + chrono::Duration::microseconds(1_500);
    let extra = json!({"rows": 120}).as_object().cloned().expect("object");

    let (event, runs) = emit(&store, "warehouse.wine_daily", extra.clone(), None, at)
        .await
        .expect("emit");
    assert_eq!(event.asset, "warehouse.wine_daily");
    assert_eq!(event.created_at, at);
    assert_eq!(event.extra, extra);
    let dag_ids: Vec<&str> = runs.iter().map(|r| r.dag_id.as_str()).collect();
    assert_eq!(
        dag_ids,
        ["report", "retrain"],
        "not paused, not other assets"
    );

    let expected_conf = json!({"asset": {
        "id": event.id,
        "name": "warehouse.wine_daily",
        "extra": {"rows": 120},
        "source": null,
        "created": "2026-11-23T12:00:00.001500+00:00",
    }});
    for run in &runs {
        assert_eq!(run.run_type, RunType::AssetTriggered);
        assert_eq!(
            run.run_id,
            "asset_triggered__2026-11-23T12:00:00.001500+00:00"
        );
        assert_eq!(run.state, RunState::Queued);
        assert_eq!(run.logical_date, at);
        assert_eq!(run.run_after, at);
        assert_eq!(Value::Object(run.conf.clone()), expected_conf);
        assert_eq!(
            store.task_instances(run.id).await.expect("tis").len(),
            1,
            "one task instance per task"
        );
    }
    // The run as stored reads back the same.
    assert_eq!(asset_runs(&store).await.len(), 2);

    // A scheduled DAG's asset run gets a data interval as a manual run would; its
    // templates see the params overridden by conf, as for a manual run.
    let retrain = &runs[1];
    let day = Utc
        .with_ymd_and_hms(2026, 11, 23, 0, 0, 0)
        .single()
        .expect("time");
    assert_eq!(
        (retrain.data_interval_start, retrain.data_interval_end),
        (day - chrono::Duration::days(1), day)
    );
    let ctx = template_context(&specs[1], retrain, "train", 1, Map::new());
    assert_eq!(ctx.params["lr"], json!(0.1));
    assert_eq!(ctx.params["asset"]["extra"]["rows"], json!(120));
    assert_eq!(ctx.conf["asset"]["id"], json!(event.id));
    let report = &runs[0];
    assert_eq!(
        (report.data_interval_start, report.data_interval_end),
        (at, at)
    );

    // A second event at the same instant still gets its own runs.
    let (second, again) = emit(&store, "warehouse.wine_daily", Map::new(), None, at)
        .await
        .expect("emit");
    assert_eq!(again.len(), 2);
    assert_eq!(
        again[0].run_id,
        format!(
            "asset_triggered__2026-11-23T12:00:00.001500+00:00_{}",
            second.id
        )
    );

    // An asset nobody is triggered by is still recorded.
    let (event, none) = emit(&store, "nobody.listens", Map::new(), None, at)
        .await
        .expect("emit");
    assert!(none.is_empty());
    let recorded = store
        .asset_events(Some("nobody.listens"), 10)
        .await
        .expect("events");
    assert_eq!(recorded, vec![event]);

    // An event with a source says so in conf.
    let source = EventSource {
        dag_id: "etl",
        run_id: "manual__x",
        task_id: "load",
    };
    let (_, runs) = emit(&store, "something.else", Map::new(), Some(source), at)
        .await
        .expect("emit");
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].conf["asset"]["source"],
        json!({"dag_id": "etl", "run_id": "manual__x", "task_id": "load"})
    );

    assert!(
        emit(&store, " ", Map::new(), None, at).await.is_err(),
        "an empty name is refused"
    );
}

#[tokio::test]
async fn a_task_with_an_outlet_triggers_the_dags_waiting_for_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let specs = dags(false);
    let store = store_with(&dir, &specs).await;
    let clock = Arc::new(ManualClock::new(now()));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let executor = Arc::new(Scripted::new(tx.clone()));
    let opts = EngineOptions::new(Home::new(dir.path()), Mode::Scheduler);
    let mut engine = Engine::new(store.clone(), executor.clone(), tx, rx, clock.clone(), opts);
    engine.start().await.expect("start");
    let run = create_manual_run(&store, &specs[0], Map::new(), None, now(), false)
        .await
        .expect("run");
    engine.tick().await.expect("tick");
    let started = executor.submitted();
    let of = |dag_id: &str, task_id: &str| {
        executor
            .submitted()
            .into_iter()
            .find(|r| r.dag_id == dag_id && r.task_id == task_id)
    };
    assert_eq!(started.len(), 2, "{started:?}");

    // A task without outlets emits nothing; a failed try of one with outlets neither.
    let extract = of("etl", "extract").expect("extract started");
    let load = of("etl", "load").expect("load started");
    executor.finish(extract.key, 0, now());
    engine.tick().await.expect("tick");
    assert!(store
        .asset_events(None, 10)
        .await
        .expect("events")
        .is_empty());

    // The outlet's success: an event with its source, and runs of the DAGs waiting for it.
    clock.advance(chrono::Duration::seconds(5));
    executor.finish(load.key, 0, now() + chrono::Duration::seconds(5));
    engine.tick().await.expect("tick");
    let events = store
        .asset_events(Some("warehouse.wine_daily"), 10)
        .await
        .expect("events");
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(
        (
            event.source_dag_id.as_deref(),
            event.source_run_id.as_deref(),
            event.source_task_id.as_deref()
        ),
        (Some("etl"), Some(run.run_id.as_str()), Some("load"))
    );
    assert_eq!(event.created_at, now() + chrono::Duration::seconds(5));
    let triggered = asset_runs(&store).await;
    let mut dag_ids: Vec<&str> = triggered.iter().map(|r| r.dag_id.as_str()).collect();
    dag_ids.sort_unstable();
    assert_eq!(dag_ids, ["report", "retrain"]);
    for r in &triggered {
        assert_eq!(
            r.conf["asset"]["source"],
            json!({"dag_id": "etl", "run_id": run.run_id, "task_id": "load"})
        );
    }
    let etl = store
        .get_run_by_pk(run.id)
        .await
        .expect("read")
        .expect("run");
    assert_eq!(etl.state, RunState::Success);
    let tis = store.task_instances(run.id).await.expect("tis");
    assert!(tis.iter().all(|t| t.state == TaskState::Success));

    // The engine runs the triggered runs at once.
    engine.tick().await.expect("tick");
    let train = of("retrain", "train").expect("train started");
    assert!(of("report", "r").is_some());
    assert!(of("paused_consumer", "p").is_none());
    assert!(of("other", "o").is_none());
    executor.finish(train.key, 0, now() + chrono::Duration::seconds(6));
    engine.tick().await.expect("tick");
    let retrain_run = triggered
        .iter()
        .find(|r| r.dag_id == "retrain")
        .expect("retrain run");
    let done = store
        .get_run_by_pk(retrain_run.id)
        .await
        .expect("read")
        .expect("run");
    assert_eq!(done.state, RunState::Success);
    assert_eq!(
        store.asset_events(None, 10).await.expect("events").len(),
        1,
        "tasks without outlets record no events"
    );
}

#[tokio::test]
async fn a_failed_try_with_an_outlet_records_no_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let specs = dags(false);
    let store = store_with(&dir, &specs).await;
    let clock = Arc::new(ManualClock::new(now()));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let executor = Arc::new(Scripted::new(tx.clone()));
    let opts = EngineOptions::new(Home::new(dir.path()), Mode::Scheduler);
    let mut engine = Engine::new(store.clone(), executor.clone(), tx, rx, clock, opts);
    engine.start().await.expect("start");
    let run = create_manual_run(&store, &specs[0], Map::new(), None, now(), false)
        .await
        .expect("run");
    engine.tick().await.expect("tick");
    for request in executor.submitted() {
        executor.finish(request.key, 1, now());
    }
    engine.tick().await.expect("tick");
    let done = store
        .get_run_by_pk(run.id)
        .await
        .expect("read")
        .expect("run");
    assert_eq!(done.state, RunState::Failed);
    assert!(store
        .asset_events(None, 10)
        .await
        .expect("events")
        .is_empty());
    assert!(asset_runs(&store).await.is_empty());
}
