//! `statistics_gen`, `schema_gen` and `example_validator`: describe the data, infer (or load)
//! what it should look like, and stop the pipeline when it does not (anomalies, drift
//! against the previous span).

use crate::artifacts::{self, input_of, new_artifact, of_kind, ArtifactRef};
use crate::context::{fail, Call, OpError, Runtime};
use crate::record::Produced;
use cambium_ml::{infer_schema_from, validate, DriftConfig, InferOptions, Schema, SplitStatistics};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// `statistics_gen`: statistics of every split of the input Examples (or of a Dataset, as
/// split `all`).
pub async fn statistics_gen(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    let (task, refs) = input_of(call, "input")?;
    let inputs = of_kind(&refs, &["Examples", "Dataset"], "input", &task)?;
    let mut tables = Vec::new();
    for input in &inputs {
        let name = if input.kind == "Dataset" {
            "all"
        } else {
            input.name.as_str()
        };
        tables.push((name.to_string(), artifacts::read_table(input).await?));
    }
    let stats = SplitStatistics::compute(tables.iter().map(|(n, t)| (n.as_str(), t)));
    let (uri, print) = artifacts::write_json(rt, call, "statistics.json", &stats).await?;
    let mut produced = Produced::default();
    let rows: serde_json::Map<String, Value> = stats
        .splits
        .iter()
        .map(|(n, s)| (n.clone(), Value::from(s.num_rows)))
        .collect();
    let features = stats
        .splits
        .values()
        .next()
        .map(|s| s.features.len())
        .unwrap_or(0);
    produced.outputs.push(new_artifact(
        "Statistics",
        "statistics",
        &uri,
        &print,
        json!({"splits": rows, "features": features}),
    ));
    produced.result.insert("splits".into(), Value::Object(rows));
    produced
        .result
        .insert("features".into(), Value::from(features));
    Ok(produced)
}

/// The statistics a Statistics artifact holds.
async fn load_statistics(a: &ArtifactRef) -> Result<SplitStatistics, OpError> {
    artifacts::read_json(&a.uri, "the statistics").await
}

/// The split whose statistics describe the data best: `train`, else `all`, else the first.
fn main_split(stats: &SplitStatistics) -> Option<(&String, &cambium_ml::DatasetStatistics)> {
    stats
        .splits
        .get_key_value("train")
        .or_else(|| stats.splits.get_key_value("all"))
        .or_else(|| stats.splits.iter().next())
}

/// `schema_gen`: infers a schema from the statistics of every split of the input (types,
/// presence, domains; ranges with `infer_ranges`), or loads `schema_file`.
pub async fn schema_gen(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    // An empty `schema_file` (a param left blank) means "infer".
    let file = call.opt_str("schema_file").filter(|f| !f.trim().is_empty());
    let (schema, source) = match file {
        Some(name) => {
            // A relative path is in the DAGs folder, beside the DAG files.
            let path = match &rt.dags_folder {
                Some(dags) if std::path::Path::new(name).is_relative() => dags.join(name),
                _ => std::path::PathBuf::from(name),
            };
            let file = path.display().to_string();
            let file = file.as_str();
            let text = std::fs::read_to_string(file)
                .map_err(|e| fail(format!("option 'schema_file': cannot read {file}: {e}")))?;
            let schema = Schema::from_json(&text)
                .map_err(|e| fail(format!("option 'schema_file' ({file}): {e}")))?;
            let problems = schema.validate_self();
            if !problems.is_empty() {
                let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
                return Err(fail(format!(
                    "option 'schema_file' ({file}) has problems: {}",
                    list.join("; ")
                )));
            }
            (schema, json!({"curated": file}))
        }
        None => {
            let options = infer_options(call)?;
            let (task, refs) = input_of(call, "input")?;
            let stats_ref = of_kind(&refs, &["Statistics"], "input", &task)?[0];
            let stats = load_statistics(stats_ref).await?;
            if stats.splits.is_empty() {
                return Err(fail(format!(
                    "the statistics of task '{task}' have no split"
                )));
            }
            // Every split of the span: a schema inferred from a span accepts all of it.
            let splits: Vec<_> = stats.splits.values().collect();
            let names: Vec<&String> = stats.splits.keys().collect();
            (
                infer_schema_from(&splits, &options),
                json!({"inferred_from": task, "splits": names,
                       "infer_ranges": options.infer_ranges}),
            )
        }
    };
    let (uri, print) = artifacts::write_json(rt, call, "schema.json", &schema).await?;
    let mut props = source.as_object().cloned().unwrap_or_default();
    props.insert("features".into(), Value::from(schema.features.len()));
    let mut produced = Produced::default();
    produced.outputs.push(new_artifact(
        "Schema",
        "schema",
        &uri,
        &print,
        Value::Object(props),
    ));
    produced
        .result
        .insert("features".into(), Value::from(schema.features.len()));
    Ok(produced)
}

/// `infer_ranges` and `range_margin`, checked.
fn infer_options(call: &Call) -> Result<InferOptions, OpError> {
    let mut options = InferOptions::default();
    match call.options.get("infer_ranges") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => options.infer_ranges = *b,
        Some(other) => {
            return Err(fail(format!(
                "option 'infer_ranges' must be true or false, got {other}"
            )))
        }
    }
    match call.options.get("range_margin") {
        None | Some(Value::Null) => {}
        Some(v) => match v.as_f64() {
            Some(m) if m.is_finite() && m >= 0.0 => options.range_margin = m,
            _ => {
                return Err(fail(format!(
                    "option 'range_margin' must be a number of at least 0 (a fraction of the observed width, e.g. 0.1), got {v}"
                )))
            }
        },
    }
    if call.options.contains_key("range_margin") && !options.infer_ranges {
        return Err(fail(
            "option 'range_margin' only applies with infer_ranges: true; add it or drop range_margin",
        ));
    }
    Ok(options)
}

/// The `drift` option: a number for every feature, or `#{ default: 0.1, <feature>: 0.05 }`.
fn drift_config(call: &Call) -> Result<DriftConfig, OpError> {
    let mut config = DriftConfig::default();
    match call.options.get("drift") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) => config.default = n.as_f64(),
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let x = v.as_f64().ok_or_else(|| {
                    fail(format!(
                        "option 'drift.{k}' must be a number (a threshold), got {v}"
                    ))
                })?;
                if k == "default" {
                    config.default = Some(x);
                } else {
                    config.per_feature.insert(k.clone(), x);
                }
            }
        }
        Some(other) => {
            return Err(fail(format!(
                "option 'drift' must be a number or a map of thresholds, got {other}"
            )))
        }
    }
    let problems = config.validate_self();
    if !problems.is_empty() {
        return Err(fail(format!("option 'drift': {}", problems.join("; "))));
    }
    Ok(config)
}

/// `example_validator`: every split's statistics against the schema, and the train split
/// against the baseline's for drift. Records the Anomalies, then fails (`on_anomaly:
/// "fail"`, the default) or warns.
pub async fn example_validator(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    let (stats_task, refs) = input_of(call, "statistics")?;
    let stats_ref = of_kind(&refs, &["Statistics"], "statistics", &stats_task)?[0].clone();
    let stats = load_statistics(&stats_ref).await?;
    let (schema_task, refs) = input_of(call, "schema")?;
    let schema_ref = of_kind(&refs, &["Schema"], "schema", &schema_task)?[0];
    let schema: Schema = artifacts::read_json(&schema_ref.uri, "the schema").await?;
    let drift = drift_config(call)?;
    let on_anomaly = call.opt_str("on_anomaly").unwrap_or("fail");
    if !["fail", "warn"].contains(&on_anomaly) {
        return Err(fail(format!(
            "option 'on_anomaly': '{on_anomaly}' is neither \"fail\" nor \"warn\""
        )));
    }

    // The baseline: this DAG's previous statistics from the same task, or a named task's.
    let baseline: Option<(ArtifactRef, SplitStatistics)> = match call.opt_str("baseline") {
        None => None,
        Some("previous_span") => {
            match rt
                .store
                .previous_artifact(
                    &call.dag_id,
                    &stats_task,
                    "Statistics",
                    "statistics",
                    &call.run_id,
                )
                .await?
            {
                Some(record) => {
                    let r = ArtifactRef::from(&record);
                    let s = load_statistics(&r).await?;
                    Some((r, s))
                }
                None => None,
            }
        }
        Some(_) => {
            let (task, refs) = input_of(call, "baseline")?;
            let r = of_kind(&refs, &["Statistics"], "baseline", &task)?[0].clone();
            let s = load_statistics(&r).await?;
            Some((r, s))
        }
    };
    let baseline_main = baseline
        .as_ref()
        .and_then(|(_, s)| main_split(s).map(|(_, d)| d));

    let mut by_split = BTreeMap::new();
    let mut all = Vec::new();
    for (split, current) in &stats.splits {
        // Drift is measured on the main split only; the other splits are checked against
        // the schema.
        let is_main = main_split(&stats).map(|(n, _)| n) == Some(split);
        let base = if is_main { baseline_main } else { None };
        let found = validate(current, &schema, base, &drift);
        for a in &found.anomalies {
            let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("split".into(), Value::from(split.clone()));
            }
            all.push(v);
        }
        by_split.insert(split.clone(), found);
    }
    let report = json!({
        "anomalies": all,
        "splits": by_split,
        "baseline": baseline.as_ref().map(|(r, _)| json!({"id": r.id, "uri": r.uri})),
    });
    let (uri, print) = artifacts::write_json(rt, call, "anomalies.json", &report).await?;
    let count = all.len();
    let mut produced = Produced::default();
    produced.outputs.push(new_artifact(
        "Anomalies",
        "anomalies",
        &uri,
        &print,
        json!({"count": count, "anomalies": all, "on_anomaly": on_anomaly,
               "baseline_id": baseline.as_ref().map(|(r, _)| r.id)}),
    ));
    produced
        .result
        .insert("anomalies".into(), Value::from(count));
    produced
        .result
        .insert("valid".into(), Value::Bool(count == 0));
    produced.result.insert(
        "baseline".into(),
        json!(baseline.as_ref().map(|(r, _)| r.id)),
    );
    produced
        .metrics
        .insert("anomalies".into(), Value::from(count));
    if count > 0 {
        let lines: Vec<String> = all
            .iter()
            .take(20)
            .map(|a| {
                format!(
                    "{} [{}] {}: {} (observed {}, expected {})",
                    a["split"].as_str().unwrap_or(""),
                    a["kind"].as_str().unwrap_or(""),
                    a["feature"].as_str().unwrap_or(""),
                    a["description"].as_str().unwrap_or(""),
                    a["observed"],
                    a["expected"]
                )
            })
            .collect();
        let text = format!("{count} anomalies:\n  {}", lines.join("\n  "));
        if on_anomaly == "fail" {
            produced.fail_after_record = Some(format!(
                "the data does not pass validation; {text}\n(set on_anomaly: \"warn\" to go on regardless)"
            ));
        } else {
            produced.message = Some(format!("warning: {text}"));
        }
    } else {
        produced.message = Some(match &baseline {
            Some((r, _)) => format!(
                "no anomalies (drift checked against statistics artifact {})",
                r.id
            ),
            None => "no anomalies (no baseline to check drift against)".to_string(),
        });
    }
    Ok(produced)
}
