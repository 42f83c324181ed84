//! The `cambium` binary: command-line parsing and wiring only; the work happens in the
//! workspace crates.

#[macro_use]
mod out;
mod cli;
mod commands;
mod context;
mod error;
mod table;

use clap::FromArgMatches;
use cli::{Cli, Command, TaskInternal};
use context::Ctx;
use error::CmdResult;

fn main() {
    // The try supervisor is spawned once per try: take the shortest path to it.
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "task" && args[2] == "supervise" {
        std::process::exit(cambium_executor::supervise::run(std::path::Path::new(
            &args[3],
        )));
    }
    let mut command = cli::command();
    let matches = command.clone().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.format(&mut command).exit(),
    };
    let code = match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.code
        }
    };
    std::process::exit(code);
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAMBIUM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn real_main(cli: Cli) -> CmdResult<i32> {
    match &cli.command {
        Command::Completions { shell } => {
            let mut cmd = cli::command();
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "cambium", &mut buf);
            out::bytes(&buf);
            return Ok(0);
        }
        Command::Task(TaskInternal::Supervise { try_dir }) => {
            return Ok(cambium_executor::supervise::run(try_dir));
        }
        Command::Standalone { .. } | Command::Scheduler | Command::Webserver { .. } => {
            init_tracing("info")
        }
        _ => init_tracing("warn"),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| error::CliError::usage(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let global = cli.global.clone();
        match cli.command {
            Command::Db(command) => commands::db::run(global, command).await,
            Command::Standalone { bind, port } => {
                commands::serve::standalone(Ctx::open(global).await?, &bind, port).await
            }
            Command::Webserver { bind, port } => {
                commands::serve::webserver(Ctx::open(global).await?, &bind, port).await
            }
            Command::Scheduler => commands::serve::scheduler(Ctx::open(global).await?, None).await,
            Command::Dags(command) => commands::dags::run(Ctx::open(global).await?, command).await,
            Command::Runs(command) => commands::runs::run(Ctx::open(global).await?, command).await,
            Command::Tasks(command) => {
                commands::tasks::run(Ctx::open(global).await?, command).await
            }
            Command::Examples(command) => commands::examples::run(global, command).await,
            Command::Models(command) => {
                commands::models::run(Ctx::open(global).await?, command).await
            }
            Command::Users(command) => {
                commands::users::run(Ctx::open(global).await?, command).await
            }
            Command::Assets(command) => {
                commands::assets::run(Ctx::open(global).await?, command).await
            }
            Command::Schema(command) => {
                commands::schema::run(Ctx::open(global).await?, command).await
            }
            Command::Lineage { target } => {
                commands::lineage::run(Ctx::open(global).await?, &target).await
            }
            Command::Task(TaskInternal::Operator { try_dir }) => {
                commands::operator::run(global, &try_dir).await
            }
            Command::Completions { .. } | Command::Task(_) => Ok(0),
        }
    })
}
