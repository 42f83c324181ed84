//! Store errors, split by whether trying again can help.

/// What went wrong talking to the metadata database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be reached or dropped the connection: try again later.
    #[error("the metadata database is unreachable ({url}): {source}")]
    Unreachable {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// The URL is not one Cambium can use.
    #[error("'{0}' is not a database URL Cambium understands; use sqlite://PATH or postgres://USER:PASS@HOST:PORT/DB")]
    BadUrl(String),
    /// The schema is older than this binary: run `cambium db migrate`.
    #[error("the metadata database needs migrating: run `cambium db migrate` ({0})")]
    NeedsMigration(String),
    #[error("migrating the metadata database failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("metadata database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored JSON or enum value could not be read back.
    #[error("corrupt value in the metadata database: {0}")]
    Corrupt(String),
}

impl Error {
    /// True when the same call may succeed later (connection trouble, lock timeouts).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Unreachable { .. } => true,
            Error::Database(e) => {
                matches!(
                    e,
                    sqlx::Error::Io(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::WorkerCrashed
                ) || e
                    .as_database_error()
                    .and_then(|d| d.code())
                    .is_some_and(|c| {
                        // SQLite busy/locked; Postgres serialization and deadlock failures,
                        // lock timeouts, connection exceptions (class 08), too many
                        // connections, and server shutdown or restart (57P01-57P03).
                        matches!(
                            c.as_ref(),
                            "5" | "6"
                                | "40001"
                                | "40P01"
                                | "55P03"
                                | "53300"
                                | "57P01"
                                | "57P02"
                                | "57P03"
                        ) || c.starts_with("08")
                    })
            }
            _ => false,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
