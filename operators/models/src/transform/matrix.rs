//! The numeric output of a transform, the input of every model.

use serde::{Deserialize, Serialize};

use super::TransformError;

/// A dense, row-major matrix of features with named columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureMatrix {
    /// Column names, in order (`feature` or `feature=value` for one-hot columns).
    pub names: Vec<String>,
    /// Number of rows.
    pub rows: usize,
    /// `rows * names.len()` values, row after row.
    pub data: Vec<f64>,
}

impl FeatureMatrix {
    /// A matrix from row-major data; fails when the length isn't `rows * names.len()`.
    pub fn new(names: Vec<String>, rows: usize, data: Vec<f64>) -> Result<Self, TransformError> {
        if data.len() != rows * names.len() {
            return Err(TransformError::Matrix(format!(
                "{} values for {rows} rows of {} columns",
                data.len(),
                names.len()
            )));
        }
        Ok(FeatureMatrix { names, rows, data })
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.names.len()
    }

    /// Row `i`'s values.
    pub fn row(&self, i: usize) -> &[f64] {
        let c = self.cols();
        &self.data[i * c..(i + 1) * c]
    }

    /// The values of the column called `name`, if there is one.
    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let j = self.names.iter().position(|n| n == name)?;
        Some(
            (0..self.rows)
                .map(|i| self.data[i * self.cols() + j])
                .collect(),
        )
    }

    /// The rows at `idx`, in that order.
    pub fn take(&self, idx: &[usize]) -> FeatureMatrix {
        FeatureMatrix {
            names: self.names.clone(),
            rows: idx.len(),
            data: idx
                .iter()
                .flat_map(|&i| self.row(i).iter().copied())
                .collect(),
        }
    }
}
