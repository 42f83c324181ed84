//! DAG records, file hashes and import errors.

use crate::fixtures::{dag, import_error, new_run, seeds, t};
use crate::harness::Db;
use cambium_dag::RunType;

contract!(
    sync_upserts_keeps_pause_and_deactivates_dropped_dags,
    sync_replaces_import_errors,
    remove_dag_file_forgets_the_file,
    sync_many_files_at_once,
    overview_reads_agree_with_full_reads,
);

async fn sync_upserts_keeps_pause_and_deactivates_dropped_dags(db: Db) {
    let store = db.store().await;
    let x = dag("x", "a.rhai", &["one", "two"]);
    let y = dag("y", "a.rhai", &["one"]);
    store
        .sync_dag_file("a.rhai", "h1", &[y.clone(), x.clone()], &[], false, t(1))
        .await
        .expect("sync");

    let listed = store.list_dags().await.expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|d| d.spec.dag_id.as_str())
            .collect::<Vec<_>>(),
        ["x", "y"]
    );
    let got = store.get_dag("x").await.expect("get").expect("x exists");
    assert_eq!(got.spec, x);
    assert_eq!(got.file_hash, "h1");
    assert!(!got.paused && got.active);
    assert_eq!(got.updated_at, t(1));

    assert!(store.set_paused("x", true).await.expect("pause"));
    assert!(!store.set_paused("nope", true).await.expect("pause unknown"));

    // The file changes: x gets a new spec, y is gone, z is new (and paused on create).
    let x2 = dag("x", "a.rhai", &["one", "two", "three"]);
    let z = dag("z", "a.rhai", &["one"]);
    store
        .sync_dag_file("a.rhai", "h2", &[x2.clone(), z], &[], true, t(2))
        .await
        .expect("resync");
    let got = store.get_dag("x").await.expect("get").expect("x exists");
    assert_eq!(got.spec, x2);
    assert_eq!(got.file_hash, "h2");
    assert!(got.paused, "an existing DAG keeps its pause flag");
    assert!(got.active);
    let y_now = store
        .get_dag("y")
        .await
        .expect("get")
        .expect("y kept for history");
    assert!(!y_now.active);
    assert_eq!(y_now.updated_at, t(2));
    let z_now = store.get_dag("z").await.expect("get").expect("z");
    assert!(
        z_now.paused,
        "a new DAG starts paused when paused_on_create"
    );
    let listed = store.list_dags().await.expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|d| d.spec.dag_id.as_str())
            .collect::<Vec<_>>(),
        ["x", "z"]
    );

    // A file that now declares nothing deactivates everything it declared.
    store
        .sync_dag_file("a.rhai", "h3", &[], &[], false, t(3))
        .await
        .expect("empty sync");
    assert!(store.list_dags().await.expect("list").is_empty());
    // Coming back reactivates, still paused.
    store
        .sync_dag_file("a.rhai", "h4", std::slice::from_ref(&x2), &[], false, t(4))
        .await
        .expect("sync back");
    let back = store.get_dag("x").await.expect("get").expect("x");
    assert!(back.active && back.paused);

    let hashes = store.dag_file_hashes().await.expect("hashes");
    assert_eq!(hashes.len(), 1);
    assert_eq!(hashes.get("a.rhai").map(String::as_str), Some("h4"));
    assert!(store.get_dag("unknown").await.expect("get").is_none());
}

async fn sync_replaces_import_errors(db: Db) {
    let store = db.store().await;
    let errors = [
        import_error("b.rhai", 9, 1, "late"),
        import_error("b.rhai", 2, 7, "second"),
        import_error("b.rhai", 2, 3, "first"),
    ];
    store
        .sync_dag_file("b.rhai", "h", &[], &errors, false, t(0))
        .await
        .expect("sync");
    store
        .sync_dag_file(
            "A.rhai",
            "h",
            &[],
            &[import_error("A.rhai", 0, 0, "unreadable")],
            false,
            t(0),
        )
        .await
        .expect("sync other");
    let listed = store.list_import_errors().await.expect("errors");
    let messages: Vec<&str> = listed.iter().map(|e| e.message.as_str()).collect();
    // Ordered by file (bytewise: upper case first), line, column.
    assert_eq!(messages, ["unreadable", "first", "second", "late"]);
    assert_eq!(listed[1], errors[2]);

    store
        .sync_dag_file(
            "b.rhai",
            "h2",
            &[],
            &[import_error("b.rhai", 1, 1, "new")],
            false,
            t(1),
        )
        .await
        .expect("resync");
    let messages: Vec<String> = store
        .list_import_errors()
        .await
        .expect("errors")
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(messages, ["unreadable", "new"]);

    store
        .sync_dag_file(
            "b.rhai",
            "h3",
            &[dag("b", "b.rhai", &["t"])],
            &[],
            false,
            t(2),
        )
        .await
        .expect("fixed");
    let left = store.list_import_errors().await.expect("errors");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].file, "A.rhai");
}

async fn remove_dag_file_forgets_the_file(db: Db) {
    let store = db.store().await;
    store
        .sync_dag_file(
            "c.rhai",
            "hc",
            &[dag("c", "c.rhai", &["t"])],
            &[import_error("c.rhai", 1, 2, "warning-ish")],
            false,
            t(0),
        )
        .await
        .expect("sync c");
    store
        .sync_dag_file(
            "d.rhai",
            "hd",
            &[dag("d", "d.rhai", &["t"])],
            &[],
            false,
            t(0),
        )
        .await
        .expect("sync d");
    store.remove_dag_file("c.rhai", t(5)).await.expect("remove");

    let c = store
        .get_dag("c")
        .await
        .expect("get")
        .expect("kept for history");
    assert!(!c.active);
    assert_eq!(c.updated_at, t(5));
    assert!(store.list_import_errors().await.expect("errors").is_empty());
    let hashes = store.dag_file_hashes().await.expect("hashes");
    assert_eq!(hashes.keys().collect::<Vec<_>>(), ["d.rhai"]);
    let listed = store.list_dags().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].spec.dag_id, "d");
    // Removing an unknown file is harmless.
    store
        .remove_dag_file("nope.rhai", t(6))
        .await
        .expect("remove unknown");
}

async fn sync_many_files_at_once(db: Db) {
    let store = db.store().await;
    let files = vec![
        (
            "e.rhai".to_string(),
            "he".to_string(),
            vec![dag("e", "e.rhai", &["t"])],
            vec![],
        ),
        (
            "f.rhai".to_string(),
            "hf".to_string(),
            vec![],
            vec![import_error("f.rhai", 3, 4, "syntax error")],
        ),
    ];
    store
        .sync_dag_files(&files, true, t(0))
        .await
        .expect("sync many");
    store
        .sync_dag_files(&[], true, t(0))
        .await
        .expect("sync none");
    let hashes = store.dag_file_hashes().await.expect("hashes");
    assert_eq!(hashes.len(), 2);
    assert_eq!(hashes.get("f.rhai").map(String::as_str), Some("hf"));
    let e = store.get_dag("e").await.expect("get").expect("e");
    assert!(e.paused && e.active);
    assert_eq!(
        store.list_import_errors().await.expect("errors"),
        files[1].3
    );
}

/// The web UI's folded reads (one row for all DAGs) say what the full reads say: heads of
/// active DAGs only, in id order, with pause flags and times; each DAG's latest scheduled
/// interval, ignoring other run types and DAGs without scheduled runs.
async fn overview_reads_agree_with_full_reads(db: Db) {
    let store = db.store().await;
    assert!(store.dag_heads().await.expect("heads").is_empty());
    assert!(store
        .latest_scheduled_intervals()
        .await
        .expect("intervals")
        .is_empty());

    let (b, a, c) = (
        dag("b_dag", "one.rhai", &["t"]),
        dag("a_dag", "one.rhai", &["t"]),
        dag("c_dag", "two.rhai", &["t"]),
    );
    store
        .sync_dag_file("one.rhai", "h1", &[b, a], &[], false, t(1))
        .await
        .expect("sync");
    store
        .sync_dag_file("two.rhai", "h\"2\u{1f}", &[c], &[], false, t(5))
        .await
        .expect("sync");
    store
        .sync_dag_file("two.rhai", "h3", &[], &[], false, t(7))
        .await
        .expect("drop c");
    assert!(store.set_paused("b_dag", true).await.expect("pause"));

    let heads = store.dag_heads().await.expect("heads");
    let full = store.list_dags().await.expect("list");
    assert_eq!(
        heads
            .iter()
            .map(|h| (
                h.dag_id.as_str(),
                h.file_hash.as_str(),
                h.paused,
                h.updated_at
            ))
            .collect::<Vec<_>>(),
        full.iter()
            .map(|d| (
                d.spec.dag_id.as_str(),
                d.file_hash.as_str(),
                d.paused,
                d.updated_at
            ))
            .collect::<Vec<_>>()
    );
    assert_eq!(heads.len(), 2);
    assert_eq!(heads[0].dag_id, "a_dag");
    assert!(heads[1].paused);

    for (dag_id, run_id, run_type, secs) in [
        ("a_dag", "s1", RunType::Scheduled, 0),
        ("a_dag", "s3", RunType::Scheduled, 7_200),
        ("a_dag", "s2", RunType::Scheduled, 3_600),
        ("a_dag", "m", RunType::Manual, 90_000),
        ("b_dag", "m \"quoted\" \u{1e}\u{1f} ü", RunType::Manual, 0),
    ] {
        store
            .create_run(&new_run(dag_id, run_id, run_type, secs), &seeds(&["t"]))
            .await
            .expect("run")
            .expect("new");
    }
    let latest = store.latest_scheduled_intervals().await.expect("intervals");
    assert_eq!(latest.len(), 1, "{latest:?}");
    assert_eq!(latest.get("a_dag"), Some(&(t(7_200), t(7_800))));

    let recent = store.recent_runs_by_dag(2).await.expect("recent");
    let brief = |dag_id: &str| {
        recent[dag_id]
            .iter()
            .map(|r| (r.run_id.as_str(), r.state.as_str(), r.logical_date))
            .collect::<Vec<_>>()
    };
    assert_eq!(recent.len(), 2, "DAGs without runs are left out");
    assert_eq!(
        brief("a_dag"),
        [("m", "queued", t(90_000)), ("s3", "queued", t(7_200))]
    );
    assert_eq!(
        brief("b_dag"),
        [("m \"quoted\" \u{1e}\u{1f} ü", "queued", t(0))]
    );
    assert!(store.recent_runs_by_dag(0).await.expect("none").is_empty());
}
