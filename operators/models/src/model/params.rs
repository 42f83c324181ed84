//! Hyperparameters: each algorithm's valid names, types and defaults, and their parsing from
//! JSON numbers or numeric strings (they usually come out of a template).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{ModelError, Task};

/// What values a hyperparameter takes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A number `>= min`.
    Float { min: f64 },
    /// An integer `>= min`.
    Int { min: u64 },
    /// An integer `>= 1`, or `null`/`"none"` for no limit.
    OptInt,
    /// One of the listed strings.
    Choice(&'static [&'static str]),
}

/// One hyperparameter an algorithm accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Param {
    pub name: &'static str,
    pub kind: Kind,
    /// The default as JSON text (`"1.0"`, `"null"`, `"\"gini\""`).
    pub default: &'static str,
}

const fn p(name: &'static str, kind: Kind, default: &'static str) -> Param {
    Param {
        name,
        kind,
        default,
    }
}

const CRITERIA: &[&str] = &["gini", "entropy", "classification_error"];
const MAX_DEPTH: Param = p("max_depth", Kind::OptInt, "null");
const MIN_SPLIT: Param = p("min_samples_split", Kind::Int { min: 2 }, "2");
const MIN_LEAF: Param = p("min_samples_leaf", Kind::Int { min: 1 }, "1");
const SEED: Param = p("seed", Kind::Int { min: 0 }, "0");
const CRITERION: Param = p("criterion", Kind::Choice(CRITERIA), "\"gini\"");
const N_TREES: Param = p("n_trees", Kind::Int { min: 1 }, "100");
const MAX_FEATURES: Param = p("max_features", Kind::OptInt, "null");

const LOGISTIC: &[Param] = &[p("alpha", Kind::Float { min: 0.0 }, "1.0")];
const LINEAR: &[Param] = &[p("alpha", Kind::Float { min: 0.0 }, "0.0")];
const RIDGE: &[Param] = &[p("alpha", Kind::Float { min: 0.0 }, "1.0")];
const TREE_CLASSIFIER: &[Param] = &[MAX_DEPTH, MIN_SPLIT, MIN_LEAF, CRITERION, SEED];
const TREE_REGRESSOR: &[Param] = &[MAX_DEPTH, MIN_SPLIT, MIN_LEAF, SEED];
const FOREST_CLASSIFIER: &[Param] = &[
    N_TREES,
    MAX_DEPTH,
    MIN_SPLIT,
    MIN_LEAF,
    MAX_FEATURES,
    CRITERION,
    SEED,
];
const FOREST_REGRESSOR: &[Param] = &[N_TREES, MAX_DEPTH, MIN_SPLIT, MIN_LEAF, MAX_FEATURES, SEED];

/// The hyperparameters of `algorithm` for `task`.
pub(crate) fn params_for(algorithm: &str, task: Task) -> &'static [Param] {
    match (algorithm, task) {
        // smartcore minimizes sum(log loss) + alpha/2 |w|^2: alpha = 1 is sklearn's C = 1
        ("logistic_regression", _) => LOGISTIC,
        ("linear_regression", _) => LINEAR,
        ("ridge", _) => RIDGE,
        ("decision_tree", Task::Classification) => TREE_CLASSIFIER,
        ("decision_tree", Task::Regression) => TREE_REGRESSOR,
        ("random_forest", Task::Classification) => FOREST_CLASSIFIER,
        ("random_forest", Task::Regression) => FOREST_REGRESSOR,
        _ => &[],
    }
}

/// Hyperparameters checked against their algorithm, with defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved(pub BTreeMap<String, Value>);

impl Resolved {
    /// Checks every given hyperparameter (all problems reported at once) and fills defaults.
    pub fn new(
        algorithm: &str,
        task: Task,
        given: &Map<String, Value>,
    ) -> Result<Resolved, ModelError> {
        let params = params_for(algorithm, task);
        let valid = || params.iter().map(|p| p.name).collect::<Vec<_>>().join(", ");
        let mut errors = Vec::new();
        for name in given.keys() {
            if !params.iter().any(|p| p.name == name) {
                errors.push(format!(
                    "unknown hyperparameter '{name}' for {algorithm}; valid ones: {}",
                    valid()
                ));
            }
        }
        let mut out = BTreeMap::new();
        for param in params {
            let value = match given.get(param.name) {
                Some(v) => match parse(param, v) {
                    Ok(v) => v,
                    Err(e) => {
                        errors.push(format!(
                            "hyperparameter '{}' of {algorithm}: {e}",
                            param.name
                        ));
                        continue;
                    }
                },
                None => serde_json::from_str(param.default).unwrap_or(Value::Null),
            };
            out.insert(param.name.to_string(), value);
        }
        if errors.is_empty() {
            Ok(Resolved(out))
        } else {
            Err(ModelError::Hyperparameters(errors.join("\n")))
        }
    }

    pub fn f64(&self, name: &str) -> f64 {
        self.0.get(name).and_then(Value::as_f64).unwrap_or(0.0)
    }

    pub fn u64(&self, name: &str) -> u64 {
        self.0.get(name).and_then(Value::as_u64).unwrap_or(0)
    }

    pub fn usize(&self, name: &str) -> usize {
        usize::try_from(self.u64(name)).unwrap_or(usize::MAX)
    }

    pub fn opt_usize(&self, name: &str) -> Option<usize> {
        self.0
            .get(name)
            .and_then(Value::as_u64)
            .map(|v| usize::try_from(v).unwrap_or(usize::MAX))
    }

    pub fn str(&self, name: &str) -> &str {
        self.0.get(name).and_then(Value::as_str).unwrap_or("")
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|x| x.is_finite())
}

fn parse(param: &Param, v: &Value) -> Result<Value, String> {
    match param.kind {
        Kind::Float { min } => match number(v) {
            Some(x) if x >= min => Ok(Value::from(x)),
            _ => Err(format!("expected a number >= {min}, found {v}")),
        },
        Kind::Int { min } => match number(v) {
            Some(x) if x.fract() == 0.0 && x >= min as f64 && x < 2f64.powi(53) => {
                Ok(Value::from(x as u64))
            }
            _ => Err(format!("expected an integer >= {min}, found {v}")),
        },
        Kind::OptInt => match v {
            Value::Null => Ok(Value::Null),
            Value::String(s) if s.eq_ignore_ascii_case("none") || s.is_empty() => Ok(Value::Null),
            _ => match number(v) {
                Some(x) if x.fract() == 0.0 && x >= 1.0 && x < 2f64.powi(53) => {
                    Ok(Value::from(x as u64))
                }
                _ => Err(format!(
                    "expected an integer >= 1, or null for no limit, found {v}"
                )),
            },
        },
        Kind::Choice(options) => match v.as_str() {
            Some(s) if options.contains(&s) => Ok(Value::from(s)),
            _ => Err(format!("expected one of {}, found {v}", options.join(", "))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn numbers_and_numeric_strings_parse_and_defaults_fill_in() {
        let r = Resolved::new(
            "random_forest",
            Task::Classification,
            &map(json!({"n_trees": "10", "max_depth": 3.0, "seed": 7})),
        )
        .unwrap();
        assert_eq!(r.usize("n_trees"), 10);
        assert_eq!(r.opt_usize("max_depth"), Some(3));
        assert_eq!(r.opt_usize("max_features"), None);
        assert_eq!(r.str("criterion"), "gini");
        assert_eq!(r.u64("seed"), 7);
    }

    #[test]
    fn unknown_and_invalid_ones_list_the_valid_ones() {
        let err = Resolved::new(
            "logistic_regression",
            Task::Classification,
            &map(json!({"C": 1, "alpha": "-1"})),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("unknown hyperparameter 'C' for logistic_regression; valid ones: alpha")
        );
        assert!(err.contains(
            "hyperparameter 'alpha' of logistic_regression: expected a number >= 0, found \"-1\""
        ));
        let err = Resolved::new(
            "decision_tree",
            Task::Regression,
            &map(json!({"max_depth": 2.5})),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("expected an integer >= 1, or null"), "{err}");
    }
}
