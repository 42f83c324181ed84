//! The unfitted transform: what the `transform` operator's `features` option asks for, parsed
//! and checked before any data is read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::TransformError;

/// Every kind name `features` accepts, in the order messages list them.
pub const KINDS: &[&str] = &[
    "standardize",
    "min_max",
    "one_hot",
    "vocabulary",
    "bucketize",
    "log",
    "fill_missing",
    "drop",
    "passthrough",
];

/// How a missing value is replaced before a feature's transform runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// A fixed number (numeric features).
    Number(f64),
    /// A fixed category (string features).
    Text(String),
    /// The mean of the train split (numeric features).
    Mean,
    /// The median of the train split (numeric features).
    Median,
    /// The most frequent value of the train split (ties: the smallest value).
    MostFrequent,
}

/// One preprocessing step, with its settings, before fitting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TransformKind {
    /// `(x - mean) / std` with the population std of the train split (a std of 0 counts as 1).
    Standardize,
    /// `(x - min) / (max - min)` from the train split; 0 when `max == min`.
    MinMax,
    /// One 0/1 column per train category, named `feature=value`; unknown values give all zeros.
    OneHot {
        /// Keep at most this many categories, the most frequent ones (default 100).
        max_categories: usize,
    },
    /// The category's index by descending train frequency, then by value; out-of-vocabulary
    /// values get the vocabulary's size.
    Vocabulary {
        /// Keep only the `top_k` most frequent categories (default: all).
        top_k: Option<usize>,
    },
    /// The bucket index: the number of boundaries `<= x`.
    Bucketize {
        /// Quantile buckets computed on the train split (default 4); ignored with `boundaries`.
        num_buckets: usize,
        /// Fixed, increasing boundaries.
        boundaries: Option<Vec<f64>>,
    },
    /// `ln(1 + x)`; values `<= -1` are an error.
    Log,
    /// Replace missing values (the `fill` of this feature), then pass the value through.
    FillMissing,
    /// Not a feature.
    Drop,
    /// The value as a number (ints widen, bools are 0/1).
    Passthrough,
}

impl TransformKind {
    /// The kind's name as `features` spells it.
    pub fn name(&self) -> &'static str {
        match self {
            TransformKind::Standardize => "standardize",
            TransformKind::MinMax => "min_max",
            TransformKind::OneHot { .. } => "one_hot",
            TransformKind::Vocabulary { .. } => "vocabulary",
            TransformKind::Bucketize { .. } => "bucketize",
            TransformKind::Log => "log",
            TransformKind::FillMissing => "fill_missing",
            TransformKind::Drop => "drop",
            TransformKind::Passthrough => "passthrough",
        }
    }

    /// One-hot and vocabulary read values as categories; the others need numbers.
    pub fn is_categorical(&self) -> bool {
        matches!(
            self,
            TransformKind::OneHot { .. } | TransformKind::Vocabulary { .. }
        )
    }
}

/// A feature's requested transform and the fill applied before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// The transform.
    pub kind: TransformKind,
    /// How missing values are filled first (`None`: they stay missing, which is an error).
    pub fill: Option<Fill>,
}

impl FeatureSpec {
    /// A spec with no settings and no fill.
    pub fn of(kind: TransformKind) -> FeatureSpec {
        FeatureSpec { kind, fill: None }
    }
}

/// The parsed `features` option: a spec per named feature, a default for every other one
/// (the `"*"` entry, `passthrough` when absent) and the label, which is never a feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransformSpec {
    /// Specs of the features named explicitly.
    pub features: BTreeMap<String, FeatureSpec>,
    /// The spec of every other column (`"*"`).
    pub default: FeatureSpec,
    /// The label column, if any: left out of the features.
    pub label: Option<String>,
}

impl TransformSpec {
    /// Parses the `features` map. Each value is a kind name (`"standardize"`) or an object
    /// `{"kind": "one_hot", "max_categories": 20, "fill": "most_frequent"}`. Every problem
    /// is reported, one per line, in a single [`TransformError::Spec`].
    pub fn from_json(
        features: &Map<String, Value>,
        label: Option<&str>,
    ) -> Result<TransformSpec, TransformError> {
        let mut errors = Vec::new();
        let mut specs = BTreeMap::new();
        let mut default = FeatureSpec::of(TransformKind::Passthrough);
        for (name, value) in features {
            if Some(name.as_str()) == label {
                errors.push(format!(
                    "'{name}' is the label and can't be a feature: remove it from `features`"
                ));
                continue;
            }
            match parse_feature(name, value) {
                Ok(spec) if name == "*" => default = spec,
                Ok(spec) => {
                    specs.insert(name.clone(), spec);
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() {
            Ok(TransformSpec {
                features: specs,
                default,
                label: label.map(str::to_string),
            })
        } else {
            Err(TransformError::Spec(errors.join("\n")))
        }
    }

    /// The spec for column `name`: its own entry or the default.
    pub fn spec_for(&self, name: &str) -> &FeatureSpec {
        self.features.get(name).unwrap_or(&self.default)
    }
}

fn parse_feature(name: &str, value: &Value) -> Result<FeatureSpec, Vec<String>> {
    let empty = Map::new();
    let (kind, settings) = match value {
        Value::String(kind) => (kind.as_str(), &empty),
        Value::Object(map) => match map.get("kind") {
            Some(Value::String(kind)) => (kind.as_str(), map),
            _ => {
                return Err(vec![format!(
                    "feature '{name}': the map needs a \"kind\" string, one of {}",
                    KINDS.join(", ")
                )])
            }
        },
        other => {
            return Err(vec![format!(
                "feature '{name}': expected a kind name or a map with \"kind\", found {other}"
            )])
        }
    };
    let mut errors = Vec::new();
    let allowed: &[&str] = match kind {
        "one_hot" => &["max_categories"],
        "vocabulary" => &["top_k"],
        "bucketize" => &["num_buckets", "boundaries"],
        "fill_missing" => &["value", "strategy"],
        k if KINDS.contains(&k) => &[],
        other => {
            return Err(vec![format!(
                "feature '{name}': unknown kind '{other}'; use one of {}",
                KINDS.join(", ")
            )])
        }
    };
    for key in settings.keys() {
        if key != "kind" && key != "fill" && !allowed.contains(&key.as_str()) {
            let mut valid: Vec<&str> = allowed.to_vec();
            valid.push("fill");
            errors.push(format!(
                "feature '{name}': unknown setting '{key}' for {kind}; valid settings: {}",
                valid.join(", ")
            ));
        }
    }
    let mut fill = match settings.get("fill") {
        None => None,
        Some(v) => match parse_fill(v, false) {
            Ok(f) => Some(f),
            Err(e) => {
                errors.push(format!("feature '{name}': `fill` {e}"));
                None
            }
        },
    };
    let kind = match kind {
        "standardize" => TransformKind::Standardize,
        "min_max" => TransformKind::MinMax,
        "one_hot" => TransformKind::OneHot {
            max_categories: count_setting(name, settings, "max_categories", &mut errors)
                .unwrap_or(100),
        },
        "vocabulary" => TransformKind::Vocabulary {
            top_k: count_setting(name, settings, "top_k", &mut errors),
        },
        "bucketize" => {
            let boundaries = match settings.get("boundaries") {
                None => None,
                Some(v) => match parse_boundaries(v) {
                    Ok(b) => Some(b),
                    Err(e) => {
                        errors.push(format!("feature '{name}': `boundaries` {e}"));
                        None
                    }
                },
            };
            TransformKind::Bucketize {
                num_buckets: count_setting(name, settings, "num_buckets", &mut errors).unwrap_or(4),
                boundaries,
            }
        }
        "log" => TransformKind::Log,
        "fill_missing" => {
            let by_value = settings.get("value").map(|v| parse_fill(v, true));
            let by_strategy = settings.get("strategy").map(|v| match v {
                Value::String(_) => parse_fill(v, false),
                _ => Err("must be \"mean\", \"median\" or \"most_frequent\"".to_string()),
            });
            match (by_value, by_strategy, fill.is_some()) {
                (Some(Ok(f)), None, false) | (None, Some(Ok(f)), false) => fill = Some(f),
                (None, None, true) => {}
                (Some(Err(e)), _, _) => errors.push(format!("feature '{name}': `value` {e}")),
                (_, Some(Err(e)), _) => errors.push(format!("feature '{name}': `strategy` {e}")),
                (None, None, false) => errors.push(format!(
                    "feature '{name}': fill_missing needs `value` (a number or string) or \
                     `strategy` (\"mean\", \"median\" or \"most_frequent\")"
                )),
                _ => errors.push(format!(
                    "feature '{name}': give only one of `value`, `strategy` and `fill`"
                )),
            }
            TransformKind::FillMissing
        }
        "drop" => TransformKind::Drop,
        _ => TransformKind::Passthrough,
    };
    if errors.is_empty() {
        Ok(FeatureSpec { kind, fill })
    } else {
        Err(errors)
    }
}

/// `literal`: strings are fixed categories (fill_missing's `value`) rather than strategies.
fn parse_fill(value: &Value, literal: bool) -> Result<Fill, String> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .map(Fill::Number)
            .ok_or_else(|| format!("{n} is not a finite number")),
        Value::String(s) if literal => Ok(Fill::Text(s.clone())),
        Value::String(s) => match s.as_str() {
            "mean" => Ok(Fill::Mean),
            "median" => Ok(Fill::Median),
            "most_frequent" => Ok(Fill::MostFrequent),
            other => Err(format!(
                "'{other}' is not a strategy: use a number, \"mean\", \"median\" or \"most_frequent\""
            )),
        },
        other => Err(format!(
            "must be a number, \"mean\", \"median\" or \"most_frequent\", found {other}"
        )),
    }
}

fn parse_boundaries(value: &Value) -> Result<Vec<f64>, String> {
    let items = value
        .as_array()
        .ok_or_else(|| "must be a list of increasing numbers".to_string())?;
    let bounds = items
        .iter()
        .map(|v| {
            v.as_f64()
                .ok_or_else(|| format!("has {v}, which is not a number"))
        })
        .collect::<Result<Vec<f64>, String>>()?;
    if bounds.is_empty() || bounds.windows(2).any(|w| w[0] >= w[1]) {
        return Err("must be a non-empty list of strictly increasing numbers".to_string());
    }
    Ok(bounds)
}

/// A positive integer setting, as a JSON number or a numeric string.
fn count_setting(
    name: &str,
    settings: &Map<String, Value>,
    key: &str,
    errors: &mut Vec<String>,
) -> Option<usize> {
    let value = settings.get(key)?;
    let parsed = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match parsed {
        Some(n) if n > 0 => usize::try_from(n).ok(),
        _ => {
            errors.push(format!(
                "feature '{name}': `{key}` must be a positive integer, found {value}"
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: Value, label: Option<&str>) -> Result<TransformSpec, TransformError> {
        let Value::Object(map) = v else {
            panic!("not an object")
        };
        TransformSpec::from_json(&map, label)
    }

    #[test]
    fn kinds_and_settings_parse() {
        let s = spec(
            json!({
                "age": "standardize",
                "city": {"kind": "one_hot", "max_categories": "5", "fill": "most_frequent"},
                "income": {"kind": "fill_missing", "strategy": "median"},
                "size": {"kind": "bucketize", "boundaries": [1, 2.5]},
                "*": "drop",
            }),
            Some("y"),
        )
        .unwrap();
        assert_eq!(s.spec_for("age").kind, TransformKind::Standardize);
        assert_eq!(
            s.spec_for("city"),
            &FeatureSpec {
                kind: TransformKind::OneHot { max_categories: 5 },
                fill: Some(Fill::MostFrequent)
            }
        );
        assert_eq!(s.spec_for("income").fill, Some(Fill::Median));
        assert_eq!(s.spec_for("other").kind, TransformKind::Drop);
        assert_eq!(
            s.spec_for("size").kind,
            TransformKind::Bucketize {
                num_buckets: 4,
                boundaries: Some(vec![1.0, 2.5])
            }
        );
    }

    #[test]
    fn every_mistake_is_reported() {
        let err = spec(
            json!({
                "a": "scale",
                "b": {"kind": "one_hot", "max_cats": 3},
                "c": {"kind": "bucketize", "boundaries": [3, 1]},
                "d": {"kind": "fill_missing"},
                "y": "standardize",
            }),
            Some("y"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("feature 'a': unknown kind 'scale'; use one of standardize"));
        assert!(err.contains(
            "unknown setting 'max_cats' for one_hot; valid settings: max_categories, fill"
        ));
        assert!(err.contains("strictly increasing"));
        assert!(err.contains("fill_missing needs `value`"));
        assert!(err.contains("'y' is the label"));
    }
}
