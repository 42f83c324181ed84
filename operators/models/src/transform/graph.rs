//! Fitting a [`TransformSpec`] on the train split, and applying the fitted
//! [`TransformGraph`] to any table with the same features.

use std::collections::BTreeMap;

use cambium_ml::table::{Column, ColumnType, Table};
use serde::{Deserialize, Serialize};

use super::spec::{FeatureSpec, Fill, TransformKind, TransformSpec};
use super::{FeatureMatrix, TransformError};

/// A feature the graph reads, with the type it had in the train split (serving converts
/// request values to this type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFeature {
    /// The column name.
    pub name: String,
    /// Its type in the train split.
    pub column_type: ColumnType,
}

/// A fill value learned from (or given for) the train split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FittedFill {
    /// Replaces a missing number.
    Number(f64),
    /// Replaces a missing category.
    Category(String),
}

/// A transform with its learned parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FittedOp {
    /// `(x - mean) / std`.
    Standardize { mean: f64, std: f64 },
    /// `(x - min) / (max - min)`, 0 when `max == min`.
    MinMax { min: f64, max: f64 },
    /// One column per category.
    OneHot { categories: Vec<String> },
    /// Index in `vocabulary`; `vocabulary.len()` when absent.
    Vocabulary { vocabulary: Vec<String> },
    /// Number of boundaries `<= x`.
    Bucketize { boundaries: Vec<f64> },
    /// `ln(1 + x)`.
    Log,
    /// The number itself.
    Passthrough,
}

impl FittedOp {
    fn kind(&self) -> &'static str {
        match self {
            FittedOp::Standardize { .. } => "standardize",
            FittedOp::MinMax { .. } => "min_max",
            FittedOp::OneHot { .. } => "one_hot",
            FittedOp::Vocabulary { .. } => "vocabulary",
            FittedOp::Bucketize { .. } => "bucketize",
            FittedOp::Log => "log",
            FittedOp::Passthrough => "passthrough",
        }
    }

    fn is_categorical(&self) -> bool {
        matches!(self, FittedOp::OneHot { .. } | FittedOp::Vocabulary { .. })
    }
}

/// One input feature's fitted fill and transform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedFeature {
    /// The feature read.
    pub input: InputFeature,
    /// The fill applied first.
    pub fill: Option<FittedFill>,
    /// The transform.
    pub op: FittedOp,
}

impl FittedFeature {
    /// The output columns this feature produces.
    pub fn output_names(&self) -> Vec<String> {
        match &self.op {
            FittedOp::OneHot { categories } => categories
                .iter()
                .map(|c| format!("{}={c}", self.input.name))
                .collect(),
            _ => vec![self.input.name.clone()],
        }
    }
}

/// A transform fitted on a train split: applied the same way to every split and at serving
/// time. Serializes to JSON and back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransformGraph {
    /// The label column (never transformed), if the spec named one.
    pub label: Option<String>,
    /// The features, in the train table's column order (dropped ones left out).
    pub features: Vec<FittedFeature>,
}

/// Fits `spec` on the `train` table. Columns other than the label get their own spec or
/// the `"*"` default; features named in the spec but absent from the table are an error.
pub fn fit(train: &Table, spec: &TransformSpec) -> Result<TransformGraph, TransformError> {
    for name in spec.features.keys() {
        if train.column(name).is_none() {
            return Err(TransformError::MissingFeature(name.clone()));
        }
    }
    let mut features = Vec::new();
    for field in train.fields() {
        if Some(field.name.as_str()) == spec.label.as_deref() {
            continue;
        }
        let fs = spec.spec_for(&field.name);
        if fs.kind == TransformKind::Drop {
            continue;
        }
        features.push(fit_feature(&field.name, &field.data, fs)?);
    }
    Ok(TransformGraph {
        label: spec.label.clone(),
        features,
    })
}

fn fit_feature(
    name: &str,
    col: &Column,
    spec: &FeatureSpec,
) -> Result<FittedFeature, TransformError> {
    let ty = col.column_type();
    let categorical = spec.kind.is_categorical();
    if ty == ColumnType::Str && !categorical {
        return Err(TransformError::StringFeature {
            feature: name.to_string(),
            kind: spec.kind.name(),
        });
    }
    let fill = match &spec.fill {
        None => None,
        Some(f) => Some(fit_fill(name, col, f, categorical)?),
    };
    let input = InputFeature {
        name: name.to_string(),
        column_type: ty,
    };
    let partial = FittedFeature {
        input,
        fill,
        op: FittedOp::Passthrough,
    };
    let op = match &spec.kind {
        TransformKind::OneHot { max_categories } => {
            let mut categories = by_frequency(&partial.train_categories(col)?);
            categories.truncate(*max_categories);
            categories.sort();
            FittedOp::OneHot { categories }
        }
        TransformKind::Vocabulary { top_k } => {
            let mut vocabulary = by_frequency(&partial.train_categories(col)?);
            if let Some(k) = top_k {
                vocabulary.truncate(*k);
            }
            FittedOp::Vocabulary { vocabulary }
        }
        kind => {
            let values = partial.train_numbers(col, kind.name())?;
            let need = |what| {
                if values.is_empty() {
                    Err(TransformError::NoTrainValues {
                        feature: name.to_string(),
                        kind: what,
                    })
                } else {
                    Ok(())
                }
            };
            match kind {
                TransformKind::Standardize => {
                    need("standardize")?;
                    let (mean, std) = mean_std(&values);
                    FittedOp::Standardize {
                        mean,
                        std: if std == 0.0 { 1.0 } else { std },
                    }
                }
                TransformKind::MinMax => {
                    need("min_max")?;
                    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    FittedOp::MinMax { min, max }
                }
                TransformKind::Bucketize {
                    boundaries: Some(b),
                    ..
                } => FittedOp::Bucketize {
                    boundaries: b.clone(),
                },
                TransformKind::Bucketize { num_buckets, .. } => {
                    need("bucketize")?;
                    let mut sorted = values.clone();
                    sorted.sort_by(f64::total_cmp);
                    let mut boundaries: Vec<f64> = (1..*num_buckets)
                        .map(|i| quantile(&sorted, i as f64 / *num_buckets as f64))
                        .collect();
                    boundaries.dedup();
                    FittedOp::Bucketize { boundaries }
                }
                TransformKind::Log => FittedOp::Log,
                _ => FittedOp::Passthrough,
            }
        }
    };
    Ok(FittedFeature { op, ..partial })
}

fn fit_fill(
    name: &str,
    col: &Column,
    fill: &Fill,
    categorical: bool,
) -> Result<FittedFill, TransformError> {
    let err = |message: String| TransformError::Fill {
        feature: name.to_string(),
        message,
    };
    let is_str = col.column_type() == ColumnType::Str;
    let numbers = || -> Result<Vec<f64>, TransformError> {
        if is_str {
            return Err(err(format!(
                "`fill: {}` needs a numeric column but this one is string; use \
                 \"most_frequent\" or a fixed string value",
                fill_name(fill)
            )));
        }
        let v: Vec<f64> = (0..col.len()).filter_map(|i| col.f64_at(i)).collect();
        if v.iter().any(|x| x.is_nan()) {
            return Err(err(
                "the train split has NaN values; clean them first".into()
            ));
        }
        if v.is_empty() {
            return Err(err(format!(
                "`fill: {}` needs at least one non-missing value in the train split",
                fill_name(fill)
            )));
        }
        Ok(v)
    };
    let number = match fill {
        Fill::Number(x) if is_str => {
            return Err(err(format!(
                "the fill value {x} is a number but the column is string; give a string value"
            )))
        }
        Fill::Text(s) if !is_str && !categorical => {
            return Err(err(format!(
                "the fill value {s:?} is a string but the column is {}; give a number",
                col.column_type()
            )))
        }
        Fill::Text(s) => return Ok(FittedFill::Category(s.clone())),
        Fill::Number(x) => *x,
        Fill::Mean => {
            let v = numbers()?;
            mean_std(&v).0
        }
        Fill::Median => {
            let mut v = numbers()?;
            v.sort_by(f64::total_cmp);
            quantile(&v, 0.5)
        }
        Fill::MostFrequent if is_str || categorical => {
            let cats: Vec<String> = (0..col.len()).filter_map(|i| col.str_at(i)).collect();
            return by_frequency(&cats)
                .into_iter()
                .next()
                .map(FittedFill::Category)
                .ok_or_else(|| err("`fill: most_frequent` needs at least one non-missing value in the train split".into()));
        }
        Fill::MostFrequent => {
            let mut v = numbers()?;
            v.sort_by(f64::total_cmp);
            most_frequent_sorted(&v)
        }
    };
    Ok(if categorical {
        FittedFill::Category(number.to_string())
    } else {
        FittedFill::Number(number)
    })
}

fn fill_name(fill: &Fill) -> String {
    match fill {
        Fill::Number(x) => x.to_string(),
        Fill::Text(s) => format!("{s:?}"),
        Fill::Mean => "mean".into(),
        Fill::Median => "median".into(),
        Fill::MostFrequent => "most_frequent".into(),
    }
}

impl FittedFeature {
    /// Row `i` as a number after the fill; `None` when still missing.
    fn number(
        &self,
        col: &Column,
        i: usize,
        kind: &'static str,
    ) -> Result<Option<f64>, TransformError> {
        let value = match col {
            Column::Str(v) => match &v[i] {
                Some(s) => {
                    return Err(TransformError::StringValue {
                        feature: self.input.name.clone(),
                        row: i,
                        value: s.clone(),
                        kind,
                    })
                }
                None => None,
            },
            _ => col.f64_at(i),
        };
        match value {
            Some(x) if x.is_nan() => Err(TransformError::NotANumber {
                feature: self.input.name.clone(),
                row: i,
            }),
            Some(x) => Ok(Some(x)),
            None => Ok(match &self.fill {
                Some(FittedFill::Number(x)) => Some(*x),
                _ => None,
            }),
        }
    }

    /// Row `i` as a category after the fill; `None` when still missing.
    fn category(&self, col: &Column, i: usize) -> Result<Option<String>, TransformError> {
        if let Column::Float(v) = col {
            if v[i].is_some_and(f64::is_nan) {
                return Err(TransformError::NotANumber {
                    feature: self.input.name.clone(),
                    row: i,
                });
            }
        }
        Ok(col.str_at(i).or_else(|| match &self.fill {
            Some(FittedFill::Category(c)) => Some(c.clone()),
            Some(FittedFill::Number(x)) => Some(x.to_string()),
            None => None,
        }))
    }

    fn train_numbers(&self, col: &Column, kind: &'static str) -> Result<Vec<f64>, TransformError> {
        let mut out = Vec::with_capacity(col.len());
        for i in 0..col.len() {
            if let Some(x) = self.number(col, i, kind)? {
                out.push(x);
            }
        }
        Ok(out)
    }

    fn train_categories(&self, col: &Column) -> Result<Vec<String>, TransformError> {
        let mut out = Vec::with_capacity(col.len());
        for i in 0..col.len() {
            if let Some(c) = self.category(col, i)? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Writes this feature's output columns, starting at column `offset`, into `out`.
    fn apply(
        &self,
        col: &Column,
        out: &mut [f64],
        width: usize,
        offset: usize,
    ) -> Result<(), TransformError> {
        let feature = &self.input.name;
        let missing = |row| TransformError::MissingValue {
            feature: feature.clone(),
            row,
        };
        for i in 0..col.len() {
            let at = i * width + offset;
            if self.op.is_categorical() {
                let c = self.category(col, i)?.ok_or_else(|| missing(i))?;
                match &self.op {
                    FittedOp::OneHot { categories } => {
                        if let Ok(j) = categories.binary_search(&c) {
                            out[at + j] = 1.0;
                        }
                    }
                    FittedOp::Vocabulary { vocabulary } => {
                        let idx = vocabulary.iter().position(|v| *v == c);
                        out[at] = idx.unwrap_or(vocabulary.len()) as f64;
                    }
                    _ => {}
                }
                continue;
            }
            let x = self
                .number(col, i, self.op.kind())?
                .ok_or_else(|| missing(i))?;
            let y = match &self.op {
                FittedOp::Standardize { mean, std } => (x - mean) / std,
                FittedOp::MinMax { min, max } if max > min => (x - min) / (max - min),
                FittedOp::MinMax { .. } => 0.0,
                FittedOp::Bucketize { boundaries } => {
                    boundaries.iter().take_while(|b| **b <= x).count() as f64
                }
                FittedOp::Log if x <= -1.0 => {
                    return Err(TransformError::LogDomain {
                        feature: feature.clone(),
                        row: i,
                        value: x,
                    })
                }
                FittedOp::Log => x.ln_1p(),
                _ => x,
            };
            if !y.is_finite() {
                return Err(TransformError::NotANumber {
                    feature: feature.clone(),
                    row: i,
                });
            }
            out[at] = y;
        }
        Ok(())
    }
}

impl TransformGraph {
    /// The features the graph reads, with their train types.
    pub fn input_features(&self) -> Vec<&InputFeature> {
        self.features.iter().map(|f| &f.input).collect()
    }

    /// The names of the output columns, in order.
    pub fn output_names(&self) -> Vec<String> {
        self.features
            .iter()
            .flat_map(|f| f.output_names())
            .collect()
    }

    /// Transforms `table` (extra columns, including the label, are ignored).
    pub fn apply(&self, table: &Table) -> Result<FeatureMatrix, TransformError> {
        let names = self.output_names();
        let width = names.len();
        let rows = table.rows();
        let mut data = vec![0.0; rows * width];
        let mut offset = 0;
        for f in &self.features {
            let col = table
                .column(&f.input.name)
                .ok_or_else(|| TransformError::MissingFeature(f.input.name.clone()))?;
            f.apply(col, &mut data, width, offset)?;
            offset += f.output_names().len();
        }
        FeatureMatrix::new(names, rows, data)
    }
}

/// Mean and population standard deviation.
fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// The `q` quantile of sorted values, interpolated linearly (numpy's default).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The most frequent of sorted values; ties go to the smallest.
fn most_frequent_sorted(sorted: &[f64]) -> f64 {
    let (mut best, mut best_n) = (sorted[0], 0);
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..].iter().take_while(|x| **x == sorted[i]).count();
        if j > best_n {
            (best, best_n) = (sorted[i], j);
        }
        i += j;
    }
    best
}

/// Distinct categories by descending count, then by value.
fn by_frequency(values: &[String]) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut pairs: Vec<(&str, usize)> = counts.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    pairs.into_iter().map(|(v, _)| v.to_string()).collect()
}
