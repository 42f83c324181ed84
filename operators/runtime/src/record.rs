//! Around every operator: the cache look-up (`cache: true`), recording the execution with
//! its inputs (the artifacts of the upstream tasks its options name) and outputs in one
//! transaction, and the task output that downstream tasks see (`artifacts` plus the
//! operator's own fields).

use crate::artifacts::{artifacts_of_output, ArtifactRef};
use crate::context::{fail, Call, OpError, Outcome, Runtime};
use crate::ops;
use cambium_operators::catalog::TASK_REFERENCES;
use cambium_store::{NewArtifact, NewExecution};
use chrono::Utc;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// What an operator made.
#[derive(Debug, Default)]
pub struct Produced {
    /// Artifacts written (their files are complete in the store already).
    pub outputs: Vec<NewArtifact>,
    /// The operator's own output fields (besides `artifacts`).
    pub result: Map<String, Value>,
    /// Numbers recorded as the task's metrics.
    pub metrics: Map<String, Value>,
    /// The task ends `skipped` (exit 99).
    pub skipped: bool,
    /// A sentence for the log.
    pub message: Option<String>,
    /// The task fails after recording what it found (a validator's anomalies).
    pub fail_after_record: Option<String>,
    /// A sensor whose condition does not hold yet: poke again after this long, without
    /// holding an executor slot meanwhile (nothing is recorded for such a poke).
    pub reschedule_after: Option<std::time::Duration>,
}

/// The version of each built-in operator's behaviour; part of every cache key.
pub fn operator_version(operator: &str) -> String {
    format!("cambium-{}/{operator}/1", env!("CARGO_PKG_VERSION"))
}

/// The artifacts this call reads: every artifact of every upstream task its options name,
/// with the option as the role.
pub fn input_refs(call: &Call) -> Vec<(String, ArtifactRef)> {
    let mut out = Vec::new();
    let mut add = |role: String, task: &str| {
        if let Some(output) = call.upstream.get(task) {
            for a in artifacts_of_output(output) {
                out.push((role.clone(), a));
            }
        }
    };
    for key in TASK_REFERENCES {
        match call.options.get(key) {
            Some(Value::String(task)) => add(key.to_string(), task),
            Some(Value::Object(map)) if key == "inputs" => {
                for (role, v) in map {
                    if let Value::String(task) = v {
                        add(format!("inputs.{role}"), task);
                    }
                }
            }
            _ => {}
        }
    }
    if call.operator == "tune" {
        if let Some(trials) = call.options.get("trials").and_then(Value::as_array) {
            for t in trials.iter().filter_map(Value::as_str) {
                add("trial".to_string(), t);
            }
        }
    }
    out
}

/// sha256 over the operator, its version, the rendered options (keys sorted, as serde_json
/// maps are) and the inputs' fingerprints.
pub fn cache_key(call: &Call, inputs: &[(String, ArtifactRef)]) -> String {
    let mut h = Sha256::new();
    h.update(call.operator.as_bytes());
    h.update([0]);
    h.update(operator_version(&call.operator).as_bytes());
    h.update([0]);
    h.update(Value::Object(call.options.clone()).to_string().as_bytes());
    let mut prints: Vec<String> = inputs
        .iter()
        .map(|(role, a)| format!("{role}={}", a.fingerprint))
        .collect();
    prints.sort();
    for p in prints {
        h.update([0]);
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

fn output_of(
    result: &Map<String, Value>,
    recorded: &[cambium_store::ArtifactRecord],
) -> Map<String, Value> {
    let mut output = result.clone();
    let artifacts: Map<String, Value> = recorded
        .iter()
        .map(|a| {
            (
                a.name.clone(),
                serde_json::to_value(ArtifactRef::from(a)).unwrap_or(Value::Null),
            )
        })
        .collect();
    output.insert("artifacts".into(), Value::Object(artifacts));
    output
}

/// Runs the call (or reuses a cached execution) and records it.
pub async fn run_recorded(rt: &Runtime, call: &Call) -> Result<Outcome, OpError> {
    let started = Utc::now();
    let inputs = input_refs(call);
    let input_ids: Vec<(String, i64)> = inputs.iter().map(|(r, a)| (r.clone(), a.id)).collect();
    let key = cache_key(call, &inputs);
    let version = operator_version(&call.operator);
    let execution =
        |cache_key: String, cached_from: Option<i64>, result: &Map<String, Value>| NewExecution {
            dag_id: call.dag_id.clone(),
            run_id: call.run_id.clone(),
            task_id: call.task_id.clone(),
            try_number: call.try_number,
            operator: call.operator.clone(),
            operator_version: version.clone(),
            options: serde_json::json!({
                "rendered": Value::Object(call.options.clone()),
                "result": Value::Object(result.clone()),
            }),
            cache_key,
            cached_from,
            started,
            ended: Utc::now(),
        };

    // A deploy always registers anew: reusing an earlier push would skip the registration.
    if call.cache && call.operator != "deploy" {
        if let Some((earlier, artifacts)) = rt
            .store
            .find_cached_execution(&call.operator, &version, &key)
            .await?
        {
            let result = earlier
                .options
                .get("result")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let copies: Vec<NewArtifact> = artifacts
                .iter()
                .map(|a| NewArtifact {
                    kind: a.kind.clone(),
                    name: a.name.clone(),
                    uri: a.uri.clone(),
                    fingerprint: a.fingerprint.clone(),
                    properties: a.properties.clone(),
                })
                .collect();
            let mut result = result;
            result.insert("cached_from".into(), Value::from(earlier.id));
            let (_, recorded) = rt
                .store
                .record_execution(
                    &execution(key.clone(), Some(earlier.id), &result),
                    &input_ids,
                    &copies,
                )
                .await?;
            let metrics = result
                .get("metrics")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            return Ok(Outcome {
                skipped: result.get("skipped").and_then(Value::as_bool) == Some(true),
                message: Some(format!(
                    "cache: reused the outputs of execution {} (run {}, task {}) with identical options and inputs",
                    earlier.id, earlier.run_id, earlier.task_id
                )),
                output: output_of(&result, &recorded),
                metrics,
                reschedule_after: None,
            });
        }
    }

    let mut produced = ops::run(rt, call).await?;
    if let Some(after) = produced.reschedule_after {
        return Ok(Outcome {
            message: produced.message,
            reschedule_after: Some(after),
            ..Outcome::default()
        });
    }
    if produced.skipped {
        produced.result.insert("skipped".into(), Value::Bool(true));
    }
    if !produced.metrics.is_empty() {
        produced
            .result
            .insert("metrics".into(), Value::Object(produced.metrics.clone()));
    }
    // A failed execution is recorded for lineage but never found by the cache.
    let recorded_key = match produced.fail_after_record {
        Some(_) => format!("failed:{key}"),
        None => key,
    };
    let (_, recorded) = rt
        .store
        .record_execution(
            &execution(recorded_key, None, &produced.result),
            &input_ids,
            &produced.outputs,
        )
        .await?;
    if let Some(message) = produced.fail_after_record {
        return Err(fail(message));
    }
    Ok(Outcome {
        skipped: produced.skipped,
        message: produced.message,
        output: output_of(&produced.result, &recorded),
        metrics: produced.metrics,
        reschedule_after: None,
    })
}
