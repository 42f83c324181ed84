//! `POST /api/v1/models/{name}/predict`: the serving code of `cambium models predict`
//! (`cambium_runtime::serving`), with loaded versions kept in memory. Each request reads
//! which version `production` points at, so a promote switches new requests to the new
//! version while requests already holding the old one finish with it.

use super::api::{body, ApiResult};
use super::auth::User;
use super::error::ApiError;
use super::ids::check;
use super::App;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::Json;
use cambium_auth::Role;
use cambium_models::Predictor;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Loaded predictors by (model, version); a few versions per model at most.
#[derive(Default)]
pub struct Predictors {
    loaded: Mutex<HashMap<(String, i64), Arc<Predictor>>>,
}

/// At most this many rows per request.
const MAX_INSTANCES: usize = 10_000;

impl Predictors {
    fn get(&self, name: &str, version: i64) -> Option<Arc<Predictor>> {
        self.loaded
            .lock()
            .ok()
            .and_then(|m| m.get(&(name.to_string(), version)).cloned())
    }

    fn put(&self, name: &str, version: i64, p: Arc<Predictor>) {
        if let Ok(mut m) = self.loaded.lock() {
            // Keep the newest few versions of each model.
            let mut versions: Vec<i64> = m
                .keys()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| *v)
                .collect();
            versions.sort_unstable();
            while versions.len() >= 4 {
                let old = versions.remove(0);
                m.remove(&(name.to_string(), old));
            }
            m.insert((name.to_string(), version), p);
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    /// Rows of features, `{feature: value}` (at most 10000).
    #[schema(max_items = 10000)]
    pub instances: Vec<Map<String, Value>>,
    /// A version to use instead of `production`'s.
    #[serde(default)]
    pub version: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/models/{name}/predict", tag = "models",
    params(("name" = String, Path)), request_body = PredictRequest,
    responses((status = 200, description = "One prediction per instance", body = crate::web::openapi::PredictResult,
               example = json!({"predictions": [{"prediction": 6, "probabilities": {"5": 0.2, "6": 0.8}}], "version": 3})),
              (status = 400, description = "Bad input, or instances the model cannot read (a feature missing or of the wrong type)", body = crate::web::openapi::ErrorBody),
              (status = 409, description = "No production version, or the version cannot be loaded", body = crate::web::openapi::ErrorBody)))]
pub async fn predict(
    State(app): State<Arc<App>>,
    user: User,
    Path(name): Path<String>,
    request: Result<Json<PredictRequest>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    user.require(Role::Viewer)?;
    check("name", &name)?;
    let request = body(request)?;
    if request.instances.len() > MAX_INSTANCES {
        return Err(ApiError::field(
            "instances",
            format!("at most {MAX_INSTANCES} instances per request; split the rows"),
        ));
    }
    let version = match request.version {
        Some(v) => v,
        None => match app.store.alias_version(&name, "production").await? {
            Some(v) => v.version,
            None => {
                return Err(if app.store.model_versions(&name).await?.is_empty() {
                    ApiError::not_found(format!("there is no model named '{name}' in the registry"))
                } else {
                    ApiError::conflict(format!(
                        "model '{name}' has no production version; promote one or pass \"version\""
                    ))
                })
            }
        },
    };
    let predictor = match app.predictors.get(&name, version) {
        Some(p) => p,
        None => {
            if app.store.model_version(&name, version).await?.is_none() {
                return Err(ApiError::not_found(format!(
                    "model '{name}' has no version {version}"
                )));
            }
            let (_, p) = cambium_runtime::serving::load_predictor(&app.store, &name, Some(version))
                .await
                .map_err(|e| {
                    ApiError::conflict(format!("cannot load version {version} of '{name}': {e}"))
                })?;
            let p = Arc::new(p);
            app.predictors.put(&name, version, p.clone());
            p
        }
    };
    let rows = request.instances;
    let predictions = tokio::task::spawn_blocking(move || predictor.predict_rows(&rows))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::field("instances", e.to_string()))?;
    Ok(Json(
        json!({"predictions": predictions, "version": version}),
    ))
}
