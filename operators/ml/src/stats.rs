//! Per-feature statistics of a [`Table`], the input of schema inference, validation and
//! drift detection (what TFX's `statistics_gen` produces).
//!
//! Numbers follow numpy's defaults so results can be checked against it:
//! - `std` is the *population* standard deviation (ddof = 0, `numpy.std`'s default);
//! - `quantiles` are at 0, 0.1, …, 1.0 with numpy's default `'linear'` interpolation
//!   (`numpy.quantile(x, q)`);
//! - `histogram` has 10 equal-width bins over `[min, max]` with `numpy.histogram`'s
//!   semantics: bins are half-open `[a, b)` except the last, which is closed; when
//!   `min == max` the range is `[min - 0.5, max + 0.5]`.
//!
//! NaN and ±infinity in float columns are counted (`nan_count`, `inf_count`) and left out of
//! every other number; a missing value (`None`) is counted in `missing` only.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::table::{Column, ColumnType, Table};

/// Number of histogram bins.
pub const HISTOGRAM_BINS: usize = 10;
/// The quantile levels: 0, 0.1, …, 1.0.
pub const QUANTILE_LEVELS: usize = 11;
/// The most distinct values a categorical frequency table keeps (the most frequent ones).
pub const MAX_TOP_VALUES: usize = 10_000;

/// Statistics of every feature of one data set (one split).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DatasetStatistics {
    /// Rows in the data set.
    pub num_rows: u64,
    /// One entry per column, in the table's column order.
    pub features: Vec<FeatureStatistics>,
}

impl DatasetStatistics {
    /// The statistics of the feature named `name`.
    pub fn feature(&self, name: &str) -> Option<&FeatureStatistics> {
        self.features.iter().find(|f| f.name == name)
    }
}

/// Statistics of each split (`train`, `eval`, …), keyed by split name.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct SplitStatistics {
    pub splits: BTreeMap<String, DatasetStatistics>,
}

impl SplitStatistics {
    /// Computes the statistics of each named split.
    pub fn compute<'a>(splits: impl IntoIterator<Item = (&'a str, &'a Table)>) -> Self {
        SplitStatistics {
            splits: splits
                .into_iter()
                .map(|(name, table)| (name.to_string(), compute_statistics(table)))
                .collect(),
        }
    }

    /// The statistics of the split named `name`.
    pub fn split(&self, name: &str) -> Option<&DatasetStatistics> {
        self.splits.get(name)
    }
}

/// Statistics of one feature (column).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct FeatureStatistics {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    /// Present (non-`None`) values, NaN included.
    pub count: u64,
    /// Missing (`None`) values.
    pub missing: u64,
    /// For int and float features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric: Option<NumericStats>,
    /// For bool and string features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categorical: Option<CategoricalStats>,
}

impl FeatureStatistics {
    /// The fraction of rows where the feature is present; `None` for a data set with no rows.
    pub fn presence(&self) -> Option<f64> {
        let rows = self.count + self.missing;
        (rows > 0).then(|| self.count as f64 / rows as f64)
    }
}

/// Statistics of an int or float feature over its finite values.
///
/// `min`, `max`, `mean` and `std` are `None` (and `quantiles` and the histogram empty) when
/// the feature has no finite value.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct NumericStats {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    /// Population standard deviation (ddof = 0, like `numpy.std`).
    pub std: Option<f64>,
    /// Quantiles at 0, 0.1, …, 1.0, numpy's `'linear'` interpolation.
    pub quantiles: Vec<f64>,
    pub histogram: Histogram,
    /// NaN values (left out of every other number).
    pub nan_count: u64,
    /// ±infinite values (left out of every other number).
    #[serde(default)]
    pub inf_count: u64,
    /// Values equal to zero.
    pub zeros: u64,
    /// Distinct finite values (`-0.0` and `0.0` are one value).
    pub distinct: u64,
}

/// Bin counts over increasing edges: bin `i` is `[edges[i], edges[i+1])`, the last closed.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    /// `counts.len() + 1` increasing edges (empty when there are no counts).
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

impl Histogram {
    /// Total of the counts.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// Statistics of a bool or string feature. Bools count as the values `"true"`/`"false"`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct CategoricalStats {
    /// Distinct present values (all of them, even when `top_values` is truncated).
    pub distinct: u64,
    /// Value frequencies, most frequent first, ties by value ascending; at most
    /// [`MAX_TOP_VALUES`] entries.
    pub top_values: Vec<ValueCount>,
    /// Whether `top_values` left out some distinct values.
    pub truncated: bool,
    /// Mean length in characters (Unicode scalar values) of string values; `None` for bools
    /// or when no value is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_length: Option<f64>,
}

/// A categorical value and how often it occurs.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ValueCount {
    pub value: String,
    pub count: u64,
}

/// Computes the statistics of every column of `table`.
pub fn compute_statistics(table: &Table) -> DatasetStatistics {
    DatasetStatistics {
        num_rows: table.rows() as u64,
        features: table
            .fields()
            .iter()
            .map(|f| feature_statistics(&f.name, &f.data))
            .collect(),
    }
}

/// Computes the statistics of one column.
pub fn feature_statistics(name: &str, column: &Column) -> FeatureStatistics {
    let missing = match column {
        Column::Int(v) => v.iter().filter(|x| x.is_none()).count(),
        Column::Float(v) => v.iter().filter(|x| x.is_none()).count(),
        Column::Bool(v) => v.iter().filter(|x| x.is_none()).count(),
        Column::Str(v) => v.iter().filter(|x| x.is_none()).count(),
    } as u64;
    let count = column.len() as u64 - missing;
    let (numeric, categorical) = match column {
        Column::Int(v) => (
            Some(numeric_stats(v.iter().flatten().map(|&x| x as f64))),
            None,
        ),
        Column::Float(v) => (Some(numeric_stats(v.iter().flatten().copied())), None),
        Column::Bool(v) => {
            let trues = v.iter().flatten().filter(|&&b| b).count() as u64;
            let falses = count - trues;
            let counts = [("true", trues), ("false", falses)]
                .into_iter()
                .filter(|&(_, c)| c > 0);
            (None, Some(categorical_stats(counts.collect(), None)))
        }
        Column::Str(v) => {
            let mut freq: HashMap<&str, u64> = HashMap::new();
            let mut chars = 0u64;
            for s in v.iter().flatten() {
                *freq.entry(s.as_str()).or_insert(0) += 1;
                chars += s.chars().count() as u64;
            }
            let avg = (count > 0).then(|| chars as f64 / count as f64);
            (
                None,
                Some(categorical_stats(freq.into_iter().collect(), avg)),
            )
        }
    };
    FeatureStatistics {
        name: name.to_string(),
        column_type: column.column_type(),
        count,
        missing,
        numeric,
        categorical,
    }
}

fn categorical_stats(mut counts: Vec<(&str, u64)>, avg_length: Option<f64>) -> CategoricalStats {
    counts.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let distinct = counts.len() as u64;
    let truncated = counts.len() > MAX_TOP_VALUES;
    counts.truncate(MAX_TOP_VALUES);
    CategoricalStats {
        distinct,
        top_values: counts
            .into_iter()
            .map(|(v, c)| ValueCount {
                value: v.to_string(),
                count: c,
            })
            .collect(),
        truncated,
        avg_length,
    }
}

fn numeric_stats(values: impl Iterator<Item = f64>) -> NumericStats {
    let (mut nan_count, mut inf_count) = (0u64, 0u64);
    let mut x: Vec<f64> = Vec::new();
    for v in values {
        if v.is_nan() {
            nan_count += 1;
        } else if v.is_infinite() {
            inf_count += 1;
        } else {
            x.push(v);
        }
    }
    x.sort_unstable_by(f64::total_cmp);
    let zeros = x.iter().filter(|&&v| v == 0.0).count() as u64;
    let distinct = distinct_sorted(&x);
    let (mean, std) = match mean_std(&x) {
        Some((m, s)) => (Some(m), Some(s)),
        None => (None, None),
    };
    let quantiles = (0..QUANTILE_LEVELS)
        .filter_map(|i| quantile_sorted(&x, i as f64 / (QUANTILE_LEVELS - 1) as f64))
        .collect();
    NumericStats {
        min: x.first().copied(),
        max: x.last().copied(),
        mean,
        std,
        quantiles,
        histogram: histogram_sorted(&x, HISTOGRAM_BINS),
        nan_count,
        inf_count,
        zeros,
        distinct,
    }
}

fn distinct_sorted(x: &[f64]) -> u64 {
    match x.first() {
        None => 0,
        Some(_) => 1 + x.windows(2).filter(|w| w[0] != w[1]).count() as u64,
    }
}

/// Neumaier-compensated sum: accurate to about one rounding of the exact sum.
fn compensated_sum(x: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut c) = (0.0f64, 0.0f64);
    for v in x {
        let t = sum + v;
        if sum.abs() >= v.abs() {
            c += (sum - t) + v;
        } else {
            c += (v - t) + sum;
        }
        sum = t;
    }
    sum + c
}

/// Mean and population standard deviation with the corrected two-pass algorithm
/// (compensated sums), so large offsets do not cancel the variance away.
fn mean_std(x: &[f64]) -> Option<(f64, f64)> {
    if x.is_empty() {
        return None;
    }
    let n = x.len() as f64;
    let mean0 = compensated_sum(x.iter().copied()) / n;
    let dev = compensated_sum(x.iter().map(|v| v - mean0));
    let mean = mean0 + dev / n;
    let sq = compensated_sum(x.iter().map(|v| (v - mean0) * (v - mean0)));
    let var = ((sq - dev * dev / n) / n).max(0.0);
    Some((mean, var.sqrt()))
}

/// numpy's `'linear'` quantile of sorted finite values: the value at virtual index
/// `q * (n - 1)`, interpolated between its neighbours.
pub fn quantile_sorted(x: &[f64], q: f64) -> Option<f64> {
    let n = x.len();
    if n == 0 {
        return None;
    }
    let h = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = (h.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let t = h - lo as f64;
    let (a, b) = (x[lo], x[hi]);
    let diff = b - a;
    // numpy's _lerp: interpolate from the nearer end.
    Some(if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    })
}

/// `numpy.histogram(x, bins)` of sorted finite values: equal-width bins over `[min, max]`
/// (`[min - 0.5, max + 0.5]` when they are equal), the last bin closed.
pub fn histogram_sorted(x: &[f64], bins: usize) -> Histogram {
    let (Some(&first), Some(&last)) = (x.first(), x.last()) else {
        return Histogram::default();
    };
    if bins == 0 {
        return Histogram::default();
    }
    let (lo, hi) = if first == last {
        (first - 0.5, last + 0.5)
    } else {
        (first, last)
    };
    // numpy.linspace(lo, hi, bins + 1): start + i * step, the last edge exactly `hi`.
    let step = (hi - lo) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| lo + i as f64 * step).collect();
    edges[bins] = hi;
    let mut counts = vec![0u64; bins];
    let width = hi - lo;
    for &v in x {
        // numpy's fast path for uniform bins, with its corrections for rounding at edges.
        let mut i = (((v - lo) / width * bins as f64) as usize).min(bins - 1);
        if v < edges[i] && i > 0 {
            i -= 1;
        } else if v >= edges[i + 1] && i != bins - 1 {
            i += 1;
        }
        counts[i] += 1;
    }
    Histogram { edges, counts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Field;

    fn table() -> Table {
        Table::new(vec![
            Field {
                name: "x".into(),
                data: Column::Float(vec![Some(1.0), Some(f64::NAN), None, Some(0.0), Some(3.0)]),
            },
            Field {
                name: "n".into(),
                data: Column::Int(vec![Some(2), Some(2), Some(4), None, None]),
            },
            Field {
                name: "s".into(),
                data: Column::Str(vec![
                    Some("b".into()),
                    Some("a".into()),
                    Some("b".into()),
                    Some("héé".into()),
                    None,
                ]),
            },
            Field {
                name: "b".into(),
                data: Column::Bool(vec![Some(true), Some(false), Some(false), None, None]),
            },
        ])
        .unwrap()
    }

    #[test]
    fn numeric_excludes_nan_and_missing() {
        let s = compute_statistics(&table());
        assert_eq!(s.num_rows, 5);
        let x = s.feature("x").unwrap();
        assert_eq!((x.count, x.missing), (4, 1));
        let n = x.numeric.as_ref().unwrap();
        assert_eq!(n.nan_count, 1);
        assert_eq!((n.min, n.max), (Some(0.0), Some(3.0)));
        assert!((n.mean.unwrap() - 4.0 / 3.0).abs() < 1e-12);
        assert_eq!((n.zeros, n.distinct), (1, 3));
        assert_eq!(n.histogram.total(), 3);
        assert_eq!(n.histogram.counts[9], 1, "last bin is closed");
        assert_eq!(n.quantiles.len(), 11);
        let i = s.feature("n").unwrap().numeric.as_ref().unwrap();
        assert_eq!(i.std, Some((8.0f64 / 9.0).sqrt()));
    }

    #[test]
    fn categorical_counts_sorted_by_count_then_value() {
        let s = compute_statistics(&table());
        let c = s.feature("s").unwrap().categorical.as_ref().unwrap();
        let top: Vec<_> = c
            .top_values
            .iter()
            .map(|v| (v.value.as_str(), v.count))
            .collect();
        assert_eq!(top, vec![("b", 2), ("a", 1), ("héé", 1)]);
        assert_eq!(c.distinct, 3);
        assert!(!c.truncated);
        assert_eq!(c.avg_length, Some(6.0 / 4.0));
        let b = s.feature("b").unwrap().categorical.as_ref().unwrap();
        assert_eq!(b.top_values[0].value, "false");
        assert_eq!(b.avg_length, None);
    }

    #[test]
    fn frequency_table_is_truncated_but_distinct_is_exact() {
        let v: Vec<Option<String>> = (0..MAX_TOP_VALUES + 5)
            .map(|i| Some(i.to_string()))
            .collect();
        let f = feature_statistics("id", &Column::Str(v));
        let c = f.categorical.unwrap();
        assert!(c.truncated);
        assert_eq!(c.top_values.len(), MAX_TOP_VALUES);
        assert_eq!(c.distinct, (MAX_TOP_VALUES + 5) as u64);
    }

    #[test]
    fn all_missing_or_nan_has_no_summary() {
        let f = feature_statistics("x", &Column::Float(vec![None, Some(f64::NAN)]));
        let n = f.numeric.unwrap();
        assert_eq!((n.min, n.mean, n.nan_count), (None, None, 1));
        assert!(n.quantiles.is_empty() && n.histogram.counts.is_empty());
        let empty = compute_statistics(&Table::default());
        assert_eq!(empty.num_rows, 0);
        assert!(empty.features.is_empty());
    }

    #[test]
    fn constant_column_uses_unit_range_like_numpy() {
        let h = histogram_sorted(&[5.0, 5.0], 10);
        assert_eq!(h.edges[0], 4.5);
        assert_eq!(h.edges[10], 5.5);
        assert_eq!(h.counts[5], 2);
    }

    #[test]
    fn statistics_round_trip_through_json() {
        let s = SplitStatistics::compute([("train", &table())]);
        let json = serde_json::to_string(&s).unwrap();
        let back: SplitStatistics = serde_json::from_str(&json).unwrap();
        // NaN-free, so exact equality holds.
        assert_eq!(back, s);
        assert!(back.split("train").is_some());
    }
}
