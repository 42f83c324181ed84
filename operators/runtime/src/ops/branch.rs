//! The `branch` operator: follows `then` when its rendered condition holds, else `else`;
//! the engine skips the other direct downstream tasks (see the scheduler's plan).

use crate::context::{fail, Call, OpError};
use crate::record::Produced;
use serde_json::Value;

/// Whether a rendered condition holds: `true`, `yes`, `1`, `on` (any case) do; `false`,
/// `no`, `0`, `off`, `none` and the empty string don't; anything else is an error.
pub fn truthy(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Ok(true),
        "false" | "no" | "0" | "off" | "none" | "" => Ok(false),
        other => Err(format!(
            "option 'condition' rendered to '{other}', which is neither true nor false; render true/false (e.g. \"{{{{ outputs.evaluate.blessed }}}}\")"
        )),
    }
}

fn tasks(call: &Call, key: &str) -> Vec<Value> {
    match call.options.get(key) {
        Some(Value::String(s)) => vec![Value::String(s.clone())],
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    }
}

pub fn run(call: &Call) -> Result<Produced, OpError> {
    let condition = match call.options.get("condition") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => truthy(s).map_err(fail)?,
        Some(other) => truthy(&other.to_string()).map_err(fail)?,
        None => return Err(fail("option 'condition' is required")),
    };
    let follow = tasks(call, if condition { "then" } else { "else" });
    let mut produced = Produced::default();
    produced
        .result
        .insert("condition".into(), Value::Bool(condition));
    produced
        .result
        .insert("follow".into(), Value::Array(follow.clone()));
    produced.message = Some(format!(
        "condition is {condition}: following {}",
        if follow.is_empty() {
            "no task".to_string()
        } else {
            follow
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        }
    ));
    Ok(produced)
}

#[cfg(test)]
mod tests {
    use super::truthy;

    #[test]
    fn conditions_read_like_booleans() {
        assert_eq!(truthy(" True "), Ok(true));
        assert_eq!(truthy("0"), Ok(false));
        assert_eq!(truthy(""), Ok(false));
        assert!(truthy("maybe").unwrap_err().contains("'maybe'"));
    }
}
