//! Decision trees and random forests on smartcore. smartcore's forest classifier exposes
//! neither its trees nor vote counts, so a classification forest is kept as `n_trees`
//! one-tree smartcore forests (each with its own bootstrap sample, feature sampling and
//! seed): the class probabilities are the fractions of tree votes, and the prediction is the
//! majority vote, as in the undivided forest.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::tree::decision_tree_classifier::{
    DecisionTreeClassifier, DecisionTreeClassifierParameters, SplitCriterion,
};
use smartcore::tree::decision_tree_regressor::{
    DecisionTreeRegressor, DecisionTreeRegressorParameters,
};

use super::params::Resolved;
use super::ModelError;

type Matrix = DenseMatrix<f64>;
type TreeClassifier = DecisionTreeClassifier<f64, u32, Matrix, Vec<u32>>;
type TreeRegressor = DecisionTreeRegressor<f64, f64, Matrix, Vec<f64>>;
type ForestClassifier = RandomForestClassifier<f64, u32, Matrix, Vec<u32>>;
type ForestRegressor = RandomForestRegressor<f64, f64, Matrix, Vec<f64>>;

/// A fitted tree model (smartcore's own serialized form inside).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "model", rename_all = "snake_case")]
pub enum TreeModel {
    /// One classification tree.
    Classifier(Arc<TreeClassifier>),
    /// One regression tree.
    Regressor(Arc<TreeRegressor>),
    /// A classification forest: one single-tree forest per tree.
    ForestClassifier(Vec<Arc<ForestClassifier>>),
    /// A regression forest.
    ForestRegressor(Arc<ForestRegressor>),
}

fn fit_error(algorithm: &str, e: impl std::fmt::Display) -> ModelError {
    ModelError::Fit {
        algorithm: algorithm.to_string(),
        message: e.to_string(),
    }
}

fn depth(p: &Resolved) -> Result<Option<u16>, ModelError> {
    p.opt_usize("max_depth")
        .map(|d| {
            u16::try_from(d).map_err(|_| {
                ModelError::Hyperparameters(format!(
                    "hyperparameter 'max_depth': {d} is too deep; use at most {}",
                    u16::MAX
                ))
            })
        })
        .transpose()
}

fn criterion(p: &Resolved) -> SplitCriterion {
    match p.str("criterion") {
        "entropy" => SplitCriterion::Entropy,
        "classification_error" => SplitCriterion::ClassificationError,
        _ => SplitCriterion::Gini,
    }
}

/// Seed of tree `i` of a forest seeded with `seed`: spread out so that neighbouring seeds
/// give different forests.
fn tree_seed(seed: u64, i: u64) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i)
}

impl TreeModel {
    /// A classification tree or forest (`forest`) on class indices.
    pub(crate) fn fit_classifier(
        forest: bool,
        x: &Matrix,
        y: &[u32],
        p: &Resolved,
    ) -> Result<TreeModel, ModelError> {
        let y = y.to_vec();
        if !forest {
            let params = DecisionTreeClassifierParameters {
                criterion: criterion(p),
                max_depth: depth(p)?,
                min_samples_leaf: p.usize("min_samples_leaf"),
                min_samples_split: p.usize("min_samples_split"),
                seed: Some(p.u64("seed")),
            };
            let t =
                TreeClassifier::fit(x, &y, params).map_err(|e| fit_error("decision_tree", e))?;
            return Ok(TreeModel::Classifier(Arc::new(t)));
        }
        let n_trees = p.u64("n_trees");
        let mut trees = Vec::new();
        for i in 0..n_trees {
            let params = RandomForestClassifierParameters {
                criterion: criterion(p),
                max_depth: depth(p)?,
                min_samples_leaf: p.usize("min_samples_leaf"),
                min_samples_split: p.usize("min_samples_split"),
                n_trees: 1,
                m: p.opt_usize("max_features"),
                keep_samples: false,
                seed: tree_seed(p.u64("seed"), i),
            };
            let t =
                ForestClassifier::fit(x, &y, params).map_err(|e| fit_error("random_forest", e))?;
            trees.push(Arc::new(t));
        }
        Ok(TreeModel::ForestClassifier(trees))
    }

    /// A regression tree or forest (`forest`).
    pub(crate) fn fit_regressor(
        forest: bool,
        x: &Matrix,
        y: &[f64],
        p: &Resolved,
    ) -> Result<TreeModel, ModelError> {
        let y = y.to_vec();
        if !forest {
            let params = DecisionTreeRegressorParameters {
                max_depth: depth(p)?,
                min_samples_leaf: p.usize("min_samples_leaf"),
                min_samples_split: p.usize("min_samples_split"),
                seed: Some(p.u64("seed")),
            };
            let t = TreeRegressor::fit(x, &y, params).map_err(|e| fit_error("decision_tree", e))?;
            return Ok(TreeModel::Regressor(Arc::new(t)));
        }
        let params = RandomForestRegressorParameters {
            max_depth: depth(p)?,
            min_samples_leaf: p.usize("min_samples_leaf"),
            min_samples_split: p.usize("min_samples_split"),
            n_trees: p.usize("n_trees"),
            m: p.opt_usize("max_features"),
            keep_samples: false,
            seed: p.u64("seed"),
        };
        let f = ForestRegressor::fit(x, &y, params).map_err(|e| fit_error("random_forest", e))?;
        Ok(TreeModel::ForestRegressor(Arc::new(f)))
    }

    /// Class probabilities per row (`classes` columns), for classifiers.
    pub fn probabilities(&self, x: &Matrix, classes: usize) -> Result<Vec<Vec<f64>>, ModelError> {
        let n = x.shape().0;
        let predict_error = |e: smartcore::error::Failed| ModelError::Predict(e.to_string());
        match self {
            TreeModel::Classifier(t) => {
                let m = t.predict_proba(x).map_err(predict_error)?;
                Ok((0..n)
                    .map(|i| (0..classes).map(|j| *m.get((i, j))).collect())
                    .collect())
            }
            TreeModel::ForestClassifier(trees) => {
                let mut votes = vec![vec![0.0; classes]; n];
                for t in trees {
                    for (i, c) in t.predict(x).map_err(predict_error)?.into_iter().enumerate() {
                        if let Some(v) = votes[i].get_mut(c as usize) {
                            *v += 1.0;
                        }
                    }
                }
                let total = trees.len().max(1) as f64;
                Ok(votes
                    .into_iter()
                    .map(|r| r.into_iter().map(|v| v / total).collect())
                    .collect())
            }
            _ => Err(ModelError::Predict(
                "a regression model has no class probabilities".into(),
            )),
        }
    }

    /// Predicted values, for regressors.
    pub fn values(&self, x: &Matrix) -> Result<Vec<f64>, ModelError> {
        let predict_error = |e: smartcore::error::Failed| ModelError::Predict(e.to_string());
        match self {
            TreeModel::Regressor(t) => t.predict(x).map_err(predict_error),
            TreeModel::ForestRegressor(f) => f.predict(x).map_err(predict_error),
            _ => Err(ModelError::Predict(
                "a classifier predicts classes, not values".into(),
            )),
        }
    }
}
