//! One error type for the crate. Each variant names the store, object, column or option
//! at fault and says what to change; [`Error::is_retryable`] tells a task whether trying
//! again could help.

use std::path::PathBuf;

use cambium_ml::table::TableError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("store URL '{url}' is not valid: {reason}")]
    InvalidStoreUrl { url: String, reason: String },

    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    InvalidStores(Vec<Error>),

    #[error(
        "unknown store '{name}'; known stores: {}. Add it under [stores] in cambium.toml \
         ({name} = \"file:///path\" or \"s3://bucket/prefix\") or set CAMBIUM_STORE_{}=<url>",
        if .known.is_empty() { "(none)".to_string() } else { .known.join(", ") },
        .name.to_uppercase()
    )]
    UnknownStore { name: String, known: Vec<String> },

    #[error("store URL '{url}' needs {kind} support, but cambium was built without {kind} support; rebuild with --features {feature}")]
    MissingFeature {
        url: String,
        kind: &'static str,
        feature: &'static str,
    },

    #[error("object key '{key}' is not valid: {reason}")]
    InvalidKey { key: String, reason: String },

    #[error("glob pattern '{pattern}' is not valid: {reason}")]
    InvalidPattern { pattern: String, reason: String },

    #[error("no object at {uri}")]
    NotFound { uri: String },

    #[error("object store error while {action} {uri}: {source}")]
    Store {
        action: &'static str,
        uri: String,
        #[source]
        source: object_store::Error,
    },

    #[error("could not {action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("unknown format '{0}'; valid formats: parquet, csv, jsonl")]
    UnknownFormat(String),

    #[error("Parquet error in {file}: {message}")]
    Parquet { file: String, message: String },

    #[error("{format} error in {file} at line {line}: {message}")]
    Parse {
        format: &'static str,
        file: String,
        line: u64,
        message: String,
    },

    #[error(
        "column '{column}' has type {data_type}, which tables can't hold; \
         convert it to an integer, float, boolean or string before loading it"
    )]
    UnsupportedArrowType { column: String, data_type: String },

    #[error(
        "batch {batch} has columns [{found}] but the first batch had [{expected}]; \
         every batch written to one object needs the same columns and types"
    )]
    SchemaChanged {
        batch: u64,
        expected: String,
        found: String,
    },

    #[error(transparent)]
    Table(#[from] TableError),

    #[error("connection URL '{url}' is not valid: {reason}")]
    InvalidConnUrl { url: String, reason: String },

    #[error("could not connect to {url}: {message}")]
    Connect { url: String, message: String },

    #[error("query failed on {url}: {message}")]
    Query { url: String, message: String },

    #[error("bind parameter {index} ({value}) can't be sent to the database: {reason}")]
    Bind {
        index: usize,
        value: String,
        reason: String,
    },

    #[error("column '{column}' of the query result {problem}")]
    SqlColumn { column: String, problem: String },

    #[error("background task failed: {0}")]
    Join(String),
}

impl Error {
    /// Whether trying again later could succeed: lost connections, store outages and IO
    /// errors can pass; a bad URL, SQL syntax or a type the data can't hold won't.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Connect { .. } | Error::Io { .. } | Error::Join(_) => true,
            Error::Store { source, .. } => !matches!(
                source,
                object_store::Error::NotFound { .. }
                    | object_store::Error::InvalidPath { .. }
                    | object_store::Error::NotSupported { .. }
                    | object_store::Error::NotImplemented { .. }
                    | object_store::Error::UnknownConfigurationKey { .. }
                    | object_store::Error::PermissionDenied { .. }
                    | object_store::Error::Unauthenticated { .. }
                    | object_store::Error::AlreadyExists { .. }
            ),
            Error::InvalidStores(all) => all.iter().all(Error::is_retryable),
            _ => false,
        }
    }
}
