//! A DAG's declared `params` and the check of a run's `conf` against them, as Airflow's
//! `Param`: a plain default (`rows: 200`) accepts values of the default's JSON type; a full
//! declaration (`#{ "default": 3, type: "integer", min: 1, max: 10 }` in Rhai, which
//! reserves the word `default`) may also name the
//! accepted types, an `enum`, bounds and a `pattern`. A run's `conf` may only name declared
//! params; a value that does not fit is refused with a sentence naming the key.

use regex_automata::meta::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The keys of a full param declaration.
pub const DECLARATION_KEYS: &[&str] = &[
    "default",
    "type",
    "enum",
    "min",
    "max",
    "pattern",
    "description",
];

/// The JSON types a param may declare.
pub const TYPES: &[&str] = &[
    "string", "integer", "number", "boolean", "array", "object", "null",
];

/// What a run's `conf` may set one param to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    /// Accepted JSON types (`string`, `integer`, `number`, `boolean`, `array`, `object`,
    /// `null`); an `integer` is also a `number`.
    pub types: Vec<String>,
    /// When set, the value must be one of these.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "enum")]
    pub allowed: Option<Vec<Value>>,
    /// Lower bound: of a number's value, a string's length in characters, an array's length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Upper bound, as `min`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// A regular expression a string value must match (unanchored, as in JSON Schema:
    /// write `^...$` to match the whole value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The JSON type name of `value` (`integer` for whole numbers).
pub fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn has_type(value: &Value, ty: &str) -> bool {
    match ty {
        "integer" => match value {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        },
        "number" => value.is_number(),
        other => type_of(value) == other,
    }
}

fn a_or_an(ty: &str) -> String {
    if ty.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {ty}")
    } else {
        format!("a {ty}")
    }
}

impl ParamSpec {
    /// The spec of a param declared by its default alone: the default's JSON type (a
    /// whole-number default is an `integer`, any other number a `number`).
    pub fn inferred(default: &Value) -> ParamSpec {
        ParamSpec {
            types: vec![type_of(default).to_string()],
            ..ParamSpec::default()
        }
    }

    /// Parses a full declaration (a map whose keys are among [`DECLARATION_KEYS`]); returns
    /// the default and the spec, or a sentence saying what to fix.
    pub fn declared(decl: &Map<String, Value>) -> Result<(Value, ParamSpec), String> {
        if let Some(key) = decl
            .keys()
            .find(|k| !DECLARATION_KEYS.contains(&k.as_str()))
        {
            return Err(format!(
                "'{key}' is not a param declaration key; use: {}",
                DECLARATION_KEYS.join(", ")
            ));
        }
        let default = decl.get("default").cloned().unwrap_or(Value::Null);
        let types = match decl.get("type") {
            None => vec![type_of(&default).to_string()],
            Some(Value::String(t)) => vec![t.clone()],
            Some(Value::Array(ts)) => ts
                .iter()
                .map(|t| {
                    t.as_str()
                        .map(str::to_string)
                        .ok_or("'type' must be a string or an array of strings".to_string())
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("'type' must be a string or an array of strings".into()),
        };
        if types.is_empty() {
            return Err("'type' names no type".into());
        }
        if let Some(t) = types.iter().find(|t| !TYPES.contains(&t.as_str())) {
            return Err(format!(
                "'{t}' is not a param type; use one of: {}",
                TYPES.join(", ")
            ));
        }
        let number = |key: &str| -> Result<Option<f64>, String> {
            match decl.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_f64()
                    .map(Some)
                    .ok_or_else(|| format!("'{key}' must be a number")),
            }
        };
        let min = number("min")?;
        let max = number("max")?;
        if let (Some(lo), Some(hi)) = (min, max) {
            if lo > hi {
                return Err(format!("'min' ({lo}) is greater than 'max' ({hi})"));
            }
        }
        let pattern = match decl.get("pattern") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => {
                Regex::new(p).map_err(|e| format!("'pattern' is not a regular expression: {e}"))?;
                Some(p.clone())
            }
            Some(_) => return Err("'pattern' must be a string".into()),
        };
        let allowed = match decl.get("enum") {
            None | Some(Value::Null) => None,
            Some(Value::Array(values)) if !values.is_empty() => Some(values.clone()),
            Some(_) => return Err("'enum' must be a non-empty array of the allowed values".into()),
        };
        let description = decl
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string);
        let spec = ParamSpec {
            types,
            allowed,
            min,
            max,
            pattern,
            description,
        };
        if let Some(values) = &spec.allowed {
            for v in values {
                spec.check(v)
                    .map_err(|e| format!("'enum' value {v}: {e}"))?;
            }
        }
        spec.check(&default)
            .map_err(|e| format!("the default {default}: {e}"))?;
        Ok((default, spec))
    }

    /// Whether `value` fits; the error says why not (without the key).
    pub fn check(&self, value: &Value) -> Result<(), String> {
        if !self.types.iter().any(|t| has_type(value, t)) {
            let wanted: Vec<String> = self.types.iter().map(|t| a_or_an(t)).collect();
            return Err(format!(
                "must be {}, not {}",
                wanted.join(" or "),
                a_or_an(type_of(value))
            ));
        }
        if let Some(allowed) = &self.allowed {
            if !allowed.iter().any(|a| same_value(a, value)) {
                let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
                return Err(format!("must be one of {}", list.join(", ")));
            }
        }
        let (measure, what) = match value {
            Value::Number(n) => (n.as_f64(), "be"),
            Value::String(s) => (Some(s.chars().count() as f64), "have a length"),
            Value::Array(a) => (Some(a.len() as f64), "have a length"),
            _ => (None, ""),
        };
        if let Some(m) = measure {
            if let Some(lo) = self.min.filter(|lo| m < *lo) {
                return Err(format!("must {what} of at least {lo}"));
            }
            if let Some(hi) = self.max.filter(|hi| m > *hi) {
                return Err(format!("must {what} of at most {hi}"));
            }
        }
        if let (Some(pattern), Value::String(s)) = (&self.pattern, value) {
            let matches = Regex::new(pattern).is_ok_and(|re| re.is_match(s));
            if !matches {
                return Err(format!("must match the pattern {pattern:?}"));
            }
        }
        Ok(())
    }
}

/// Equal as JSON, with `1` and `1.0` equal.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Whether a param's map value is a full declaration rather than a map default: a map with
/// a `default` key (a map default that has a `default` key of its own is declared in full:
/// `#{ default: #{ default: 1 } }`).
pub fn is_declaration(value: &Value) -> bool {
    value.as_object().is_some_and(|m| m.contains_key("default"))
}

/// Checks a run's `conf` against the DAG's params (`declared` holds the full declarations;
/// params without one accept their default's JSON type). The error names the key and says
/// what to send instead.
pub fn check_conf(
    dag_id: &str,
    defaults: &Map<String, Value>,
    declared: &std::collections::BTreeMap<String, ParamSpec>,
    conf: &Map<String, Value>,
) -> Result<(), String> {
    for (key, value) in conf {
        let spec = match (declared.get(key), defaults.get(key)) {
            (Some(spec), _) => spec.clone(),
            (None, Some(default)) => ParamSpec::inferred(default),
            (None, None) => {
                let known: Vec<&str> = defaults.keys().map(String::as_str).collect();
                return Err(format!(
                    "conf key '{key}' is not a param of DAG '{dag_id}'; {}",
                    if known.is_empty() {
                        "it declares no params".to_string()
                    } else {
                        format!("its params are: {}", known.join(", "))
                    }
                ));
            }
        };
        spec.check(value)
            .map_err(|e| format!("conf key '{key}' of DAG '{dag_id}' {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("an object")
    }

    #[test]
    fn plain_defaults_accept_their_json_type_only() {
        let defaults = obj(json!({"rows": 200, "min_accuracy": 0.6, "name": "x"}));
        let none = BTreeMap::new();
        let ok = obj(json!({"rows": 5, "min_accuracy": 1, "name": "y"}));
        assert_eq!(check_conf("d", &defaults, &none, &ok), Ok(()));
        let e = check_conf(
            "d",
            &defaults,
            &none,
            &obj(json!({"min_accuracy": "0.5' ; id > /tmp/x; #"})),
        )
        .expect_err("a string for a number");
        assert!(
            e.contains("'min_accuracy'") && e.contains("must be a number"),
            "{e}"
        );
        let e = check_conf("d", &defaults, &none, &obj(json!({"rows": "1e12"})))
            .expect_err("a string for an integer");
        assert!(e.contains("'rows'") && e.contains("an integer"), "{e}");
        let e = check_conf("d", &defaults, &none, &obj(json!({"rowz": 1}))).expect_err("unknown");
        assert!(
            e.contains("'rowz' is not a param") && e.contains("rows"),
            "{e}"
        );
    }

    #[test]
    fn declarations_bound_values() {
        let (default, spec) = ParamSpec::declared(&obj(json!({
            "default": 3, "type": "integer", "min": 1, "max": 10, "description": "n"
        })))
        .expect("valid");
        assert_eq!(default, json!(3));
        assert!(spec.check(&json!(10)).is_ok());
        assert!(spec.check(&json!(11)).is_err());
        assert!(spec.check(&json!(0)).is_err());
        assert!(spec.check(&json!(2.5)).is_err());

        let (_, spec) = ParamSpec::declared(&obj(json!({
            "default": "a.csv", "pattern": "^[A-Za-z0-9_./-]+$", "max": 100
        })))
        .expect("valid");
        assert!(spec.check(&json!("data/b.csv")).is_ok());
        assert!(spec.check(&json!("a; id")).is_err());
        assert!(spec.check(&json!("x".repeat(101))).is_err());

        let (_, spec) = ParamSpec::declared(&obj(json!({
            "default": "eu", "enum": ["eu", "us"]
        })))
        .expect("valid");
        assert!(spec.check(&json!("us")).is_ok());
        let e = spec.check(&json!("mars")).expect_err("not in enum");
        assert!(e.contains("one of"), "{e}");

        let (_, spec) = ParamSpec::declared(&obj(json!({
            "default": null, "type": ["null", "string"]
        })))
        .expect("valid");
        assert!(spec.check(&json!("s")).is_ok() && spec.check(&json!(null)).is_ok());
    }

    #[test]
    fn bad_declarations_say_what_to_fix() {
        for (decl, needle) in [
            (json!({"default": 1, "type": "int"}), "not a param type"),
            (json!({"default": "x", "type": "integer"}), "the default"),
            (json!({"default": 1, "min": 5, "max": 2}), "greater than"),
            (
                json!({"default": "x", "pattern": "("}),
                "regular expression",
            ),
            (json!({"default": 9, "enum": [1, 2]}), "one of"),
            (json!({"default": 1, "enum": []}), "non-empty"),
            (
                json!({"default": 1, "maximum": 2}),
                "not a param declaration key",
            ),
        ] {
            let e = ParamSpec::declared(&obj(decl.clone())).expect_err("invalid");
            assert!(e.contains(needle), "{decl}: {e}");
        }
    }

    #[test]
    fn declarations_are_told_from_map_defaults() {
        assert!(is_declaration(&json!({"default": 1, "type": "integer"})));
        assert!(is_declaration(&json!({"default": 1, "maximum": 2})));
        assert!(!is_declaration(&json!({"lr": 0.1, "depth": 3})));
        assert!(!is_declaration(&json!(3)));
    }
}
