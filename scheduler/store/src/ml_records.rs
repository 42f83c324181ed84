//! The rows of ML lineage (executions and the artifacts they read and wrote) and of the
//! model registry, as plain types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// An artifact an execution wrote, to record with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewArtifact {
    /// `Dataset`, `Examples`, `Statistics`, `Schema`, `Anomalies`, `TransformGraph`, `Model`,
    /// `ModelEvaluation`, `ModelBlessing`, `HyperparameterSearch` or `PushedModel`.
    pub kind: String,
    /// Its role within the execution that wrote it (`examples`, `train`, `eval`, ...).
    pub name: String,
    /// Where the data lives (an object-store URI; never the data itself).
    pub uri: String,
    /// A content fingerprint of the data at `uri`.
    pub fingerprint: String,
    pub properties: Value,
}

/// An artifact as stored, with the execution and task try that wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactRecord {
    /// Store key.
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub uri: String,
    pub fingerprint: String,
    pub properties: Value,
    /// The execution that wrote it.
    pub execution_id: i64,
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    pub try_number: u32,
    /// When it was recorded: the end of the execution that wrote it.
    pub created: DateTime<Utc>,
}

/// One execution of an operator (one task try), to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewExecution {
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    pub try_number: u32,
    pub operator: String,
    /// The code version of the operator (part of what makes outputs reusable).
    pub operator_version: String,
    /// The task's options as rendered for this try.
    pub options: Value,
    /// What `find_cached_execution` looks executions up by (options and input fingerprints).
    pub cache_key: String,
    /// The earlier execution whose outputs this one reused (`cache: true`), if any.
    pub cached_from: Option<i64>,
    pub started: DateTime<Utc>,
    pub ended: DateTime<Utc>,
}

/// An execution as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    /// Store key.
    pub id: i64,
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    pub try_number: u32,
    pub operator: String,
    pub operator_version: String,
    pub options: Value,
    pub cache_key: String,
    pub cached_from: Option<i64>,
    pub started: DateTime<Utc>,
    pub ended: DateTime<Utc>,
}

/// A version of a named model to register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewModelVersion {
    /// The registry's model name (the DAG id unless the deploy task names another).
    pub name: String,
    /// The `Model` artifact.
    pub model_artifact_id: i64,
    /// The `PushedModel` artifact of the deploy that registered it, if any.
    pub pushed_artifact_id: Option<i64>,
    pub artifact_uri: String,
    /// The fitted transform served in front of the model, if any.
    pub transform_uri: Option<String>,
    pub metrics: Map<String, Value>,
    pub params: Map<String, Value>,
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
}

/// A registered version of a model, with the aliases that point at it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub name: String,
    /// 1 for a model's first version, then one more than the latest.
    pub version: i64,
    /// Sorted.
    pub aliases: Vec<String>,
    pub metrics: Map<String, Value>,
    pub params: Map<String, Value>,
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    pub created: DateTime<Utc>,
    pub artifact_uri: String,
    pub transform_uri: Option<String>,
    pub model_artifact_id: i64,
    pub pushed_artifact_id: Option<i64>,
}

/// A registered model at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    pub name: String,
    pub latest_version: i64,
    /// How many versions it has.
    pub versions: i64,
    /// Alias -> the version it points at.
    pub aliases: BTreeMap<String, i64>,
    /// The last registration or alias move.
    pub updated: DateTime<Utc>,
}

/// One move of an alias.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasChange {
    pub name: String,
    pub alias: String,
    /// The version it points at since this change.
    pub version: i64,
    /// The version it pointed at before (`None` when the alias was new).
    pub previous: Option<i64>,
    pub at: DateTime<Utc>,
    /// Why, in a few words: `deploy run <run_id>`, `promote`, `rollback`.
    pub reason: String,
}
