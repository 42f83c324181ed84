//! Fresh databases per test, for both backends.

use cambium_store::Store;
use sqlx::{Connection, Executor, PgConnection};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh, empty database for one test.
pub struct Db {
    pub url: String,
}

impl Db {
    /// A connected, migrated store.
    pub async fn store(&self) -> Store {
        let store = self.raw().await;
        store.migrate().await.expect("migrate");
        store
    }

    /// A connected store, not migrated.
    pub async fn raw(&self) -> Store {
        Store::connect(&self.url).await.expect("connect")
    }
}

pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("tempdir");
    // A folder that does not exist yet: connect must create it.
    let url = format!("sqlite://{}/home/cambium.db", dir.path().display());
    test(Db { url }).await;
}

/// The Postgres admin URL, or `None` (with a notice) when Postgres tests are skipped.
pub fn postgres_admin_url() -> Option<String> {
    cambium_testkit::postgres_admin_url()
}

fn unique_name() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "cambium_test_{}_{}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// `admin` with its database replaced by `db`.
fn with_database(admin: &str, db: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[host_start..].find('/') {
        Some(slash) => &base[..host_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(admin_url) = postgres_admin_url() else {
        return;
    };
    let name = unique_name();
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .expect("connect to CAMBIUM_TEST_POSTGRES_URL");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    let url = with_database(&admin_url, &name);
    // Run the test as a task so a failing assertion still lets us drop the database.
    let outcome = tokio::spawn(test(Db { url })).await;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .expect("drop test database");
    admin.close().await.expect("close admin connection");
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

#[test]
fn replaces_the_database_of_a_url() {
    assert_eq!(
        with_database("postgres://u:p@h:5432/postgres", "x"),
        "postgres://u:p@h:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h:5432?sslmode=disable", "x"),
        "postgres://u:p@h:5432/x?sslmode=disable"
    );
}
