//! `cambium task operator <try_dir>`: the process of one try of a built-in operator. Reads
//! the operator's invocation from the try's `spec.json`, runs it (cambium-runtime), and
//! speaks the task protocol: the output to `$CAMBIUM_OUTPUT`, metrics to `$CAMBIUM_METRICS`,
//! exit 0 (success), 99 (skipped) or 1 (failed, with the reason on stderr, i.e. the log).
//! Its environment was built by the scheduler: the home, the DAGs folder, the database URL,
//! the object stores and only the connections the operator names (`CAMBIUM_CONN_<NAME>`).

use crate::cli::Global;
use crate::context::Ctx;
use crate::error::{CliError, CmdResult};
use cambium_executor::TryRequest;
use cambium_operators::invocation::Invocation;
use cambium_runtime::Runtime;
use serde_json::Value;
use std::path::Path;

pub async fn run(global: Global, try_dir: &Path) -> CmdResult<i32> {
    let spec_path = try_dir.join("spec.json");
    let text = std::fs::read(&spec_path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", spec_path.display())))?;
    let request: TryRequest = serde_json::from_slice(&text)
        .map_err(|e| CliError::usage(format!("{} is not a try spec: {e}", spec_path.display())))?;
    let invocation: Invocation = request
        .operator
        .clone()
        .ok_or_else(|| CliError::usage(format!("{} names no operator", spec_path.display())))
        .and_then(|v| {
            serde_json::from_value(v).map_err(|e| {
                CliError::usage(format!(
                    "the operator in {} cannot be read: {e}",
                    spec_path.display()
                ))
            })
        })?;
    let ctx = Ctx::open(global).await?;
    let artifacts_dir = ctx.home.root().join("artifacts");
    let stores = cambium_data::Stores::new(ctx.config.stores.clone(), artifacts_dir)
        .map_err(|e| CliError::usage(e.to_string()))?;
    // Only the connections this operator names (its environment carries those as
    // CAMBIUM_CONN_<NAME>; `cambium.toml` may list more).
    let named = invocation.connections();
    let connections = ctx
        .config
        .connections
        .iter()
        .filter(|(k, _)| named.contains(k))
        .map(|(k, v)| (k.clone(), v.expose().to_string()))
        .collect();
    let scratch = try_dir.join("scratch");
    std::fs::create_dir_all(&scratch)
        .map_err(|e| CliError::usage(format!("cannot create {}: {e}", scratch.display())))?;
    let rt = Runtime {
        store: ctx.store.clone(),
        stores,
        connections,
        scratch: scratch.clone(),
        dags_folder: Some(ctx.global.dags.clone()),
    };
    eprintln!(
        "running operator '{}' for task '{}' (try {})",
        invocation.operator, invocation.task_id, invocation.try_number
    );
    let result = cambium_runtime::run(&rt, &invocation).await;
    let _ = std::fs::remove_dir_all(&scratch);
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(1);
        }
    };
    if let Some(message) = &outcome.message {
        eprintln!("{message}");
    }
    if let Some(after) = outcome.reschedule_after {
        // Exit 98: not yet; the scheduler frees the slot and pokes again after the delay.
        let after_ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
        write_json(
            &request,
            "CAMBIUM_OUTPUT",
            &serde_json::json!({ "poke_after_ms": after_ms }),
        )?;
        return Ok(98);
    }
    let write = |var: &str, value: &Value| write_json(&request, var, value);
    write("CAMBIUM_OUTPUT", &Value::Object(outcome.output))?;
    let metrics: serde_json::Map<String, Value> = outcome
        .metrics
        .into_iter()
        .filter(|(_, v)| v.is_number())
        .collect();
    write("CAMBIUM_METRICS", &Value::Object(metrics))?;
    Ok(if outcome.skipped { 99 } else { 0 })
}

/// Writes a protocol file (`CAMBIUM_OUTPUT`, `CAMBIUM_METRICS`) of this try.
fn write_json(request: &TryRequest, var: &str, value: &Value) -> CmdResult {
    if let Some(path) = request.env.get(var) {
        let text = serde_json::to_vec(value)
            .map_err(|e| CliError::failed(format!("cannot encode {var}: {e}")))?;
        std::fs::write(path, text)
            .map_err(|e| CliError::failed(format!("cannot write {path}: {e}")))?;
    }
    Ok(())
}
