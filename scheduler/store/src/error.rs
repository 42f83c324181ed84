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
    /// A user name that is already taken (`cambium users create`).
    #[error("there is already a user named '{0}'")]
    UserExists(String),
    /// No user has this name.
    #[error("there is no user named '{0}'")]
    UnknownUser(String),
    /// No user has this id (a token or session for a user that is gone).
    #[error("there is no user with id {0} in the metadata database")]
    UnknownUserId(i64),
    /// An artifact id that is not in the store (an execution's input, a model version's
    /// artifact).
    #[error("there is no artifact with id {0} in the metadata database")]
    UnknownArtifact(i64),
    /// An execution id that is not in the store (what a cached execution was reused from).
    #[error("there is no execution with id {0} in the metadata database")]
    UnknownExecution(i64),
    /// No model of this name is registered.
    #[error("there is no model named '{0}' in the registry")]
    UnknownModel(String),
    /// The model exists but has no such version.
    #[error("model '{name}' has no version {version}")]
    UnknownVersion { name: String, version: i64 },
    /// The model exists but this alias was never set.
    #[error("model '{name}' has no alias '{alias}'")]
    UnknownAlias { name: String, alias: String },
    /// The alias points at the first version it ever pointed at.
    #[error(
        "cannot roll back alias '{alias}' of model '{name}': there is no earlier version to roll back to"
    )]
    NoRollback { name: String, alias: String },
    /// A task-instance id that is not in the store.
    #[error("there is no task instance with id {0} in the metadata database")]
    UnknownTaskInstance(i64),
    /// A request the store refuses as given (the message says what to change).
    #[error("{0}")]
    Invalid(String),
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

/// `err` as `unknown()` when it is a foreign-key violation (a referenced row is missing),
/// else as a database error.
pub(crate) fn on_missing_reference(err: sqlx::Error, unknown: impl FnOnce() -> Error) -> Error {
    let missing = err
        .as_database_error()
        .is_some_and(|d| matches!(d.kind(), sqlx::error::ErrorKind::ForeignKeyViolation));
    if missing {
        unknown()
    } else {
        Error::Database(err)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
