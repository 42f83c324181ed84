//! What can go wrong loading the configuration; each message says where and what to fix.

use std::path::PathBuf;

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `cambium.toml` exists but cannot be read.
    #[error("cannot read {}: {source}; check that the file is readable", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// `cambium.toml` is not valid TOML or does not fit the schema (unknown key, bad type).
    #[error("{}{}: {message}", path.display(), location(*line, *column))]
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem, if known.
        line: Option<usize>,
        /// 1-based column of the problem, if known.
        column: Option<usize>,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// A `CAMBIUM_*` environment variable that cannot be used.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable's name.
        var: String,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// Several problems, or values that parse but do not make sense together; every problem
    /// is listed, each on its own line.
    #[error("invalid configuration ({}):\n  - {}", source_desc, problems.join("\n  - "))]
    Invalid {
        /// Where the values came from (the file and the environment).
        source_desc: String,
        /// One line per problem.
        problems: Vec<String>,
    },
}

impl ConfigError {
    /// This error with one more problem added to its list (from a check made elsewhere, such
    /// as `--database-url`), so that everything is reported in one message.
    pub fn with_problem(self, problem: String) -> ConfigError {
        match self {
            ConfigError::Invalid {
                source_desc,
                mut problems,
            } => {
                problems.push(problem);
                ConfigError::Invalid {
                    source_desc,
                    problems,
                }
            }
            other => {
                let source_desc = match &other {
                    ConfigError::Read { path, .. } | ConfigError::File { path, .. } => {
                        format!("{} and the command line", path.display())
                    }
                    _ => "the environment and the command line".to_string(),
                };
                ConfigError::Invalid {
                    source_desc,
                    problems: vec![other.to_string(), problem],
                }
            }
        }
    }

    /// One line per problem.
    pub fn problems(&self) -> Vec<String> {
        match self {
            ConfigError::Invalid { problems, .. } => problems.clone(),
            other => vec![other.to_string()],
        }
    }
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

/// Shorthand for results carrying a [`ConfigError`].
pub type Result<T, E = ConfigError> = std::result::Result<T, E>;
