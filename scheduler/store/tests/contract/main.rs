//! The store contract: every test here runs against a fresh SQLite file AND a fresh Postgres
//! database, so the two backends cannot drift apart.
//!
//! Postgres comes from `CAMBIUM_TEST_POSTGRES_URL` (an admin URL; each test creates and
//! drops its own database). Without it the Postgres half is skipped with a notice, except
//! under `CI`, where it fails.

/// Generates, for each listed `async fn name(db: Db)`, a `sqlite::name` and a
/// `postgres::name` test.
macro_rules! contract {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::harness::on_sqlite(super::$name).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::harness::on_postgres(super::$name).await;
                }
            )+
        }
    };
}

mod artifacts;
mod assets;
mod connect;
mod dags;
mod fixtures;
mod harness;
mod misc;
mod registry;
mod runs;
mod tasks;
mod users;
