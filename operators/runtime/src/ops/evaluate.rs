//! The `evaluate` operator: the candidate model's metrics on the raw eval rows through the
//! serving path (transform + model), per slice, against thresholds and against the
//! version the registry serves as `production`. Not blessed is not a failure: the task
//! succeeds and `deploy` skips.

use super::train::metrics_json;
use super::tune::lower_is_better;
use crate::artifacts::{input_of, new_artifact, of_kind, split, write_json, ArtifactRef};
use crate::context::{fail, Call, OpError, Runtime};
use crate::record::Produced;
use crate::serving::predictor_from;
use cambium_data::Format;
use cambium_ml::Table;
use cambium_models::{Predictor, Task};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

fn metrics_of(
    p: &Predictor,
    table: &Table,
    label: &str,
    what: &str,
) -> Result<BTreeMap<String, f64>, OpError> {
    let y = table
        .column(label)
        .ok_or_else(|| fail(format!("the eval rows have no label column '{label}'")))?;
    let x = p.transform.apply(table).map_err(|e| {
        fail(format!(
            "{what}: the transform cannot read the eval rows: {e}"
        ))
    })?;
    p.model
        .evaluate(&x, y)
        .map_err(|e| fail(format!("{what}: {e}")))
}

/// The raw eval rows of an examples task (raw rows of transformed examples).
async fn raw_eval(call: &Call, task: &str) -> Result<Table, OpError> {
    let output = call.upstream.get(task).ok_or_else(|| {
        fail(format!(
            "the examples task '{task}' is not upstream of '{}'",
            call.task_id
        ))
    })?;
    let refs = crate::artifacts::artifacts_of_output(output);
    let examples = of_kind(&refs, &["Examples"], "examples", task)?;
    let eval = split(&examples, "eval")?;
    if eval.properties.get("transformed").and_then(Value::as_bool) == Some(true) {
        let uri = eval.prop_str("source_uri").ok_or_else(|| {
            fail(format!(
                "the transformed eval split of '{task}' does not record its raw source (source_uri); re-run the transform"
            ))
        })?;
        let format = eval
            .prop_str("source_format")
            .and_then(|f| f.parse().ok())
            .or_else(|| Format::from_key(uri))
            .unwrap_or(Format::Parquet);
        Ok(cambium_data::read_table(uri, format).await?)
    } else {
        crate::artifacts::read_table(eval).await
    }
}

/// One threshold: `#{ min: x }` and/or `#{ max: y }`.
fn bound(spec: &Value, key: &str) -> Option<f64> {
    spec.get(key).and_then(|v| {
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    })
}

/// `evaluate`.
pub async fn run(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    let (model_task, refs) = input_of(call, "model")?;
    let model_ref: ArtifactRef = of_kind(&refs, &["Model"], "model", &model_task)?[0].clone();
    if model_ref
        .properties
        .get("external")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return Err(fail(format!(
            "the model of '{model_task}' was written by an external trainer; evaluate runs built-in models only (use the trainer's own metrics)"
        )));
    }
    let label = model_ref
        .prop_str("label")
        .map(str::to_string)
        .ok_or_else(|| {
            fail(format!(
                "the Model artifact of '{model_task}' records no label; re-run the train task"
            ))
        })?;
    let examples_task = match call.opt_str("examples").filter(|s| !s.is_empty()) {
        Some(t) => t.to_string(),
        None => call
            .upstream
            .get(&model_task)
            .and_then(|o| o.get("input"))
            .and_then(Value::as_str)
            .or_else(|| model_ref.prop_str("input"))
            .map(str::to_string)
            .ok_or_else(|| fail(format!("set option 'examples': the train task '{model_task}' does not say what it read")))?,
    };
    let eval = raw_eval(call, &examples_task).await?;
    let candidate = predictor_from(&model_ref.uri, model_ref.prop_str("transform_uri")).await?;
    let metrics = metrics_of(&candidate, &eval, &label, "the candidate model")?;
    let problem = candidate.model.task();

    // slices
    let slice_cols: Vec<String> = match call.options.get("slices") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(other) => {
            return Err(fail(format!(
                "option 'slices' must be a list of column names, got {other}"
            )))
        }
    };
    let mut slices = Map::new();
    for col_name in &slice_cols {
        let col = eval.column(col_name).ok_or_else(|| {
            fail(format!(
                "option 'slices': the eval rows have no column '{col_name}' (they have: {})",
                eval.names().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for i in 0..eval.rows() {
            let key = col.str_at(i).unwrap_or_else(|| "(missing)".to_string());
            groups.entry(key).or_default().push(i);
        }
        let mut per = Map::new();
        for (value, idx) in groups {
            let part = eval.take(&idx);
            let entry = match metrics_of(&candidate, &part, &label, "a slice") {
                Ok(m) => json!({"rows": idx.len(), "metrics": metrics_json(&m, "")}),
                Err(e) => json!({"rows": idx.len(), "error": e.to_string()}),
            };
            per.insert(value, entry);
        }
        slices.insert(col_name.clone(), Value::Object(per));
    }

    // thresholds
    let thresholds = call.opt_map("thresholds")?;
    let mut reasons: Vec<String> = Vec::new();
    let mut blessed = true;
    let computed = || metrics.keys().cloned().collect::<Vec<_>>().join(", ");
    for (name, spec) in &thresholds {
        let v = *metrics.get(name).ok_or_else(|| {
            fail(format!(
                "option 'thresholds' names metric '{name}', which is not computed for this model; computed: {}",
                computed()
            ))
        })?;
        let (min, max) = (bound(spec, "min"), bound(spec, "max"));
        if min.is_none() && max.is_none() {
            return Err(fail(format!(
                "option 'thresholds': '{name}' needs #{{ min: x }} and/or #{{ max: y }}, got {spec}"
            )));
        }
        if let Some(m) = min {
            if v < m {
                blessed = false;
                reasons.push(format!("{name} {v:.4} is below the minimum {m}"));
            } else {
                reasons.push(format!("{name} {v:.4} meets the minimum {m}"));
            }
        }
        if let Some(m) = max {
            if v > m {
                blessed = false;
                reasons.push(format!("{name} {v:.4} is above the maximum {m}"));
            } else {
                reasons.push(format!("{name} {v:.4} meets the maximum {m}"));
            }
        }
    }

    // baseline
    let model_name = call.model_name("model_name");
    let baseline_opt = call.opt_str("baseline").unwrap_or("production");
    let mut baseline = Value::Null;
    if baseline_opt == "production" {
        match rt.store.alias_version(&model_name, "production").await? {
            None => reasons.push(format!(
                "no production version to compare with (model '{model_name}')"
            )),
            Some(version) => {
                let base =
                    predictor_from(&version.artifact_uri, version.transform_uri.as_deref()).await?;
                let bm = metrics_of(
                    &base,
                    &eval,
                    &label,
                    &format!("production version {} of '{model_name}'", version.version),
                )?;
                let compared: Vec<String> = if thresholds.is_empty() {
                    vec![match problem {
                        Task::Classification => "accuracy".into(),
                        Task::Regression => "rmse".into(),
                    }]
                } else {
                    thresholds.keys().cloned().collect()
                };
                let allowed = |metric: &str| -> Result<f64, OpError> {
                    match call.options.get("max_regression") {
                        None | Some(Value::Null) => Ok(0.0),
                        Some(Value::Number(n)) => Ok(n.as_f64().unwrap_or(0.0)),
                        Some(Value::String(s)) => s.parse().map_err(|_| {
                            fail(format!(
                                "option 'max_regression' must be a number or a map, got \"{s}\""
                            ))
                        }),
                        Some(Value::Object(m)) => Ok(m
                            .get(metric)
                            .and_then(|v| {
                                v.as_f64()
                                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                            })
                            .unwrap_or(0.0)),
                        Some(other) => Err(fail(format!(
                            "option 'max_regression' must be a number or a map, got {other}"
                        ))),
                    }
                };
                for metric in &compared {
                    let (Some(c), Some(b)) = (metrics.get(metric), bm.get(metric)) else {
                        continue;
                    };
                    let worse_by = if lower_is_better(metric) {
                        c - b
                    } else {
                        b - c
                    };
                    let limit = allowed(metric)?;
                    if worse_by > limit + 1e-12 {
                        blessed = false;
                        reasons.push(format!(
                            "{metric} {c:.4} is worse than production version {} ({b:.4}) by {worse_by:.4}, more than max_regression {limit}",
                            version.version
                        ));
                    } else {
                        reasons.push(format!(
                            "{metric} {c:.4} is not worse than production version {} ({b:.4}) by more than {limit}",
                            version.version
                        ));
                    }
                }
                baseline = json!({"version": version.version, "metrics": metrics_json(&bm, "")});
            }
        }
    } else if !baseline_opt.is_empty() && baseline_opt != "none" {
        return Err(fail(format!(
            "option 'baseline' is '{baseline_opt}'; use \"production\" (or leave it out)"
        )));
    }

    let metrics_map = metrics_json(&metrics, "");
    let evaluation = json!({
        "model": model_ref.uri,
        "examples": examples_task,
        "rows": eval.rows(),
        "metrics": metrics_map,
        "slices": slices,
        "baseline": baseline,
    });
    let (eval_uri, eval_print) = write_json(rt, call, "evaluation.json", &evaluation).await?;
    let blessing = json!({"blessed": blessed, "reasons": reasons});
    let (bless_uri, bless_print) = write_json(rt, call, "blessing.json", &blessing).await?;
    let mut result = Map::new();
    result.insert("blessed".into(), Value::Bool(blessed));
    result.insert("reasons".into(), json!(reasons));
    result.insert("metrics".into(), Value::Object(metrics_map.clone()));
    result.insert("baseline".into(), baseline.clone());
    result.insert("slices".into(), Value::Object(slices));
    result.insert("model_name".into(), Value::String(model_name.clone()));
    Ok(Produced {
        outputs: vec![
            new_artifact(
                "ModelEvaluation",
                "evaluation",
                &eval_uri,
                &eval_print,
                json!({"metrics": metrics_map, "baseline": baseline}),
            ),
            new_artifact(
                "ModelBlessing",
                "blessing",
                &bless_uri,
                &bless_print,
                json!({"blessed": blessed, "reasons": reasons, "model_uri": model_ref.uri}),
            ),
        ],
        result,
        metrics: metrics_map.clone(),
        message: Some(format!(
            "{}: {}",
            if blessed { "blessed" } else { "not blessed" },
            reasons.join("; ")
        )),
        ..Produced::default()
    })
}
