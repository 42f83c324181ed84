//! Asset events and marking task instances success or failed.

use crate::fixtures::{new_run, obj, seeds, t};
use crate::harness::Db;
use cambium_dag::{RunState, RunType, TaskState};
use cambium_store::{
    AssetEvent, AssetSummary, Batch, Error, EventSource, RunRecord, Store, TaskInstance, TryRecord,
};
use serde_json::{json, Map};

contract!(
    asset_events_round_trip,
    asset_events_are_newest_first_and_limited,
    asset_summaries_count_by_name,
    mark_sets_the_state_and_end_time,
    mark_recomputes_an_ended_run,
    mark_leaves_a_running_run_alone,
    mark_refuses_other_states_and_unknown_ids,
);

async fn asset_events_round_trip(db: Db) {
    let store = db.store().await;
    let extra = obj(json!({"rows": 120, "path": "s3://b/k", "nested": {"a": [1, null]}}));
    let source = EventSource {
        dag_id: "etl",
        run_id: "manual__2026-01-01T00:00:00+00:00",
        task_id: "load",
    };
    let produced = store
        .record_asset_event("warehouse.wine_daily", &extra, Some(source), t(5))
        .await
        .expect("record");
    let posted = store
        .record_asset_event("warehouse.wine_daily", &Map::new(), None, t(6))
        .await
        .expect("record");
    assert!(posted.id > produced.id, "ids grow: {posted:?} {produced:?}");
    assert_eq!(
        produced,
        AssetEvent {
            id: produced.id,
            asset: "warehouse.wine_daily".into(),
            extra,
            source_dag_id: Some("etl".into()),
            source_run_id: Some("manual__2026-01-01T00:00:00+00:00".into()),
            source_task_id: Some("load".into()),
            created_at: t(5),
        }
    );
    assert_eq!(
        (
            &posted.source_dag_id,
            &posted.source_run_id,
            &posted.source_task_id
        ),
        (&None, &None, &None)
    );
    assert!(posted.extra.is_empty());

    let read = store
        .asset_events(Some("warehouse.wine_daily"), 10)
        .await
        .expect("events");
    assert_eq!(
        read,
        vec![posted, produced],
        "what was returned is what reads back"
    );
}

async fn asset_events_are_newest_first_and_limited(db: Db) {
    let store = db.store().await;
    // Recorded out of time order: newest first is by event time, then id.
    for (asset, secs) in [("a", 10), ("b", 30), ("a", 20), ("a", 5), ("a", 20)] {
        store
            .record_asset_event(asset, &obj(json!({"at": secs})), None, t(secs))
            .await
            .expect("record");
    }
    let of_a = store.asset_events(Some("a"), 100).await.expect("events");
    let times: Vec<_> = of_a.iter().map(|e| e.created_at).collect();
    assert_eq!(times, vec![t(20), t(20), t(10), t(5)]);
    assert!(of_a[0].id > of_a[1].id, "ties: the later id first");
    assert!(of_a.iter().all(|e| e.asset == "a"));

    let newest_two = store.asset_events(Some("a"), 2).await.expect("events");
    assert_eq!(newest_two, of_a[..2].to_vec());

    let all = store.asset_events(None, 3).await.expect("events");
    let seen: Vec<(&str, _)> = all
        .iter()
        .map(|e| (e.asset.as_str(), e.created_at))
        .collect();
    assert_eq!(seen, vec![("b", t(30)), ("a", t(20)), ("a", t(20))]);

    assert!(store
        .asset_events(Some("missing"), 10)
        .await
        .expect("events")
        .is_empty());
    assert!(store
        .asset_events(None, 0)
        .await
        .expect("events")
        .is_empty());
    assert!(store
        .asset_events(None, -1)
        .await
        .expect("a negative limit is no events")
        .is_empty());
}

async fn asset_summaries_count_by_name(db: Db) {
    let store = db.store().await;
    assert!(store.asset_summaries().await.expect("summaries").is_empty());
    // Upper case sorts before lower case in both backends (byte order).
    for (asset, secs) in [("b.x", 1), ("a", 7), ("b.x", 9), ("a", 3), ("Z", 2)] {
        store
            .record_asset_event(asset, &Map::new(), None, t(secs))
            .await
            .expect("record");
    }
    let summaries = store.asset_summaries().await.expect("summaries");
    assert_eq!(
        summaries,
        vec![
            AssetSummary {
                name: "Z".into(),
                events: 1,
                last_event_at: Some(t(2)),
            },
            AssetSummary {
                name: "a".into(),
                events: 2,
                last_event_at: Some(t(7)),
            },
            AssetSummary {
                name: "b.x".into(),
                events: 2,
                last_event_at: Some(t(9)),
            },
        ]
    );
}

async fn run_with(store: &Store, tasks: &[&str]) -> (RunRecord, Vec<TaskInstance>) {
    let run = store
        .create_run(&new_run("d", "r", RunType::Manual, 0), &seeds(tasks))
        .await
        .expect("create")
        .expect("new");
    let tis = store.task_instances(run.id).await.expect("tis");
    (run, tis)
}

/// Writes task instances and the run as given, from the states they were created in.
async fn write(store: &Store, created: &[TaskInstance], now: &[TaskInstance], run: &RunRecord) {
    let batch = Batch {
        task_instances: created
            .iter()
            .zip(now)
            .map(|(before, after)| (before.state, after.clone()))
            .collect(),
        runs: vec![run.clone()],
        tries: vec![],
    };
    let applied = store.apply(&batch).await.expect("apply");
    assert!(applied.iter().all(|a| *a), "{applied:?}");
}

async fn mark_sets_the_state_and_end_time(db: Db) {
    let store = db.store().await;
    let (run, tis) = run_with(&store, &["a", "b", "c"]).await;
    let running = TaskInstance {
        state: TaskState::Running,
        try_number: 1,
        queued_at: Some(t(1)),
        start_at: Some(t(2)),
        ..tis[0].clone()
    };
    let retrying = TaskInstance {
        state: TaskState::UpForRetry,
        try_number: 1,
        start_at: Some(t(2)),
        end_at: Some(t(4)),
        duration_ms: Some(2_000),
        next_retry_at: Some(t(60)),
        error: Some("the task exited with code 1".into()),
        ..tis[1].clone()
    };
    let started = RunRecord {
        state: RunState::Running,
        start_at: Some(t(1)),
        ..run.clone()
    };
    write(
        &store,
        &tis[..2],
        &[running.clone(), retrying.clone()],
        &started,
    )
    .await;
    store
        .apply(&Batch {
            tries: vec![TryRecord {
                ti_id: running.id,
                try_number: 1,
                state: TaskState::Running,
                start_at: Some(t(2)),
                end_at: None,
                exit_code: None,
                hostname: Some("h".into()),
                error: None,
            }],
            ..Batch::default()
        })
        .await
        .expect("try");

    let marked = store
        .mark_task_instance(running.id, TaskState::Success, t(12))
        .await
        .expect("mark");
    assert_eq!(
        marked,
        TaskInstance {
            state: TaskState::Success,
            end_at: Some(t(12)),
            duration_ms: Some(10_000),
            ..running.clone()
        }
    );
    assert_eq!(
        store.task_instance(running.id).await.expect("read"),
        Some(marked)
    );
    let tries = store.tries(running.id).await.expect("tries");
    assert_eq!(
        (tries[0].state, tries[0].end_at),
        (TaskState::Success, Some(t(12))),
        "the try cut short takes the new state"
    );

    // An end time already there stays; a pending retry goes.
    let marked = store
        .mark_task_instance(retrying.id, TaskState::Failed, t(20))
        .await
        .expect("mark");
    assert_eq!(
        marked,
        TaskInstance {
            state: TaskState::Failed,
            next_retry_at: None,
            ..retrying.clone()
        }
    );

    // A task that never started: an end time, no duration.
    let marked = store
        .mark_task_instance(tis[2].id, TaskState::Success, t(30))
        .await
        .expect("mark");
    assert_eq!(
        (
            marked.state,
            marked.start_at,
            marked.end_at,
            marked.duration_ms
        ),
        (TaskState::Success, None, Some(t(30)), None)
    );
    assert_eq!(marked.try_number, 0);
}

async fn mark_recomputes_an_ended_run(db: Db) {
    let store = db.store().await;
    let (run, tis) = run_with(&store, &["a", "b"]).await;
    let failed = TaskInstance {
        state: TaskState::Failed,
        try_number: 1,
        start_at: Some(t(1)),
        end_at: Some(t(2)),
        ..tis[0].clone()
    };
    let upstream_failed = TaskInstance {
        state: TaskState::UpstreamFailed,
        end_at: Some(t(2)),
        ..tis[1].clone()
    };
    let ended = RunRecord {
        state: RunState::Failed,
        start_at: Some(t(1)),
        end_at: Some(t(2)),
        ..run.clone()
    };
    write(
        &store,
        &tis,
        &[failed.clone(), upstream_failed.clone()],
        &ended,
    )
    .await;

    store
        .mark_task_instance(failed.id, TaskState::Success, t(10))
        .await
        .expect("mark");
    let after = run_of(&store, run.id).await;
    assert_eq!(after.state, RunState::Failed, "b is still upstream_failed");
    assert_eq!(after.end_at, Some(t(2)), "the end stays");

    store
        .mark_task_instance(upstream_failed.id, TaskState::Success, t(11))
        .await
        .expect("mark");
    let after = run_of(&store, run.id).await;
    assert_eq!(after.state, RunState::Success);
    assert_eq!((after.start_at, after.end_at), (Some(t(1)), Some(t(2))));

    store
        .mark_task_instance(failed.id, TaskState::Failed, t(12))
        .await
        .expect("mark");
    assert_eq!(run_of(&store, run.id).await.state, RunState::Failed);
}

async fn run_of(store: &Store, pk: i64) -> RunRecord {
    store.get_run_by_pk(pk).await.expect("run").expect("exists")
}

async fn mark_leaves_a_running_run_alone(db: Db) {
    let store = db.store().await;
    let (run, tis) = run_with(&store, &["a", "b"]).await;
    let started = RunRecord {
        state: RunState::Running,
        start_at: Some(t(1)),
        ..run.clone()
    };
    write(&store, &[], &[], &started).await;
    store
        .mark_task_instance(tis[0].id, TaskState::Failed, t(3))
        .await
        .expect("mark");
    let after = store
        .get_run_by_pk(run.id)
        .await
        .expect("run")
        .expect("exists");
    assert!(
        after.version > started.version,
        "a mark bumps the run's version"
    );
    assert_eq!(
        RunRecord {
            version: started.version,
            ..after
        },
        started,
        "the scheduler decides when a running run ends"
    );
    let tis = store.task_instances(run.id).await.expect("tis");
    assert_eq!(
        tis.iter().map(|t| t.state).collect::<Vec<_>>(),
        [TaskState::Failed, TaskState::None]
    );
}

async fn mark_refuses_other_states_and_unknown_ids(db: Db) {
    let store = db.store().await;
    let (_, tis) = run_with(&store, &["a"]).await;
    for state in [
        TaskState::None,
        TaskState::Running,
        TaskState::Skipped,
        TaskState::UpForRetry,
        TaskState::UpstreamFailed,
    ] {
        match store.mark_task_instance(tis[0].id, state, t(1)).await {
            Err(Error::Invalid(message)) => {
                assert!(
                    message.contains("success or failed") && message.contains(state.as_str()),
                    "{message}"
                );
            }
            other => panic!("marking {state}: {other:?}"),
        }
    }
    assert_eq!(
        store.task_instance(tis[0].id).await.expect("read"),
        Some(tis[0].clone()),
        "nothing changed"
    );
    assert!(matches!(
        store
            .mark_task_instance(tis[0].id + 1000, TaskState::Success, t(1))
            .await,
        Err(Error::UnknownTaskInstance(id)) if id == tis[0].id + 1000
    ));
}
