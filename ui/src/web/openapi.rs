//! The OpenAPI 3 document of the API, generated from the handlers' annotations (utoipa),
//! served at `/api/v1/openapi.json`.
//!
//! The document must match the server exactly (schemathesis checks it in CI: every status a
//! route can answer is listed, every schema-valid request is accepted, every response fits
//! its schema). What every route shares is added here rather than repeated on each handler,
//! so it cannot be forgotten on a new route:
//! - every route but `/health` needs a token, and answers 401 without one;
//! - every route with parameters or a body answers 400 for bad ones;
//! - every string path parameter is an id that [`super::ids::check`] accepts (so the
//!   schema says which strings those are) and a route with path parameters answers 404
//!   for an unknown one;
//! - every route that changes something answers 403 (role too low, or a signed-in browser
//!   without its CSRF token).
//!
//! Error answers are [`ErrorBody`].

use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::OnceLock;
use utoipa::openapi::schema::{
    AnyOfBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Every error: `{"error": "...", "detail": ...}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong and what to do about it.
    pub error: String,
    /// More about it, e.g. `{"field": "start"}`; `null` when there is nothing more.
    pub detail: Value,
}

/// What an id in a URL may be (see [`super::ids::check`]): 1 to 512 characters, no `/` or
/// `\`, no control characters, no `..` and not `.`.
pub const ID_PATTERN: &str = r"^\.?(?:[^./\\\u0000-\u001f\u007f-\u009f]\.?)+$";
/// The most characters an id in a URL may have.
pub const ID_MAX_CHARS: usize = 512;
/// `POST /api/v1/runs/{run_id}/clear`: what was cleared.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClearResult {
    pub dag_id: String,
    pub run_id: String,
    /// How many task instances were cleared.
    pub cleared: u64,
    /// Which tasks were cleared.
    pub tasks: Vec<String>,
}

/// `POST /api/v1/dags/{dag_id}/backfills` (not a dry run): the backfill and its runs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BackfillStarted {
    pub backfill_id: i64,
    pub dag_id: String,
    pub runs: Vec<crate::RunView>,
}

/// `POST /api/v1/assets/{name}/events`: the event and the runs it triggered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssetEventCreated {
    pub event: crate::assets::AssetEventView,
    pub runs: Vec<crate::lineage::RunRef>,
}

/// `POST /api/v1/models/{name}/predict`: one prediction per instance, and the version used.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PredictResult {
    /// `{"prediction": ..., "probabilities": {...}}` for classifiers, `{"prediction": ...}`
    /// for regressors, in the order of the instances.
    pub predictions: Vec<Value>,
    pub version: i64,
}

/// `GET /health`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(pattern = "^ok$")]
    pub status: String,
}

/// A run state, as a filter; empty means any.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub enum RunStateFilter {
    #[schema(rename = "")]
    Any,
    #[schema(rename = "queued")]
    Queued,
    #[schema(rename = "running")]
    Running,
    #[schema(rename = "success")]
    Success,
    #[schema(rename = "failed")]
    Failed,
}

/// What a task instance can be marked.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub enum MarkState {
    #[schema(rename = "success")]
    Success,
    #[schema(rename = "failed")]
    Failed,
}

/// Which existing runs a backfill runs again.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub enum RerunMode {
    #[schema(rename = "none")]
    None,
    #[schema(rename = "failed")]
    Failed,
    #[schema(rename = "all")]
    All,
}

/// A user's role.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub enum RoleName {
    #[schema(rename = "viewer")]
    Viewer,
    #[schema(rename = "op")]
    Op,
    #[schema(rename = "admin")]
    Admin,
}

/// A date as the server reads it: RFC 3339, or YYYY-MM-DD in the DAG's time zone.
pub fn date_schema() -> Schema {
    date_alternatives(AnyOfBuilder::new())
        .description(Some(
            "RFC 3339 (2026-11-22T09:00:00+00:00), or YYYY-MM-DD in the DAG's time zone",
        ))
        .into()
}

/// As [`date_schema`], or empty or `null` for now.
pub fn optional_date_schema() -> Schema {
    date_alternatives(AnyOfBuilder::new())
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0)),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "RFC 3339 (2026-11-22T09:00:00+00:00), or YYYY-MM-DD in the DAG's time zone; empty or null for now",
        ))
        .into()
}

fn date_alternatives(any_of: AnyOfBuilder) -> AnyOfBuilder {
    let format = |f| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(f)))
    };
    any_of
        .item(format(KnownFormat::DateTime))
        .item(format(KnownFormat::Date))
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
        description = "Runs, DAGs, backfills, logs, assets, models and lineage. Every route but /health (and this document, unless `[web] public_openapi = false`) needs `Authorization: Bearer <token>` (`cambium users token NAME`; tokens expire) or a session cookie; roles viewer (read), op (also trigger, backfill, clear, pause, promote), admin (also /api/v1/users). Errors are `{\"error\": \"...\", \"detail\": ...}`: 400 bad input (detail names the field), 401 not signed in, 403 role too low, 404 unknown, 409 conflict."
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
    components(schemas(ErrorBody, RunStateFilter, MarkState, RerunMode, RoleName)),
    modifiers(&Security),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

/// The document as JSON, with what every route shares added (see the module's docs).
pub fn json() -> Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        add_shared_rules(&mut doc);
        doc
    })
    .clone()
}

/// The schema of an id in a URL.
fn id_schema() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": ID_MAX_CHARS,
        "pattern": ID_PATTERN,
    })
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    })
}

/// Applies the rules every route shares to the generated document.
fn add_shared_rules(doc: &mut Value) {
    // A PATCH of a user changes something: `{}` is a 400 ("nothing to change").
    if let Some(patch) = doc.pointer_mut("/components/schemas/PatchUserRequest") {
        patch["minProperties"] = json!(1);
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            let public = path == "/health";
            if public {
                // No token needed: an empty list overrides the document's default.
                op.insert("security".into(), json!([]));
            }
            let mut has_path_param = false;
            let mut has_input = op.contains_key("requestBody");
            for param in op
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                has_input = true;
                let location = param
                    .get("in")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let name = param.get("name").and_then(Value::as_str).unwrap_or("");
                let is_string = param.pointer("/schema/type") == Some(&json!("string"));
                if location == "path" {
                    has_path_param = true;
                }
                if is_string && (location == "path" || name == "dag_id") {
                    param["schema"] = id_schema();
                }
            }
            let responses = op
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut();
            let Some(responses) = responses else { continue };
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status.to_string())
                    .or_insert_with(|| error_response(description));
            };
            if has_input {
                add(
                    "400",
                    "Bad input; `detail.field` names the parameter or field",
                );
            }
            if !public {
                add(
                    "401",
                    "Not signed in: no token, an unknown one, or an expired session",
                );
            }
            if method != "get" {
                add(
                    "403",
                    "The role is too low, or a signed-in browser sent no CSRF token",
                );
            }
            if has_path_param {
                add("404", "No such thing (named by the path)");
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn op<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
        doc["paths"][path]
            .get(method)
            .unwrap_or_else(|| panic!("{method} {path} is not in the document"))
    }

    fn statuses(op: &Value) -> Vec<&str> {
        op["responses"]
            .as_object()
            .map(|r| r.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn health_needs_no_token_and_the_rest_do() {
        let doc = json();
        assert_eq!(op(&doc, "/health", "get")["security"], json!([]));
        assert!(!statuses(op(&doc, "/health", "get")).contains(&"401"));
        assert_eq!(doc["security"], json!([{"bearer": []}]));
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if path != "/health" {
                    assert!(statuses(op).contains(&"401"), "{method} {path}");
                }
            }
        }
    }

    #[test]
    fn errors_every_route_can_answer_are_listed() {
        let doc = json();
        let patch = op(&doc, "/api/v1/dags/{dag_id}", "patch");
        for s in ["200", "400", "401", "403", "404"] {
            assert!(statuses(patch).contains(&s), "{s}: {patch}");
        }
        let list = op(&doc, "/api/v1/dags", "get");
        assert_eq!(statuses(list), vec!["200", "401"]);
        let run = op(&doc, "/api/v1/runs/{run_id}", "get");
        assert!(statuses(run).contains(&"409"), "{run}");
        assert_eq!(
            run["responses"]["404"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
    }

    #[test]
    fn path_ids_say_what_the_server_accepts() {
        let doc = json();
        let get = op(&doc, "/api/v1/dags/{dag_id}", "get");
        let schema = &get["parameters"][0]["schema"];
        assert_eq!(schema, &id_schema());
    }
}
