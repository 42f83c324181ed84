//! Pools, backfills and schedulers.

use crate::fixtures::{new_run, t};
use crate::harness::Db;
use cambium_dag::RunType;
use cambium_store::{RunFilter, SchedulerRecord};
use std::collections::HashMap;

contract!(
    pools_are_replaced,
    backfills_round_trip,
    schedulers_heartbeat,
    settings_are_stored_and_replaced
);

async fn settings_are_stored_and_replaced(db: Db) {
    let store = db.store().await;
    assert_eq!(store.setting("dags_folder").await.expect("read"), None);
    store
        .set_setting("dags_folder", "/srv/dags")
        .await
        .expect("set");
    assert_eq!(
        store.setting("dags_folder").await.expect("read").as_deref(),
        Some("/srv/dags")
    );
    store
        .set_setting("dags_folder", "/other")
        .await
        .expect("replace");
    assert_eq!(
        store.setting("dags_folder").await.expect("read").as_deref(),
        Some("/other")
    );
    assert_eq!(store.setting("missing").await.expect("read"), None);
}

async fn pools_are_replaced(db: Db) {
    let store = db.store().await;
    assert!(store.pools().await.expect("pools").is_empty());
    let first = HashMap::from([("default".to_string(), 128), ("gpu".to_string(), 2)]);
    store.set_pools(&first).await.expect("set");
    assert_eq!(store.pools().await.expect("pools"), first);
    let second = HashMap::from([("gpu".to_string(), 4), ("io".to_string(), u32::MAX)]);
    store.set_pools(&second).await.expect("set again");
    assert_eq!(store.pools().await.expect("pools"), second);
    store.set_pools(&HashMap::new()).await.expect("set none");
    assert!(store.pools().await.expect("pools").is_empty());
}

async fn backfills_round_trip(db: Db) {
    let store = db.store().await;
    let made = store
        .create_backfill("train", t(0), t(86_400), "failed", 3, t(5))
        .await
        .expect("create");
    assert!(made.id > 0);
    assert_eq!(
        (
            made.dag_id.as_str(),
            made.rerun.as_str(),
            made.max_active_runs
        ),
        ("train", "failed", 3)
    );
    assert_eq!(
        (made.start, made.end, made.created_at),
        (t(0), t(86_400), t(5))
    );
    assert_eq!(
        store.get_backfill(made.id).await.expect("get"),
        Some(made.clone())
    );
    assert!(store
        .get_backfill(made.id + 1)
        .await
        .expect("get")
        .is_none());
    let second = store
        .create_backfill("train", t(0), t(10), "none", 1, t(6))
        .await
        .expect("create");
    assert_ne!(second.id, made.id);

    let mut run = new_run("train", "backfill__1", RunType::Backfill, 0);
    run.backfill_id = Some(made.id);
    store
        .create_run(&run, &[])
        .await
        .expect("create")
        .expect("new");
    let filter = RunFilter {
        backfill_id: Some(made.id),
        ..RunFilter::default()
    };
    let runs = store.list_runs(&filter).await.expect("list");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].backfill_id, Some(made.id));
    let filter = RunFilter {
        backfill_id: Some(second.id),
        ..RunFilter::default()
    };
    assert!(store.list_runs(&filter).await.expect("list").is_empty());
}

async fn schedulers_heartbeat(db: Db) {
    let store = db.store().await;
    assert!(store.schedulers().await.expect("schedulers").is_empty());
    let b = SchedulerRecord {
        id: "b-sched".into(),
        hostname: "host-b".into(),
        pid: 200,
        started_at: t(0),
        heartbeat_at: t(0),
    };
    let a = SchedulerRecord {
        id: "a-sched".into(),
        hostname: "host-a".into(),
        pid: 100,
        started_at: t(1),
        heartbeat_at: t(1),
    };
    store.heartbeat(&b).await.expect("register b");
    store.heartbeat(&a).await.expect("register a");
    assert_eq!(
        store.schedulers().await.expect("schedulers"),
        vec![a.clone(), b.clone()]
    );

    let b_later = SchedulerRecord {
        heartbeat_at: t(30),
        ..b.clone()
    };
    store.heartbeat(&b_later).await.expect("refresh b");
    assert_eq!(
        store.schedulers().await.expect("schedulers"),
        vec![a.clone(), b_later.clone()]
    );
    store.remove_scheduler("a-sched").await.expect("remove");
    store
        .remove_scheduler("unknown")
        .await
        .expect("remove unknown");
    assert_eq!(store.schedulers().await.expect("schedulers"), vec![b_later]);
}
