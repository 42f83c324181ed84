//! What the scheduler hands a built-in operator's task process: the operator, its rendered
//! options, the outputs of the upstream tasks and where the try sits (DAG, run, task, try).
//! Serialized into the try's `spec.json`; `cambium task operator <try_dir>` reads it back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One try of a built-in operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    /// The operator's registered name (`query`, `train`, `tune_trial`, ...).
    pub operator: String,
    /// The operator's own options, templates rendered.
    pub options: Map<String, Value>,
    /// The outputs of every upstream (ancestor) task, by task id.
    pub upstream: Map<String, Value>,
    pub dag_id: String,
    /// The declaring file, relative to the DAGs folder.
    pub dag_file: String,
    pub run_id: String,
    pub task_id: String,
    pub try_number: u32,
    pub logical_date: DateTime<Utc>,
    /// The run's params (DAG defaults overridden by its conf).
    pub params: Map<String, Value>,
    /// `cache: true` on the task: reuse an earlier identical execution's outputs.
    pub cache: bool,
}

/// The operators that run as a `cambium task operator` process (every one but `command`).
pub fn is_builtin(operator: &str) -> bool {
    operator != "command"
}

impl Invocation {
    /// The connections this operator uses (its `conn` option; `email` defaults to `smtp`):
    /// the only ones its process is given.
    pub fn connections(&self) -> Vec<String> {
        match (self.opt_str("conn"), self.operator.as_str()) {
            (Some(name), _) => vec![name.to_string()],
            (None, "email") => vec!["smtp".to_string()],
            (None, _) => Vec::new(),
        }
    }

    /// A string option, if set.
    pub fn opt_str(&self, key: &str) -> Option<&str> {
        self.options.get(key).and_then(Value::as_str)
    }

    /// A required string option; the error names the option and the task.
    pub fn req_str(&self, key: &str) -> Result<&str, String> {
        self.opt_str(key)
            .ok_or_else(|| format!("option '{key}' of task '{}' is required", self.task_id))
    }

    /// A map option (empty when unset; a string holding a JSON map is parsed, as templates
    /// render maps to text); an error when it is something else.
    pub fn opt_map(&self, key: &str) -> Result<Map<String, Value>, String> {
        match self.options.get(key) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(Value::String(s)) if s.trim().starts_with('{') => serde_json::from_str(s)
                .map_err(|e| format!("option '{key}' is not a JSON map after rendering: {e}")),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(Map::new()),
            Some(other) => Err(format!("option '{key}' must be a map, got {other}")),
        }
    }

    /// The registry's model name for this task: option `key`, else the DAG id.
    pub fn model_name(&self, key: &str) -> String {
        self.opt_str(key)
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.dag_id)
            .to_string()
    }
}
