//! Settling a finished try: its `result.json` plus the protocol files (`output.json`,
//! `metrics.json`) become a [`TryOutcome`]. Bad protocol files make the outcome an error.

use crate::files::{self, TryResult};
use crate::TryOutcome;
use chrono::Utc;
use serde_json::{Map, Value};
use std::path::Path;

/// The message of a try whose process vanished without a result.
pub const LOST: &str = "the try's process was lost (scheduler restart or machine reboot)";

/// What to report when a try's process is gone and `result.json` is absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// The try was found gone after a restart: it is lost.
    Lost,
    /// Our own supervisor ended without a result; the text says how.
    SupervisorFailed(String),
}

/// Builds the outcome of the try in `try_dir`, whose process has ended. Never fails: IO
/// problems become the outcome's `error`.
pub fn settle(try_dir: &Path, missing: Missing) -> TryOutcome {
    let result = match files::read_optional(try_dir, files::RESULT) {
        Ok(Some(bytes)) => serde_json::from_slice::<TryResult>(&bytes).map_err(|e| {
            format!(
                "the try's result file {} is unreadable: {e}",
                files::path(try_dir, files::RESULT).display()
            )
        }),
        Ok(None) => {
            return match missing {
                Missing::Lost => TryOutcome {
                    lost: true,
                    ..empty(LOST.to_string())
                },
                Missing::SupervisorFailed(how) => empty(how),
            }
        }
        Err(e) => Err(format!(
            "could not read the try's result file {}: {e}",
            files::path(try_dir, files::RESULT).display()
        )),
    };
    let result = match result {
        Ok(result) => result,
        Err(error) => return empty(error),
    };
    let mut errors: Vec<String> = result.error.into_iter().collect();
    let output = match read_protocol_file(try_dir, files::OUTPUT).and_then(|b| parse_output(&b)) {
        Ok(output) => output,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let metrics = match read_protocol_file(try_dir, files::METRICS).and_then(|b| parse_metrics(&b))
    {
        Ok(metrics) => metrics,
        Err(e) => {
            errors.push(e);
            Map::new()
        }
    };
    TryOutcome {
        exit_code: result.exit_code,
        timed_out: result.timed_out,
        lost: false,
        started_at: result.started_at,
        ended_at: result.ended_at,
        output,
        metrics,
        error: (!errors.is_empty()).then(|| errors.join("; ")),
    }
}

/// An outcome with nothing but an error.
fn empty(error: String) -> TryOutcome {
    TryOutcome {
        exit_code: None,
        timed_out: false,
        lost: false,
        started_at: None,
        ended_at: Utc::now(),
        output: None,
        metrics: Map::new(),
        error: Some(error),
    }
}

/// A protocol file's bytes; empty when the task did not write it.
fn read_protocol_file(try_dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    files::read_optional(try_dir, name)
        .map(Option::unwrap_or_default)
        .map_err(|e| {
            format!(
                "could not read {}: {e}",
                files::path(try_dir, name).display()
            )
        })
}

/// What the task wrote to `$CAMBIUM_OUTPUT`: any JSON value; nothing (or only
/// whitespace) is no output.
pub fn parse_output(bytes: &[u8]) -> Result<Option<Value>, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| format!("CAMBIUM_OUTPUT must hold one JSON value; it is not valid JSON: {e}"))
}

/// What the task wrote to `$CAMBIUM_METRICS`: a flat JSON object whose values are
/// numbers; nothing is no metrics.
pub fn parse_metrics(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    const EXPECTED: &str = "CAMBIUM_METRICS must be a flat JSON object of numbers";
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("{EXPECTED}; it is not valid JSON: {e}"))?;
    let Value::Object(map) = value else {
        return Err(format!("{EXPECTED}; it is {}", kind_of(&value)));
    };
    if let Some((key, value)) = map.iter().find(|(_, v)| !v.is_number()) {
        return Err(format!("{EXPECTED}; '{key}' is {}", kind_of(value)));
    }
    Ok(map)
}

/// A JSON value's kind with its article, for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn output_is_any_json_value_or_nothing() {
        assert_eq!(parse_output(b""), Ok(None));
        assert_eq!(parse_output(b" \n"), Ok(None));
        assert_eq!(parse_output(b"{\"a\": 1}\n"), Ok(Some(json!({"a": 1}))));
        assert_eq!(parse_output(b"3"), Ok(Some(json!(3))));
        let err = parse_output(b"{nope").expect_err("invalid");
        assert!(
            err.starts_with("CAMBIUM_OUTPUT must hold one JSON value"),
            "{err}"
        );
    }

    #[test]
    fn metrics_must_be_a_flat_object_of_numbers() {
        assert_eq!(parse_metrics(b""), Ok(Map::new()));
        let ok = parse_metrics(b"{\"rmse\": 0.5, \"n\": 3}").expect("ok");
        assert_eq!(Value::Object(ok), json!({"rmse": 0.5, "n": 3}));
        assert_eq!(
            parse_metrics(b"{\"rmse\": 0.5, \"x\": \"a\"}"),
            Err("CAMBIUM_METRICS must be a flat JSON object of numbers; 'x' is a string".into())
        );
        assert_eq!(
            parse_metrics(b"{\"x\": {\"y\": 1}}"),
            Err("CAMBIUM_METRICS must be a flat JSON object of numbers; 'x' is an object".into())
        );
        assert_eq!(
            parse_metrics(b"[1]"),
            Err("CAMBIUM_METRICS must be a flat JSON object of numbers; it is an array".into())
        );
        assert!(parse_metrics(b"{")
            .expect_err("bad")
            .contains("not valid JSON"));
    }

    #[test]
    fn settle_reads_result_and_protocol_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let result = TryResult {
            exit_code: Some(0),
            signal: None,
            timed_out: false,
            killed: false,
            started_at: Some(Utc::now()),
            ended_at: Utc::now(),
            error: None,
        };
        let bytes = serde_json::to_vec(&result).expect("json");
        files::write_atomic(dir.path(), files::RESULT, &bytes).expect("write");
        std::fs::write(dir.path().join(files::OUTPUT), "{\"best\": 1}").expect("write");
        std::fs::write(dir.path().join(files::METRICS), "{\"x\": \"a\"}").expect("write");
        let outcome = settle(dir.path(), Missing::Lost);
        assert_eq!(outcome.exit_code, Some(0));
        assert_eq!(outcome.output, Some(json!({"best": 1})));
        assert!(outcome.metrics.is_empty());
        assert_eq!(
            outcome.error.as_deref(),
            Some("CAMBIUM_METRICS must be a flat JSON object of numbers; 'x' is a string")
        );
        assert!(!outcome.lost);
    }

    #[test]
    fn missing_result_is_lost_or_a_supervisor_failure() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lost = settle(dir.path(), Missing::Lost);
        assert!(lost.lost);
        assert_eq!(lost.exit_code, None);
        assert_eq!(lost.error.as_deref(), Some(LOST));
        let failed = settle(dir.path(), Missing::SupervisorFailed("it crashed".into()));
        assert!(!failed.lost);
        assert_eq!(failed.error.as_deref(), Some("it crashed"));
        std::fs::write(dir.path().join(files::RESULT), "{").expect("write");
        let bad = settle(dir.path(), Missing::Lost);
        assert!(bad.error.expect("error").contains("unreadable"));
    }
}
