//! The `cambium` command line as `cli.md` defines it (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "cambium",
    version,
    about = "A workflow scheduler for continuous training of machine-learning models",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The home folder: cambium.toml, the SQLite database, logs.
    #[arg(long, global = true, env = "CAMBIUM_HOME", default_value = ".cambium")]
    pub home: PathBuf,
    /// The folder of DAG files (*.rhai, searched recursively).
    #[arg(
        long,
        global = true,
        env = "CAMBIUM_DAGS_FOLDER",
        default_value = "dags"
    )]
    pub dags: PathBuf,
    /// The metadata database [default: sqlite://<home>/cambium.db].
    #[arg(
        long,
        global = true,
        env = "CAMBIUM_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// How to print results.
    #[arg(long, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scheduler, local executor, web UI and API in one process, on the embedded SQLite
    /// by default; prints the URL and, on the first start, the generated admin password.
    Standalone {
        /// Address the web UI and API listen on.
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// Port the web UI and API listen on (0: any free port, printed at start).
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// The web UI and API alone, against the same database as a scheduler.
    Webserver {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// Port to listen on (0: any free port, printed at start).
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// The scheduler with its local executor.
    Scheduler,
    /// The metadata database.
    #[command(subcommand)]
    Db(DbCommand),
    /// DAGs: list, inspect, trigger, test, backfill, pause.
    #[command(subcommand)]
    Dags(DagsCommand),
    /// Runs: list and show.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Task instances: test, clear, mark, logs.
    #[command(subcommand)]
    Tasks(TasksCommand),
    /// Example data: seeds the example DAGs' warehouse.
    #[command(subcommand)]
    Examples(crate::commands::examples::ExamplesCommand),
    /// The model registry: list, show, promote, roll back.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Assets: list, emit.
    #[command(subcommand)]
    Assets(AssetsCommand),
    /// Users of the web UI and API: create, token, list.
    #[command(subcommand)]
    Users(crate::commands::users::UsersCommand),
    /// Schemas: freeze a run's inferred schema into a file to curate.
    #[command(subcommand)]
    Schema(crate::commands::schema::SchemaCommand),
    /// What produced an artifact or model version, from what, with which params.
    Lineage {
        /// A model name (its production version, else its latest), NAME:VERSION
        /// (or NAME@VERSION), or an artifact id.
        target: String,
    },
    /// Prints a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Internal: runs one try under supervision (started by the executor).
    #[command(hide = true, subcommand)]
    Task(TaskInternal),
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Creates or upgrades the schema.
    Migrate,
    /// Checks that the database is reachable and migrated.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum DagsCommand {
    /// Every DAG with its schedule and next run.
    List,
    /// Import errors: file, line, column, message.
    Errors,
    /// A DAG's tasks, edges and options.
    Show {
        dag_id: String,
        /// Print Graphviz DOT instead.
        #[arg(long)]
        dot: bool,
    },
    /// The next runs the schedule will create.
    NextRuns {
        dag_id: String,
        #[arg(short = 'n', default_value_t = 5)]
        n: usize,
    },
    /// Creates a manual run (a scheduler runs it).
    Trigger {
        dag_id: String,
        /// A JSON object overriding the DAG's params.
        #[arg(long)]
        conf: Option<String>,
        /// RFC 3339 time or YYYY-MM-DD (in the DAG's time zone); default now.
        #[arg(long)]
        logical_date: Option<String>,
        /// Wait for the run to end and print it.
        #[arg(long)]
        wait: bool,
    },
    /// Runs one whole run in this process, no scheduler needed.
    Test {
        dag_id: String,
        #[arg(long)]
        conf: Option<String>,
        #[arg(long)]
        logical_date: Option<String>,
    },
    /// One run per scheduled interval in [start, end].
    Backfill {
        dag_id: String,
        #[arg(long)]
        start: String,
        #[arg(long)]
        end: String,
        /// What to do with runs that already exist.
        #[arg(long, default_value = "none", value_parser = ["failed", "all", "none"])]
        rerun: String,
        /// Runs of this backfill at once [default: the DAG's max_active_runs].
        #[arg(long)]
        max_active_runs: Option<u32>,
        /// Wait for every run to end (progress bar on a terminal).
        #[arg(long)]
        wait: bool,
        /// Show the runs it would create; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Stops scheduling new runs of a DAG.
    Pause { dag_id: String },
    /// Resumes scheduling a DAG.
    Unpause { dag_id: String },
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Runs, newest first.
    List {
        dag_id: Option<String>,
        /// Only runs in this state (queued, running, success, failed).
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 25)]
        limit: i64,
    },
    /// One run with its tasks.
    Show {
        run_id: String,
        /// The DAG, when several DAGs have a run with this id.
        #[arg(long)]
        dag: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// Runs one task now, ignoring dependencies; records nothing.
    Test {
        dag_id: String,
        task_id: String,
        #[arg(long)]
        logical_date: Option<String>,
    },
    /// Clears task instances of a run so they run again.
    Clear {
        dag_id: String,
        run_id: String,
        /// Tasks to clear (repeatable); default all.
        #[arg(long = "task")]
        tasks: Vec<String>,
        /// Also clear everything downstream of them.
        #[arg(long)]
        downstream: bool,
    },
    /// Marks a task instance success or failed without running it.
    Mark {
        dag_id: String,
        run_id: String,
        task_id: String,
        /// The state to set.
        #[arg(long, value_parser = ["success", "failed"])]
        state: String,
    },
    /// Prints a try's log.
    Logs {
        dag_id: String,
        run_id: String,
        task_id: String,
        /// Which try [default: the latest].
        #[arg(long = "try")]
        try_number: Option<u32>,
        /// Keep printing until the try ends.
        #[arg(long)]
        follow: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AssetsCommand {
    /// Every asset the DAGs name, with the tasks that update it (outlets), the DAGs it
    /// triggers (on_asset) and its events.
    List,
    /// Records an asset event now and creates the runs it triggers.
    Emit {
        /// The asset's name, as in outlets and on_asset(...).
        name: String,
        /// A JSON object stored with the event (in the triggered runs' conf.asset.extra).
        #[arg(long)]
        extra: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Registered models with their latest and production versions.
    List,
    /// A model's versions, newest first, with aliases, metrics and params.
    Show { name: String },
    /// Points the `production` alias at a version.
    Promote {
        name: String,
        /// The version to promote.
        // Not `version`: clap keeps that id for the propagated `--version` flag.
        #[arg(value_name = "VERSION")]
        model_version: i64,
    },
    /// Moves the `production` alias back to the version before.
    Rollback { name: String },
    /// Predicts each JSON row on stdin (one object per line), printing one JSON object per
    /// row with "prediction".
    #[command(disable_version_flag = true)]
    Predict {
        name: String,
        /// The version to use [default: the one `production` points at].
        #[arg(long = "version", value_name = "V")]
        model_version: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TaskInternal {
    /// Supervises one try described by DIR/spec.json.
    Supervise { try_dir: PathBuf },
    /// Runs the built-in operator of the try described by DIR/spec.json (the task's process).
    Operator { try_dir: PathBuf },
}
