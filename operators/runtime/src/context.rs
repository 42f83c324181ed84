//! The runtime one task process has (metadata store, object stores, connections, scratch
//! folder) and the call it runs; the error and outcome types every operator shares.

use cambium_data::Stores;
use cambium_operators::invocation::Invocation;
use cambium_store::Store;
use serde_json::{Map, Value};

use std::collections::BTreeMap;
use std::path::PathBuf;

/// What an operator can reach.
pub struct Runtime {
    pub store: Store,
    pub stores: Stores,
    /// Connection name → URL (credentials included; never printed).
    pub connections: BTreeMap<String, String>,
    /// A scratch folder of this try (removed when the try's process ends).
    pub scratch: PathBuf,
    /// The DAGs folder: relative file options (`schema_file`) are read from here.
    pub dags_folder: Option<PathBuf>,
}

impl Runtime {
    /// The URL of connection `name`; an unknown name's error lists the known ones and says
    /// how to add it (`example` is the kind of URL it takes).
    pub fn connection(&self, name: &str, example: &str) -> Result<&str, OpError> {
        self.connections.get(name).map(String::as_str).ok_or_else(|| {
            let known: Vec<&str> = self.connections.keys().map(String::as_str).collect();
            fail(format!(
                "unknown connection '{name}' (known: {}); add it under [connections] in cambium.toml or set CAMBIUM_CONN_{}={example}",
                if known.is_empty() { "none".to_string() } else { known.join(", ") },
                name.to_uppercase()
            ))
        })
    }
}

/// One operator invocation, as the scheduler handed it over.
pub type Call = Invocation;

/// How a built-in operator's try ended, besides failing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Exit 99: the task is `skipped` (deploy of a model that was not blessed).
    pub skipped: bool,
    /// A sentence for the log.
    pub message: Option<String>,
    /// The task's output (`outputs.<task>` downstream).
    pub output: Map<String, Value>,
    /// Numbers recorded as the task's metrics.
    pub metrics: Map<String, Value>,
    /// A sensor not satisfied yet: exit 98, poke again after this long.
    pub reschedule_after: Option<std::time::Duration>,
}

/// Why an operator failed: a sentence naming the option, column or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("{0}")]
    Failed(String),
    #[error("metadata store: {0}")]
    Store(#[from] cambium_store::Error),
    #[error("{0}")]
    Data(#[from] cambium_data::Error),
}

/// A failure with this message.
pub fn fail(message: impl Into<String>) -> OpError {
    OpError::Failed(message.into())
}

impl From<String> for OpError {
    fn from(message: String) -> Self {
        OpError::Failed(message)
    }
}
