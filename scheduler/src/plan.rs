//! The state machine of one run as a pure step: given a DAG spec, a run's task instances
//! and the time, decide which tasks are ready, which are skipped or upstream-failed, and
//! whether the run has ended. No IO: the engine applies the decisions.

use cambium_dag::{
    evaluate_trigger_rule, DagSpec, RuleDecision, RunState, TaskState, UpstreamCounts,
};
use cambium_store::TaskInstance;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

/// What to do with one run right now.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RunPlan {
    /// Indexes (into the given task instances) of tasks that may start a try now.
    pub ready: Vec<usize>,
    /// Indexes of tasks to mark `skipped`.
    pub skip: Vec<usize>,
    /// Indexes of tasks to mark `upstream_failed`.
    pub upstream_failed: Vec<usize>,
    /// The run's final state, once every task has finished.
    pub finished: Option<RunState>,
    /// The earliest time an `up_for_retry` task becomes ready, if one is waiting.
    pub next_retry_at: Option<DateTime<Utc>>,
}

/// Plans one run. `past_blocked` names tasks with `depends_on_past` whose previous run's
/// instance has not succeeded (or been skipped); they wait.
///
/// Decisions cascade within one call: a task marked skipped or upstream-failed here counts
/// as such for its downstream tasks, so a failure propagates through a chain in one step.
pub fn plan_run(
    spec: &DagSpec,
    tis: &[TaskInstance],
    now: DateTime<Utc>,
    past_blocked: &HashSet<String>,
) -> RunPlan {
    let index: HashMap<&str, usize> = tis
        .iter()
        .enumerate()
        .map(|(i, t)| (t.task_id.as_str(), i))
        .collect();
    let mut states: Vec<TaskState> = tis.iter().map(|t| t.state).collect();
    let mut plan = RunPlan::default();

    // Iterate to a fixed point so skip/upstream_failed cascade downstream in one call.
    loop {
        let mut changed = false;
        for (i, ti) in tis.iter().enumerate() {
            let state = states[i];
            let waiting = match state {
                // `scheduled`: decided runnable before but held back by a limit; decide again.
                TaskState::None | TaskState::Scheduled => true,
                TaskState::UpForRetry => {
                    // A retry is ready when its delay has passed; upstream was already fine.
                    match ti.next_retry_at {
                        Some(at) if at > now => {
                            plan.next_retry_at = Some(
                                plan.next_retry_at
                                    .map_or(at, |cur: DateTime<Utc>| cur.min(at)),
                            );
                            false
                        }
                        _ => {
                            if !plan.ready.contains(&i) {
                                plan.ready.push(i);
                            }
                            false
                        }
                    }
                }
                _ => false,
            };
            if !waiting || plan.ready.contains(&i) {
                continue;
            }
            let Some(task) = spec.task(&ti.task_id) else {
                // The DAG no longer declares this task: it cannot run.
                states[i] = TaskState::Skipped;
                plan.skip.push(i);
                changed = true;
                continue;
            };
            if excluded_by_branch(spec, tis, &index, &ti.task_id) {
                states[i] = TaskState::Skipped;
                plan.skip.push(i);
                changed = true;
                continue;
            }
            let upstream = spec
                .upstream_of(&ti.task_id)
                .filter_map(|u| index.get(u).map(|&j| states[j]));
            let counts = UpstreamCounts::from_states(upstream);
            match evaluate_trigger_rule(task.common.trigger_rule, counts) {
                RuleDecision::Wait => {}
                RuleDecision::Run => {
                    if !(task.common.depends_on_past && past_blocked.contains(&ti.task_id)) {
                        plan.ready.push(i);
                    }
                }
                RuleDecision::Skip => {
                    states[i] = TaskState::Skipped;
                    plan.skip.push(i);
                    changed = true;
                }
                RuleDecision::UpstreamFailed => {
                    states[i] = TaskState::UpstreamFailed;
                    plan.upstream_failed.push(i);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }

    if plan.ready.is_empty() && states.iter().all(|s| s.is_finished()) {
        plan.finished = Some(run_outcome(spec, tis, &states));
    }
    plan
}

/// Whether a `branch` task directly upstream succeeded and chose other tasks: its output's
/// `follow` lists the downstream tasks it runs; the others are skipped (and their own
/// downstream tasks follow their trigger rules, as in Airflow).
fn excluded_by_branch(
    spec: &DagSpec,
    tis: &[TaskInstance],
    index: &HashMap<&str, usize>,
    task_id: &str,
) -> bool {
    spec.upstream_of(task_id).any(|u| {
        let is_branch = spec.task(u).is_some_and(|t| t.operator == "branch");
        let Some(&j) = index.get(u) else {
            return false;
        };
        let up = &tis[j];
        is_branch
            && up.state == TaskState::Success
            && up
                .output
                .as_ref()
                .and_then(|o| o.get("follow"))
                .and_then(|f| f.as_array())
                .is_some_and(|follow| !follow.iter().any(|v| v.as_str() == Some(task_id)))
    })
}

/// Airflow's rule: a finished run failed when any leaf task (no downstream) failed or was
/// upstream-failed; otherwise it succeeded.
fn run_outcome(spec: &DagSpec, tis: &[TaskInstance], states: &[TaskState]) -> RunState {
    let has_downstream: HashSet<&str> = spec.edges.iter().map(|(u, _)| u.as_str()).collect();
    let leaf_failed = tis.iter().zip(states).any(|(ti, s)| {
        !has_downstream.contains(ti.task_id.as_str())
            && matches!(s, TaskState::Failed | TaskState::UpstreamFailed)
    });
    if leaf_failed {
        RunState::Failed
    } else {
        RunState::Success
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cambium_dag::{TaskOptions, TaskSpec, TriggerRule};
    use chrono::TimeZone;

    fn spec(tasks: &[(&str, TriggerRule)], edges: &[(&str, &str)]) -> DagSpec {
        DagSpec {
            tasks: tasks
                .iter()
                .map(|(id, rule)| TaskSpec {
                    task_id: id.to_string(),
                    operator: "command".into(),
                    options: Default::default(),
                    common: TaskOptions {
                        trigger_rule: *rule,
                        ..TaskOptions::default()
                    },
                })
                .collect(),
            edges: edges
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ..DagSpec::new("d", "d.rhai")
        }
    }

    fn ti(task: &str, state: TaskState) -> TaskInstance {
        TaskInstance {
            run_pk: 1,
            state,
            ..TaskInstance::unstarted("d", "r", task)
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn roots_are_ready_then_downstream_follows() {
        let s = spec(
            &[
                ("a", TriggerRule::AllSuccess),
                ("b", TriggerRule::AllSuccess),
            ],
            &[("a", "b")],
        );
        let p = plan_run(
            &s,
            &[ti("a", TaskState::None), ti("b", TaskState::None)],
            now(),
            &HashSet::new(),
        );
        assert_eq!(p.ready, vec![0]);
        assert_eq!(p.finished, None);
        let p = plan_run(
            &s,
            &[ti("a", TaskState::Success), ti("b", TaskState::None)],
            now(),
            &HashSet::new(),
        );
        assert_eq!(p.ready, vec![1]);
        let p = plan_run(
            &s,
            &[ti("a", TaskState::Success), ti("b", TaskState::Success)],
            now(),
            &HashSet::new(),
        );
        assert_eq!(p.finished, Some(RunState::Success));
    }

    #[test]
    fn failure_cascades_and_fails_the_run() {
        let s = spec(
            &[
                ("a", TriggerRule::AllSuccess),
                ("b", TriggerRule::AllSuccess),
                ("c", TriggerRule::AllSuccess),
            ],
            &[("a", "b"), ("b", "c")],
        );
        let p = plan_run(
            &s,
            &[
                ti("a", TaskState::Failed),
                ti("b", TaskState::None),
                ti("c", TaskState::None),
            ],
            now(),
            &HashSet::new(),
        );
        assert_eq!(p.upstream_failed, vec![1, 2]);
        assert_eq!(p.finished, Some(RunState::Failed));
    }

    #[test]
    fn cleanup_task_with_all_done_runs_after_failure_and_run_succeeds_by_leaf_rule() {
        let s = spec(
            &[
                ("a", TriggerRule::AllSuccess),
                ("cleanup", TriggerRule::AllDone),
            ],
            &[("a", "cleanup")],
        );
        let p = plan_run(
            &s,
            &[ti("a", TaskState::Failed), ti("cleanup", TaskState::None)],
            now(),
            &HashSet::new(),
        );
        assert_eq!(p.ready, vec![1]);
        let p = plan_run(
            &s,
            &[
                ti("a", TaskState::Failed),
                ti("cleanup", TaskState::Success),
            ],
            now(),
            &HashSet::new(),
        );
        assert_eq!(p.finished, Some(RunState::Success));
    }

    #[test]
    fn retry_waits_for_its_delay() {
        let s = spec(&[("a", TriggerRule::AllSuccess)], &[]);
        let mut t = ti("a", TaskState::UpForRetry);
        t.next_retry_at = Some(now() + chrono::Duration::seconds(5));
        let p = plan_run(&s, std::slice::from_ref(&t), now(), &HashSet::new());
        assert!(p.ready.is_empty());
        assert_eq!(p.next_retry_at, t.next_retry_at);
        assert_eq!(p.finished, None);
        let p = plan_run(
            &s,
            &[t],
            now() + chrono::Duration::seconds(6),
            &HashSet::new(),
        );
        assert_eq!(p.ready, vec![0]);
    }

    #[test]
    fn scheduled_tasks_held_back_by_a_limit_are_ready_again() {
        let s = spec(
            &[
                ("a", TriggerRule::AllSuccess),
                ("b", TriggerRule::AllSuccess),
            ],
            &[],
        );
        let p = plan_run(
            &s,
            &[ti("a", TaskState::Success), ti("b", TaskState::Scheduled)],
            now(),
            &HashSet::new(),
        );
        assert_eq!(p.ready, vec![1]);
        assert_eq!(p.finished, None);
    }

    #[test]
    fn depends_on_past_blocks() {
        let mut s = spec(&[("a", TriggerRule::AllSuccess)], &[]);
        s.tasks[0].common.depends_on_past = true;
        let blocked = HashSet::from(["a".to_string()]);
        let p = plan_run(&s, &[ti("a", TaskState::None)], now(), &blocked);
        assert!(p.ready.is_empty());
        let p = plan_run(&s, &[ti("a", TaskState::None)], now(), &HashSet::new());
        assert_eq!(p.ready, vec![0]);
    }

    #[test]
    fn skip_propagates_for_all_success_but_not_none_failed() {
        let s = spec(
            &[
                ("a", TriggerRule::AllSuccess),
                ("b", TriggerRule::AllSuccess),
                ("c", TriggerRule::NoneFailed),
            ],
            &[("a", "b"), ("a", "c")],
        );
        let p = plan_run(
            &s,
            &[
                ti("a", TaskState::Skipped),
                ti("b", TaskState::None),
                ti("c", TaskState::None),
            ],
            now(),
            &HashSet::new(),
        );
        assert_eq!(p.skip, vec![1]);
        assert_eq!(p.ready, vec![2]);
    }
}
