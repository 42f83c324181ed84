//! Import errors: what went wrong in a DAG file, where, and what to change.

use serde::{Deserialize, Serialize};

/// One problem found while importing a DAG file. `file` is relative to the DAGs folder;
/// `line` and `column` are 1-based (0 when the problem has no position, e.g. an unreadable
/// file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportError {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}
