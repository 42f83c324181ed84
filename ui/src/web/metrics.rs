//! `/metrics` for Prometheus (OpenMetrics text): runs and task instances by state, the
//! queue depth, and the scheduler's last loop time and DAG parse time (which schedulers
//! record in the store, so a separate webserver reports them too); and this server's
//! sign-in work: passwords verified and keys the login throttle remembers.

use super::error::ApiError;
use super::App;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cambium_scheduler::dagproc::PARSE_MS_SETTING;
use cambium_scheduler::engine::LOOP_MS_SETTING;

type Labels = Vec<(String, String)>;

/// Open to anyone with `[web] public_metrics`, to the `[web] metrics_token`, and to viewers.
pub async fn metrics(
    State(app): State<Arc<App>>,
    mut parts: axum::http::request::Parts,
) -> Response {
    let token = app.config.metrics_token.clone();
    if let Err(refused) = super::auth::open_or_viewer(
        &app,
        &mut parts,
        app.config.public_metrics,
        token.as_deref(),
    )
    .await
    {
        return refused;
    }
    match render(&app).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn render(app: &App) -> Result<Response, ApiError> {
    let mut registry = Registry::default();
    let runs = Family::<Labels, Gauge>::default();
    let tasks = Family::<Labels, Gauge>::default();
    let queue = Gauge::<i64>::default();
    registry.register("cambium_dag_runs", "DAG runs by state", runs.clone());
    registry.register(
        "cambium_task_instances",
        "Task instances by state",
        tasks.clone(),
    );
    registry.register(
        "cambium_queue_depth",
        "Task instances scheduled or queued, waiting for a slot",
        queue.clone(),
    );
    for state in ["queued", "running", "success", "failed"] {
        runs.get_or_create(&vec![("state".to_string(), state.to_string())])
            .set(0);
    }
    for (state, n) in app.store.run_state_counts().await? {
        runs.get_or_create(&vec![("state".to_string(), state)])
            .set(n);
    }
    let mut depth = 0;
    for (state, n) in app.store.task_state_counts().await? {
        if state == "queued" || state == "scheduled" {
            depth += n;
        }
        tasks
            .get_or_create(&vec![("state".to_string(), state)])
            .set(n);
    }
    queue.set(depth);
    let checks = Counter::<u64>::default();
    checks.inc_by(app.password_checks.load(Ordering::Relaxed));
    registry.register(
        "cambium_login_password_checks",
        "Passwords verified at sign-in (argon2 checks) since the server started",
        checks,
    );
    let keys = Gauge::<i64>::default();
    let remembered = app.throttle.lock().unwrap_or_else(|e| e.into_inner()).len();
    keys.set(i64::try_from(remembered).unwrap_or(i64::MAX));
    registry.register(
        "cambium_login_throttle_keys",
        "User names and client addresses the login throttle remembers",
        keys,
    );
    for (key, name, help) in [
        (
            LOOP_MS_SETTING,
            "cambium_scheduler_loop_seconds",
            "How long the scheduler's last loop took",
        ),
        (
            PARSE_MS_SETTING,
            "cambium_dag_parse_seconds",
            "How long the last parse of the DAGs folder took",
        ),
    ] {
        if let Some(ms) = app
            .store
            .setting(key)
            .await?
            .and_then(|v| v.trim().parse::<f64>().ok())
        {
            let g = Gauge::<f64, AtomicU64>::default();
            g.set(ms / 1000.0);
            registry.register(name, help, g);
        }
    }
    let mut out = String::new();
    encode(&mut out, &registry).map_err(ApiError::internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response())
}
