//! `cambium models predict NAME [--version V] < rows.jsonl`: one JSON object per input row
//! (`prediction`, and `probabilities` for classifiers), through the serving code the HTTP
//! predict route shares (`cambium_runtime::serving`): the version's fitted transform, then
//! its model.

use crate::context::Ctx;
use crate::error::{CliError, CmdResult};
use serde_json::{Map, Value};
use std::io::{BufRead, Write};

/// Rows are predicted in batches of this many (memory stays flat for long inputs).
const BATCH: usize = 1024;

pub async fn run(ctx: &Ctx, name: &str, version: Option<i64>) -> CmdResult<i32> {
    let (_, predictor) = cambium_runtime::serving::load_predictor(&ctx.store, name, version)
        .await
        .map_err(|e| CliError::usage(e.to_string()))?;
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut batch: Vec<Map<String, Value>> = Vec::new();
    let mut first_line = 1usize;
    let mut flush = |batch: &mut Vec<Map<String, Value>>, first: usize| -> CmdResult {
        if batch.is_empty() {
            return Ok(());
        }
        // Whatever a row holds is the caller's input: every error here is bad input (2).
        let predictions = predictor.predict_rows(batch).map_err(|e| {
            CliError::usage(format!(
                "{e} (rows are counted from line {first} of the input, from 0); {}",
                row_hint(&predictor)
            ))
        })?;
        for p in predictions {
            let line = serde_json::to_string(&p)
                .map_err(|e| CliError::failed(format!("cannot print a prediction: {e}")))?;
            if writeln!(out, "{line}").is_err() {
                return Ok(()); // a closed pipe (`| head`) ends quietly
            }
        }
        batch.clear();
        Ok(())
    };
    for (i, line) in stdin.lock().lines().enumerate() {
        let line = line.map_err(|e| CliError::usage(format!("cannot read the input rows: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let row: Map<String, Value> = serde_json::from_str(&line).map_err(|e| {
            CliError::usage(format!(
                "line {} of the input is not a JSON object ({e}); {}",
                i + 1,
                row_hint(&predictor)
            ))
        })?;
        if batch.is_empty() {
            first_line = i + 1;
        }
        batch.push(row);
        if batch.len() >= BATCH {
            flush(&mut batch, first_line)?;
        }
    }
    flush(&mut batch, first_line)?;
    let _ = out.flush();
    Ok(0)
}

/// What a row must hold, with an example line this model accepts: every feature it reads,
/// with a value of the feature's type.
pub fn row_hint(predictor: &cambium_models::Predictor) -> String {
    use cambium_ml::ColumnType;
    let mut example = Map::new();
    let mut names = Vec::new();
    for input in predictor.transform.input_features() {
        names.push(format!("{} ({})", input.name, input.column_type));
        let value = match input.column_type {
            ColumnType::Int => Value::from(1),
            ColumnType::Float => Value::from(1.5),
            ColumnType::Bool => Value::from(true),
            ColumnType::Str => Value::from("text"),
        };
        example.insert(input.name.clone(), value);
    }
    if names.is_empty() {
        return "give one JSON object per line, e.g. {}".to_string();
    }
    format!(
        "give one JSON object per line with the model's features: {}; e.g. {}",
        names.join(", "),
        Value::Object(example)
    )
}
