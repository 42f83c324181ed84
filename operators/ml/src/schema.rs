//! The expected shape of a data set: which features exist, their types, how often they must
//! be present, numeric ranges and categorical domains. Inferred from statistics (like TFX's
//! `schema_gen`, with TFDV's rules: types, presence and domains; ranges only when asked) or
//! loaded from a curated JSON file with [`Schema::from_json`].
//!
//! A curated file looks like this; `required` defaults to `true`, `min_presence` to `0`,
//! and `range`/`domain` to none. Types are `int`, `float`, `bool` and `string` (or `str`).
//!
//! ```json
//! { "features": [
//!     { "name": "age", "type": "int", "min_presence": 0.95, "range": { "min": 0, "max": 120 } },
//!     { "name": "color", "type": "string", "domain": ["red", "white"] } ] }
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::stats::{DatasetStatistics, FeatureStatistics};
use crate::table::ColumnType;

/// Categorical features with more distinct values than this get no inferred domain.
pub const MAX_INFERRED_DOMAIN: u64 = 100;

/// The expected features of a data set.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    pub features: Vec<FeatureSchema>,
}

/// What one feature must look like.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FeatureSchema {
    pub name: String,
    /// The expected type; an int column also satisfies `float`.
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    /// Whether the column must exist in the data.
    #[serde(default = "yes")]
    pub required: bool,
    /// The fraction of rows (0 to 1) in which the feature must be present.
    #[serde(default)]
    pub min_presence: f64,
    /// For numeric features: the allowed `[min, max]` (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<NumericRange>,
    /// For bool and string features: the allowed values (bools as `"true"`/`"false"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

/// An inclusive numeric range.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NumericRange {
    pub min: f64,
    pub max: f64,
}

/// A problem in a schema, naming the feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    /// The feature's name (or its position, `#3`, when it has no name).
    pub feature: String,
    pub message: String,
}

impl fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "feature '{}': {}", self.feature, self.message)
    }
}

/// Why a schema file could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchemaError {
    #[error("schema file is not valid: {0}")]
    Parse(String),
    #[error("schema file has {} problem(s): {}", .0.len(), join(.0))]
    Invalid(Vec<SchemaProblem>),
}

fn join(problems: &[SchemaProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Schema {
    /// The schema of the feature named `name`.
    pub fn feature(&self, name: &str) -> Option<&FeatureSchema> {
        self.features.iter().find(|f| f.name == name)
    }

    /// Parses a curated schema file and checks it with [`Schema::validate_self`], reporting
    /// every unknown type and every problem at once.
    pub fn from_json(text: &str) -> Result<Schema, SchemaError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| SchemaError::Parse(e.to_string()))?;
        let unknown = unknown_types(&value);
        if !unknown.is_empty() {
            return Err(SchemaError::Invalid(unknown));
        }
        let schema: Schema =
            serde_json::from_str(text).map_err(|e| SchemaError::Parse(e.to_string()))?;
        let problems = schema.validate_self();
        if problems.is_empty() {
            Ok(schema)
        } else {
            Err(SchemaError::Invalid(problems))
        }
    }

    /// Every problem in a (curated) schema: empty or repeated names, `min_presence` outside
    /// `[0, 1]`, a range on a non-numeric feature or with `min > max` or non-finite bounds, a
    /// domain on a numeric feature, an empty or repeated domain value.
    pub fn validate_self(&self) -> Vec<SchemaProblem> {
        let mut problems = Vec::new();
        for (i, f) in self.features.iter().enumerate() {
            let mut report = |message: String| {
                problems.push(SchemaProblem {
                    feature: feature_label(i, Some(&f.name)),
                    message,
                })
            };
            if f.name.is_empty() {
                report("has an empty name; give the feature's column name".into());
            } else if self.features[..i].iter().any(|g| g.name == f.name) {
                report("is listed twice; keep one entry per feature".into());
            }
            if !(0.0..=1.0).contains(&f.min_presence) {
                report(format!(
                    "min_presence is {}; use a fraction between 0 and 1",
                    f.min_presence
                ));
            }
            if let Some(r) = f.range {
                if !f.column_type.is_numeric() {
                    report(format!(
                        "has a range but is {}; ranges are for int and float features, use a domain",
                        f.column_type
                    ));
                }
                if !r.min.is_finite() || !r.max.is_finite() {
                    report("range bounds must be finite numbers".into());
                } else if r.min > r.max {
                    report(format!(
                        "range min {} is greater than max {}; swap them",
                        r.min, r.max
                    ));
                }
            }
            if let Some(d) = &f.domain {
                if f.column_type.is_numeric() {
                    report(format!(
                        "has a domain but is {}; domains are for bool and string features, use a range",
                        f.column_type
                    ));
                }
                for (j, v) in d.iter().enumerate() {
                    if d[..j].contains(v) {
                        report(format!("domain lists '{v}' twice; list each value once"));
                    }
                }
                if f.column_type == ColumnType::Bool {
                    if let Some(v) = d.iter().find(|v| *v != "true" && *v != "false") {
                        report(format!("bool domain has '{v}'; use \"true\" and \"false\""));
                    }
                }
            }
        }
        problems
    }
}

fn feature_label(index: usize, name: Option<&str>) -> String {
    match name {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => format!("#{}", index + 1),
    }
}

/// Features whose `type` is not a known column type, found before typed parsing so that
/// every one is reported with its feature's name.
fn unknown_types(value: &serde_json::Value) -> Vec<SchemaProblem> {
    let Some(features) = value.get("features").and_then(|f| f.as_array()) else {
        return Vec::new();
    };
    features
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let ty = f.get("type")?;
            if serde_json::from_value::<ColumnType>(ty.clone()).is_ok() {
                return None;
            }
            Some(SchemaProblem {
                feature: feature_label(i, f.get("name").and_then(|n| n.as_str())),
                message: format!(
                    "unknown type {ty}; use \"int\", \"float\", \"bool\" or \"string\""
                ),
            })
        })
        .collect()
}

/// How [`infer_schema_from`] infers a schema.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InferOptions {
    /// Whether numeric features get a range (off by default, as in TFDV: a range taken from
    /// one sample rejects the next sample's extremes; distribution shifts are drift's job).
    pub infer_ranges: bool,
    /// With `infer_ranges`: the observed `[min, max]` is widened on both sides by this
    /// fraction of its width (of `max(|value|, 1)` when min = max). Must be at least 0.
    pub range_margin: f64,
}

/// The margin `infer_ranges` uses unless told otherwise: 10 % of the observed width.
pub const DEFAULT_RANGE_MARGIN: f64 = 0.1;

/// How many standard errors an inferred `min_presence` stays below the observed presence.
pub const PRESENCE_STANDARD_ERRORS: f64 = 10.0;

impl Default for InferOptions {
    fn default() -> Self {
        InferOptions {
            infer_ranges: false,
            range_margin: DEFAULT_RANGE_MARGIN,
        }
    }
}

/// Infers a schema from the statistics of one data set with the default options; see
/// [`infer_schema_from`].
pub fn infer_schema(stats: &DatasetStatistics) -> Schema {
    infer_schema_from(&[stats], &InferOptions::default())
}

/// Infers a schema from the statistics of every split of a span (TFDV's rules), so that
/// each of those splits, and any resample of the same data, passes it. One feature per
/// column, in the first split's column order (columns only in later splits follow):
/// - `column_type`: the column's type; int in one split and float in another gives
///   `float`; splits where the column has no value at all do not vote (an all-NULL
///   column's type is only the reader's guess);
/// - `required`: always `true` (the column was there, so it must be there next time);
/// - `min_presence`: `1.0` when no split misses a value; else, for each split, the
///   observed present fraction `p` minus [`PRESENCE_STANDARD_ERRORS`] standard errors
///   `sqrt(p (1 - p) / rows)`, the smallest of those, rounded *down* to two decimals and
///   never below 0 (a resample of the same data stays above it);
/// - `range` (int/float): only with `infer_ranges`: the observed `[min, max]` over all
///   splits, widened by `range_margin` (to whole numbers outward for int features);
/// - `domain` (bool/string): every value seen in any split, sorted, when there are between
///   1 and [`MAX_INFERRED_DOMAIN`] of them and no frequency table is truncated; else none.
pub fn infer_schema_from(splits: &[&DatasetStatistics], options: &InferOptions) -> Schema {
    let mut names: Vec<&str> = Vec::new();
    for s in splits {
        for f in &s.features {
            if !names.contains(&f.name.as_str()) {
                names.push(&f.name);
            }
        }
    }
    let features = names
        .into_iter()
        .map(|name| {
            let seen: Vec<&FeatureStatistics> =
                splits.iter().filter_map(|s| s.feature(name)).collect();
            infer_feature(name, &seen, options)
        })
        .collect();
    Schema { features }
}

fn infer_feature(name: &str, seen: &[&FeatureStatistics], options: &InferOptions) -> FeatureSchema {
    // The type: splits with values vote; an int/float mix is float.
    let mut column_type = seen
        .first()
        .map(|f| f.column_type)
        .unwrap_or(ColumnType::Str);
    let mut voted = false;
    for f in seen.iter().filter(|f| f.count > 0) {
        if !voted {
            column_type = f.column_type;
            voted = true;
        } else if f.column_type != column_type {
            let numeric = |t: ColumnType| t == ColumnType::Int || t == ColumnType::Float;
            if numeric(f.column_type) && numeric(column_type) {
                column_type = ColumnType::Float;
            }
        }
    }

    let any_missing = seen.iter().any(|f| f.missing > 0);
    let min_presence = if !any_missing {
        1.0
    } else {
        let lowest = seen
            .iter()
            .filter_map(|f| {
                let rows = (f.count + f.missing) as f64;
                let p = f.presence()?;
                Some(p - PRESENCE_STANDARD_ERRORS * (p * (1.0 - p) / rows).sqrt())
            })
            .fold(1.0_f64, f64::min);
        ((lowest * 100.0).floor() / 100.0).clamp(0.0, 1.0)
    };

    let range = if options.infer_ranges && column_type.is_numeric() {
        let mins = seen
            .iter()
            .filter_map(|f| f.numeric.as_ref().and_then(|n| n.min));
        let maxs = seen
            .iter()
            .filter_map(|f| f.numeric.as_ref().and_then(|n| n.max));
        match (mins.reduce(f64::min), maxs.reduce(f64::max)) {
            (Some(min), Some(max)) => {
                let width = max - min;
                let base = if width > 0.0 {
                    width
                } else {
                    min.abs().max(max.abs()).max(1.0)
                };
                let pad = options.range_margin.max(0.0) * base;
                let (mut lo, mut hi) = (min - pad, max + pad);
                if column_type == ColumnType::Int {
                    lo = lo.floor();
                    hi = hi.ceil();
                }
                Some(NumericRange { min: lo, max: hi })
            }
            _ => None,
        }
    } else {
        None
    };

    let categorical: Vec<_> = seen.iter().filter_map(|f| f.categorical.as_ref()).collect();
    let domain = if categorical.is_empty() || categorical.iter().any(|c| c.truncated) {
        None
    } else {
        let mut d = std::collections::BTreeSet::new();
        for v in categorical.iter().flat_map(|c| &c.top_values) {
            d.insert(v.value.as_str());
            if d.len() as u64 > MAX_INFERRED_DOMAIN {
                break;
            }
        }
        let d: Vec<String> = d.into_iter().map(String::from).collect();
        (!d.is_empty() && d.len() as u64 <= MAX_INFERRED_DOMAIN).then_some(d)
    };

    FeatureSchema {
        name: name.to_string(),
        column_type,
        required: true,
        min_presence,
        range,
        domain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::compute_statistics;
    use crate::table::{Column, Field, Table};

    fn stats() -> DatasetStatistics {
        let mut age: Vec<Option<i64>> = (0..1000).map(Some).collect();
        for v in age.iter_mut().take(43) {
            *v = None;
        }
        let ids: Vec<Option<String>> = (0..1000).map(|i| Some(format!("id{i}"))).collect();
        let color = (0..1000)
            .map(|i| Some(if i % 3 == 0 { "red" } else { "white" }.to_string()))
            .collect();
        compute_statistics(
            &Table::new(vec![
                Field {
                    name: "age".into(),
                    data: Column::Int(age),
                },
                Field {
                    name: "id".into(),
                    data: Column::Str(ids),
                },
                Field {
                    name: "color".into(),
                    data: Column::Str(color),
                },
            ])
            .unwrap(),
        )
    }

    #[test]
    fn infers_types_presence_and_small_domains_but_no_ranges() {
        let s = infer_schema(&stats());
        let age = s.feature("age").unwrap();
        assert_eq!(age.column_type, ColumnType::Int);
        assert!(age.required);
        // 957/1000 present: 0.957 - 10 * sqrt(0.957 * 0.043 / 1000) = 0.8929, rounded down.
        assert_eq!(age.min_presence, 0.89);
        assert_eq!(age.range, None, "ranges only when asked");
        assert_eq!(s.feature("id").unwrap().domain, None, "1000 distinct ids");
        let color = s.feature("color").unwrap();
        assert_eq!(color.min_presence, 1.0);
        assert_eq!(color.domain, Some(vec!["red".into(), "white".into()]));
        assert!(s.validate_self().is_empty());
    }

    #[test]
    fn infer_ranges_widens_the_observed_range_by_the_margin() {
        let asked = InferOptions {
            infer_ranges: true,
            ..InferOptions::default()
        };
        let s = infer_schema_from(&[&stats()], &asked);
        // Observed [43, 999], width 956: 10 % is 95.6 each side, outward to whole numbers.
        assert_eq!(
            s.feature("age").unwrap().range,
            Some(NumericRange {
                min: -53.0,
                max: 1095.0
            })
        );
        let none = InferOptions {
            infer_ranges: true,
            range_margin: 0.0,
        };
        let s = infer_schema_from(&[&stats()], &none);
        assert_eq!(
            s.feature("age").unwrap().range,
            Some(NumericRange {
                min: 43.0,
                max: 999.0
            })
        );
        assert_eq!(s.feature("color").unwrap().range, None);
    }

    #[test]
    fn splits_are_merged_types_domains_and_presence() {
        let table = |x: Column, c: Vec<Option<&str>>| {
            Table::new(vec![
                Field {
                    name: "x".into(),
                    data: x,
                },
                Field {
                    name: "c".into(),
                    data: Column::Str(c.into_iter().map(|v| v.map(String::from)).collect()),
                },
            ])
            .unwrap()
        };
        let train = compute_statistics(&table(
            Column::Int(vec![Some(1), Some(2)]),
            vec![Some("a"), Some("b")],
        ));
        let eval = compute_statistics(&table(
            Column::Float(vec![Some(0.5), None]),
            vec![Some("z"), Some("a")],
        ));
        let s = infer_schema_from(&[&train, &eval], &InferOptions::default());
        let x = s.feature("x").unwrap();
        assert_eq!(x.column_type, ColumnType::Float, "int and float is float");
        assert!(x.min_presence < 0.5, "{}", x.min_presence);
        assert_eq!(
            s.feature("c").unwrap().domain,
            Some(vec!["a".into(), "b".into(), "z".into()])
        );
        // An all-NULL column's guessed type does not vote.
        let nulls = compute_statistics(&table(Column::Str(vec![None]), vec![None]));
        let s = infer_schema_from(&[&train, &nulls], &InferOptions::default());
        assert_eq!(s.feature("x").unwrap().column_type, ColumnType::Int);
    }

    #[test]
    fn inferred_schema_round_trips_through_from_json() {
        let s = infer_schema(&stats());
        let json = serde_json::to_string_pretty(&s).unwrap();
        assert_eq!(Schema::from_json(&json).unwrap(), s);
    }

    #[test]
    fn curated_file_defaults_and_string_type_name() {
        let s = Schema::from_json(
            r#"{"features": [{"name": "c", "type": "string", "domain": ["a"]}]}"#,
        )
        .unwrap();
        let c = &s.features[0];
        assert_eq!(c.column_type, ColumnType::Str);
        assert!(c.required);
        assert_eq!(c.min_presence, 0.0);
    }

    #[test]
    fn from_json_reports_every_unknown_type_by_name() {
        let err = Schema::from_json(
            r#"{"features": [{"name": "a", "type": "text"}, {"name": "b", "type": "int"},
                {"type": "decimal"}]}"#,
        )
        .unwrap_err();
        let SchemaError::Invalid(p) = &err else {
            panic!("{err}")
        };
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].feature, "a");
        assert_eq!(p[1].feature, "#3");
        assert!(err.to_string().contains("unknown type \"text\""), "{err}");
    }

    #[test]
    fn from_json_rejects_typos_and_syntax_errors() {
        let err = Schema::from_json(r#"{"features": [{"name": "a", "type": "int", "rnage": 1}]}"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `rnage`"), "{err}");
        assert!(matches!(
            Schema::from_json("{").unwrap_err(),
            SchemaError::Parse(_)
        ));
    }

    #[test]
    fn validate_self_names_the_feature_and_the_fix() {
        let s = Schema::from_json(
            r#"{"features": [
                {"name": "x", "type": "float", "range": {"min": 5, "max": 1}},
                {"name": "x", "type": "int", "min_presence": 1.5, "domain": ["1"]},
                {"name": "b", "type": "bool", "range": {"min": 0, "max": 1}, "domain": ["yes", "yes"]}
            ]}"#,
        );
        let Err(SchemaError::Invalid(p)) = s else {
            panic!("{s:?}")
        };
        let text: Vec<String> = p.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "feature 'x': range min 5 is greater than max 1; swap them",
                "feature 'x': is listed twice; keep one entry per feature",
                "feature 'x': min_presence is 1.5; use a fraction between 0 and 1",
                "feature 'x': has a domain but is int; domains are for bool and string features, use a range",
                "feature 'b': has a range but is bool; ranges are for int and float features, use a domain",
                "feature 'b': domain lists 'yes' twice; list each value once",
                "feature 'b': bool domain has 'yes'; use \"true\" and \"false\"",
            ]
        );
    }
}
