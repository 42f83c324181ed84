//! Validation of a data set's statistics against a [`Schema`] and, for drift, against the
//! statistics of a baseline (what TFX's `example_validator` does). Every problem found is
//! reported, not just the first.
//!
//! Order of the report: `empty_data` first, then the schema's features in schema order
//! (missing, wrong type, low presence, NaN values, out of range, out of domain, drift), then
//! unexpected features in data order. A data set with no rows gets only `empty_data`,
//! `missing_feature`, `wrong_type` and `unexpected_feature` checks.
//!
//! Domains are checked against the statistics' frequency table, so when that table was
//! truncated (more than [`crate::stats::MAX_TOP_VALUES`] distinct values) the rarest values
//! go unchecked.
//!
//! A feature with no value at all (every row NULL) is reported as `low_presence` ("every
//! value is missing"), never as `wrong_type`: a reader can only guess the type of a column
//! that holds nothing.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::drift::{feature_distance, DriftConfig};
use crate::schema::{FeatureSchema, Schema};
use crate::stats::{DatasetStatistics, FeatureStatistics};
use crate::table::ColumnType;

/// How many out-of-domain values an anomaly lists.
pub const MAX_LISTED_VALUES: usize = 10;

/// What kind of problem an [`Anomaly`] is.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// A required schema feature is not in the data.
    MissingFeature,
    /// A feature in the data is not in the schema.
    UnexpectedFeature,
    /// The column's type differs from the schema's (an int column satisfies `float`).
    WrongType,
    /// The feature is present in fewer rows than `min_presence`.
    LowPresence,
    /// The observed min or max is outside the schema's range.
    OutOfRange,
    /// Categorical values outside the schema's domain.
    OutOfDomain,
    /// NaN or infinite values in a numeric feature.
    NanValues,
    /// The data set has no rows (feature `""`).
    EmptyData,
    /// The distance to the baseline is above the feature's threshold.
    Drift,
}

/// One problem found in the data.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Anomaly {
    /// The feature's name; `""` for problems of the whole data set.
    pub feature: String,
    pub kind: AnomalyKind,
    /// What the data shows.
    pub observed: Value,
    /// What the schema or the threshold allows.
    pub expected: Value,
    /// A sentence for people.
    pub description: String,
}

/// Everything validation found; empty when the data is fine.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Anomalies {
    pub anomalies: Vec<Anomaly>,
}

impl Anomalies {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.anomalies.is_empty()
    }

    /// Whether any anomaly was found: every kind is an error; the operator's `on_anomaly`
    /// option decides whether errors fail the task or only warn.
    pub fn has_errors(&self) -> bool {
        !self.is_empty()
    }

    /// The anomalies of one kind.
    pub fn of_kind(&self, kind: AnomalyKind) -> impl Iterator<Item = &Anomaly> {
        self.anomalies.iter().filter(move |a| a.kind == kind)
    }

    /// The anomalies of one feature.
    pub fn for_feature<'a>(&'a self, feature: &'a str) -> impl Iterator<Item = &'a Anomaly> {
        self.anomalies.iter().filter(move |a| a.feature == feature)
    }

    /// One line per anomaly, `feature: description`.
    pub fn summary(&self) -> String {
        self.anomalies
            .iter()
            .map(|a| {
                if a.feature.is_empty() {
                    a.description.clone()
                } else {
                    format!("{}: {}", a.feature, a.description)
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Checks `current` against `schema` and, when a `baseline` is given, each feature with a
/// threshold in `drift` for drift (see [`crate::drift`] for the measures).
pub fn validate(
    current: &DatasetStatistics,
    schema: &Schema,
    baseline: Option<&DatasetStatistics>,
    drift: &DriftConfig,
) -> Anomalies {
    let mut out = Vec::new();
    let has_rows = current.num_rows > 0;
    if !has_rows {
        out.push(Anomaly {
            feature: String::new(),
            kind: AnomalyKind::EmptyData,
            observed: json!(0),
            expected: json!(1),
            description: "the data set has no rows; expected at least 1".into(),
        });
    }
    for fs in &schema.features {
        let Some(stats) = current.feature(&fs.name) else {
            if fs.required {
                out.push(anomaly(
                    fs,
                    AnomalyKind::MissingFeature,
                    Value::Null,
                    json!(fs.column_type.name()),
                    format!("required {} feature is not in the data", fs.column_type),
                ));
            }
            continue;
        };
        if has_rows && stats.count == 0 {
            // No value at all: the column's type is only the reader's guess, so say what is
            // wrong — every value is missing — rather than reporting that guess as a type.
            if fs.min_presence <= 0.0 {
                continue;
            }
            out.push(anomaly(
                fs,
                AnomalyKind::LowPresence,
                json!(0.0),
                json!(fs.min_presence),
                format!(
                    "every value is missing ({} of {} rows are NULL); the schema requires {} present in at least {:.2}% of rows",
                    stats.missing,
                    stats.missing,
                    fs.column_type,
                    fs.min_presence * 100.0
                ),
            ));
            continue;
        }
        if !type_fits(stats.column_type, fs.column_type) {
            out.push(anomaly(
                fs,
                AnomalyKind::WrongType,
                json!(stats.column_type.name()),
                json!(fs.column_type.name()),
                format!(
                    "is {} but the schema says {}",
                    stats.column_type, fs.column_type
                ),
            ));
            continue;
        }
        if !has_rows {
            continue;
        }
        check_values(fs, stats, &mut out);
        if let (Some(base), Some(threshold)) = (
            baseline.and_then(|b| b.feature(&fs.name)),
            drift.threshold(&fs.name),
        ) {
            if let Some((measure, d)) = feature_distance(stats, base) {
                if d > threshold {
                    out.push(anomaly(
                        fs,
                        AnomalyKind::Drift,
                        json!(d),
                        json!(threshold),
                        format!(
                            "drifted from the baseline: {} {d:.4} is above the threshold {threshold}",
                            measure.name()
                        ),
                    ));
                }
            }
        }
    }
    for f in &current.features {
        if schema.feature(&f.name).is_none() {
            out.push(Anomaly {
                feature: f.name.clone(),
                kind: AnomalyKind::UnexpectedFeature,
                observed: json!(f.column_type.name()),
                expected: Value::Null,
                description: format!(
                    "{} feature is not in the schema; add it to the schema or drop the column",
                    f.column_type
                ),
            });
        }
    }
    Anomalies { anomalies: out }
}

/// Types match, or an int column where the schema says float (ints widen).
fn type_fits(data: ColumnType, schema: ColumnType) -> bool {
    data == schema || (data == ColumnType::Int && schema == ColumnType::Float)
}

fn anomaly(
    fs: &FeatureSchema,
    kind: AnomalyKind,
    observed: Value,
    expected: Value,
    description: String,
) -> Anomaly {
    Anomaly {
        feature: fs.name.clone(),
        kind,
        observed,
        expected,
        description,
    }
}

/// Presence, NaN, range and domain checks of a feature whose type fits.
fn check_values(fs: &FeatureSchema, stats: &FeatureStatistics, out: &mut Vec<Anomaly>) {
    if let Some(p) = stats.presence().filter(|&p| p < fs.min_presence) {
        out.push(anomaly(
            fs,
            AnomalyKind::LowPresence,
            json!(p),
            json!(fs.min_presence),
            format!(
                "present in {:.2}% of rows; the schema requires at least {:.2}%",
                p * 100.0,
                fs.min_presence * 100.0
            ),
        ));
    }
    if let Some(n) = &stats.numeric {
        if n.nan_count + n.inf_count > 0 {
            out.push(anomaly(
                fs,
                AnomalyKind::NanValues,
                json!({ "nan": n.nan_count, "infinite": n.inf_count }),
                json!(0),
                format!(
                    "has {} NaN and {} infinite value(s)",
                    n.nan_count, n.inf_count
                ),
            ));
        }
        if let (Some(r), Some(min), Some(max)) = (fs.range, n.min, n.max) {
            if min < r.min || max > r.max {
                out.push(anomaly(
                    fs,
                    AnomalyKind::OutOfRange,
                    json!({ "min": min, "max": max }),
                    json!({ "min": r.min, "max": r.max }),
                    format!(
                        "values go from {min} to {max}, outside the range [{}, {}]",
                        r.min, r.max
                    ),
                ));
            }
        }
    }
    if let (Some(domain), Some(c)) = (&fs.domain, &stats.categorical) {
        let allowed: HashSet<&str> = domain.iter().map(String::as_str).collect();
        let outside: Vec<_> = c
            .top_values
            .iter()
            .filter(|v| !allowed.contains(v.value.as_str()))
            .collect();
        if !outside.is_empty() {
            let total = stats.count.max(1) as f64;
            let share: f64 = outside.iter().map(|v| v.count as f64).sum::<f64>() / total;
            let listed: Vec<Value> = outside
                .iter()
                .take(MAX_LISTED_VALUES)
                .map(|v| json!({ "value": v.value, "count": v.count, "share": v.count as f64 / total }))
                .collect();
            let examples: Vec<String> = outside
                .iter()
                .take(3)
                .map(|v| format!("'{}'", v.value))
                .collect();
            out.push(anomaly(
                fs,
                AnomalyKind::OutOfDomain,
                Value::Array(listed),
                json!(domain),
                format!(
                    "{} value(s) outside the domain ({:.2}% of present values), e.g. {}",
                    outside.len(),
                    share * 100.0,
                    examples.join(", ")
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{infer_schema, NumericRange};
    use crate::stats::compute_statistics;
    use crate::table::{Column, Field, Table};

    fn field(name: &str, data: Column) -> Field {
        Field {
            name: name.into(),
            data,
        }
    }

    fn strs(v: &[&str]) -> Column {
        Column::Str(v.iter().map(|s| Some(s.to_string())).collect())
    }

    fn base_table() -> Table {
        Table::new(vec![
            field(
                "x",
                Column::Float((0..100).map(|i| Some(i as f64)).collect()),
            ),
            field("n", Column::Int((0..100).map(Some).collect())),
            field(
                "c",
                strs(
                    &(0..100)
                        .map(|i| if i % 2 == 0 { "a" } else { "b" })
                        .collect::<Vec<_>>(),
                ),
            ),
        ])
        .unwrap()
    }

    fn run(t: &Table, schema: &Schema) -> Anomalies {
        validate(
            &compute_statistics(t),
            schema,
            None,
            &DriftConfig::default(),
        )
    }

    fn kinds(a: &Anomalies) -> Vec<(String, AnomalyKind)> {
        a.anomalies
            .iter()
            .map(|a| (a.feature.clone(), a.kind))
            .collect()
    }

    #[test]
    fn data_matching_its_inferred_schema_has_no_anomalies() {
        let t = base_table();
        let a = run(&t, &infer_schema(&compute_statistics(&t)));
        assert!(!a.has_errors(), "{}", a.summary());
    }

    #[test]
    fn missing_and_unexpected_features() {
        let schema = infer_schema(&compute_statistics(&base_table()));
        let t = Table::new(vec![
            field("x", Column::Float(vec![Some(1.0)])),
            field("n", Column::Int(vec![Some(1)])),
            field("extra", Column::Bool(vec![Some(true)])),
        ])
        .unwrap();
        let a = run(&t, &schema);
        assert_eq!(
            kinds(&a),
            vec![
                ("c".into(), AnomalyKind::MissingFeature),
                ("extra".into(), AnomalyKind::UnexpectedFeature)
            ]
        );
        assert_eq!(a.anomalies[0].expected, json!("string"));
        let mut optional = schema.clone();
        optional.features[2].required = false;
        assert_eq!(run(&t, &optional).anomalies.len(), 1);
    }

    #[test]
    fn int_widens_to_float_but_nothing_else_fits() {
        let mut schema = infer_schema(&compute_statistics(&base_table()));
        schema.features[1].column_type = ColumnType::Float;
        assert!(
            run(&base_table(), &schema).is_empty(),
            "int satisfies float"
        );
        schema.features[0].column_type = ColumnType::Int;
        schema.features[2].column_type = ColumnType::Bool;
        let a = run(&base_table(), &schema);
        assert_eq!(
            kinds(&a),
            vec![
                ("x".into(), AnomalyKind::WrongType),
                ("c".into(), AnomalyKind::WrongType)
            ]
        );
        assert_eq!(a.anomalies[0].observed, json!("float"));
        assert_eq!(a.anomalies[0].expected, json!("int"));
    }

    #[test]
    fn low_presence_nan_and_out_of_range() {
        let mut schema = infer_schema(&compute_statistics(&base_table()));
        schema.features[0].range = Some(NumericRange {
            min: 0.0,
            max: 99.0,
        });
        let mut x: Vec<Option<f64>> = (0..100).map(|i| Some(i as f64)).collect();
        x[0] = None;
        x[1] = Some(f64::NAN);
        x[2] = Some(250.0);
        let mut t = base_table();
        t = Table::new(
            std::iter::once(field("x", Column::Float(x)))
                .chain(t.fields()[1..].iter().cloned())
                .collect(),
        )
        .unwrap();
        let a = run(&t, &schema);
        assert_eq!(
            kinds(&a),
            vec![
                ("x".into(), AnomalyKind::LowPresence),
                ("x".into(), AnomalyKind::NanValues),
                ("x".into(), AnomalyKind::OutOfRange)
            ]
        );
        assert_eq!(a.anomalies[0].observed, json!(0.99));
        assert_eq!(a.anomalies[1].observed, json!({"nan": 1, "infinite": 0}));
        assert_eq!(a.anomalies[2].observed, json!({"min": 3.0, "max": 250.0}));
        assert_eq!(a.anomalies[2].expected, json!({"min": 0.0, "max": 99.0}));
    }

    #[test]
    fn an_all_null_column_is_missing_values_not_a_wrong_type() {
        let schema = infer_schema(&compute_statistics(&base_table()));
        // The reader guessed `string` for a column with no value (as a NULL-only SQL
        // column comes out).
        let t = Table::new(vec![
            field("x", Column::Str(vec![None; 100])),
            base_table().fields()[1].clone(),
            base_table().fields()[2].clone(),
        ])
        .unwrap();
        let a = run(&t, &schema);
        assert_eq!(kinds(&a), vec![("x".into(), AnomalyKind::LowPresence)]);
        assert_eq!(a.anomalies[0].observed, json!(0.0));
        assert!(
            a.anomalies[0]
                .description
                .contains("every value is missing (100 of 100 rows"),
            "{}",
            a.anomalies[0].description
        );
        assert!(!a.summary().contains("string"), "{}", a.summary());
        // A schema that allows the feature to be absent accepts it.
        let mut optional = schema.clone();
        optional.features[0].min_presence = 0.0;
        assert!(
            run(&t, &optional).is_empty(),
            "{}",
            run(&t, &optional).summary()
        );
    }

    #[test]
    fn out_of_domain_lists_values_with_their_share() {
        let schema = Schema {
            features: vec![FeatureSchema {
                name: "c".into(),
                column_type: ColumnType::Str,
                required: true,
                min_presence: 0.0,
                range: None,
                domain: Some(vec!["a".into()]),
            }],
        };
        let t = Table::new(vec![field("c", strs(&["a", "z", "y", "z"]))]).unwrap();
        let a = run(&t, &schema);
        assert_eq!(kinds(&a), vec![("c".into(), AnomalyKind::OutOfDomain)]);
        assert_eq!(
            a.anomalies[0].observed,
            json!([{"value": "z", "count": 2, "share": 0.5}, {"value": "y", "count": 1, "share": 0.25}])
        );
        assert!(a.anomalies[0].description.contains("75.00%"));
    }

    #[test]
    fn empty_data_skips_value_checks() {
        let schema = infer_schema(&compute_statistics(&base_table()));
        let t = base_table().take(&[]);
        let a = run(&t, &schema);
        assert_eq!(kinds(&a), vec![(String::new(), AnomalyKind::EmptyData)]);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["anomalies"][0]["kind"], json!("empty_data"));
    }

    #[test]
    fn drift_only_above_threshold_and_only_with_a_threshold() {
        let base = compute_statistics(&base_table());
        let mut schema = infer_schema(&base);
        schema.features[0].range = Some(NumericRange { min: 0.0, max: 1e6 });
        schema.features[2].domain = None;
        let shifted = Table::new(vec![
            field(
                "x",
                Column::Float((0..100).map(|i| Some(50.0 + i as f64)).collect()),
            ),
            field("n", Column::Int((0..100).map(Some).collect())),
            field("c", strs(&["a"; 100])),
        ])
        .unwrap();
        let cur = compute_statistics(&shifted);
        let none = validate(&cur, &schema, Some(&base), &DriftConfig::default());
        assert!(none.is_empty(), "no thresholds, no drift check");
        let cfg = DriftConfig {
            default: Some(0.1),
            per_feature: [("n".to_string(), 0.0)].into(),
        };
        let a = validate(&cur, &schema, Some(&base), &cfg);
        assert_eq!(
            kinds(&a),
            vec![
                ("x".into(), AnomalyKind::Drift),
                ("c".into(), AnomalyKind::Drift)
            ],
            "n is unchanged, so even a 0 threshold passes"
        );
        assert_eq!(a.anomalies[1].observed, json!(0.5));
        assert_eq!(a.anomalies[1].expected, json!(0.1));
        assert!(a.anomalies[0]
            .description
            .contains("Jensen-Shannon divergence"));
        assert!(a.anomalies[1].description.contains("L-infinity distance"));
        assert_eq!(a.of_kind(AnomalyKind::Drift).count(), 2);
        assert_eq!(a.for_feature("c").count(), 1);
    }
}
