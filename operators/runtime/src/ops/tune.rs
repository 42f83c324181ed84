//! The `tune` operator's two halves. The loader declares one `tune_trial` task per trial
//! (`<tune>.trial_NNN`, options = the tune task's trainer options plus `trial`, `tune` and
//! `trial_hyperparameters`) and runs the `tune` task itself after all of them: it only
//! collects their outputs, picks the best and records the search.
//!
//! Early stopping (built-in algorithms, option `early_stopping`, default true): a trial
//! first trains on the first quarter of the train rows; when at least two sibling trials
//! of the same run have finished with a partial score and this one's is worse than their
//! median, it stops there (`stopped_early: true`, `score: null`).

use super::train::{
    fit_builtin, hyperparameters, metrics_json, number, run_external, score, training_data,
};
use crate::artifacts::{new_artifact, write_json};
use crate::context::{fail, Call, OpError, Runtime};
use crate::record::Produced;
use cambium_models::Task;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Whether lower is better for a metric.
pub(crate) fn lower_is_better(metric: &str) -> bool {
    let m = metric.strip_prefix("eval_").unwrap_or(metric);
    matches!(m, "rmse" | "mae" | "mse" | "log_loss")
}

/// Option `goal` (`maximize`/`minimize`) or the metric's natural direction; true = maximize.
fn maximize(call: &Call, metric: &str) -> Result<bool, OpError> {
    match call.opt_str("goal").filter(|s| !s.is_empty()) {
        None => Ok(!lower_is_better(metric)),
        Some("maximize") => Ok(true),
        Some("minimize") => Ok(false),
        Some(other) => Err(fail(format!(
            "option 'goal' is '{other}'; use maximize or minimize"
        ))),
    }
}

fn better(a: f64, b: f64, max: bool) -> bool {
    if max {
        a > b
    } else {
        a < b
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn pick(metrics: &BTreeMap<String, f64>, metric: &str) -> Result<f64, OpError> {
    metrics.get(metric).copied().ok_or_else(|| {
        fail(format!(
            "option 'metric' is '{metric}', which the model does not report; its metrics: {}",
            metrics.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })
}

/// The partial scores of this run's other finished trials of the same tune task.
async fn sibling_partial_scores(
    rt: &Runtime,
    call: &Call,
    tune: &str,
) -> Result<Vec<f64>, OpError> {
    let executions = rt
        .store
        .executions_of_run(&call.dag_id, &call.run_id)
        .await?;
    // the latest execution of each sibling task
    let mut latest: BTreeMap<String, f64> = BTreeMap::new();
    for e in executions {
        if e.operator != "tune_trial" || e.task_id == call.task_id {
            continue;
        }
        let same_tune = e
            .options
            .get("rendered")
            .and_then(|r| r.get("tune"))
            .and_then(Value::as_str)
            == Some(tune);
        if !same_tune {
            continue;
        }
        match e
            .options
            .get("result")
            .and_then(|r| r.get("partial_score"))
            .and_then(Value::as_f64)
        {
            Some(p) => {
                latest.insert(e.task_id.clone(), p);
            }
            None => {
                latest.remove(&e.task_id);
            }
        }
    }
    Ok(latest.into_values().collect())
}

/// `tune_trial`: one trial of a search.
pub async fn trial(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    let data = training_data(call).await?;
    let mut hp = hyperparameters(call)?;
    hp.extend(call.opt_map("trial_hyperparameters")?);
    let trial_no = call.options.get("trial").cloned().unwrap_or(Value::Null);
    let tune = call.opt_str("tune").unwrap_or("").to_string();
    let mut result = Map::new();
    result.insert("trial".into(), trial_no.clone());
    result.insert("hyperparameters".into(), Value::Object(hp.clone()));

    let finish = |mut result: Map<String, Value>,
                  score: Option<f64>,
                  metric: &str,
                  partial: Option<f64>,
                  stopped: bool| {
        result.insert("score".into(), score.map_or(Value::Null, number));
        result.insert("metric".into(), Value::String(metric.to_string()));
        result.insert("partial_score".into(), partial.map_or(Value::Null, number));
        result.insert("stopped_early".into(), Value::Bool(stopped));
        let mut metrics = Map::new();
        if let Some(s) = score {
            metrics.insert("score".into(), number(s));
        }
        Produced {
            result,
            metrics,
            message: Some(match (score, stopped) {
                (_, true) => format!("trial {trial_no} stopped early: its partial {metric} is worse than the median of the finished trials"),
                (Some(s), _) => format!("trial {trial_no}: eval {metric} {s:.4}"),
                (None, _) => format!("trial {trial_no}: no score"),
            }),
            ..Produced::default()
        }
    };

    if let Some(cmd) = call.options.get("cmd").filter(|v| !v.is_null()) {
        let metric = call
            .opt_str("metric")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| fail("a tune with `cmd` needs option 'metric': the name of a metric the trainer writes to $CAMBIUM_METRICS"))?
            .to_string();
        let ext = run_external(rt, call, &data, cmd, &hp).await?;
        let s = ext
            .metrics
            .get(&metric)
            .or_else(|| ext.metrics.get(&format!("eval_{metric}")))
            .and_then(Value::as_f64)
            .ok_or_else(|| {
                fail(format!(
                    "the trainer's metrics have no '{metric}' (nor 'eval_{metric}'); it wrote: {}",
                    ext.metrics.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            })?;
        return Ok(finish(result, Some(s), &metric, None, false));
    }

    let algorithm = call
        .opt_str("algorithm")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            fail(format!(
                "tune task '{tune}' needs option 'algorithm' or 'cmd'"
            ))
        })?;
    let problem = data.problem(call)?;
    let metric = call
        .opt_str("metric")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| match problem {
            Task::Classification => "accuracy".into(),
            Task::Regression => "rmse".into(),
        });
    let max = maximize(call, &metric)?;
    let early = call
        .options
        .get("early_stopping")
        .and_then(Value::as_bool)
        .unwrap_or(true);

    let mut partial = None;
    let quarter = data.train.rows() / 4;
    if early && quarter >= 2 {
        let model = fit_builtin(&data, algorithm, problem, &hp, Some(quarter))?;
        let p = pick(&score(&data, &model, &data.eval, "eval")?, &metric)?;
        partial = Some(p);
        let others = sibling_partial_scores(rt, call, &tune).await?;
        if others.len() >= 2 {
            let m = median(others);
            if better(m, p, max) {
                return Ok(finish(result, None, &metric, partial, true));
            }
        }
    }
    let model = fit_builtin(&data, algorithm, problem, &hp, None)?;
    let eval_m = score(&data, &model, &data.eval, "eval")?;
    let s = pick(&eval_m, &metric)?;
    result.insert(
        "eval_metrics".into(),
        Value::Object(metrics_json(&eval_m, "")),
    );
    Ok(finish(result, Some(s), &metric, partial, false))
}

/// `tune`: collects the trials' outputs.
pub async fn collect(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    let ids: Vec<String> = match call.options.get("trials") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => {
            return Err(fail(format!(
                "task '{}' has no option 'trials'; tune tasks are declared by the DAG loader with their trials",
                call.task_id
            )))
        }
    };
    let mut trials = Vec::new();
    let (mut failed, mut stopped) = (0usize, 0usize);
    let mut metric = call
        .opt_str("metric")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let mut completed: Vec<(String, f64, Value)> = Vec::new();
    for id in &ids {
        match call.upstream.get(id) {
            None => {
                failed += 1;
                trials.push(json!({"task": id, "state": "failed"}));
            }
            Some(out) => {
                if metric.is_none() {
                    metric = out
                        .get("metric")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                }
                let hp = out.get("hyperparameters").cloned().unwrap_or(Value::Null);
                let stopped_early = out.get("stopped_early").and_then(Value::as_bool) == Some(true);
                let s = out.get("score").and_then(Value::as_f64);
                let state = match (s, stopped_early) {
                    (_, true) => {
                        stopped += 1;
                        "stopped_early"
                    }
                    (Some(s), false) => {
                        completed.push((id.clone(), s, hp.clone()));
                        "completed"
                    }
                    (None, false) => {
                        failed += 1;
                        "failed"
                    }
                };
                trials.push(json!({
                    "task": id,
                    "trial": out.get("trial").cloned().unwrap_or(Value::Null),
                    "state": state,
                    "hyperparameters": hp,
                    "score": s.map_or(Value::Null, number),
                    "partial_score": out.get("partial_score").cloned().unwrap_or(Value::Null),
                }));
            }
        }
    }
    let metric = metric.unwrap_or_else(|| "accuracy".into());
    let max = maximize(call, &metric)?;
    let mut best: Option<&(String, f64, Value)> = None;
    for c in &completed {
        if best.is_none_or(|b| better(c.1, b.1, max)) {
            best = Some(c);
        }
    }
    let Some((best_task, best_score, best_hp)) = best.cloned() else {
        return Err(fail(format!(
            "no trial of '{}' succeeded: {failed} failed, {stopped} stopped early, of {}",
            call.task_id,
            ids.len()
        )));
    };
    let goal = if max { "maximize" } else { "minimize" };
    let search = json!({
        "metric": metric,
        "goal": goal,
        "trials": trials,
        "best": {"task": best_task, "score": number(best_score), "hyperparameters": best_hp},
    });
    let (uri, print) = write_json(rt, call, "search.json", &search).await?;
    let mut result = Map::new();
    result.insert("best".into(), best_hp.clone());
    result.insert("best_score".into(), number(best_score));
    result.insert("best_trial".into(), Value::String(best_task.clone()));
    result.insert("metric".into(), Value::String(metric.clone()));
    result.insert("goal".into(), Value::String(goal.into()));
    result.insert("trials".into(), Value::Array(trials));
    result.insert("completed".into(), Value::from(completed.len()));
    result.insert("stopped_early".into(), Value::from(stopped));
    result.insert("failed".into(), Value::from(failed));
    let mut metrics = Map::new();
    metrics.insert("best_score".into(), number(best_score));
    Ok(Produced {
        outputs: vec![new_artifact(
            "HyperparameterSearch",
            "search",
            &uri,
            &print,
            json!({"metric": metric, "goal": goal, "best": best_hp, "best_score": number(best_score), "trials": ids.len()}),
        )],
        result,
        metrics,
        message: Some(format!(
            "best of {} trial(s): {best_task} with {metric} {best_score:.4} ({failed} failed, {stopped} stopped early)",
            ids.len()
        )),
        ..Produced::default()
    })
}
