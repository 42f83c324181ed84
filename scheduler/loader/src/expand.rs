//! What a DAG's tasks imply beyond their own declarations: the dependencies that artifact
//! references stand for (`input: split` makes `split` upstream), and the trial tasks of each
//! `tune` task (one task per trial, a group that runs `max_parallel_trials` of them at once,
//! and the tune task itself after them, collecting the best).

use cambium_dag::{DagSpec, TaskSpec, TriggerRule};
use cambium_operators::catalog::TASK_REFERENCES;
use cambium_operators::tune::{Search, Space};
use serde_json::{Map, Value};

/// A problem with one option of one task.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionProblem {
    pub task_id: String,
    /// The option's path from the task's options (`["input"]`, `["inputs", "schema"]`).
    pub path: Vec<String>,
    pub message: String,
}

/// Values of `baseline` that name no task.
const BASELINE_WORDS: [&str; 2] = ["previous_span", "production"];

/// The upstream tasks a task's options name, with the option path of each.
pub fn references(task: &TaskSpec) -> Vec<(Vec<String>, String)> {
    if task.operator == "command" {
        return Vec::new();
    }
    let mut out = Vec::new();
    for key in TASK_REFERENCES {
        match task.options.get(key) {
            Some(Value::String(id))
                if key == "baseline" && BASELINE_WORDS.contains(&id.as_str()) => {}
            Some(Value::String(id)) => out.push((vec![key.to_string()], id.clone())),
            Some(Value::Object(map)) if key == "inputs" => {
                for (role, v) in map {
                    if let Value::String(id) = v {
                        out.push((vec![key.to_string(), role.clone()], id.clone()));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Adds an edge from every referenced task to the task that names it; a reference to a task
/// that is not in the DAG, or to the task itself, is a problem.
pub fn add_reference_edges(spec: &mut DagSpec) -> Vec<OptionProblem> {
    let mut problems = Vec::new();
    let mut edges = Vec::new();
    for task in &spec.tasks {
        for (path, id) in references(task) {
            if id == task.task_id {
                problems.push(OptionProblem {
                    task_id: task.task_id.clone(),
                    path,
                    message: format!(
                        "task '{}' cannot take its own output as input",
                        task.task_id
                    ),
                });
            } else if spec.task(&id).is_none() {
                problems.push(OptionProblem {
                    task_id: task.task_id.clone(),
                    message: format!(
                        "option '{}' of task '{}' names task '{id}', which is not in DAG '{}'",
                        path.join("."),
                        task.task_id,
                        spec.dag_id
                    ),
                    path,
                });
            } else {
                edges.push((id, task.task_id.clone()));
            }
        }
    }
    for e in edges {
        if !spec.edges.contains(&e) {
            spec.edges.push(e);
        }
    }
    problems
}

/// The id of trial `i` of tune task `tune`.
pub fn trial_id(tune: &str, i: usize) -> String {
    format!("{tune}.trial_{i:03}")
}

/// Declares the trials of every `tune` task: task `<tune>.trial_NNN` (operator
/// `tune_trial`) per trial, downstream of the tune task's upstream tasks and upstream of
/// the tune task, which then runs after all of them (`all_done`) and picks the best.
pub fn expand_tunes(spec: &mut DagSpec) -> Vec<OptionProblem> {
    let mut problems = Vec::new();
    let tunes: Vec<TaskSpec> = spec
        .tasks
        .iter()
        .filter(|t| t.operator == "tune")
        .cloned()
        .collect();
    for tune in tunes {
        let problem = |path: &str, message: String| OptionProblem {
            task_id: tune.task_id.clone(),
            path: vec![path.to_string()],
            message: format!("task '{}': {message}", tune.task_id),
        };
        let space = match tune.options.get("space").and_then(Value::as_object) {
            Some(s) => match Space::parse(s) {
                Ok(s) => s,
                Err(e) => {
                    problems.push(problem("space", e));
                    continue;
                }
            },
            None => continue,
        };
        let search = match tune.options.get("search").and_then(Value::as_str) {
            None => Search::Grid,
            Some(s) => match Search::parse(s) {
                Ok(s) => s,
                Err(e) => {
                    problems.push(problem("search", e));
                    continue;
                }
            },
        };
        let positive = |key: &str| -> Result<Option<u64>, OptionProblem> {
            match tune.options.get(key).and_then(Value::as_i64) {
                None => Ok(None),
                Some(n) if n >= 1 => Ok(Some(n as u64)),
                Some(n) => Err(problem(
                    key,
                    format!("option '{key}' must be 1 or more, got {n}"),
                )),
            }
        };
        let (max_trials, parallel) = match (positive("max_trials"), positive("max_parallel_trials"))
        {
            (Ok(a), Ok(b)) => (a, b.unwrap_or(2)),
            (Err(e), _) | (_, Err(e)) => {
                problems.push(e);
                continue;
            }
        };
        let seed = tune
            .options
            .get("seed")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let trials = space.trials(search, max_trials.map(|n| n as usize), seed);
        if let Some(goal) = tune.options.get("goal").and_then(Value::as_str) {
            if !["maximize", "minimize"].contains(&goal) {
                problems.push(problem(
                    "goal",
                    format!(
                        "option 'goal': '{goal}' is not a goal; use \"maximize\" or \"minimize\""
                    ),
                ));
                continue;
            }
        }

        let upstream: Vec<String> = spec.upstream_of(&tune.task_id).map(String::from).collect();
        let group = tune.task_id.clone();
        spec.task_groups.insert(group.clone(), parallel as u32);
        let mut trial_ids = Vec::new();
        for (i, hp) in trials.into_iter().enumerate() {
            let id = trial_id(&tune.task_id, i);
            let mut options: Map<String, Value> = tune
                .options
                .iter()
                .filter(|(k, _)| {
                    ![
                        "space",
                        "search",
                        "max_trials",
                        "max_parallel_trials",
                        "seed",
                    ]
                    .contains(&k.as_str())
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            options.insert("trial".into(), Value::from(i as u64));
            options.insert("tune".into(), Value::String(tune.task_id.clone()));
            options.insert("trial_hyperparameters".into(), Value::Object(hp));
            let mut common = tune.common.clone();
            common.group = Some(group.clone());
            common.trigger_rule = TriggerRule::AllSuccess;
            common.doc = Some(format!("trial {i} of tune task '{}'", tune.task_id));
            spec.tasks.push(TaskSpec {
                task_id: id.clone(),
                operator: "tune_trial".into(),
                options,
                common,
            });
            trial_ids.push(id);
        }
        for id in &trial_ids {
            for up in &upstream {
                spec.edges.push((up.clone(), id.clone()));
            }
            spec.edges.push((id.clone(), tune.task_id.clone()));
        }
        if let Some(t) = spec.tasks.iter_mut().find(|t| t.task_id == tune.task_id) {
            // Failed trials do not stop the search, but trials that never ran (their
            // upstream failed or was skipped) make the tune task upstream_failed / skipped.
            t.common.trigger_rule = TriggerRule::AllDoneMinOneSuccess;
            t.options
                .insert("trials".into(), Value::from(trial_ids.clone()));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use cambium_dag::TaskOptions;
    use serde_json::json;

    fn task(id: &str, op: &str, options: Value) -> TaskSpec {
        TaskSpec {
            task_id: id.into(),
            operator: op.into(),
            options: options.as_object().cloned().unwrap_or_default(),
            common: TaskOptions::default(),
        }
    }

    #[test]
    fn references_become_edges_and_unknown_ones_problems() {
        let mut spec = DagSpec::new("d", "d.rhai");
        spec.tasks
            .push(task("q", "query", json!({"conn": "w", "sql": "select 1"})));
        spec.tasks
            .push(task("s", "statistics_gen", json!({"input": "q"})));
        spec.tasks.push(task(
            "v",
            "example_validator",
            json!({"statistics": "s", "schema": "nope", "baseline": "previous_span"}),
        ));
        let problems = add_reference_edges(&mut spec);
        assert!(spec.edges.contains(&("q".into(), "s".into())));
        assert!(spec.edges.contains(&("s".into(), "v".into())));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, ["schema"]);
        assert!(problems[0].message.contains("names task 'nope'"));
    }

    #[test]
    fn tune_declares_its_trials_in_a_group() {
        let mut spec = DagSpec::new("d", "d.rhai");
        spec.tasks
            .push(task("t", "transform", json!({"input": "x"})));
        spec.tasks.push(task(
            "tune",
            "tune",
            json!({"input": "t", "space": {"alpha": [0.1, 1.0, 10.0]}, "max_parallel_trials": 2}),
        ));
        spec.edges.push(("t".into(), "tune".into()));
        assert!(expand_tunes(&mut spec).is_empty());
        assert_eq!(spec.tasks.len(), 5);
        let trial = spec.task("tune.trial_001").unwrap();
        assert_eq!(trial.operator, "tune_trial");
        assert_eq!(
            trial.options["trial_hyperparameters"],
            json!({"alpha": 1.0})
        );
        assert_eq!(trial.common.group.as_deref(), Some("tune"));
        assert_eq!(spec.task_groups["tune"], 2);
        assert!(spec.edges.contains(&("t".into(), "tune.trial_002".into())));
        assert!(spec
            .edges
            .contains(&("tune.trial_002".into(), "tune".into())));
        assert_eq!(
            spec.task("tune").unwrap().common.trigger_rule,
            TriggerRule::AllDoneMinOneSuccess
        );
    }
}
