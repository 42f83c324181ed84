//! The `cambium` command line as `cli.md` defines it (clap derive).

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
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

/// The heading global options are listed under in every command's help, apart from the
/// command's own options.
pub const GLOBAL_HEADING: &str = "Global options";

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The home folder: cambium.toml, the SQLite database, logs.
    #[arg(
        long,
        global = true,
        env = "CAMBIUM_HOME",
        default_value = ".cambium",
        help_heading = GLOBAL_HEADING
    )]
    pub home: PathBuf,
    /// The folder of DAG files (*.rhai, searched recursively).
    #[arg(
        long,
        global = true,
        env = "CAMBIUM_DAGS_FOLDER",
        default_value = "dags",
        help_heading = GLOBAL_HEADING
    )]
    pub dags: PathBuf,
    /// The metadata database: sqlite:///path/to/file.db or postgres://user:password@host/db
    /// [default: sqlite://<home>/cambium.db].
    #[arg(
        long,
        global = true,
        env = "CAMBIUM_DATABASE_URL",
        hide_env_values = true,
        help_heading = GLOBAL_HEADING
    )]
    pub database_url: Option<String>,
    /// How to print results: aligned columns for people, or JSON for scripts.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = Output::Table,
        help_heading = GLOBAL_HEADING
    )]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns.
    Table,
    /// Pretty-printed JSON (field names are stable).
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
    /// The metadata database
    #[command(subcommand)]
    Db(DbCommand),
    /// DAGs
    #[command(subcommand)]
    Dags(DagsCommand),
    /// Runs
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Task instances
    #[command(subcommand)]
    Tasks(TasksCommand),
    /// Example data for the example DAGs
    #[command(subcommand)]
    Examples(crate::commands::examples::ExamplesCommand),
    /// The model registry
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Assets
    #[command(subcommand)]
    Assets(AssetsCommand),
    /// Users of the web UI and API
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
    /// Prints a shell completion script, e.g. `cambium completions bash >
    /// ~/.local/share/bash-completion/completions/cambium`.
    Completions {
        /// The shell to write the script for.
        shell: clap_complete::Shell,
    },
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
    /// Every DAG with its schedule and when its next scheduled run is created (RUN_AFTER;
    /// the JSON field is `next_run`).
    List,
    /// Import errors: file, line, column, message.
    Errors,
    /// A DAG's tasks, edges and options.
    Show {
        /// The DAG's id (its `dag_id`; `cambium dags list` shows them).
        dag_id: String,
        /// Print Graphviz DOT instead.
        #[arg(long)]
        dot: bool,
    },
    /// The next runs the schedule will create: each run's logical date (the start of the data
    /// interval it covers) and when it is created (RUN_AFTER, the end of that interval).
    NextRuns {
        /// The DAG's id (its `dag_id`; `cambium dags list` shows them).
        dag_id: String,
        /// How many runs to show.
        #[arg(short = 'n', default_value_t = 5)]
        n: usize,
    },
    /// Creates a manual run (a scheduler runs it).
    Trigger {
        /// The DAG's id (its `dag_id`; `cambium dags list` shows them).
        dag_id: String,
        /// A JSON object overriding the DAG's params, e.g. '{"min_accuracy": 0.8}'.
        #[arg(long)]
        conf: Option<String>,
        /// The run's logical date: an RFC 3339 time (2024-05-01T06:00:00Z) or YYYY-MM-DD
        /// (midnight in the DAG's time zone) [default: now].
        #[arg(long)]
        logical_date: Option<String>,
        /// Wait for the run to end and print it.
        #[arg(long)]
        wait: bool,
    },
    /// Runs one whole run in this process, no scheduler needed.
    Test {
        /// The DAG's id (its `dag_id`; `cambium dags list` shows them).
        dag_id: String,
        /// A JSON object overriding the DAG's params, e.g. '{"min_accuracy": 0.8}'.
        #[arg(long)]
        conf: Option<String>,
        /// The run's logical date: an RFC 3339 time (2024-05-01T06:00:00Z) or YYYY-MM-DD
        /// (midnight in the DAG's time zone) [default: now].
        #[arg(long)]
        logical_date: Option<String>,
    },
    /// One run per scheduled interval whose logical date is in [start, end].
    Backfill {
        /// The DAG's id (its `dag_id`; `cambium dags list` shows them).
        dag_id: String,
        /// The first logical date: an RFC 3339 time (2024-05-01T00:00:00Z) or YYYY-MM-DD
        /// (midnight in the DAG's time zone).
        #[arg(long)]
        start: String,
        /// The last logical date (included), in the same formats as --start.
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
    Pause {
        /// The DAG's id (its `dag_id`; `cambium dags list` shows them).
        dag_id: String,
    },
    /// Resumes scheduling a DAG.
    Unpause {
        /// The DAG's id (its `dag_id`; `cambium dags list` shows them).
        dag_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Runs, newest first.
    List {
        /// Only the runs of this DAG (its `dag_id`) [default: every DAG].
        dag_id: Option<String>,
        /// Only runs in this state (queued, running, success, failed).
        #[arg(long)]
        state: Option<String>,
        /// At most this many runs.
        #[arg(long, default_value_t = 25)]
        limit: i64,
    },
    /// One run with its tasks.
    Show {
        /// The run's id, e.g. scheduled__2024-05-01T00:00:00+00:00 (`cambium runs list`
        /// shows them).
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
        /// The DAG's id (its `dag_id`; `cambium dags list` shows them).
        dag_id: String,
        /// The task's id within the DAG (`cambium dags show DAG` lists them).
        task_id: String,
        /// The logical date the task sees: an RFC 3339 time (2024-05-01T06:00:00Z) or
        /// YYYY-MM-DD (midnight in the DAG's time zone) [default: now].
        #[arg(long)]
        logical_date: Option<String>,
    },
    /// Clears task instances of a run so they run again.
    Clear {
        /// The DAG's id (its `dag_id`; `cambium dags list` shows them).
        dag_id: String,
        /// The run's id, e.g. scheduled__2024-05-01T00:00:00+00:00 (`cambium runs list`
        /// shows them).
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
        /// The DAG's id (its `dag_id`; `cambium dags list` shows them).
        dag_id: String,
        /// The run's id, e.g. scheduled__2024-05-01T00:00:00+00:00 (`cambium runs list`
        /// shows them).
        run_id: String,
        /// The task's id within the DAG (`cambium dags show DAG` lists them).
        task_id: String,
        /// The state to set.
        #[arg(long, value_parser = ["success", "failed"])]
        state: String,
    },
    /// Prints a try's log.
    Logs {
        /// The DAG's id (its `dag_id`; `cambium dags list` shows them).
        dag_id: String,
        /// The run's id, e.g. scheduled__2024-05-01T00:00:00+00:00 (`cambium runs list`
        /// shows them).
        run_id: String,
        /// The task's id within the DAG (`cambium dags show DAG` lists them).
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
    Show {
        /// The registered model's name (`cambium models list` shows them).
        name: String,
    },
    /// Points the `production` alias at a version.
    Promote {
        /// The registered model's name (`cambium models list` shows them).
        name: String,
        /// The version number to promote (`cambium models show NAME` lists them).
        // Not `version`: clap keeps that id for the propagated `--version` flag.
        #[arg(value_name = "VERSION")]
        model_version: i64,
    },
    /// Moves the `production` alias back to the version before.
    Rollback {
        /// The registered model's name (`cambium models list` shows them).
        name: String,
    },
    /// Predicts each JSON row on stdin (one object per line), printing one JSON object per
    /// row with "prediction".
    #[command(disable_version_flag = true)]
    Predict {
        /// The registered model's name (`cambium models list` shows them).
        name: String,
        /// The version to use [default: the one `production` points at].
        #[arg(long = "version", value_name = "V")]
        model_version: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TaskInternal {
    /// Supervises one try described by DIR/spec.json.
    Supervise {
        /// The try's folder.
        try_dir: PathBuf,
    },
    /// Runs the built-in operator of the try described by DIR/spec.json (the task's process).
    Operator {
        /// The try's folder.
        try_dir: PathBuf,
    },
}

/// The command line as parsed and as `--help` and completions show it: [`Cli`]'s, with the
/// about line of every group of subcommands followed by the names of those subcommands
/// ("The model registry: list, show, …"), so that `cambium --help` and `cambium GROUP --help`
/// name every subcommand, including ones added later.
pub fn command() -> clap::Command {
    name_subcommands(Cli::command())
}

fn name_subcommands(cmd: clap::Command) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    let mut cmd = names
        .iter()
        .fold(cmd, |cmd, name| cmd.mut_subcommand(name, name_subcommands));
    let visible: Vec<&str> = cmd
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .map(clap::Command::get_name)
        .collect();
    if cmd.get_name() != "cambium" && !visible.is_empty() {
        let about = cmd.get_about().map(ToString::to_string).unwrap_or_default();
        let about = format!("{}: {}", about.trim_end_matches('.'), visible.join(", "));
        cmd = cmd.about(about);
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every visible subcommand and argument, with the path of names leading to it.
    fn walk<'a>(cmd: &'a clap::Command, path: &str, out: &mut Vec<(String, &'a clap::Command)>) {
        out.push((path.to_string(), cmd));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    fn has_text(text: Option<&clap::builder::StyledStr>) -> bool {
        text.is_some_and(|t| !t.to_string().trim().is_empty())
    }

    #[test]
    fn every_command_and_argument_says_what_it_is() {
        let root = command();
        let mut commands = Vec::new();
        walk(&root, "cambium", &mut commands);
        assert!(
            commands.len() > 30,
            "the walk found only {}",
            commands.len()
        );
        let mut missing = Vec::new();
        for (path, cmd) in &commands {
            if !has_text(cmd.get_about()) {
                missing.push(format!("`{path}` has no about text"));
            }
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                if !has_text(arg.get_help()) && !has_text(arg.get_long_help()) {
                    missing.push(format!("`{path}` argument {} has no help", arg.get_id()));
                }
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    #[test]
    fn every_group_names_all_its_subcommands() {
        let root = command();
        let mut commands = Vec::new();
        walk(&root, "cambium", &mut commands);
        let mut groups = 0;
        for (path, cmd) in commands.iter().skip(1) {
            let visible: Vec<&str> = cmd
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(clap::Command::get_name)
                .collect();
            if visible.is_empty() {
                continue;
            }
            groups += 1;
            let about = cmd.get_about().map(ToString::to_string).unwrap_or_default();
            for name in visible {
                assert!(
                    about.contains(name),
                    "`{path}`'s about {about:?} omits {name}"
                );
            }
        }
        assert!(groups >= 8, "only {groups} groups");
        let about = |name: &str| {
            root.find_subcommand(name)
                .and_then(clap::Command::get_about)
                .map(ToString::to_string)
                .unwrap_or_default()
        };
        assert!(about("users").contains("delete"), "{}", about("users"));
        assert!(about("models").contains("predict"), "{}", about("models"));
    }

    #[test]
    fn global_options_have_their_own_heading() {
        let root = command();
        let globals: Vec<_> = root.get_arguments().filter(|a| a.is_global_set()).collect();
        assert!(globals.len() >= 4, "{globals:?}");
        for arg in globals {
            assert_eq!(
                arg.get_help_heading(),
                Some(GLOBAL_HEADING),
                "{}",
                arg.get_id()
            );
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }
}
