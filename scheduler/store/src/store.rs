//! The `Store`: one pool, one set of runtime-checked queries for SQLite and Postgres.
//! This module connects, migrates and checks; the queries live in `dags`, `runs`, `tasks`,
//! `pools`, `backfills`, `schedulers`, `settings`, `artifacts` and `registry`.

use crate::error::{Error, Result};
use crate::url;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migrate, Migrator};
use sqlx::{Any, AnyPool, ConnectOptions, Connection, Executor, Transaction};
use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a SQLite connection waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u64 = 10_000;
/// SQLite serializes writers anyway; a few connections let readers run beside one writer.
const SQLITE_POOL_SIZE: u32 = 4;
const POSTGRES_POOL_SIZE: u32 = 16;
/// How long the first connection may take before the database counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The metadata store. Cheap to clone (a pool handle).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    pub(crate) pool: AnyPool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects (creating the SQLite file and its folder if needed; WAL, busy timeout,
    /// foreign keys). Does not migrate.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let masked = url::mask_password(url);
        let backend = url::backend_of(url).ok_or_else(|| Error::BadUrl(masked.clone()))?;
        let unreachable = |source: sqlx::Error| Error::Unreachable {
            url: masked.clone(),
            source,
        };

        let url = match backend {
            Backend::Sqlite => {
                if let Some(parent) = url::sqlite_path(url)
                    .map(std::path::Path::new)
                    .and_then(std::path::Path::parent)
                    .filter(|p| !p.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(parent).map_err(|e| unreachable(e.into()))?;
                }
                // A new database file is created 0600 (SQLite gives its -wal and -shm files
                // the database file's mode); an existing one is left as it is.
                let creates = !url.contains("mode=") || url.contains("mode=rwc");
                if let Some(path) = url::sqlite_path(url).filter(|p| creates && !p.starts_with(':'))
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    match std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(path)
                    {
                        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                            return Err(unreachable(e.into()))
                        }
                        _ => {}
                    }
                }
                url::sqlite_create_mode(url)
            }
            Backend::Postgres => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(|e| match e {
            sqlx::Error::Configuration(_) => Error::BadUrl(masked.clone()),
            other => unreachable(other),
        })?;

        // One direct attempt first: the pool would keep retrying a refused connection until
        // its acquire timeout, and a CLI wants to hear "unreachable" at once.
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
            .await
            .map_err(|_| unreachable(sqlx::Error::PoolTimedOut))?
            .map_err(|e| match e {
                sqlx::Error::Configuration(_) => Error::BadUrl(masked.clone()),
                other => unreachable(other),
            })?;
        probe.close().await.map_err(unreachable)?;

        let pool_options = match backend {
            Backend::Sqlite => {
                let pool = AnyPoolOptions::new().after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute(
                            format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}").as_str(),
                        )
                        .await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        Ok(())
                    })
                });
                if url::is_sqlite_memory(&url) {
                    // Every connection to `:memory:` is its own database: keep exactly one.
                    pool.max_connections(1)
                        .min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                } else {
                    pool.max_connections(SQLITE_POOL_SIZE)
                }
            }
            Backend::Postgres => AnyPoolOptions::new().max_connections(POSTGRES_POOL_SIZE),
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(unreachable)?;
        Ok(Store { backend, pool })
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies pending migrations of this backend.
    pub async fn migrate(&self) -> Result<()> {
        self.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// Ok when reachable and fully migrated; `Error::NeedsMigration` when migrations are pending.
    pub async fn check(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        conn.ensure_migrations_table().await?;
        if let Some(version) = conn.dirty_version().await? {
            return Err(Error::NeedsMigration(format!(
                "migration {version} was left half-applied"
            )));
        }
        let applied: HashSet<i64> = conn
            .list_applied_migrations()
            .await?
            .into_iter()
            .map(|m| m.version)
            .collect();
        let pending: Vec<String> = self
            .migrator()
            .iter()
            .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
            .map(|m| format!("{} {}", m.version, m.description))
            .collect();
        if pending.is_empty() {
            Ok(())
        } else {
            Err(Error::NeedsMigration(format!(
                "pending: {}",
                pending.join(", ")
            )))
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a transaction never fails upgrading a read lock; other
    /// writers wait for the busy timeout.
    pub(crate) async fn write_tx(&self) -> Result<Transaction<'static, Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }
}
