//! Cambium's configuration: `<home>/cambium.toml` overlaid with `CAMBIUM_*` environment
//! variables, typed, validated and documented (`docs/configuration.md`).
//!
//! This crate owns the `[scheduler]` knobs, the `[web]` server's settings, `[pools]`, named `[connections]` (secret URLs) and
//! object `[stores]`, and `database_url`. It reads one file and takes the environment as a
//! parameter, so tests inject it; [`Config::from_env_and_home`] reads the real one. Secrets
//! are wrapped in [`Secret`], which prints with its password masked.
//!
//! The CLI's own options (`--home`, `--dags`, `--database-url` and their `CAMBIUM_HOME`,
//! `CAMBIUM_DAGS_FOLDER`, `CAMBIUM_DATABASE_URL`) are not handled here.

mod env;
mod error;
mod file;
mod layout;
mod model;
mod secret;
mod suggest;
mod validate;

use std::path::Path;

pub use error::{ConfigError, Result};
pub use model::{Config, SchedulerConfig, WebConfig, ARTIFACTS_STORE, WAREHOUSE_CONN};
pub use secret::{mask_url, Secret};

/// The configuration file's name inside the home folder.
pub const CONFIG_FILE: &str = "cambium.toml";

/// Loads `<home>/cambium.toml` (absent means all defaults), overlays the `CAMBIUM_*` variables
/// among `env_vars` (see the `env` module docs; other variables are ignored), adds the default
/// `artifacts` store and validates the result.
///
/// Every problem is reported at once, whatever its kind: mistakes in the file (each with its
/// line and key), unusable environment variables and values that cannot work together. A
/// single file or environment mistake is returned as [`ConfigError::File`] or
/// [`ConfigError::Env`]; anything more as [`ConfigError::Invalid`], one line per problem.
/// Only a file that is not TOML at all (or cannot be read) stops the look at the file early.
pub fn load(home: &Path, env_vars: &[(String, String)]) -> Result<Config> {
    let path = home.join(CONFIG_FILE);
    let mut errors = Vec::new();
    let mut config = match std::fs::read_to_string(&path) {
        Ok(text) => match file::parse(&path, &text) {
            Ok((config, problems)) => {
                errors.extend(problems);
                config
            }
            Err(e) => {
                errors.push(e);
                Config::default()
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::default(),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    errors.extend(env::overlay(&mut config, env_vars));
    config.add_default_stores(home);
    let problems = validate::problems(&config);
    if problems.is_empty() && errors.len() <= 1 {
        return match errors.pop() {
            None => Ok(config),
            Some(only) => Err(only),
        };
    }
    let lines = errors.iter().map(ToString::to_string).chain(problems);
    Err(ConfigError::Invalid {
        source_desc: format!("{} and CAMBIUM_* environment variables", path.display()),
        problems: lines.collect(),
    })
}

/// What is wrong with a metadata database URL, if anything (the same check `database_url`
/// gets in the file), for callers that take the URL from elsewhere (`--database-url`).
pub fn database_url_problem(url: &str) -> Option<String> {
    validate::database_url(url)
}

impl Config {
    /// [`load`] with the real process environment (variables that are not valid UTF-8 are
    /// skipped).
    pub fn from_env_and_home(home: &Path) -> Result<Config> {
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        load(home, &vars)
    }
}
