//! Connecting, migrating and checking.

use crate::harness::Db;
use cambium_store::{Backend, Error, Store};

contract!(
    check_needs_migration_until_migrated,
    migrate_twice_is_a_no_op
);

async fn check_needs_migration_until_migrated(db: Db) {
    let store = db.raw().await;
    let err = store
        .check()
        .await
        .expect_err("fresh database must need migrating");
    assert!(matches!(err, Error::NeedsMigration(_)), "{err:?}");
    assert!(err.to_string().contains("cambium db migrate"), "{err}");
    store.migrate().await.expect("migrate");
    store
        .check()
        .await
        .expect("migrated database passes the check");
    store.close().await;
}

async fn migrate_twice_is_a_no_op(db: Db) {
    let store = db.store().await;
    let run = crate::fixtures::new_run("d", "r1", cambium_dag::RunType::Manual, 0);
    store
        .create_run(&run, &[])
        .await
        .expect("create")
        .expect("new");
    store.migrate().await.expect("second migrate");
    store.check().await.expect("check");
    // The data survived and a second store on the same database agrees.
    let other = db.store().await;
    assert!(other.get_run("d", "r1").await.expect("get").is_some());
    other.close().await;
    store.close().await;
}

#[tokio::test]
async fn unreachable_postgres_masks_the_password() {
    let started = std::time::Instant::now();
    let err = Store::connect("postgres://cambium:hunter2@127.0.0.1:1/cambium")
        .await
        .expect_err("nothing listens on port 1");
    match &err {
        Error::Unreachable { url, .. } => {
            assert_eq!(url, "postgres://cambium:***@127.0.0.1:1/cambium");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(err.is_retryable());
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("hunter2"), "password leaked: {shown}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "a refused connection must fail fast, took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unknown_scheme_is_a_bad_url() {
    let err = Store::connect("mysql://root:secret@localhost/db")
        .await
        .expect_err("mysql is not supported");
    match &err {
        Error::BadUrl(url) => assert_eq!(url, "mysql://root:***@localhost/db"),
        other => panic!("expected BadUrl, got {other:?}"),
    }
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn sqlite_creates_its_folder_and_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a/b/cambium.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect");
    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(path.exists());
    store.migrate().await.expect("migrate");
    store.check().await.expect("check");
    store.close().await;
}

#[tokio::test]
async fn sqlite_in_memory_works() {
    let store = Store::connect("sqlite::memory:").await.expect("connect");
    store.migrate().await.expect("migrate");
    store.check().await.expect("check");
    assert_eq!(store.max_run_pk().await.expect("max"), 0);
}

#[tokio::test]
async fn postgres_backend_is_reported() {
    let Some(url) = crate::harness::postgres_admin_url() else {
        return;
    };
    let store = Store::connect(&url).await.expect("connect");
    assert_eq!(store.backend(), Backend::Postgres);
    store.close().await;
}
