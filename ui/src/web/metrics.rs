//! `/metrics` for Prometheus (OpenMetrics text): runs and task instances by state, the
//! queue depth, and the scheduler's last loop time and DAG parse time (which schedulers
//! record in the store, so a separate webserver reports them too).

use super::auth::User;
use super::error::ApiError;
use super::App;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use cambium_auth::Role;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use cambium_scheduler::dagproc::PARSE_MS_SETTING;
use cambium_scheduler::engine::LOOP_MS_SETTING;

type Labels = Vec<(String, String)>;

pub async fn metrics(State(app): State<Arc<App>>, user: User) -> Result<Response, ApiError> {
    user.require(Role::Viewer)?;
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
