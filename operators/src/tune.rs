//! Hyperparameter search spaces of the `tune` operator and the trials they give: a grid over
//! the listed values (ranges are cut into `steps` points), or random samples from a seeded
//! generator. Pure: the same space, search and seed always give the same trials, which is
//! what lets the loader declare each trial as its own task.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Number, Value};

/// How a tune task searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    Grid,
    Random,
}

impl Search {
    pub fn parse(text: &str) -> Result<Search, String> {
        match text {
            "grid" => Ok(Search::Grid),
            "random" => Ok(Search::Random),
            other => Err(format!(
                "option 'search': '{other}' is not a search; use \"grid\" or \"random\""
            )),
        }
    }
}

/// One dimension of a search space.
#[derive(Debug, Clone, PartialEq)]
enum Dimension {
    /// Listed values.
    Values(Vec<Value>),
    /// A numeric range.
    Range {
        min: f64,
        max: f64,
        log: bool,
        int: bool,
        steps: usize,
    },
}

/// A parsed search space: hyperparameter names (sorted) and their dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    dims: Vec<(String, Dimension)>,
}

fn number(map: &Map<String, Value>, key: &str, name: &str) -> Result<Option<f64>, String> {
    match map.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("option 'space.{name}.{key}' must be a number, got {v}")),
    }
}

impl Space {
    /// Parses `space`: each hyperparameter maps to a non-empty array of values, or to
    /// `#{ min, max, scale: "linear"|"log", type: "float"|"int", steps }`.
    pub fn parse(space: &Map<String, Value>) -> Result<Space, String> {
        if space.is_empty() {
            return Err("option 'space' is empty: give at least one hyperparameter, e.g. #{ alpha: [0.1, 1.0] }".into());
        }
        let mut dims = Vec::new();
        for (name, spec) in space {
            let dim = match spec {
                Value::Array(values) if values.is_empty() => {
                    return Err(format!("option 'space.{name}' is an empty list; give at least one value"))
                }
                Value::Array(values) => Dimension::Values(values.clone()),
                Value::Object(map) => {
                    let known = ["min", "max", "scale", "type", "steps"];
                    if let Some(k) = map.keys().find(|k| !known.contains(&k.as_str())) {
                        return Err(format!(
                            "unknown key '{k}' in option 'space.{name}'; a range takes: {}",
                            known.join(", ")
                        ));
                    }
                    let (Some(min), Some(max)) =
                        (number(map, "min", name)?, number(map, "max", name)?)
                    else {
                        return Err(format!("option 'space.{name}' needs both min and max"));
                    };
                    if min > max {
                        return Err(format!("option 'space.{name}': min {min} is above max {max}"));
                    }
                    let log = match map.get("scale").and_then(Value::as_str).unwrap_or("linear") {
                        "linear" => false,
                        "log" if min > 0.0 => true,
                        "log" => {
                            return Err(format!(
                                "option 'space.{name}': a log scale needs min above 0, got {min}"
                            ))
                        }
                        other => {
                            return Err(format!(
                                "option 'space.{name}.scale': '{other}' is not a scale; use \"linear\" or \"log\""
                            ))
                        }
                    };
                    let int = match map.get("type").and_then(Value::as_str).unwrap_or("float") {
                        "float" => false,
                        "int" => true,
                        other => {
                            return Err(format!(
                                "option 'space.{name}.type': '{other}' is not a type; use \"float\" or \"int\""
                            ))
                        }
                    };
                    let steps = match number(map, "steps", name)? {
                        None => 3,
                        Some(s) if s >= 1.0 && s.fract() == 0.0 => s as usize,
                        Some(s) => {
                            return Err(format!(
                                "option 'space.{name}.steps' must be a whole number of 1 or more, got {s}"
                            ))
                        }
                    };
                    Dimension::Range {
                        min,
                        max,
                        log,
                        int,
                        steps,
                    }
                }
                other => {
                    return Err(format!(
                        "option 'space.{name}' must be a list of values or #{{ min, max }}, got {other}"
                    ))
                }
            };
            dims.push((name.clone(), dim));
        }
        dims.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Space { dims })
    }

    /// The trials' hyperparameters: at most `max_trials` (default: the whole grid, or 10
    /// random samples).
    pub fn trials(
        &self,
        search: Search,
        max_trials: Option<usize>,
        seed: u64,
    ) -> Vec<Map<String, Value>> {
        match search {
            Search::Grid => {
                let axes: Vec<Vec<Value>> = self.dims.iter().map(|(_, d)| grid_axis(d)).collect();
                let total: usize = axes.iter().map(Vec::len).product();
                let n = max_trials.unwrap_or(total).min(total);
                (0..n)
                    .map(|mut index| {
                        // Last dimension varies fastest.
                        let mut trial = Map::new();
                        for ((name, _), axis) in self.dims.iter().zip(&axes).rev() {
                            trial.insert(name.clone(), axis[index % axis.len()].clone());
                            index /= axis.len();
                        }
                        trial
                    })
                    .collect()
            }
            Search::Random => {
                let mut rng = StdRng::seed_from_u64(seed);
                (0..max_trials.unwrap_or(10))
                    .map(|_| {
                        self.dims
                            .iter()
                            .map(|(name, d)| (name.clone(), sample(d, &mut rng)))
                            .collect()
                    })
                    .collect()
            }
        }
    }
}

fn to_value(x: f64, int: bool) -> Value {
    if int {
        Value::from(x.round() as i64)
    } else {
        Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

fn grid_axis(d: &Dimension) -> Vec<Value> {
    match d {
        Dimension::Values(v) => v.clone(),
        Dimension::Range {
            min,
            max,
            log,
            int,
            steps,
        } => {
            let (lo, hi) = if *log {
                (min.ln(), max.ln())
            } else {
                (*min, *max)
            };
            let mut out: Vec<Value> = (0..*steps)
                .map(|i| {
                    let t = if *steps == 1 {
                        0.0
                    } else {
                        i as f64 / (*steps - 1) as f64
                    };
                    let x = lo + t * (hi - lo);
                    to_value(if *log { x.exp() } else { x }, *int)
                })
                .collect();
            out.dedup();
            out
        }
    }
}

fn sample(d: &Dimension, rng: &mut StdRng) -> Value {
    match d {
        Dimension::Values(v) => v[rng.random_range(0..v.len())].clone(),
        Dimension::Range {
            min, max, log, int, ..
        } => {
            let (lo, hi) = if *log {
                (min.ln(), max.ln())
            } else {
                (*min, *max)
            };
            let x = if hi > lo {
                rng.random_range(lo..=hi)
            } else {
                lo
            };
            to_value(if *log { x.exp() } else { x }, *int)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn space(v: Value) -> Space {
        Space::parse(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn grid_is_the_product_in_order() {
        let s = space(json!({"b": [1, 2], "a": ["x", "y", "z"]}));
        let t = s.trials(Search::Grid, None, 0);
        assert_eq!(t.len(), 6);
        assert_eq!(Value::Object(t[0].clone()), json!({"a": "x", "b": 1}));
        assert_eq!(Value::Object(t[1].clone()), json!({"a": "x", "b": 2}));
        assert_eq!(Value::Object(t[5].clone()), json!({"a": "z", "b": 2}));
        assert_eq!(s.trials(Search::Grid, Some(4), 0).len(), 4);
        assert_eq!(s.trials(Search::Grid, Some(40), 0).len(), 6);
    }

    #[test]
    fn ranges_grid_on_their_scale() {
        let s = space(json!({"c": {"min": 0.01, "max": 1.0, "scale": "log"}}));
        let t = s.trials(Search::Grid, None, 0);
        let got: Vec<f64> = t.iter().map(|m| m["c"].as_f64().unwrap()).collect();
        assert!((got[1] - 0.1).abs() < 1e-12, "{got:?}");
        let s = space(json!({"n": {"min": 10, "max": 20, "type": "int", "steps": 2}}));
        assert_eq!(s.trials(Search::Grid, None, 0)[1]["n"], json!(20));
    }

    #[test]
    fn random_is_seeded_and_in_range() {
        let s = space(json!({"c": {"min": 0.001, "max": 10.0, "scale": "log"}, "k": [1, 2, 3]}));
        let a = s.trials(Search::Random, Some(20), 7);
        assert_eq!(a, s.trials(Search::Random, Some(20), 7));
        assert_ne!(a, s.trials(Search::Random, Some(20), 8));
        for t in &a {
            let c = t["c"].as_f64().unwrap();
            assert!((0.001..=10.0).contains(&c));
        }
        assert_eq!(s.trials(Search::Random, None, 0).len(), 10);
    }

    #[test]
    fn bad_spaces_say_what_to_fix() {
        let err = |v: Value| Space::parse(v.as_object().unwrap()).unwrap_err();
        assert!(err(json!({})).contains("empty"));
        assert!(err(json!({"a": []})).contains("space.a"));
        assert!(err(json!({"a": {"min": 2, "max": 1}})).contains("above max"));
        assert!(err(json!({"a": {"min": 0, "max": 1, "scale": "log"}})).contains("above 0"));
        assert!(err(json!({"a": {"min": 0, "max": 1, "kind": 1}})).contains("unknown key 'kind'"));
        assert!(err(json!({"a": 3})).contains("list of values"));
    }
}
