//! What the CLI and the HTTP API both do with the store, once: the DAG list with next runs,
//! next runs of one DAG, runs with their task instances, backfill previews, and the parsing
//! of dates and `conf` that both accept.

use crate::{time, time_in, DagListItem, NextRunView, RunView};
use cambium_dag::DagSpec;
use cambium_scheduler::runs::{restriction_of, timetable_of, PlannedRun, RunError};
use cambium_store::{DagRecord, RunRecord, Store, TaskSummary};
use cambium_timetable::DataInterval;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use std::borrow::Borrow;
use std::collections::HashMap;

/// The last scheduled run's interval, which the next scheduled run follows.
pub async fn last_interval(
    store: &Store,
    dag_id: &str,
) -> Result<Option<DataInterval>, cambium_store::Error> {
    Ok(store
        .latest_run(dag_id, &[cambium_dag::RunType::Scheduled])
        .await?
        .map(|r| DataInterval {
            start: r.data_interval_start,
            end: r.data_interval_end,
        }))
}

/// When the next scheduled run after `last` is due, if the DAG has a schedule.
fn next_after(
    spec: &DagSpec,
    last: Option<&DataInterval>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let timetable = timetable_of(spec).ok().filter(|t| t.is_scheduled())?;
    timetable
        .upcoming(last, &restriction_of(spec), now, 1)
        .first()
        .map(|info| info.run_after)
}

/// When the DAG's next scheduled run is due, if it has a schedule.
pub async fn next_run_after(
    store: &Store,
    spec: &DagSpec,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, cambium_store::Error> {
    let last = last_interval(store, &spec.dag_id).await?;
    Ok(next_after(spec, last.as_ref(), now))
}

/// Every DAG given as `dags list` prints it, with one query for all their last intervals.
pub async fn dag_list<D: Borrow<DagRecord>>(
    store: &Store,
    dags: &[D],
    now: DateTime<Utc>,
) -> Result<Vec<DagListItem>, cambium_store::Error> {
    let last = store.latest_scheduled_intervals().await?;
    Ok(dags
        .iter()
        .map(|dag| {
            let dag: &DagRecord = dag.borrow();
            let interval = last.get(&dag.spec.dag_id).map(|(start, end)| DataInterval {
                start: *start,
                end: *end,
            });
            let next = next_after(&dag.spec, interval.as_ref(), now);
            DagListItem::new(&dag.spec, dag.paused, next)
        })
        .collect())
}

/// The next `n` runs the DAG's schedule will create.
pub async fn next_runs(
    store: &Store,
    spec: &DagSpec,
    n: usize,
    now: DateTime<Utc>,
) -> Result<Vec<NextRunView>, RunError> {
    let timetable = timetable_of(spec)?;
    let last = last_interval(store, &spec.dag_id).await?;
    Ok(timetable
        .upcoming(last.as_ref(), &restriction_of(spec), now, n)
        .into_iter()
        .map(|info| NextRunView {
            logical_date: time_in(info.logical_date, &spec.timezone),
            data_interval_start: time_in(info.data_interval.start, &spec.timezone),
            data_interval_end: time_in(info.data_interval.end, &spec.timezone),
            run_after: time_in(info.run_after, &spec.timezone),
        })
        .collect())
}

/// Runs with their task instances, in two queries whatever the number of runs.
pub async fn run_views(
    store: &Store,
    runs: &[RunRecord],
) -> Result<Vec<RunView>, cambium_store::Error> {
    let pks: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let mut tis: HashMap<i64, Vec<TaskSummary>> = HashMap::new();
    for ti in store.task_summaries_of_runs(&pks).await? {
        tis.entry(ti.run_pk).or_default().push(ti);
    }
    Ok(runs
        .iter()
        .map(|r| RunView::new(r, tis.get(&r.id).map_or(&[][..], Vec::as_slice)))
        .collect())
}

/// One run with its task instances.
pub async fn run_view(store: &Store, run: &RunRecord) -> Result<RunView, cambium_store::Error> {
    let tis: Vec<TaskSummary> = store
        .task_instances(run.id)
        .await?
        .iter()
        .map(TaskSummary::from)
        .collect();
    Ok(RunView::new(run, &tis))
}

/// One interval of a backfill's dry run.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlannedRunView {
    pub logical_date: String,
    pub data_interval_start: String,
    pub data_interval_end: String,
    /// `create`, `rerun` or `keep`.
    pub action: String,
    pub existing_run_id: Option<String>,
    pub existing_state: Option<String>,
}

/// `dags backfill --dry-run` and the API's `dry_run: true`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BackfillPreview {
    pub dag_id: String,
    pub dry_run: bool,
    pub runs: Vec<PlannedRunView>,
}

impl BackfillPreview {
    pub fn new(dag_id: &str, plan: &[PlannedRun]) -> Self {
        BackfillPreview {
            dag_id: dag_id.to_string(),
            dry_run: true,
            runs: plan
                .iter()
                .map(|p| PlannedRunView {
                    logical_date: time(p.info.logical_date),
                    data_interval_start: time(p.info.data_interval.start),
                    data_interval_end: time(p.info.data_interval.end),
                    action: p.action.to_string(),
                    existing_run_id: p.existing.as_ref().map(|r| r.run_id.clone()),
                    existing_state: p.existing.as_ref().map(|r| r.state.to_string()),
                })
                .collect(),
        }
    }
}

/// A date a user typed: RFC 3339, or `YYYY-MM-DD` (midnight in the DAG's time zone).
/// The error names the field and shows the accepted forms.
pub fn parse_time(field: &str, text: &str, spec: &DagSpec) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let tz: chrono_tz::Tz = spec.timezone.parse().unwrap_or(chrono_tz::UTC);
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(midnight) = d.and_hms_opt(0, 0, 0) {
            if let Some(t) = midnight.and_local_timezone(tz).earliest() {
                return Ok(t.with_timezone(&Utc));
            }
        }
    }
    // What an HTML datetime-local field sends: no seconds, no offset (the DAG's zone).
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            if let Some(t) = t.and_local_timezone(tz).earliest() {
                return Ok(t.with_timezone(&Utc));
            }
        }
    }
    Err(format!(
        "{field} '{text}' is not a date: use YYYY-MM-DD or RFC 3339 like 2026-11-22T09:00:00+00:00"
    ))
}

/// `conf` as text: a JSON object (empty text is an empty object).
pub fn parse_conf(field: &str, text: &str) -> Result<Map<String, Value>, String> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(format!(
            "{field} must be a JSON object, e.g. {{\"rows\": 100}}"
        )),
        Err(e) => Err(format!("{field} is not valid JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(tz: &str) -> DagSpec {
        DagSpec {
            timezone: tz.to_string(),
            ..DagSpec::new("d", "d.rhai")
        }
    }

    #[test]
    fn dates_in_the_dags_zone() {
        let t = parse_time("start", "2026-11-22", &spec("Europe/Berlin")).unwrap();
        assert_eq!(time(t), "2026-11-21T23:00:00+00:00");
        let t = parse_time("start", "2026-11-22T10:30", &spec("UTC")).unwrap();
        assert_eq!(time(t), "2026-11-22T10:30:00+00:00");
        let err = parse_time("start", "yesterday", &spec("UTC")).unwrap_err();
        assert!(err.starts_with("start 'yesterday' is not a date"), "{err}");
    }

    #[test]
    fn conf_is_an_object() {
        assert!(parse_conf("conf", "").unwrap().is_empty());
        assert_eq!(parse_conf("conf", r#"{"a":1}"#).unwrap()["a"], 1);
        assert!(parse_conf("conf", "[1]")
            .unwrap_err()
            .contains("must be a JSON object"));
        assert!(parse_conf("conf", "{")
            .unwrap_err()
            .contains("not valid JSON"));
    }
}
