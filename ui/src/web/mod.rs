//! The HTTP server: the REST API under `/api/v1` (with its OpenAPI document), the
//! server-rendered pages, `/health` and `/metrics`, all on one axum router.
//!
//! [`serve`] runs hyper itself (not `axum::serve`) so that it can bound what a client may
//! hold: a request's headers must arrive within `header_read_timeout`, a request must be
//! answered within `request_timeout` (408; streamed bodies such as logs are not cut), and at
//! most `max_connections` connections are served at once (further clients wait in the
//! kernel's accept queue).

mod api;
mod assets;
mod auth;
mod error;
mod ids;
mod logs;
mod metrics;
pub mod openapi;
mod pages;
mod predict;
mod templates;
mod tokens;

pub use auth::bootstrap_admin;
pub use error::ApiError;

use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::routing::{get, post};
use axum::Router;
use cambium_scheduler::Home;
use cambium_store::{DagHead, DagRecord, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server needs to know besides the store.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The home folder: task logs are read from it.
    pub home: Home,
    /// The DAGs folder, for showing DAG files' code.
    pub dags_folder: Option<std::path::PathBuf>,
    /// Strings masked in what pages show (connection URLs and passwords).
    pub secrets: Vec<String>,
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    /// Sets `Secure` on the session cookie and names it `__Host-cambium_session` (when
    /// browsers reach the server over HTTPS).
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed.
    pub trusted_proxies: cambium_auth::TrustedProxies,
    /// A request's headers must arrive within this time, else the connection is closed.
    pub header_read_timeout: Duration,
    /// A request must be answered within this time, else 408.
    pub request_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// `/metrics` without a token.
    pub public_metrics: bool,
    /// A bearer token good for `/metrics` alone.
    pub metrics_token: Option<String>,
    /// `/api/v1/openapi.json` without a token.
    pub public_openapi: bool,
}

impl WebConfig {
    /// The defaults of `[web]` in `cambium.toml`.
    pub fn new(home: Home) -> Self {
        WebConfig {
            home,
            dags_folder: None,
            secrets: Vec::new(),
            session_ttl: Duration::from_secs(12 * 3600),
            secure_cookies: false,
            trusted_proxies: cambium_auth::TrustedProxies::default(),
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_connections: 512,
            public_metrics: false,
            metrics_token: None,
            public_openapi: true,
        }
    }
}

/// Password checks (argon2, about 19 MiB each) running at once; further sign-ins wait.
pub const PASSWORD_CHECKS_AT_ONCE: usize = 4;

/// The shared state of every request.
pub struct App {
    pub store: Store,
    pub config: WebConfig,
    templates: templates::Templates,
    throttle: Mutex<cambium_auth::LoginThrottle>,
    /// Bounds the argon2 checks of sign-ins running at once (memory).
    password_slots: tokio::sync::Semaphore,
    /// Passwords verified since start (`cambium_login_password_checks_total`).
    password_checks: std::sync::atomic::AtomicU64,
    predictors: predict::Predictors,
    /// Decoded DAG records by id, with the head they were read at.
    dags: Mutex<HashMap<String, (DagHead, Arc<DagRecord>)>>,
}

impl App {
    pub fn new(store: Store, config: WebConfig) -> Result<Arc<App>, String> {
        Ok(Arc::new(App {
            store,
            config,
            templates: templates::Templates::new()?,
            throttle: Mutex::new(cambium_auth::LoginThrottle::default()),
            password_slots: tokio::sync::Semaphore::new(PASSWORD_CHECKS_AT_ONCE),
            password_checks: std::sync::atomic::AtomicU64::new(0),
            predictors: predict::Predictors::default(),
            dags: Mutex::new(HashMap::new()),
        }))
    }

    /// Every active DAG, by id. Specs are decoded once and kept until their DAG changes:
    /// one light query per call, plus a read of the DAGs that changed since the last.
    pub async fn active_dags(&self) -> Result<Vec<Arc<DagRecord>>, cambium_store::Error> {
        let heads = self.store.dag_heads().await?;
        let stale: Vec<String> = {
            let cache = self.dags.lock().unwrap_or_else(|e| e.into_inner());
            heads
                .iter()
                .filter(|h| {
                    cache.get(&h.dag_id).is_none_or(|(seen, _)| {
                        seen.file_hash != h.file_hash || seen.updated_at != h.updated_at
                    })
                })
                .map(|h| h.dag_id.clone())
                .collect()
        };
        let fresh = if stale.is_empty() {
            Vec::new()
        } else {
            self.store.dags_by_id(&stale).await?
        };
        let mut cache = self.dags.lock().unwrap_or_else(|e| e.into_inner());
        for record in fresh {
            if let Some(head) = heads.iter().find(|h| h.dag_id == record.spec.dag_id) {
                cache.insert(record.spec.dag_id.clone(), (head.clone(), Arc::new(record)));
            }
        }
        let live: std::collections::HashSet<&str> =
            heads.iter().map(|h| h.dag_id.as_str()).collect();
        cache.retain(|id, _| live.contains(id.as_str()));
        Ok(heads
            .iter()
            .filter_map(|h| {
                let (seen, record) = cache.get_mut(&h.dag_id)?;
                // Pausing changes no spec: the cached record takes the new flag.
                if record.paused != h.paused {
                    let mut updated = DagRecord::clone(record);
                    updated.paused = h.paused;
                    *record = Arc::new(updated);
                    *seen = h.clone();
                }
                Some(Arc::clone(record))
            })
            .collect())
    }
}

/// Every route of the contract.
pub fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/dags", get(api::list_dags))
        .route("/dags/{dag_id}", get(api::get_dag).patch(api::patch_dag))
        .route("/dags/{dag_id}/source", get(api::dag_source))
        .route("/dags/{dag_id}/next-runs", get(api::next_runs))
        .route(
            "/dags/{dag_id}/runs",
            get(api::list_runs).post(api::trigger_run),
        )
        .route("/dags/{dag_id}/backfills", post(api::create_backfill))
        .route("/backfills/{id}", get(api::get_backfill))
        .route("/runs/{run_id}", get(api::get_run))
        .route("/runs/{run_id}/clear", post(api::clear_run))
        .route("/runs/{run_id}/tasks/{task_id}/mark", post(api::mark_task))
        .route("/runs/{run_id}/tasks/{task_id}/logs", get(logs::api_logs))
        .route("/import-errors", get(api::import_errors))
        .route("/assets", get(api::list_assets))
        .route("/assets/{name}/events", post(api::post_asset_event))
        .route("/models", get(api::list_models))
        .route("/models/{name}", get(api::get_model))
        .route("/models/{name}/promote", post(api::promote_model))
        .route("/models/{name}/rollback", post(api::rollback_model))
        .route("/models/{name}/predict", post(predict::predict))
        .route("/lineage/{artifact_id}", get(api::get_lineage))
        .route("/users", get(api::list_users).post(api::post_user))
        .route(
            "/users/{name}",
            axum::routing::patch(api::patch_user).delete(api::remove_user),
        )
        .route("/users/{name}/tokens", get(tokens::list_tokens))
        .route(
            "/users/{name}/tokens/{id}",
            axum::routing::delete(tokens::revoke_token),
        )
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn(error::json_objects_only));
    Router::new()
        .route("/health", get(api::health))
        .route("/metrics", get(metrics::metrics))
        .route("/static/{name}", get(assets::asset))
        .route(
            "/login",
            get(auth::login_page)
                .post(auth::login)
                .layer(DefaultBodyLimit::max(auth::LOGIN_FORM_LIMIT)),
        )
        .route("/logout", post(auth::logout))
        .route("/", get(pages::dag_list))
        .route("/dags/{dag_id}", get(pages::grid))
        .route("/dags/{dag_id}/graph", get(pages::graph))
        .route("/dags/{dag_id}/code", get(pages::code))
        .route("/dags/{dag_id}/runs", get(pages::runs))
        .route("/dags/{dag_id}/pause", post(pages::pause))
        .route(
            "/dags/{dag_id}/trigger",
            get(pages::trigger_form).post(pages::trigger),
        )
        .route(
            "/dags/{dag_id}/backfill",
            get(pages::backfill_form).post(pages::backfill),
        )
        .route("/dags/{dag_id}/runs/{run_id}", get(pages::run))
        .route(
            "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}",
            get(pages::task_try),
        )
        .route(
            "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/clear",
            post(pages::clear_task),
        )
        .route(
            "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/mark",
            post(pages::mark_task),
        )
        .route("/models", get(pages::models))
        .route("/models/{name}", get(pages::model))
        .route("/models/{name}/promote", post(pages::promote))
        .route("/models/{name}/rollback", post(pages::rollback))
        .route("/assets", get(pages::assets))
        .route("/assets/{name}/emit", post(pages::emit_asset))
        .route("/import-errors", get(pages::import_errors))
        .route("/users", get(pages::users).post(pages::create_user))
        .route("/users/{name}", post(pages::update_user))
        .route("/users/{name}/delete", post(pages::delete_user))
        .nest("/api/v1", api)
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            request_timeout,
        ))
        .layer(axum::middleware::from_fn(error::security_headers))
        .with_state(app)
}

/// Answers 408 when the handler (reading the body included) takes longer than
/// `request_timeout`. A streamed body already under way is not cut.
async fn request_timeout(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let limit = app.config.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request took longer than {} s; send it again",
                limit.as_secs_f64()
            ),
        )
        .into_response(),
    }
}

/// Serves the router on a bound listener until `shutdown` resolves, then lets open
/// connections finish what they are doing.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let header_read_timeout = app.config.header_read_timeout;
    let max_connections = app
        .config
        .max_connections
        .clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
    let router = router(app);
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first: beyond the cap, clients wait in the accept queue, costing us nothing.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = router.clone().map_request(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(axum::body::Body::new)
            },
        );
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let connection = builder.serve_connection(
                TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(service),
            );
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!("connection from {peer} ended: {e}");
                    }
                }
                changed = stop.changed() => {
                    if changed.is_ok() {
                        connection.as_mut().graceful_shutdown();
                    }
                    // Either way only the connection is left to wait for.
                    if let Err(e) = connection.as_mut().await {
                        tracing::debug!("connection from {peer} ended: {e}");
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every slot back means every connection has ended.
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}
