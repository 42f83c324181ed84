//! Registered model versions as predictors: the model file and the fitted transform a
//! version names, paired. Shared by `evaluate` (the production baseline), the CLI's
//! `cambium models predict` and the HTTP predict route.

use crate::artifacts::{read_bytes, read_json};
use crate::context::{fail, OpError};
use cambium_models::{Predictor, TrainedModel, TransformGraph};
use cambium_store::{ModelVersion, Store};

/// A model file and its transform as a predictor; a corrupt file's error names its URI.
pub async fn predictor_from(
    model_uri: &str,
    transform_uri: Option<&str>,
) -> Result<Predictor, OpError> {
    let transform_uri = transform_uri.filter(|u| !u.is_empty()).ok_or_else(|| {
        fail(format!(
            "the model at {model_uri} has no transform; built-in models are served with the transform they were trained on"
        ))
    })?;
    if model_uri.ends_with('/') {
        return Err(fail(format!(
            "the model at {model_uri} was written by an external trainer; only built-in models can be loaded for prediction"
        )));
    }
    let bytes = read_bytes(model_uri).await?;
    let model = TrainedModel::from_bytes(&bytes)
        .map_err(|e| fail(format!("the model file {model_uri} cannot be loaded: {e}")))?;
    let transform: TransformGraph = read_json(transform_uri, "the transform graph").await?;
    Predictor::new(transform, model).map_err(|e| {
        fail(format!(
            "the model {model_uri} and the transform {transform_uri} do not fit together: {e}"
        ))
    })
}

/// Loads version `version` of model `name` (None: the version the `production` alias
/// points at) as a predictor.
pub async fn load_predictor(
    store: &Store,
    name: &str,
    version: Option<i64>,
) -> Result<(ModelVersion, Predictor), OpError> {
    let found = match version {
        None => store
            .alias_version(name, "production")
            .await?
            .ok_or_else(|| {
                fail(format!(
                "model {name} has no production version; promote one with `cambium models promote`"
            ))
            })?,
        Some(v) => store.model_version(name, v).await?.ok_or_else(|| {
            fail(format!(
                "model {name} has no version {v}; `cambium models list` shows the registered ones"
            ))
        })?,
    };
    let predictor = predictor_from(&found.artifact_uri, found.transform_uri.as_deref()).await?;
    Ok((found, predictor))
}
