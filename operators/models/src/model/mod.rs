//! Built-in models: training one of smartcore's algorithms on a [`FeatureMatrix`] and a
//! label column, the saved [`TrainedModel`], and its [`Prediction`]s.
//!
//! Algorithms and their hyperparameters (JSON numbers or numeric strings; defaults
//! in parentheses):
//! - `logistic_regression` (classification, binary or multiclass): `alpha` (1.0), the L2
//!   penalty; smartcore minimizes `sum(log loss) + alpha/2 |w|²`, so `alpha = 1/C` of
//!   scikit-learn and the default matches its `C = 1`.
//! - `linear_regression` (regression): `alpha` (0.0); above 0 it is ridge regression.
//! - `ridge` (regression): `alpha` (1.0), as scikit-learn's `Ridge` (intercept unpenalized).
//! - `decision_tree` (both): `max_depth` (none), `min_samples_split` (2), `min_samples_leaf`
//!   (1), `seed` (0), and for classification `criterion` (`gini`|`entropy`|`classification_error`).
//! - `random_forest` (both): `n_trees` (100), `max_depth`, `min_samples_split`,
//!   `min_samples_leaf`, `max_features` (none: sqrt of the feature count for
//!   classification), `seed` (0), and for classification `criterion`.
//!
//! Training is deterministic: the same data, hyperparameters and seed give the same model.

mod linear;
mod params;
mod tree;

use std::collections::BTreeMap;

use cambium_ml::table::{Column, ColumnType};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use smartcore::linalg::basic::matrix::DenseMatrix;

use crate::metrics::{self, ClassProbabilities, MetricsError};
use crate::transform::FeatureMatrix;

pub use linear::LinearCoefficients;
pub use tree::TreeModel;

/// The algorithm names [`Model::train`] accepts.
pub const ALGORITHMS: &[&str] = &[
    "decision_tree",
    "linear_regression",
    "logistic_regression",
    "random_forest",
    "ridge",
];

/// The `format` field of every model file this version writes and reads.
pub const MODEL_FORMAT: &str = "cambium-model/1";

/// An int label with at most this many distinct values is taken as classes.
pub const MAX_INFERRED_CLASSES: usize = 20;

/// Errors training, using, saving or loading a model. Each says what to fix; none is worth
/// retrying.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("unknown algorithm '{0}'; valid ones: {list}", list = ALGORITHMS.join(", "))]
    UnknownAlgorithm(String),
    #[error("{algorithm} can't do {task}: {hint}")]
    WrongTask {
        algorithm: String,
        task: Task,
        hint: String,
    },
    /// Unknown or invalid hyperparameters, one per line.
    #[error("{0}")]
    Hyperparameters(String),
    #[error("label: {0}")]
    Label(String),
    #[error("training data: {0}")]
    Data(String),
    #[error("{algorithm} failed to train: {message}")]
    Fit { algorithm: String, message: String },
    #[error("the model was trained on features [{expected}] but got [{found}]; apply the model's own transform")]
    Features { expected: String, found: String },
    #[error("prediction failed: {0}")]
    Predict(String),
    #[error("can't save the model: {0}")]
    Save(String),
    #[error("not a usable Cambium model file: {0}")]
    Load(String),
    #[error("metrics: {0}")]
    Metrics(#[from] MetricsError),
}

/// What a model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// A class label.
    Classification,
    /// A number.
    Regression,
}

impl Task {
    /// Classification for string and bool labels and for int labels with at most
    /// [`MAX_INFERRED_CLASSES`] distinct values; regression otherwise.
    pub fn infer(label: &Column) -> Task {
        match label {
            Column::Str(_) | Column::Bool(_) => Task::Classification,
            Column::Float(_) => Task::Regression,
            Column::Int(v) => {
                let mut d: Vec<i64> = v.iter().flatten().copied().collect();
                d.sort_unstable();
                d.dedup();
                if d.len() <= MAX_INFERRED_CLASSES {
                    Task::Classification
                } else {
                    Task::Regression
                }
            }
        }
    }

    /// Parses `classification` or `regression`.
    pub fn parse(s: &str) -> Result<Task, ModelError> {
        match s {
            "classification" => Ok(Task::Classification),
            "regression" => Ok(Task::Regression),
            other => Err(ModelError::Hyperparameters(format!(
                "unknown task '{other}'; use classification or regression"
            ))),
        }
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        })
    }
}

/// One row's prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Prediction {
    /// A class label (as the label column printed it) and every class's probability.
    Class {
        label: String,
        probabilities: BTreeMap<String, f64>,
    },
    /// A regression value.
    Value(f64),
}

/// The fitted estimator behind a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Estimator {
    /// Logistic regression: probabilities by sigmoid / softmax of the scores.
    Logistic(LinearCoefficients),
    /// Linear or ridge regression.
    Linear(LinearCoefficients),
    /// A tree or forest.
    Tree(TreeModel),
}

/// A trained model: the estimator plus what is needed to use it (feature names, class
/// labels, the label's type). Saved with [`TrainedModel::to_json`] / [`TrainedModel::to_bytes`]
/// and loaded back with [`TrainedModel::from_json`] / [`TrainedModel::from_bytes`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainedModel {
    format: String,
    algorithm: String,
    task: Task,
    hyperparameters: BTreeMap<String, Value>,
    feature_names: Vec<String>,
    classes: Vec<String>,
    label_type: ColumnType,
    estimator: Estimator,
}

/// The entry point for training built-in models.
pub struct Model;

impl Model {
    /// Trains `algorithm` (one of [`ALGORITHMS`]) on features `x` and label column `y`.
    /// `task` is inferred from the label when `None` (see [`Task::infer`]).
    pub fn train(
        algorithm: &str,
        task: Option<Task>,
        hyperparameters: &Map<String, Value>,
        x: &FeatureMatrix,
        y: &Column,
    ) -> Result<TrainedModel, ModelError> {
        if !ALGORITHMS.contains(&algorithm) {
            return Err(ModelError::UnknownAlgorithm(algorithm.to_string()));
        }
        let task = task.unwrap_or_else(|| Task::infer(y));
        let wrong = |hint: &str| ModelError::WrongTask {
            algorithm: algorithm.to_string(),
            task,
            hint: hint.to_string(),
        };
        match (algorithm, task) {
            ("logistic_regression", Task::Regression) => {
                return Err(wrong("the label is numeric; use linear_regression, ridge, decision_tree or random_forest, or set the task to classification"))
            }
            ("linear_regression" | "ridge", Task::Classification) => {
                return Err(wrong("the label holds classes; use logistic_regression, decision_tree or random_forest, or set the task to regression"))
            }
            _ => {}
        }
        let params = params::Resolved::new(algorithm, task, hyperparameters)?;
        check_matrix(x, y.len())?;
        let m = DenseMatrix::new(x.rows, x.cols(), x.data.clone(), false)
            .map_err(|e| ModelError::Data(e.to_string()))?;
        let (classes, estimator) = match task {
            Task::Classification => {
                let (classes, yi) = class_labels(y)?;
                let est = match algorithm {
                    "logistic_regression" => {
                        Estimator::Logistic(linear::fit_logistic(&m, &yi, params.f64("alpha"))?)
                    }
                    a => Estimator::Tree(TreeModel::fit_classifier(
                        a == "random_forest",
                        &m,
                        &yi,
                        &params,
                    )?),
                };
                (classes, est)
            }
            Task::Regression => {
                let yv = regression_labels(y)?;
                let est =
                    match algorithm {
                        a @ ("linear_regression" | "ridge") => Estimator::Linear(
                            linear::fit_linear(a, &m, &x.data, x.cols(), &yv, params.f64("alpha"))?,
                        ),
                        a => Estimator::Tree(TreeModel::fit_regressor(
                            a == "random_forest",
                            &m,
                            &yv,
                            &params,
                        )?),
                    };
                (Vec::new(), est)
            }
        };
        Ok(TrainedModel {
            format: MODEL_FORMAT.to_string(),
            algorithm: algorithm.to_string(),
            task,
            hyperparameters: params.0,
            feature_names: x.names.clone(),
            classes,
            label_type: y.column_type(),
            estimator,
        })
    }
}

fn check_matrix(x: &FeatureMatrix, labels: usize) -> Result<(), ModelError> {
    if x.rows == 0 || x.cols() == 0 {
        return Err(ModelError::Data(format!(
            "need at least one row and one feature, got {} rows and {} features",
            x.rows,
            x.cols()
        )));
    }
    if x.rows != labels || x.data.len() != x.rows * x.cols() {
        return Err(ModelError::Data(format!(
            "{} feature rows but {labels} labels",
            x.rows
        )));
    }
    if let Some(k) = x.data.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::Data(format!(
            "feature '{}', row {}: {} is not a finite number",
            x.names[k % x.cols()],
            k / x.cols(),
            x.data[k]
        )));
    }
    Ok(())
}

/// The sorted class labels (numerically when they all are numbers) and each row's index.
fn class_labels(y: &Column) -> Result<(Vec<String>, Vec<u32>), ModelError> {
    let mut labels = Vec::with_capacity(y.len());
    for i in 0..y.len() {
        labels.push(y.str_at(i).ok_or_else(|| {
            ModelError::Label(format!(
                "row {i} has no label; drop or fill unlabelled rows"
            ))
        })?);
    }
    let mut classes = labels.clone();
    classes.sort();
    classes.dedup();
    let numeric: Option<Vec<f64>> = classes.iter().map(|c| c.parse::<f64>().ok()).collect();
    if let Some(nums) = numeric {
        let mut pairs: Vec<(f64, String)> = nums.into_iter().zip(classes).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        classes = pairs.into_iter().map(|p| p.1).collect();
    }
    if classes.len() < 2 {
        return Err(ModelError::Label(format!(
            "classification needs at least two classes, the label only has {:?}",
            classes
        )));
    }
    let idx = labels
        .iter()
        .map(|l| classes.iter().position(|c| c == l).unwrap_or(0) as u32)
        .collect();
    Ok((classes, idx))
}

fn regression_labels(y: &Column) -> Result<Vec<f64>, ModelError> {
    if y.column_type() == ColumnType::Str {
        return Err(ModelError::Label(
            "a string label can't be regressed; set the task to classification".into(),
        ));
    }
    (0..y.len())
        .map(|i| match y.f64_at(i) {
            Some(v) if v.is_finite() => Ok(v),
            Some(v) => Err(ModelError::Label(format!(
                "row {i}: {v} is not a finite number"
            ))),
            None => Err(ModelError::Label(format!(
                "row {i} has no label; drop or fill unlabelled rows"
            ))),
        })
        .collect()
}

impl TrainedModel {
    /// The algorithm name.
    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }

    /// Classification or regression.
    pub fn task(&self) -> Task {
        self.task
    }

    /// The hyperparameters used, defaults included.
    pub fn hyperparameters(&self) -> &BTreeMap<String, Value> {
        &self.hyperparameters
    }

    /// The feature columns the model expects, in order.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The class labels (empty for regression).
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The type of the label column it was trained on (so predictions print like it).
    pub fn label_type(&self) -> ColumnType {
        self.label_type
    }

    /// The fitted estimator.
    pub fn estimator(&self) -> &Estimator {
        &self.estimator
    }

    fn matrix(&self, x: &FeatureMatrix) -> Result<DenseMatrix<f64>, ModelError> {
        if x.names != self.feature_names {
            return Err(ModelError::Features {
                expected: self.feature_names.join(", "),
                found: x.names.join(", "),
            });
        }
        DenseMatrix::new(x.rows, x.cols(), x.data.clone(), false)
            .map_err(|e| ModelError::Predict(e.to_string()))
    }

    /// Class probabilities for each row of `x` (`None` for regression models).
    pub fn predict_proba(
        &self,
        x: &FeatureMatrix,
    ) -> Result<Option<ClassProbabilities>, ModelError> {
        if self.task == Task::Regression {
            return Ok(None);
        }
        let k = self.classes.len();
        let rows = match &self.estimator {
            Estimator::Logistic(c) => {
                self.matrix(x)?;
                (0..x.rows).map(|i| c.probabilities(x.row(i), k)).collect()
            }
            Estimator::Tree(t) => t.probabilities(&self.matrix(x)?, k)?,
            Estimator::Linear(_) => {
                return Err(ModelError::Predict(
                    "a linear regression has no classes".into(),
                ))
            }
        };
        Ok(Some(ClassProbabilities {
            classes: self.classes.clone(),
            rows,
        }))
    }

    /// Predicted regression values or class labels for each row of `x`.
    pub fn predict(&self, x: &FeatureMatrix) -> Result<Vec<Prediction>, ModelError> {
        if let Some(p) = self.predict_proba(x)? {
            return Ok(p
                .rows
                .iter()
                .map(|row| {
                    // the first most probable class, like a majority vote or argmax
                    let best = row
                        .iter()
                        .enumerate()
                        .fold(0, |b, (j, v)| if *v > row[b] { j } else { b });
                    Prediction::Class {
                        label: p.classes[best].clone(),
                        probabilities: p.classes.iter().cloned().zip(row.iter().copied()).collect(),
                    }
                })
                .collect());
        }
        let values = match &self.estimator {
            Estimator::Linear(c) => {
                self.matrix(x)?;
                (0..x.rows).map(|i| c.scores(x.row(i))[0]).collect()
            }
            Estimator::Tree(t) => t.values(&self.matrix(x)?)?,
            Estimator::Logistic(_) => {
                return Err(ModelError::Predict(
                    "a logistic regression predicts classes".into(),
                ))
            }
        };
        Ok(values.into_iter().map(Prediction::Value).collect())
    }

    /// Every applicable metric (see [`metrics`]) of the model on `x` against label column `y`.
    pub fn evaluate(
        &self,
        x: &FeatureMatrix,
        y: &Column,
    ) -> Result<BTreeMap<String, f64>, ModelError> {
        check_matrix(x, y.len())?;
        match self.task {
            Task::Classification => {
                let truth: Vec<String> = (0..y.len())
                    .map(|i| {
                        y.str_at(i)
                            .ok_or_else(|| ModelError::Label(format!("row {i} has no label")))
                    })
                    .collect::<Result<_, _>>()?;
                let proba = self.predict_proba(x)?;
                let pred: Vec<String> = self
                    .predict(x)?
                    .into_iter()
                    .map(|p| match p {
                        Prediction::Class { label, .. } => label,
                        Prediction::Value(v) => v.to_string(),
                    })
                    .collect();
                Ok(metrics::classification_metrics(
                    &truth,
                    &pred,
                    proba.as_ref(),
                )?)
            }
            Task::Regression => {
                let truth = regression_labels(y)?;
                let pred: Vec<f64> = self
                    .predict(x)?
                    .into_iter()
                    .map(|p| match p {
                        Prediction::Value(v) => v,
                        Prediction::Class { .. } => f64::NAN,
                    })
                    .collect();
                Ok(metrics::regression_metrics(&truth, &pred)?)
            }
        }
    }

    /// The model as JSON text.
    pub fn to_json(&self) -> Result<String, ModelError> {
        serde_json::to_string(self).map_err(|e| ModelError::Save(e.to_string()))
    }

    /// The model as bytes (UTF-8 JSON), for a model file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        self.to_json().map(String::into_bytes)
    }

    /// A model from [`TrainedModel::to_json`] output; a corrupt or foreign file is a
    /// [`ModelError::Load`].
    pub fn from_json(text: &str) -> Result<TrainedModel, ModelError> {
        let format = serde_json::from_str::<Value>(text)
            .map_err(|e| ModelError::Load(format!("not JSON ({e})")))?
            .get("format")
            .and_then(Value::as_str)
            .map(str::to_string);
        match format.as_deref() {
            Some(MODEL_FORMAT) => {}
            Some(other) => {
                return Err(ModelError::Load(format!(
                    "format '{other}' is not '{MODEL_FORMAT}'; retrain the model with this version"
                )))
            }
            None => {
                return Err(ModelError::Load(
                    "no \"format\" field: this is not a model file".into(),
                ))
            }
        }
        let model: TrainedModel =
            serde_json::from_str(text).map_err(|e| ModelError::Load(e.to_string()))?;
        model.validate().map_err(ModelError::Load)?;
        Ok(model)
    }

    /// A model from [`TrainedModel::to_bytes`] output.
    pub fn from_bytes(bytes: &[u8]) -> Result<TrainedModel, ModelError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| ModelError::Load("not UTF-8 JSON text".into()))?;
        TrainedModel::from_json(text)
    }

    fn validate(&self) -> Result<(), String> {
        let p = self.feature_names.len();
        let k = self.classes.len();
        match (&self.estimator, self.task) {
            (Estimator::Logistic(c), Task::Classification) if k >= 2 => {
                c.validate(p, if k == 2 { 1 } else { k })
            }
            (Estimator::Linear(c), Task::Regression) => c.validate(p, 1),
            (
                Estimator::Tree(TreeModel::Classifier(_) | TreeModel::ForestClassifier(_)),
                Task::Classification,
            ) if k >= 2 => Ok(()),
            (
                Estimator::Tree(TreeModel::Regressor(_) | TreeModel::ForestRegressor(_)),
                Task::Regression,
            ) => Ok(()),
            _ => Err(format!(
                "a {} {} model with {k} classes is inconsistent",
                self.algorithm, self.task
            )),
        }
    }
}

#[cfg(test)]
mod tests;
