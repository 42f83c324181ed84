//! Airflow's trigger rules as a pure decision over the states of a task's direct upstream.

use crate::spec::TriggerRule;
use crate::state::TaskState;

/// How many direct upstream task instances are in each kind of state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpstreamCounts {
    pub total: usize,
    pub success: usize,
    pub skipped: usize,
    pub failed: usize,
    pub upstream_failed: usize,
}

impl UpstreamCounts {
    /// Counts the given upstream states.
    pub fn from_states<I: IntoIterator<Item = TaskState>>(states: I) -> Self {
        let mut c = UpstreamCounts::default();
        for s in states {
            c.total += 1;
            match s {
                TaskState::Success => c.success += 1,
                TaskState::Skipped => c.skipped += 1,
                TaskState::Failed => c.failed += 1,
                TaskState::UpstreamFailed => c.upstream_failed += 1,
                _ => {}
            }
        }
        c
    }

    fn done(&self) -> usize {
        self.success + self.skipped + self.failed + self.upstream_failed
    }

    fn all_done(&self) -> bool {
        self.done() == self.total
    }

    fn any_failed(&self) -> bool {
        self.failed + self.upstream_failed > 0
    }
}

/// What the scheduler should do with a task that has not run yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleDecision {
    /// Not decidable yet: some upstream tasks are still to finish.
    Wait,
    /// The task may run now.
    Run,
    /// The task will not run: mark it `skipped`.
    Skip,
    /// The task will not run because upstream failed: mark it `upstream_failed`.
    UpstreamFailed,
}

/// Decides a task's fate from its rule and its upstream counts, with Airflow's meanings.
/// A task without upstream tasks always runs.
pub fn evaluate_trigger_rule(rule: TriggerRule, up: UpstreamCounts) -> RuleDecision {
    use RuleDecision::*;
    if up.total == 0 || rule == TriggerRule::Always {
        return Run;
    }
    match rule {
        TriggerRule::Always => Run,
        TriggerRule::AllSuccess => {
            if up.any_failed() {
                UpstreamFailed
            } else if up.skipped > 0 {
                Skip
            } else if up.success == up.total {
                Run
            } else {
                Wait
            }
        }
        TriggerRule::AllFailed => {
            if up.success + up.skipped > 0 {
                Skip
            } else if up.all_done() {
                Run
            } else {
                Wait
            }
        }
        TriggerRule::AllDone => {
            if up.all_done() {
                Run
            } else {
                Wait
            }
        }
        TriggerRule::AllDoneMinOneSuccess => {
            if !up.all_done() {
                Wait
            } else if up.success > 0 {
                Run
            } else if up.any_failed() {
                UpstreamFailed
            } else {
                Skip
            }
        }
        TriggerRule::OneSuccess => {
            if up.success > 0 {
                Run
            } else if up.all_done() {
                if up.any_failed() {
                    UpstreamFailed
                } else {
                    Skip
                }
            } else {
                Wait
            }
        }
        TriggerRule::OneFailed => {
            if up.any_failed() {
                Run
            } else if up.all_done() {
                Skip
            } else {
                Wait
            }
        }
        TriggerRule::NoneFailed => {
            if up.any_failed() {
                UpstreamFailed
            } else if up.all_done() {
                Run
            } else {
                Wait
            }
        }
        TriggerRule::NoneFailedMinOneSuccess => {
            if up.any_failed() {
                UpstreamFailed
            } else if up.all_done() {
                if up.success > 0 {
                    Run
                } else {
                    Skip
                }
            } else {
                Wait
            }
        }
        TriggerRule::NoneSkipped => {
            if up.skipped > 0 {
                Skip
            } else if up.all_done() {
                Run
            } else {
                Wait
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RuleDecision::*;
    use TaskState as S;

    fn decide(rule: TriggerRule, states: &[TaskState]) -> RuleDecision {
        evaluate_trigger_rule(rule, UpstreamCounts::from_states(states.iter().copied()))
    }

    #[test]
    fn no_upstream_runs_for_every_rule() {
        for name in TriggerRule::NAMES {
            let rule: TriggerRule = name.parse().expect("known rule");
            assert_eq!(decide(rule, &[]), Run, "{name}");
        }
    }

    #[test]
    fn all_success() {
        let r = TriggerRule::AllSuccess;
        assert_eq!(decide(r, &[S::Success, S::Success]), Run);
        assert_eq!(decide(r, &[S::Success, S::Running]), Wait);
        assert_eq!(decide(r, &[S::Failed, S::Running]), UpstreamFailed);
        assert_eq!(decide(r, &[S::UpstreamFailed, S::Success]), UpstreamFailed);
        assert_eq!(decide(r, &[S::Skipped, S::Success]), Skip);
        assert_eq!(decide(r, &[S::UpForRetry, S::Success]), Wait);
    }

    #[test]
    fn all_failed() {
        let r = TriggerRule::AllFailed;
        assert_eq!(decide(r, &[S::Failed, S::UpstreamFailed]), Run);
        assert_eq!(decide(r, &[S::Failed, S::Running]), Wait);
        assert_eq!(decide(r, &[S::Failed, S::Success]), Skip);
        assert_eq!(decide(r, &[S::Skipped, S::Running]), Skip);
    }

    #[test]
    fn all_done_and_always() {
        assert_eq!(
            decide(TriggerRule::AllDone, &[S::Failed, S::Skipped, S::Success]),
            Run
        );
        assert_eq!(decide(TriggerRule::AllDone, &[S::Failed, S::Queued]), Wait);
        assert_eq!(decide(TriggerRule::Always, &[S::Running, S::None]), Run);
    }

    #[test]
    fn one_success_and_one_failed() {
        assert_eq!(
            decide(TriggerRule::OneSuccess, &[S::Success, S::Running]),
            Run
        );
        assert_eq!(
            decide(TriggerRule::OneSuccess, &[S::Failed, S::Running]),
            Wait
        );
        assert_eq!(
            decide(TriggerRule::OneSuccess, &[S::Failed, S::Skipped]),
            UpstreamFailed
        );
        assert_eq!(
            decide(TriggerRule::OneSuccess, &[S::Skipped, S::Skipped]),
            Skip
        );
        assert_eq!(
            decide(TriggerRule::OneFailed, &[S::Failed, S::Running]),
            Run
        );
        assert_eq!(
            decide(TriggerRule::OneFailed, &[S::UpstreamFailed, S::None]),
            Run
        );
        assert_eq!(
            decide(TriggerRule::OneFailed, &[S::Success, S::Running]),
            Wait
        );
        assert_eq!(
            decide(TriggerRule::OneFailed, &[S::Success, S::Skipped]),
            Skip
        );
    }

    #[test]
    fn none_failed_family() {
        assert_eq!(
            decide(TriggerRule::NoneFailed, &[S::Success, S::Skipped]),
            Run
        );
        assert_eq!(
            decide(TriggerRule::NoneFailed, &[S::Skipped, S::Skipped]),
            Run
        );
        assert_eq!(
            decide(TriggerRule::NoneFailed, &[S::Success, S::Running]),
            Wait
        );
        assert_eq!(
            decide(TriggerRule::NoneFailed, &[S::Failed, S::Running]),
            UpstreamFailed
        );
        let r = TriggerRule::AllDoneMinOneSuccess;
        assert_eq!(decide(r, &[S::Success, S::Failed, S::Running]), Wait);
        assert_eq!(decide(r, &[S::Success, S::Failed, S::Failed]), Run);
        assert_eq!(
            decide(r, &[S::Failed, S::UpstreamFailed, S::UpstreamFailed]),
            UpstreamFailed
        );
        assert_eq!(decide(r, &[S::Skipped, S::Skipped]), Skip);
        let r = TriggerRule::NoneFailedMinOneSuccess;
        assert_eq!(decide(r, &[S::Success, S::Skipped]), Run);
        assert_eq!(decide(r, &[S::Skipped, S::Skipped]), Skip);
        assert_eq!(decide(r, &[S::UpstreamFailed, S::Success]), UpstreamFailed);
        assert_eq!(
            decide(TriggerRule::NoneSkipped, &[S::Success, S::Failed]),
            Run
        );
        assert_eq!(
            decide(TriggerRule::NoneSkipped, &[S::Skipped, S::Running]),
            Skip
        );
        assert_eq!(
            decide(TriggerRule::NoneSkipped, &[S::Success, S::Running]),
            Wait
        );
    }
}
