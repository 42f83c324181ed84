//! `cambium standalone`, `cambium scheduler` and `cambium webserver`, and the engine wiring
//! `dags test` shares.

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
/// home, the DAGs folder, the object stores and (never on disk) the database, the cloud
/// credentials and the connections each one names.
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
    let mut secret_env = std::collections::BTreeMap::new();
    secret_env.insert("CAMBIUM_DATABASE_URL".to_string(), ctx.database_url.clone());
    // Object stores in the cloud are configured from these (see cambium-data's stores).
    for (name, value) in std::env::vars_os() {
        let (Some(name), Some(value)) = (name.to_str(), value.to_str()) else {
            continue;
        };
        if ["AWS_", "GOOGLE_", "AZURE_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
        {
            secret_env.insert(name.to_string(), value.to_string());
        }
    }
    // The object stores, as CAMBIUM_STORE_<NAME> (kept off disk like the rest).
    for (name, url) in &ctx.config.stores {
        secret_env.insert(
            format!("CAMBIUM_STORE_{}", name.to_uppercase()),
            url.clone(),
        );
    }
    let connections = ctx
        .config
        .connections
        .iter()
        .map(|(name, url)| (name.clone(), url.expose().to_string()))
        .collect();
    Ok(OperatorRuntime {
        program,
        env,
        secret_env,
        connections,
    })
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

/// Resolves when the watched flag turns true (the shared shutdown of standalone's parts).
async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// A shutdown flag raised on Ctrl-C or SIGTERM.
fn shutdown_flag() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = tx.send(true);
    });
    rx
}

/// Runs the scheduler until Ctrl-C or SIGTERM.
pub async fn scheduler(ctx: Ctx, banner: Option<String>) -> CmdResult<i32> {
    run_scheduler(&ctx, banner, stopped(shutdown_flag())).await?;
    eprintln!(
        "cambium scheduler stopped; running tries keep going and are adopted at the next start"
    );
    Ok(0)
}

async fn run_scheduler(
    ctx: &Ctx,
    banner: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> CmdResult {
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
    let sweeper = spawn_try_sweeper(ctx);
    let engine = build_engine(ctx, Mode::Scheduler).await?;
    let result = engine.run(Some(rx), shutdown).await;
    handle.abort();
    sweeper.abort();
    result?;
    Ok(())
}

/// Removes try folders older than `[scheduler] try_retention`: at start, then hourly (or
/// at a tenth of the retention, if that is shorter).
fn spawn_try_sweeper(ctx: &Ctx) -> tokio::task::JoinHandle<()> {
    let retention = ctx.config.scheduler.try_retention;
    let tries = ctx.home.tries_root();
    let every = (retention / 10).clamp(Duration::from_secs(1), Duration::from_secs(3600));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            let tries = tries.clone();
            let swept = tokio::task::spawn_blocking(move || {
                cambium_scheduler::retention::sweep_tries(
                    &tries,
                    retention,
                    std::time::SystemTime::now(),
                )
            })
            .await;
            match swept {
                Ok(Ok(n)) if n > 0 => tracing::info!("removed {n} try folders past try_retention"),
                Ok(Err(e)) => tracing::warn!("sweeping old try folders failed: {e}"),
                _ => {}
            }
        }
    })
}

/// Binds the web server's port (with an error that says what to do when it is taken) and
/// returns the address it got, which `--port 0` makes worth printing.
async fn bind(
    address: &str,
    port: u16,
) -> CmdResult<(tokio::net::TcpListener, std::net::SocketAddr)> {
    let listener = tokio::net::TcpListener::bind((address, port))
        .await
        .map_err(|e| {
            CliError::usage(format!(
                "cannot listen on {address}:{port}: {e}; pass another --port (or --port 0 for any free one)"
            ))
        })?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::failed(format!("cannot read the bound address: {e}")))?;
    Ok((listener, local))
}

/// The web app over this context's store.
fn web_app(ctx: &Ctx) -> CmdResult<Arc<cambium_ui::web::App>> {
    let web = &ctx.config.web;
    let mut config = cambium_ui::web::WebConfig::new(ctx.home.clone());
    config.dags_folder = Some(ctx.global.dags.clone());
    config.secrets = ctx.secrets();
    config.session_ttl = web.session_ttl;
    config.secure_cookies = web.secure_cookies;
    config.trusted_proxies = cambium_auth::TrustedProxies::parse(&web.trusted_proxies)
        .map_err(|e| CliError::usage(format!("[web] trusted_proxies: {e}")))?;
    config.header_read_timeout = web.header_read_timeout;
    config.request_timeout = web.request_timeout;
    config.max_connections = usize::try_from(web.max_connections).unwrap_or(usize::MAX);
    config.public_metrics = web.public_metrics;
    config.metrics_token = web.metrics_token.as_ref().map(|t| t.expose().to_string());
    config.public_openapi = web.public_openapi;
    cambium_ui::web::App::new(ctx.store.clone(), config)
        .map_err(|e| CliError::failed(format!("cannot start the web server: {e}")))
}

/// Serves the UI and API until `rx` says stop; open log streams get two seconds to end.
async fn run_web(
    listener: tokio::net::TcpListener,
    app: Arc<cambium_ui::web::App>,
    rx: tokio::sync::watch::Receiver<bool>,
) -> CmdResult {
    let graceful = stopped(rx.clone());
    let serve = cambium_ui::web::serve(listener, app, graceful);
    tokio::select! {
        result = serve => result.map_err(|e| CliError::failed(format!("the web server failed: {e}"))),
        _ = async { stopped(rx).await; tokio::time::sleep(Duration::from_secs(2)).await } => Ok(()),
    }
}

/// Prints the generated admin password on the very first start.
async fn bootstrap(ctx: &Ctx) -> CmdResult {
    if let Some(password) = cambium_ui::web::bootstrap_admin(&ctx.store)
        .await
        .map_err(CliError::failed)?
    {
        eprintln!(
            "created the first user: admin, password {password}\n  (shown only this once; change it with `cambium users create admin --role admin --update --password-stdin`)"
        );
    }
    Ok(())
}

/// Scheduler, executor, web UI and API in one process.
pub async fn standalone(ctx: Ctx, address: &str, port: u16) -> CmdResult<i32> {
    let (listener, local) = bind(address, port).await?;
    bootstrap(&ctx).await?;
    let app = web_app(&ctx)?;
    let rx = shutdown_flag();
    let banner = format!("cambium standalone: web UI and API on http://{local}/");
    let web = tokio::spawn(run_web(listener, app, rx.clone()));
    let scheduled = run_scheduler(&ctx, Some(banner), stopped(rx.clone())).await;
    let served = match web.await {
        Ok(r) => r,
        Err(e) => Err(CliError::failed(format!("the web server stopped: {e}"))),
    };
    scheduled?;
    served?;
    eprintln!(
        "cambium standalone stopped; running tries keep going and are adopted at the next start"
    );
    Ok(0)
}

/// The web UI and API alone.
pub async fn webserver(ctx: Ctx, address: &str, port: u16) -> CmdResult<i32> {
    let (listener, local) = bind(address, port).await?;
    bootstrap(&ctx).await?;
    // The DAG list comes from the store, which schedulers keep current; one sync here
    // shows this folder's DAGs even before a scheduler has run.
    ctx.sync_dags().await?;
    let app = web_app(&ctx)?;
    eprintln!("cambium webserver: web UI and API on http://{local}/; Ctrl-C to stop");
    run_web(listener, app, shutdown_flag()).await?;
    Ok(0)
}
