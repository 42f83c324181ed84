//! What every command needs: the home folder, configuration, the store, the DAGs folder.

use crate::cli::{Global, Output};
use crate::error::{CliError, CmdResult};
use cambium_dag::DagSpec;
use cambium_loader::Limits;
use cambium_scheduler::{DagProcessor, Home};
use cambium_store::{DagRecord, Store};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Resolved global options and the opened store.
pub struct Ctx {
    pub global: Global,
    pub home: Home,
    pub config: cambium_config::Config,
    pub store: Store,
    /// The database URL the store was opened with.
    pub database_url: String,
}

impl Ctx {
    /// Creates the home if needed, loads configuration, and resolves the database URL
    /// (`--database-url`/`CAMBIUM_DATABASE_URL`, then `database_url` in cambium.toml, then
    /// the embedded SQLite in the home).
    pub fn resolve(global: &Global) -> CmdResult<(Home, cambium_config::Config, String)> {
        // A new home is the scheduler user's alone (0700): it holds the database, logs and
        // try folders. An existing one is left as it is.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(&global.home)
            .map_err(|e| {
                CliError::usage(format!(
                    "cannot create the home folder {}: {e}; pass another --home",
                    global.home.display()
                ))
            })?;
        let root = std::fs::canonicalize(&global.home).unwrap_or_else(|_| global.home.clone());
        let home = Home::new(root);
        // Every problem at once: the configuration's and the command line's database URL.
        let url_problem = global
            .database_url
            .as_deref()
            .and_then(cambium_config::database_url_problem)
            .map(|p| format!("--database-url / CAMBIUM_DATABASE_URL: {p}"));
        let config = match (
            cambium_config::Config::from_env_and_home(home.root()),
            url_problem,
        ) {
            (Ok(config), None) => config,
            (Ok(_), Some(problem)) => return Err(CliError::usage(problem)),
            (Err(e), None) => return Err(CliError::usage(e.to_string())),
            (Err(e), Some(problem)) => {
                return Err(CliError::usage(e.with_problem(problem).to_string()))
            }
        };
        let url = global
            .database_url
            .clone()
            .or_else(|| config.database_url.as_ref().map(|s| s.expose().to_string()))
            .unwrap_or_else(|| home.default_database_url());
        Ok((home, config, url))
    }

    /// Resolves the options, opens the store and migrates it if needed.
    pub async fn open(global: Global) -> CmdResult<Ctx> {
        let (home, config, url) = Ctx::resolve(&global)?;
        let store = Store::connect(&url).await?;
        migrate_if_needed(&store).await?;
        Ok(Ctx {
            global,
            home,
            config,
            store,
            database_url: url,
        })
    }

    pub fn json(&self) -> bool {
        self.global.output == Output::Json
    }

    /// Prints a value as pretty JSON.
    pub fn print_json<T: Serialize>(&self, value: &T) -> CmdResult {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| CliError::usage(format!("cannot print JSON: {e}")))?;
        outln!("{text}");
        Ok(())
    }

    /// The sandbox limits for DAG files.
    pub fn limits(&self) -> Limits {
        Limits {
            wall_time: self.config.scheduler.parse_timeout(),
            ..Limits::default()
        }
    }

    /// A DAG processor for the DAGs folder.
    pub fn dag_processor(&self) -> DagProcessor {
        DagProcessor::new(
            self.global.dags.clone(),
            self.limits(),
            self.store.clone(),
            self.config.scheduler.paused_on_create,
        )
    }

    /// Brings the store up to date with the DAGs folder (only changed files are parsed).
    /// The folder must be the one the database's DAGs come from.
    pub async fn sync_dags(&self) -> CmdResult<DagProcessor> {
        self.sync_with(self.dag_processor()).await
    }

    /// The same for a scheduler, whose folder becomes the database's DAGs folder.
    pub async fn sync_dags_as_scheduler(&self) -> CmdResult<DagProcessor> {
        self.sync_with(self.dag_processor().authoritative()).await
    }

    async fn sync_with(&self, mut processor: DagProcessor) -> CmdResult<DagProcessor> {
        if !self.global.dags.is_dir() {
            return Err(CliError::usage(format!(
                "the DAGs folder {} does not exist; pass --dags DIR or set CAMBIUM_DAGS_FOLDER",
                self.global.dags.display()
            )));
        }
        processor.sync_once().await?;
        Ok(processor)
    }

    /// The DAG with this id, after syncing the folder; exit 2 when unknown.
    pub async fn dag(&self, dag_id: &str) -> CmdResult<DagRecord> {
        self.sync_dags().await?;
        match self.store.get_dag(dag_id).await? {
            Some(d) if d.active => Ok(d),
            _ => Err(unknown_dag(dag_id)),
        }
    }

    /// Strings to mask in task logs: the configured connection URLs and their passwords.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        let urls = self
            .config
            .connections
            .values()
            .chain(self.config.database_url.iter())
            .map(|s| s.expose().to_string());
        for url in urls {
            if let Some((_, rest)) = url.split_once("://") {
                if let Some((userinfo, _)) = rest.rsplit_once('@') {
                    if let Some((_, password)) = userinfo.split_once(':') {
                        if !password.is_empty() {
                            out.push(password.to_string());
                        }
                    }
                }
            }
            out.push(url);
        }
        out
    }
}

/// Migrates a store that needs it. Several processes may start on a fresh database at
/// once (a scheduler and a CLI call): when a migration fails because another process got
/// there first, a store that now checks out is fine.
pub async fn migrate_if_needed(store: &Store) -> CmdResult {
    let mut last_error = None;
    for attempt in 0..10u64 {
        // Any error here may be another process migrating at the same moment (on Postgres,
        // two `CREATE TABLE IF NOT EXISTS` can collide): look again shortly.
        match store.check().await {
            Ok(()) => return Ok(()),
            Err(cambium_store::Error::NeedsMigration(_)) => match store.migrate().await {
                Ok(()) => return Ok(()),
                Err(e) => last_error = Some(e),
            },
            Err(e) => last_error = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50 * (attempt + 1))).await;
    }
    match last_error {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

pub fn unknown_dag(dag_id: &str) -> CliError {
    CliError::usage(format!(
        "unknown DAG '{dag_id}'; `cambium dags list` shows the DAGs (and `cambium dags errors` files that failed to import)"
    ))
}

/// Parses `--conf`: a JSON object.
pub fn parse_conf(conf: Option<&str>) -> CmdResult<serde_json::Map<String, serde_json::Value>> {
    match conf {
        None => Ok(serde_json::Map::new()),
        Some(text) => cambium_ui::service::parse_conf("--conf", text).map_err(CliError::usage),
    }
}

/// Parses a date option: RFC 3339, or `YYYY-MM-DD` (midnight in the DAG's time zone).
pub fn parse_time(option: &str, text: &str, spec: &DagSpec) -> CmdResult<DateTime<Utc>> {
    cambium_ui::service::parse_time(option, text, spec).map_err(CliError::usage)
}
