//! Exit statuses as `cli.md` defines them: 1 when the thing ran and failed, 2 for bad usage
//! or a request that cannot be carried out; the reason goes to stderr.

use std::fmt;

/// A command's failure with its exit status.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    /// Bad usage, unknown names, unreachable database: exit 2.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            code: 2,
            message: message.into(),
        }
    }

    /// The thing ran and failed: exit 1.
    pub fn failed(message: impl Into<String>) -> Self {
        CliError {
            code: 1,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<cambium_store::Error> for CliError {
    fn from(e: cambium_store::Error) -> Self {
        CliError::usage(e.to_string())
    }
}

impl From<cambium_scheduler::runs::RunError> for CliError {
    fn from(e: cambium_scheduler::runs::RunError) -> Self {
        CliError::usage(e.to_string())
    }
}

impl From<cambium_scheduler::EngineError> for CliError {
    fn from(e: cambium_scheduler::EngineError) -> Self {
        CliError::usage(e.to_string())
    }
}

impl From<cambium_scheduler::SyncError> for CliError {
    fn from(e: cambium_scheduler::SyncError) -> Self {
        CliError::usage(e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::usage(e.to_string())
    }
}

pub type CmdResult<T = ()> = Result<T, CliError>;
