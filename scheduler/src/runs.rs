//! Creating runs: manual (with `conf`), scheduled (from a DAG's timetable), and backfills
//! (one run per interval in a range, reusing or clearing runs that already exist).

use crate::time::run_id;
use cambium_dag::{DagSpec, RunState, RunType, TaskState};
use cambium_store::{BackfillRecord, NewRun, RunFilter, RunRecord, Store, TaskSeed};
use cambium_timetable::{DagRunInfo, DataInterval, TimeRestriction, Timetable};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Why a run could not be created.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] cambium_store::Error),
    /// The request cannot be carried out as given (exit status 2 in the CLI).
    #[error("{0}")]
    Invalid(String),
    /// The DAG already has a run with this id (the same kind and logical date).
    #[error(
        "DAG '{dag_id}' already has a run '{run_id}'; pick another logical date, or clear that run"
    )]
    RunExists { dag_id: String, run_id: String },
    /// A task named in a request that the DAG does not have.
    #[error("DAG '{dag_id}' has no task '{task_id}'; its tasks are: {}", known.join(", "))]
    UnknownTask {
        dag_id: String,
        task_id: String,
        known: Vec<String>,
    },
}

/// The prefix of runs created by `cambium dags test`, which schedulers leave alone.
pub const TEST_RUN_PREFIX: &str = "test__";

/// The DAG's timetable.
pub fn timetable_of(spec: &DagSpec) -> Result<Timetable, RunError> {
    Timetable::parse(spec.schedule.as_deref(), &spec.timezone)
        .map_err(|e| RunError::Invalid(format!("DAG '{}': {e}", spec.dag_id)))
}

/// The DAG's start/end dates and catchup flag.
pub fn restriction_of(spec: &DagSpec) -> TimeRestriction {
    TimeRestriction {
        earliest: spec.start_date,
        latest: spec.end_date,
        catchup: spec.catchup,
    }
}

/// One task instance per task of the DAG.
pub fn seeds(spec: &DagSpec) -> Vec<TaskSeed> {
    spec.tasks
        .iter()
        .map(|t| TaskSeed {
            task_id: t.task_id.clone(),
            pool: t.common.pool.clone(),
            priority: t.common.priority,
            max_tries: t.common.retries.saturating_add(1),
        })
        .collect()
}

/// Creates a manual run. `conf` must fit the DAG's params (only declared keys, each with a
/// value its declaration accepts: [`DagSpec::check_conf`]). `logical_date` defaults to
/// `now`; its data interval is inferred from the timetable as Airflow does. `test` marks a run driven by `dags test`.
pub async fn create_manual_run(
    store: &Store,
    spec: &DagSpec,
    conf: Map<String, Value>,
    logical_date: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    test: bool,
) -> Result<RunRecord, RunError> {
    spec.check_conf(&conf).map_err(RunError::Invalid)?;
    let now = crate::time::to_micros(now);
    let logical_date = crate::time::to_micros(logical_date.unwrap_or(now));
    let interval = timetable_of(spec)?.manual_interval(logical_date);
    let kind = if test { "test" } else { "manual" };
    let new = NewRun {
        dag_id: spec.dag_id.clone(),
        run_id: run_id(kind, logical_date),
        run_type: RunType::Manual,
        logical_date,
        data_interval_start: interval.start,
        data_interval_end: interval.end,
        run_after: now,
        conf,
        backfill_id: None,
        created_at: now,
    };
    store
        .create_run(&new, &seeds(spec))
        .await?
        .ok_or_else(|| RunError::RunExists {
            dag_id: spec.dag_id.clone(),
            run_id: new.run_id.clone(),
        })
}

/// Creates the scheduled runs that are due at `now` (at most `max` of them) and returns
/// them with the time the next one falls due, if any.
pub async fn create_due_runs(
    store: &Store,
    spec: &DagSpec,
    timetable: &Timetable,
    now: DateTime<Utc>,
    max: usize,
) -> Result<(Vec<RunRecord>, Option<DateTime<Utc>>), RunError> {
    let restriction = restriction_of(spec);
    let mut last = store
        .latest_run(&spec.dag_id, &[RunType::Scheduled])
        .await?
        .map(|r| DataInterval {
            start: r.data_interval_start,
            end: r.data_interval_end,
        });
    let mut created = Vec::new();
    loop {
        let Some(info) = timetable.next_dagrun_info(last.as_ref(), &restriction, now) else {
            return Ok((created, None));
        };
        if info.run_after > now {
            return Ok((created, Some(info.run_after)));
        }
        if created.len() >= max {
            return Ok((created, Some(now)));
        }
        let new = new_run(spec, &info, RunType::Scheduled, "scheduled", None, now);
        if let Some(run) = store.create_run(&new, &seeds(spec)).await? {
            created.push(run);
        }
        if last.as_ref() == Some(&info.data_interval) {
            // The timetable did not move on: stop rather than loop.
            return Ok((created, None));
        }
        last = Some(info.data_interval);
    }
}

fn new_run(
    spec: &DagSpec,
    info: &DagRunInfo,
    run_type: RunType,
    kind: &str,
    backfill_id: Option<i64>,
    now: DateTime<Utc>,
) -> NewRun {
    NewRun {
        dag_id: spec.dag_id.clone(),
        run_id: run_id(kind, info.logical_date),
        run_type,
        logical_date: info.logical_date,
        data_interval_start: info.data_interval.start,
        data_interval_end: info.data_interval.end,
        run_after: info.run_after,
        conf: Map::new(),
        backfill_id,
        created_at: now,
    }
}

/// What a backfill does with a run that already exists for an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rerun {
    /// Clear and re-run its failed tasks when the run failed.
    Failed,
    /// Clear and re-run all its tasks.
    All,
    /// Leave it as it is.
    None,
}

impl std::str::FromStr for Rerun {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "failed" => Ok(Rerun::Failed),
            "all" => Ok(Rerun::All),
            "none" => Ok(Rerun::None),
            other => Err(format!(
                "'{other}' is not a rerun mode; use failed, all or none"
            )),
        }
    }
}

impl Rerun {
    pub fn as_str(self) -> &'static str {
        match self {
            Rerun::Failed => "failed",
            Rerun::All => "all",
            Rerun::None => "none",
        }
    }
}

/// One interval of a backfill and what will happen to it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRun {
    pub info: DagRunInfo,
    /// The run that already exists for this logical date, if any.
    pub existing: Option<RunRecord>,
    /// `create`, `rerun` or `keep`.
    pub action: &'static str,
}

/// Plans a backfill of `[start, end]` without writing anything.
pub async fn plan_backfill(
    store: &Store,
    spec: &DagSpec,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    rerun: Rerun,
) -> Result<Vec<PlannedRun>, RunError> {
    if end < start {
        return Err(RunError::Invalid(format!(
            "--end ({}) is before --start ({})",
            crate::time::rfc3339(end),
            crate::time::rfc3339(start)
        )));
    }
    let timetable = timetable_of(spec)?;
    if !timetable.is_scheduled() {
        return Err(RunError::Invalid(format!(
            "DAG '{}' has no schedule, so it has no intervals to backfill; trigger it instead",
            spec.dag_id
        )));
    }
    let restriction = TimeRestriction {
        earliest: spec.start_date,
        latest: spec.end_date,
        catchup: true,
    };
    let infos = timetable
        .runs_between(start, end, &restriction)
        .map_err(|e| RunError::Invalid(e.to_string()))?;
    let existing: HashMap<DateTime<Utc>, RunRecord> = store
        .list_runs(&RunFilter {
            dag_id: Some(spec.dag_id.clone()),
            ..RunFilter::default()
        })
        .await?
        .into_iter()
        .filter(|r| !r.run_id.starts_with(TEST_RUN_PREFIX))
        .map(|r| (r.logical_date, r))
        .collect();
    Ok(infos
        .into_iter()
        .map(|info| {
            let existing = existing.get(&info.logical_date).cloned();
            let action = match (&existing, rerun) {
                (None, _) => "create",
                (Some(_), Rerun::None) => "keep",
                (Some(run), Rerun::Failed) if run.state != RunState::Failed => "keep",
                (Some(run), _) if !run.state.is_finished() => "keep",
                (Some(_), _) => "rerun",
            };
            PlannedRun {
                info,
                existing,
                action,
            }
        })
        .collect())
}

/// Each task's retries, which a cleared task gets again.
fn retries_by_task(spec: &DagSpec) -> HashMap<String, u32> {
    spec.tasks
        .iter()
        .map(|t| (t.task_id.clone(), t.common.retries))
        .collect()
}

/// What [`clear_run_tasks`] cleared: the task ids and how many task instances changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Cleared {
    pub tasks: Vec<String>,
    pub count: usize,
}

/// Clears tasks of a run so a scheduler runs them again (`cambium tasks clear`, the API and
/// the task page): the named tasks, or all when none are named, and everything downstream
/// of them when asked.
pub async fn clear_run_tasks(
    store: &Store,
    spec: &DagSpec,
    run_pk: i64,
    tasks: &[String],
    downstream: bool,
) -> Result<Cleared, RunError> {
    let known: Vec<String> = spec.tasks.iter().map(|t| t.task_id.clone()).collect();
    if let Some(bad) = tasks.iter().find(|t| !known.contains(t)) {
        return Err(RunError::UnknownTask {
            dag_id: spec.dag_id.clone(),
            task_id: bad.clone(),
            known,
        });
    }
    let mut selected = if tasks.is_empty() {
        known
    } else {
        tasks.to_vec()
    };
    if downstream {
        selected = spec.with_downstream(&selected);
    }
    let count = store
        .clear_tasks(run_pk, &selected, &retries_by_task(spec))
        .await?;
    Ok(Cleared {
        tasks: selected,
        count,
    })
}

/// What a backfill covers and how it runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackfillRequest {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub rerun: Rerun,
    pub max_active_runs: u32,
}

/// Carries out a planned backfill: records it, creates the missing runs and clears the
/// ones to re-run. Returns the backfill and every run it covers, in logical-date order.
pub async fn start_backfill(
    store: &Store,
    spec: &DagSpec,
    plan: &[PlannedRun],
    request: BackfillRequest,
    now: DateTime<Utc>,
) -> Result<(BackfillRecord, Vec<RunRecord>), RunError> {
    let BackfillRequest {
        start,
        end,
        rerun,
        max_active_runs,
    } = request;
    let backfill = store
        .create_backfill(
            &spec.dag_id,
            start,
            end,
            rerun.as_str(),
            max_active_runs.max(1),
            now,
        )
        .await?;
    let retries = retries_by_task(spec);
    let mut runs = Vec::with_capacity(plan.len());
    for planned in plan {
        match (planned.action, &planned.existing) {
            ("create", _) => {
                let new = new_run(
                    spec,
                    &planned.info,
                    RunType::Backfill,
                    "backfill",
                    Some(backfill.id),
                    now,
                );
                match store.create_run(&new, &seeds(spec)).await? {
                    Some(run) => runs.push(run),
                    None => {
                        if let Some(run) = store.get_run(&spec.dag_id, &new.run_id).await? {
                            runs.push(run);
                        }
                    }
                }
            }
            ("rerun", Some(run)) => {
                let tis = store.task_instances(run.id).await?;
                let to_clear: Vec<String> = tis
                    .iter()
                    .filter(|t| {
                        rerun == Rerun::All
                            || matches!(t.state, TaskState::Failed | TaskState::UpstreamFailed)
                    })
                    .map(|t| t.task_id.clone())
                    .collect();
                store.clear_tasks(run.id, &to_clear, &retries).await?;
                if let Some(run) = store.get_run_by_pk(run.id).await? {
                    runs.push(run);
                }
            }
            (_, Some(run)) => runs.push(run.clone()),
            (_, None) => {}
        }
    }
    Ok((backfill, runs))
}
