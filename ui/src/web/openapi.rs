//! The OpenAPI 3 document of the API, generated from the handlers' annotations (utoipa),
//! served at `/api/v1/openapi.json`.

use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Every error: `{"error": "...", "detail": ...}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong and what to do about it.
    pub error: String,
    /// More about it, e.g. `{"field": "start"}`.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cambium API",
        description = "Runs, DAGs, backfills, logs, assets, models and lineage. Every route but /health (and this document, unless `[web] public_openapi = false`) needs `Authorization: Bearer <token>` (`cambium users token NAME`; tokens expire) or a session cookie; roles viewer (read), op (also trigger, backfill, clear, pause, promote), admin (also /api/v1/users)."
    ),
    paths(
        super::api::health,
        super::api::list_dags,
        super::api::get_dag,
        super::api::patch_dag,
        super::api::dag_source,
        super::api::next_runs,
        super::api::trigger_run,
        super::api::list_runs,
        super::api::get_run,
        super::api::clear_run,
        super::api::mark_task,
        super::api::create_backfill,
        super::api::get_backfill,
        super::logs::api_logs,
        super::api::import_errors,
        super::api::list_assets,
        super::api::post_asset_event,
        super::api::list_models,
        super::api::get_model,
        super::api::promote_model,
        super::api::rollback_model,
        super::predict::predict,
        super::api::get_lineage,
        super::api::list_users,
        super::api::post_user,
        super::api::patch_user,
        super::api::remove_user,
        super::tokens::list_tokens,
        super::tokens::revoke_token,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Security),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

/// The document as JSON.
pub fn json() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}

/// Open to anyone unless `[web] public_openapi = false`, then to viewers.
pub async fn document(
    axum::extract::State(app): axum::extract::State<std::sync::Arc<super::App>>,
    mut parts: axum::http::request::Parts,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match super::auth::open_or_viewer(&app, &mut parts, app.config.public_openapi, None).await {
        Ok(()) => Json(json()).into_response(),
        Err(refused) => refused,
    }
}
