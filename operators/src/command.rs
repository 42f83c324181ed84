//! The `command` operator: turns a task's rendered options into the process to run.

use serde_json::{Map, Value};

/// From rendered options: `cmd` as a string runs as `["sh", "-c", cmd]`; `cmd` as an array
/// of strings runs as that argv (it must not be empty). Returns the argv and the optional
/// `cwd`. Errors name the option and say what is expected.
pub fn command_argv(options: &Map<String, Value>) -> Result<(Vec<String>, Option<String>), String> {
    let argv = match options.get("cmd") {
        None | Some(Value::Null) => {
            return Err("option 'cmd' is required: a command string or an array of strings".into())
        }
        Some(Value::String(cmd)) => {
            if cmd.trim().is_empty() {
                return Err("option 'cmd' must not be empty".into());
            }
            vec!["sh".to_string(), "-c".to_string(), cmd.clone()]
        }
        Some(Value::Array(items)) => {
            if items.is_empty() {
                return Err(
                    "option 'cmd' must not be an empty array: give the program and its arguments"
                        .into(),
                );
            }
            let mut argv = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) => argv.push(s.clone()),
                    other => {
                        return Err(format!(
                            "option 'cmd[{i}]' must be a string, not {}",
                            kind_of(other)
                        ))
                    }
                }
            }
            if argv[0].is_empty() {
                return Err("option 'cmd[0]' (the program) must not be empty".into());
            }
            argv
        }
        Some(other) => {
            return Err(format!(
                "option 'cmd' must be a string or an array of strings, not {}",
                kind_of(other)
            ))
        }
    };
    let cwd = match options.get("cwd") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => {
            return Err("option 'cwd' must not be empty: give a folder path".into())
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(format!(
                "option 'cwd' must be a string (a folder path), not {}",
                kind_of(other)
            ))
        }
    };
    Ok((argv, cwd))
}

/// A JSON value's kind with its article, for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn string_runs_with_sh() {
        let (argv, cwd) = command_argv(&opts(json!({"cmd": "echo hi && true"}))).expect("ok");
        assert_eq!(argv, ["sh", "-c", "echo hi && true"]);
        assert_eq!(cwd, None);
    }

    #[test]
    fn array_runs_as_argv_with_cwd() {
        let (argv, cwd) = command_argv(&opts(
            json!({"cmd": ["python", "-m", "train"], "cwd": "/tmp"}),
        ))
        .expect("ok");
        assert_eq!(argv, ["python", "-m", "train"]);
        assert_eq!(cwd.as_deref(), Some("/tmp"));
    }

    #[test]
    fn errors_name_the_option() {
        let err = |v| command_argv(&opts(v)).expect_err("error");
        assert!(err(json!({})).contains("option 'cmd' is required"));
        assert!(err(json!({"cmd": ""})).contains("must not be empty"));
        assert!(err(json!({"cmd": []})).contains("empty array"));
        assert_eq!(
            err(json!({"cmd": ["a", 3]})),
            "option 'cmd[1]' must be a string, not a number"
        );
        assert_eq!(
            err(json!({"cmd": 5})),
            "option 'cmd' must be a string or an array of strings, not a number"
        );
        assert_eq!(
            err(json!({"cmd": "x", "cwd": ["a"]})),
            "option 'cwd' must be a string (a folder path), not an array"
        );
        assert!(err(json!({"cmd": [""]})).contains("cmd[0]"));
    }
}
