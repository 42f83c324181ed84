//! Linear models: logistic regression (fitted by smartcore's L-BFGS) and linear / ridge
//! regression. The fitted coefficients are kept in a plain, documented struct, so the model
//! file doesn't depend on smartcore's internal layout, and probabilities come from them.

use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::linear_regression::{LinearRegression, LinearRegressionParameters};
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};
use smartcore::linear::ridge_regression::{
    RidgeRegression, RidgeRegressionParameters, RidgeRegressionSolverName,
};

use super::ModelError;

/// `score_k(x) = weights[k] · x + intercepts[k]`. Logistic regression has one row for two
/// classes (the score of the second class; `p = sigmoid(score)`) and one per class otherwise
/// (`p = softmax(scores)`); regression has one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearCoefficients {
    /// One weight vector per output, each as long as the feature list.
    pub weights: Vec<Vec<f64>>,
    /// One intercept per output.
    pub intercepts: Vec<f64>,
}

impl LinearCoefficients {
    /// The scores of one row.
    pub fn scores(&self, x: &[f64]) -> Vec<f64> {
        self.weights
            .iter()
            .zip(&self.intercepts)
            .map(|(w, b)| w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>() + b)
            .collect()
    }

    /// Checks the shapes against the feature count and the number of outputs.
    pub fn validate(&self, features: usize, outputs: usize) -> Result<(), String> {
        if self.weights.len() != outputs
            || self.intercepts.len() != outputs
            || self.weights.iter().any(|w| w.len() != features)
        {
            return Err(format!(
                "the coefficients don't match {features} features and {outputs} outputs"
            ));
        }
        Ok(())
    }

    /// Class probabilities of one row (`classes` of them).
    pub fn probabilities(&self, x: &[f64], classes: usize) -> Vec<f64> {
        let s = self.scores(x);
        if classes == 2 {
            let p1 = sigmoid(s[0]);
            return vec![1.0 - p1, p1];
        }
        let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = s.iter().map(|v| (v - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        e.into_iter().map(|v| v / sum).collect()
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

fn matrix_rows(m: &DenseMatrix<f64>) -> Vec<Vec<f64>> {
    let (r, c) = m.shape();
    (0..r)
        .map(|i| (0..c).map(|j| *m.get((i, j))).collect())
        .collect()
}

fn fit_error(algorithm: &str, e: impl std::fmt::Display) -> ModelError {
    ModelError::Fit {
        algorithm: algorithm.to_string(),
        message: e.to_string(),
    }
}

/// Logistic regression with L2 penalty `alpha` on class indices `y` (`0..k`).
pub fn fit_logistic(
    x: &DenseMatrix<f64>,
    y: &[u32],
    alpha: f64,
) -> Result<LinearCoefficients, ModelError> {
    let params = LogisticRegressionParameters::default().with_alpha(alpha);
    let lr: LogisticRegression<f64, u32, DenseMatrix<f64>, Vec<u32>> =
        LogisticRegression::fit(x, &y.to_vec(), params)
            .map_err(|e| fit_error("logistic_regression", e))?;
    let weights = matrix_rows(lr.coefficients());
    let intercepts = matrix_rows(lr.intercept()).into_iter().flatten().collect();
    Ok(LinearCoefficients {
        weights,
        intercepts,
    })
}

/// Ordinary least squares when `alpha == 0`, else ridge with an unpenalized intercept (as
/// scikit-learn's `Ridge`): the data are centered, smartcore solves the penalized system,
/// and the intercept is restored from the means.
pub fn fit_linear(
    algorithm: &str,
    x: &DenseMatrix<f64>,
    xs: &[f64],
    cols: usize,
    y: &[f64],
    alpha: f64,
) -> Result<LinearCoefficients, ModelError> {
    let n = y.len();
    if alpha == 0.0 {
        let lr: LinearRegression<f64, f64, DenseMatrix<f64>, Vec<f64>> =
            LinearRegression::fit(x, &y.to_vec(), LinearRegressionParameters::default())
                .map_err(|e| fit_error(algorithm, e))?;
        let w = matrix_rows(lr.coefficients())
            .into_iter()
            .flatten()
            .collect();
        return Ok(LinearCoefficients {
            weights: vec![w],
            intercepts: vec![*lr.intercept()],
        });
    }
    let x_mean: Vec<f64> = (0..cols)
        .map(|j| (0..n).map(|i| xs[i * cols + j]).sum::<f64>() / n as f64)
        .collect();
    let y_mean = y.iter().sum::<f64>() / n as f64;
    let centered: Vec<f64> = xs
        .iter()
        .enumerate()
        .map(|(k, v)| v - x_mean[k % cols])
        .collect();
    let xc = DenseMatrix::new(n, cols, centered, false).map_err(|e| fit_error(algorithm, e))?;
    let yc: Vec<f64> = y.iter().map(|v| v - y_mean).collect();
    let params = RidgeRegressionParameters {
        solver: RidgeRegressionSolverName::Cholesky,
        alpha,
        normalize: false,
    };
    let rr: RidgeRegression<f64, f64, DenseMatrix<f64>, Vec<f64>> =
        RidgeRegression::fit(&xc, &yc, params).map_err(|e| fit_error(algorithm, e))?;
    let w: Vec<f64> = matrix_rows(rr.coefficients())
        .into_iter()
        .flatten()
        .collect();
    // on centered data: y - ȳ = w·(x - x̄) + b, so y = w·x + (ȳ - w·x̄ + b)
    let intercept =
        y_mean - w.iter().zip(&x_mean).map(|(a, b)| a * b).sum::<f64>() + rr.intercept();
    Ok(LinearCoefficients {
        weights: vec![w],
        intercepts: vec![intercept],
    })
}
