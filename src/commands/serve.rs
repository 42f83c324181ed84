//! `cambium standalone` and `cambium scheduler`, and the engine wiring `dags test` shares.

use crate::context::Ctx;
use crate::error::{CliError, CmdResult};
use cambium_executor::local::LocalExecutor;
use cambium_scheduler::request::OperatorRuntime;
use cambium_scheduler::{Engine, EngineOptions, Mode, SystemClock};
use std::sync::Arc;
use std::time::Duration;

/// Builds an engine with the local executor over this context's store.
pub async fn build_engine(ctx: &Ctx, mode: Mode) -> CmdResult<Engine> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let executor = LocalExecutor::new(
        supervisor_command()?,
        ctx.config.scheduler.parallelism as usize,
        tx.clone(),
    );
    ctx.store.set_pools(&ctx.config.pools).await?;
    let mut opts = EngineOptions::new(ctx.home.clone(), mode);
    opts.default_pool_slots = ctx.config.scheduler.default_pool_slots;
    opts.heartbeat = ctx.config.scheduler.heartbeat();
    opts.dead_after = ctx.config.scheduler.scheduler_dead_after();
    opts.secrets = ctx.secrets();
    opts.runtime = operator_runtime(ctx)?;
    Ok(Engine::new(
        ctx.store.clone(),
        Arc::new(executor),
        tx,
        rx,
        Arc::new(SystemClock),
        opts,
    ))
}

/// How the local executor starts a try's supervisor: the small `cambium-supervise` binary
/// beside this one when it is there (it starts faster), else `cambium task supervise`.
pub fn supervisor_command() -> CmdResult<Vec<String>> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::usage(format!("cannot find the cambium binary: {e}")))?;
    let small = exe.with_file_name("cambium-supervise");
    if small.is_file() {
        return Ok(vec![small.display().to_string()]);
    }
    Ok(vec![
        exe.display().to_string(),
        "task".to_string(),
        "supervise".to_string(),
    ])
}

/// How built-in operators' task processes start: `cambium task operator <try_dir>`, told the
/// home, the DAGs folder and the database of this process.
pub fn operator_runtime(ctx: &Ctx) -> CmdResult<OperatorRuntime> {
    let program = std::env::current_exe()
        .map_err(|e| CliError::usage(format!("cannot find the cambium binary: {e}")))?;
    let mut env = std::collections::BTreeMap::new();
    env.insert(
        "CAMBIUM_HOME".to_string(),
        ctx.home.root().display().to_string(),
    );
    env.insert(
        "CAMBIUM_DAGS_FOLDER".to_string(),
        std::path::absolute(&ctx.global.dags)
            .unwrap_or_else(|_| ctx.global.dags.clone())
            .display()
            .to_string(),
    );
    env.insert("CAMBIUM_DATABASE_URL".to_string(), ctx.database_url.clone());
    Ok(OperatorRuntime { program, env })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Runs the scheduler until Ctrl-C or SIGTERM.
pub async fn scheduler(ctx: Ctx, banner: Option<String>) -> CmdResult<i32> {
    // Sync once before starting so the engine sees every DAG; the background processor
    // keeps the store current after that.
    let processor = ctx.sync_dags_as_scheduler().await?;
    let errors = ctx.store.list_import_errors().await?;
    let dags = ctx.store.list_dags().await?;
    if let Some(banner) = banner {
        eprintln!("{banner}");
    }
    eprintln!(
        "cambium scheduler: {} DAGs from {}, {} import errors, database {}; Ctrl-C to stop",
        dags.len(),
        ctx.global.dags.display(),
        errors.len(),
        ctx.global
            .database_url
            .as_deref()
            .map(cambium_config::mask_url)
            .unwrap_or_else(|| ctx.home.default_database_url())
    );
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = processor.spawn(
        ctx.config.scheduler.dag_dir_watch,
        Duration::from_secs(30),
        tx,
    );
    let engine = build_engine(&ctx, Mode::Scheduler).await?;
    let result = engine.run(Some(rx), shutdown_signal()).await;
    handle.abort();
    result?;
    eprintln!(
        "cambium scheduler stopped; running tries keep going and are adopted at the next start"
    );
    Ok(0)
}
