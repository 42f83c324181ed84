//! Runs: creation, duplicates, lookups and listings.

use crate::fixtures::{new_run, seeds, t};
use crate::harness::Db;
use cambium_dag::{RunState, RunType, TaskState};
use cambium_store::{Batch, RunFilter, RunRecord, Store};

contract!(
    create_run_round_trips_and_seeds_tasks,
    duplicate_run_id_writes_nothing,
    list_runs_filters_orders_and_pages,
    lookups_by_date_and_type,
    runs_created_after_sees_new_runs,
);

/// Sets a run's state through `apply`, as the scheduler does.
pub async fn set_run_state(store: &Store, run: &RunRecord, state: RunState) -> RunRecord {
    let mut run = run.clone();
    run.state = state;
    store
        .apply(&Batch {
            runs: vec![run.clone()],
            ..Batch::default()
        })
        .await
        .expect("apply run");
    run.version += 1;
    run
}

async fn create_run_round_trips_and_seeds_tasks(db: Db) {
    let store = db.store().await;
    let mut new = new_run("train", "manual__1", RunType::Manual, 0);
    new.backfill_id = Some(42);
    let created = store
        .create_run(&new, &seeds(&["extract", "fit", "evaluate"]))
        .await
        .expect("create")
        .expect("new run");
    assert!(created.id > 0);
    assert_eq!(created.state, RunState::Queued);
    assert_eq!(created.conf, new.conf);
    assert_eq!(created.backfill_id, Some(42));
    assert_eq!((created.start_at, created.end_at), (None, None));
    assert_eq!(
        (created.logical_date, created.run_after, created.created_at),
        (new.logical_date, new.run_after, new.created_at)
    );

    let by_id = store.get_run("train", "manual__1").await.expect("get");
    assert_eq!(by_id.as_ref(), Some(&created));
    let by_pk = store.get_run_by_pk(created.id).await.expect("get by pk");
    assert_eq!(by_pk.as_ref(), Some(&created));
    assert!(store
        .get_run("train", "other")
        .await
        .expect("get")
        .is_none());
    assert!(store
        .get_run_by_pk(created.id + 100)
        .await
        .expect("get")
        .is_none());

    let tis = store.task_instances(created.id).await.expect("tis");
    let ids: Vec<&str> = tis.iter().map(|ti| ti.task_id.as_str()).collect();
    assert_eq!(ids, ["extract", "fit", "evaluate"], "declaration order");
    let fit = &tis[1];
    assert_eq!(fit.run_pk, created.id);
    assert_eq!(
        (fit.dag_id.as_str(), fit.run_id.as_str()),
        ("train", "manual__1")
    );
    assert_eq!(fit.state, TaskState::None);
    assert_eq!((fit.try_number, fit.max_tries), (0, 3));
    assert_eq!((fit.pool.as_str(), fit.priority), ("gpu", 0));
    assert_eq!(tis[0].priority, -1);
    assert!(fit.metrics.is_empty());
    assert_eq!(fit.output, None);
    assert_eq!(
        (fit.queued_at, fit.start_at, fit.end_at),
        (None, None, None)
    );
    assert_eq!((fit.duration_ms, fit.next_retry_at), (None, None));
    assert_eq!(
        (fit.claimed_by.as_deref(), fit.hostname.as_deref()),
        (None, None)
    );
    assert_eq!(
        (fit.pid, fit.exit_code, fit.error.as_deref()),
        (None, None, None)
    );
    assert_eq!(
        store.task_instance(fit.id).await.expect("ti").as_ref(),
        Some(fit)
    );
    assert!(store.task_instance(-1).await.expect("ti").is_none());

    // A run without tasks, and a big one (more than one insert chunk).
    let empty = store
        .create_run(&new_run("train", "manual__2", RunType::Manual, 10), &[])
        .await
        .expect("create")
        .expect("new");
    assert!(store
        .task_instances(empty.id)
        .await
        .expect("tis")
        .is_empty());
    let names: Vec<String> = (0..450).map(|i| format!("t{i:03}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let big = store
        .create_run(
            &new_run("wide", "manual__1", RunType::Manual, 0),
            &seeds(&refs),
        )
        .await
        .expect("create")
        .expect("new");
    let tis = store.task_instances(big.id).await.expect("tis");
    assert_eq!(
        tis.iter().map(|ti| ti.task_id.clone()).collect::<Vec<_>>(),
        names
    );

    let of_runs = store
        .task_instances_of_runs(&[big.id, created.id, empty.id, created.id])
        .await
        .expect("of runs");
    assert_eq!(of_runs.len(), 453);
    assert_eq!(of_runs[0].run_pk, created.id, "ordered by run key");
    assert!(store
        .task_instances_of_runs(&[])
        .await
        .expect("none")
        .is_empty());
}

async fn duplicate_run_id_writes_nothing(db: Db) {
    let store = db.store().await;
    let first = store
        .create_run(
            &new_run("d", "same", RunType::Scheduled, 0),
            &seeds(&["a", "b"]),
        )
        .await
        .expect("create")
        .expect("new");
    let dup = store
        .create_run(
            &new_run("d", "same", RunType::Manual, 999),
            &seeds(&["a", "b", "c"]),
        )
        .await
        .expect("duplicate is not an error");
    assert!(dup.is_none());
    assert_eq!(store.max_run_pk().await.expect("max"), first.id);
    assert_eq!(store.task_instances(first.id).await.expect("tis").len(), 2);
    let all = store.list_runs(&RunFilter::default()).await.expect("list");
    assert_eq!(all, vec![first.clone()]);

    // The same run id in another DAG is a different run.
    let other = store
        .create_run(&new_run("e", "same", RunType::Scheduled, 0), &seeds(&["a"]))
        .await
        .expect("create")
        .expect("new in another DAG");
    let found = store.find_runs("same").await.expect("find");
    assert_eq!(found, vec![first, other]);
    assert!(store.find_runs("nope").await.expect("find").is_empty());
}

async fn list_runs_filters_orders_and_pages(db: Db) {
    let store = db.store().await;
    let mut made = Vec::new();
    for (dag, run_id, run_type, secs) in [
        ("a", "s1", RunType::Scheduled, 100),
        ("a", "s2", RunType::Scheduled, 200),
        ("a", "m1", RunType::Manual, 150),
        ("b", "s1", RunType::Scheduled, 120),
        ("a", "b1", RunType::Backfill, 50),
    ] {
        let mut new = new_run(dag, run_id, run_type, secs);
        if run_type == RunType::Backfill {
            new.backfill_id = Some(7);
        }
        made.push(
            store
                .create_run(&new, &[])
                .await
                .expect("create")
                .expect("new"),
        );
    }
    let done = set_run_state(&store, &made[0], RunState::Success).await;
    let running = set_run_state(&store, &made[3], RunState::Running).await;

    let ids = |runs: Vec<RunRecord>| -> Vec<String> {
        runs.into_iter()
            .map(|r| format!("{}/{}", r.dag_id, r.run_id))
            .collect()
    };
    let all = store.list_runs(&RunFilter::default()).await.expect("list");
    assert_eq!(
        ids(all),
        ["a/s2", "a/m1", "b/s1", "a/s1", "a/b1"],
        "newest first"
    );

    let filter = RunFilter {
        dag_id: Some("a".into()),
        oldest_first: true,
        ..RunFilter::default()
    };
    assert_eq!(
        ids(store.list_runs(&filter).await.expect("list")),
        ["a/b1", "a/s1", "a/m1", "a/s2"]
    );
    let filter = RunFilter {
        dag_id: Some("a".into()),
        run_types: vec![RunType::Scheduled, RunType::Manual],
        limit: Some(2),
        ..RunFilter::default()
    };
    assert_eq!(
        ids(store.list_runs(&filter).await.expect("list")),
        ["a/s2", "a/m1"]
    );
    let filter = RunFilter {
        limit: Some(2),
        offset: Some(1),
        oldest_first: true,
        ..RunFilter::default()
    };
    assert_eq!(
        ids(store.list_runs(&filter).await.expect("list")),
        ["a/s1", "b/s1"]
    );
    let filter = RunFilter {
        offset: Some(4),
        ..RunFilter::default()
    };
    assert_eq!(ids(store.list_runs(&filter).await.expect("list")), ["a/b1"]);
    let filter = RunFilter {
        states: vec![RunState::Success, RunState::Running],
        ..RunFilter::default()
    };
    let got = store.list_runs(&filter).await.expect("list");
    assert_eq!(got, vec![running.clone(), done.clone()]);
    let filter = RunFilter {
        backfill_id: Some(7),
        ..RunFilter::default()
    };
    assert_eq!(ids(store.list_runs(&filter).await.expect("list")), ["a/b1"]);
    let filter = RunFilter {
        dag_id: Some("zzz".into()),
        ..RunFilter::default()
    };
    assert!(store.list_runs(&filter).await.expect("list").is_empty());

    let active = store.active_runs().await.expect("active");
    assert_eq!(
        ids(active),
        ["a/b1", "b/s1", "a/m1", "a/s2"],
        "oldest first, not finished"
    );
}

async fn lookups_by_date_and_type(db: Db) {
    let store = db.store().await;
    assert!(store
        .latest_run("a", &[RunType::Scheduled])
        .await
        .expect("latest")
        .is_none());
    for (run_id, run_type, secs) in [
        ("s1", RunType::Scheduled, 100),
        ("s2", RunType::Scheduled, 300),
        ("m1", RunType::Manual, 400),
        ("b1", RunType::Backfill, 200),
    ] {
        store
            .create_run(&new_run("a", run_id, run_type, secs), &[])
            .await
            .expect("create")
            .expect("new");
    }
    store
        .create_run(&new_run("other", "x", RunType::Scheduled, 1000), &[])
        .await
        .expect("create")
        .expect("new");

    let latest = |types: &'static [RunType]| {
        let store = store.clone();
        async move {
            store
                .latest_run("a", types)
                .await
                .expect("latest")
                .map(|r| r.run_id)
        }
    };
    assert_eq!(latest(&[RunType::Scheduled]).await.as_deref(), Some("s2"));
    assert_eq!(
        latest(&[RunType::Scheduled, RunType::Backfill, RunType::Manual])
            .await
            .as_deref(),
        Some("m1")
    );
    assert_eq!(latest(&[RunType::Backfill]).await.as_deref(), Some("b1"));
    assert_eq!(latest(&[RunType::AssetTriggered]).await, None);
    assert_eq!(latest(&[]).await, None);

    let prev = |secs: i64| {
        let store = store.clone();
        async move {
            store
                .previous_run("a", t(secs))
                .await
                .expect("previous")
                .map(|r| r.run_id)
        }
    };
    assert_eq!(prev(300).await.as_deref(), Some("b1"), "strictly before");
    assert_eq!(prev(301).await.as_deref(), Some("s2"));
    assert_eq!(prev(10_000).await.as_deref(), Some("m1"));
    assert_eq!(prev(100).await, None);
}

async fn runs_created_after_sees_new_runs(db: Db) {
    let store = db.store().await;
    assert_eq!(store.max_run_pk().await.expect("max"), 0);
    assert!(store.runs_created_after(0).await.expect("after").is_empty());
    let r1 = store
        .create_run(&new_run("a", "1", RunType::Manual, 500), &[])
        .await
        .expect("create")
        .expect("new");
    let mark = store.max_run_pk().await.expect("max");
    assert_eq!(mark, r1.id);
    // A second store (another process) creates runs; the first notices them in creation
    // order whatever their logical dates.
    let other = db.store().await;
    let r2 = other
        .create_run(&new_run("b", "2", RunType::Manual, 900), &[])
        .await
        .expect("create")
        .expect("new");
    let r3 = other
        .create_run(&new_run("a", "3", RunType::Manual, 100), &[])
        .await
        .expect("create")
        .expect("new");
    assert_eq!(
        store.runs_created_after(mark).await.expect("after"),
        vec![r2, r3.clone()]
    );
    assert_eq!(store.runs_created_after(0).await.expect("after").len(), 3);
    assert_eq!(store.max_run_pk().await.expect("max"), r3.id);
    other.close().await;
}
