//! Airflow's data-interval timetables: which runs to create, for which intervals, when.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::cron_expr::CronExpr;
use crate::dates::parse_timezone;
use crate::error::{Result, TimetableError};
use crate::zoned::ZonedCron;

/// The most runs [`Timetable::runs_between`] will return.
pub const MAX_BACKFILL_RUNS: usize = 100_000;

/// The presets and the cron expressions they stand for.
const PRESETS: [(&str, &str); 7] = [
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
];

/// A half-open span of time `[start, end)` that a run processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DataInterval {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end (equal to `start` for `@once` and manual DAGs).
    pub end: DateTime<Utc>,
}

/// A run the scheduler should create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DagRunInfo {
    /// The run's logical date: the start of its data interval.
    pub logical_date: DateTime<Utc>,
    /// The interval the run processes.
    pub data_interval: DataInterval,
    /// The earliest instant the run may start (the end of its interval).
    pub run_after: DateTime<Utc>,
}

impl DagRunInfo {
    fn interval(start: DateTime<Utc>, end: DateTime<Utc>) -> DagRunInfo {
        DagRunInfo {
            logical_date: start,
            data_interval: DataInterval { start, end },
            run_after: end,
        }
    }

    fn exact(at: DateTime<Utc>) -> DagRunInfo {
        DagRunInfo::interval(at, at)
    }
}

/// Limits from the DAG's options on which runs may be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRestriction {
    /// The DAG's `start_date`: no interval starts before it.
    pub earliest: Option<DateTime<Utc>>,
    /// The DAG's `end_date`: no interval starts after it.
    pub latest: Option<DateTime<Utc>>,
    /// The DAG's `catchup`: create every missed interval rather than only the latest.
    pub catchup: bool,
}

/// What kind of schedule a DAG has.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// No schedule: runs are only triggered (manually, by data or assets).
    Manual,
    /// `@once`: one run at `start_date`.
    Once,
    /// A cron expression or preset, in the DAG's time zone.
    Cron(ZonedCron),
    /// `@every D`: fixed intervals of absolute time from `start_date`.
    Every(Duration),
}

/// A DAG's schedule, ready to answer "which run comes next".
///
/// Pure: it never reads the clock; `now` is always passed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timetable {
    kind: Kind,
    tz: Tz,
    schedule: Option<String>,
}

impl Timetable {
    /// Parses a DAG's `schedule` (`None` for manual/event-only DAGs) and `timezone` (IANA name).
    ///
    /// Accepted schedules: 5-field cron, 6-field cron with seconds first, the presets `@hourly`,
    /// `@daily` (`@midnight`), `@weekly`, `@monthly`, `@yearly` (`@annually`), `@once`, and
    /// `@every <duration>` such as `"@every 15m"`.
    pub fn parse(schedule: Option<&str>, timezone: &str) -> Result<Timetable> {
        let tz = parse_timezone(timezone)?;
        let Some(text) = schedule else {
            return Ok(Timetable {
                kind: Kind::Manual,
                tz,
                schedule: None,
            });
        };
        let kind = parse_kind(text, tz)?;
        Ok(Timetable {
            kind,
            tz,
            schedule: Some(text.to_string()),
        })
    }

    /// Whether the scheduler creates runs on its own: false only without a schedule.
    pub fn is_scheduled(&self) -> bool {
        !matches!(self.kind, Kind::Manual)
    }

    /// The time zone cron expressions are evaluated in.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The schedule as written in the DAG file, if any.
    pub fn schedule(&self) -> Option<&str> {
        self.schedule.as_deref()
    }

    /// The next run to create after `last` (the data interval of the latest scheduled or
    /// backfill run, if any), following Airflow:
    ///
    /// - with `catchup`, the interval right after `last` (or the first one at or after
    ///   `start_date`), even if its `run_after` is still in the future — the caller waits;
    /// - without, the latest interval that has ended by `now`, if that is later than the
    ///   interval after `last`; otherwise the interval after `last` (or the first one);
    /// - never an interval starting after `end_date`; `@once` gives one run at `start_date`;
    ///   manual DAGs give none.
    pub fn next_dagrun_info(
        &self,
        last: Option<&DataInterval>,
        restriction: &TimeRestriction,
        now: DateTime<Utc>,
    ) -> Option<DagRunInfo> {
        let start = match &self.kind {
            Kind::Manual => return None,
            Kind::Once => {
                if last.is_some() {
                    return None;
                }
                let at = restriction.earliest?;
                if restriction.latest.is_some_and(|latest| at > latest) {
                    return None;
                }
                return Some(DagRunInfo::exact(at));
            }
            Kind::Cron(_) | Kind::Every(_) => {
                let earliest = if restriction.catchup {
                    match restriction.earliest {
                        Some(e) => Some(self.align_next(e, restriction.earliest)?),
                        None => None,
                    }
                } else {
                    Some(self.skip_to_latest(now, restriction.earliest)?)
                };
                match last {
                    None => earliest?,
                    Some(last) => {
                        let after_last = self.align_prev(last.end)?;
                        earliest.map_or(after_last, |e| e.max(after_last))
                    }
                }
            }
        };
        if restriction.latest.is_some_and(|latest| start > latest) {
            return None;
        }
        let end = self.get_next(start)?;
        Some(DagRunInfo::interval(start, end))
    }

    /// The runs whose logical date lies in `[start, end]`, in order, for a backfill. The DAG's
    /// `start_date`/`end_date` still apply; `catchup` does not matter.
    ///
    /// Errors for a DAG without a schedule, for `start > end`, and for more than
    /// [`MAX_BACKFILL_RUNS`] runs.
    pub fn runs_between(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        restriction: &TimeRestriction,
    ) -> Result<Vec<DagRunInfo>> {
        if start > end {
            return Err(TimetableError::EmptyRange { start, end });
        }
        let lo = restriction.earliest.map_or(start, |e| e.max(start));
        let hi = restriction.latest.map_or(end, |l| l.min(end));
        match &self.kind {
            Kind::Manual => return Err(TimetableError::NotScheduled),
            Kind::Once => {
                let runs = restriction
                    .earliest
                    .filter(|at| (start..=end).contains(at) && *at <= hi)
                    .map(DagRunInfo::exact);
                return Ok(runs.into_iter().collect());
            }
            Kind::Cron(_) | Kind::Every(_) => {}
        }
        let mut runs = Vec::new();
        let Some(first) = self.align_next(lo, restriction.earliest) else {
            return Ok(runs);
        };
        let window = TimeRestriction {
            earliest: Some(first),
            latest: Some(hi),
            catchup: true,
        };
        // With catchup the clock is not consulted; pass anything.
        let mut next = self.next_dagrun_info(None, &window, first);
        while let Some(info) = next {
            if runs.len() == MAX_BACKFILL_RUNS {
                return Err(TimetableError::TooManyRuns {
                    start,
                    end,
                    limit: MAX_BACKFILL_RUNS,
                });
            }
            runs.push(info);
            next = self
                .next_dagrun_info(Some(&info.data_interval), &window, first)
                .filter(|n| n.logical_date > info.logical_date);
        }
        Ok(runs)
    }

    /// The next `n` runs that will be created from `now` on (for `dags next-runs`), honouring
    /// `start_date`, `end_date` and `catchup`. Fewer than `n` when the schedule ends.
    pub fn upcoming(
        &self,
        last: Option<&DataInterval>,
        restriction: &TimeRestriction,
        now: DateTime<Utc>,
        n: usize,
    ) -> Vec<DagRunInfo> {
        let mut runs: Vec<DagRunInfo> = Vec::with_capacity(n.min(1024));
        let mut last = last.copied();
        while runs.len() < n {
            let Some(info) = self.next_dagrun_info(last.as_ref(), restriction, now) else {
                break;
            };
            if runs
                .last()
                .is_some_and(|prev| info.logical_date <= prev.logical_date)
            {
                break;
            }
            last = Some(info.data_interval);
            runs.push(info);
        }
        runs
    }

    /// The data interval of a manual run with this logical date (Airflow 2's
    /// `infer_manual_data_interval`): for cron, from the fire before the latest fire at or
    /// before `logical_date` to that fire; for `@every D`, `[t - D, t]`; otherwise `[t, t]`.
    pub fn manual_interval(&self, logical_date: DateTime<Utc>) -> DataInterval {
        let t = logical_date;
        let point = DataInterval { start: t, end: t };
        match &self.kind {
            Kind::Manual | Kind::Once => point,
            Kind::Every(d) => DataInterval {
                start: t.checked_sub_signed(*d).unwrap_or(t),
                end: t,
            },
            Kind::Cron(z) => {
                let Some(end) = z.at_or_before(t) else {
                    return point;
                };
                let start = z.before(end).unwrap_or(end);
                DataInterval { start, end }
            }
        }
    }

    /// The first interval start at or after `t`. For `@every`, intervals sit on a grid
    /// anchored at `anchor` (the start date; the Unix epoch without one).
    fn align_next(&self, t: DateTime<Utc>, anchor: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Cron(z) => z.at_or_after(t),
            Kind::Every(d) => {
                let (anchor, step) = (anchor.unwrap_or(DateTime::UNIX_EPOCH), *d);
                let k = steps_between(anchor, t, step);
                let at = add_steps(anchor, k, step)?;
                if at < t {
                    add_steps(anchor, k + 1, step)
                } else {
                    Some(at)
                }
            }
            Kind::Manual | Kind::Once => Some(t),
        }
    }

    /// The interval start at or before `t` (where the interval after one ending at `t` starts).
    /// For `@every` the end of the previous interval is itself the next start.
    fn align_prev(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Cron(z) => z.at_or_before(t).or(Some(t)),
            Kind::Every(_) | Kind::Manual | Kind::Once => Some(t),
        }
    }

    /// The end of the interval starting at `start`.
    fn get_next(&self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Cron(z) => z.next_after(start),
            Kind::Every(d) => start.checked_add_signed(*d),
            Kind::Manual | Kind::Once => Some(start),
        }
    }

    /// Without catchup: the start of the latest interval that has ended by `now`, but not
    /// before the first interval at or after `earliest`.
    fn skip_to_latest(
        &self,
        now: DateTime<Utc>,
        earliest: Option<DateTime<Utc>>,
    ) -> Option<DateTime<Utc>> {
        let latest_ended = match &self.kind {
            Kind::Cron(z) => {
                let last_end = z.at_or_before(now)?;
                z.before(last_end)?
            }
            Kind::Every(d) => {
                let (anchor, step) = (earliest.unwrap_or(DateTime::UNIX_EPOCH), *d);
                add_steps(anchor, steps_between(anchor, now, step) - 1, step)?
            }
            Kind::Manual | Kind::Once => now,
        };
        match earliest {
            Some(e) => Some(latest_ended.max(self.align_next(e, earliest)?)),
            None => Some(latest_ended),
        }
    }
}

/// `floor((t - anchor) / step)`.
fn steps_between(anchor: DateTime<Utc>, t: DateTime<Utc>, step: Duration) -> i64 {
    let span = (t - anchor).num_milliseconds();
    let step_ms = step.num_milliseconds().max(1);
    span.div_euclid(step_ms)
}

/// `anchor + k * step`, if representable.
fn add_steps(anchor: DateTime<Utc>, k: i64, step: Duration) -> Option<DateTime<Utc>> {
    let ms = step.num_milliseconds().checked_mul(k)?;
    anchor.checked_add_signed(Duration::try_milliseconds(ms)?)
}

fn parse_kind(text: &str, tz: Tz) -> Result<Kind> {
    let invalid = |reason: String| TimetableError::InvalidSchedule {
        text: text.to_string(),
        reason,
    };
    let trimmed = text.trim();
    if !trimmed.starts_with('@') {
        let expr = CronExpr::parse(trimmed).map_err(invalid)?;
        return Ok(Kind::Cron(ZonedCron { expr, tz }));
    }
    let lower = trimmed.to_ascii_lowercase();
    if lower == "@once" {
        return Ok(Kind::Once);
    }
    if let Some(rest) = lower.strip_prefix("@every") {
        let rest = rest.trim();
        if rest.is_empty() {
            return Err(invalid(
                "@every needs a duration, e.g. \"@every 15m\"".to_string(),
            ));
        }
        let std = cambium_dag::parse_duration(rest).map_err(invalid)?;
        if std < std::time::Duration::from_secs(1) {
            return Err(invalid(
                "@every needs a duration of at least 1s, e.g. \"@every 15m\"".to_string(),
            ));
        }
        let d = Duration::from_std(std).map_err(|_| {
            invalid("that duration is too long; use at most a few years".to_string())
        })?;
        return Ok(Kind::Every(d));
    }
    if let Some((_, cron)) = PRESETS.iter().find(|(name, _)| *name == lower) {
        let expr = CronExpr::parse(cron).map_err(invalid)?;
        return Ok(Kind::Cron(ZonedCron { expr, tz }));
    }
    let known = PRESETS.iter().map(|(n, _)| *n).chain(["@once", "@every"]);
    let closest = known
        .map(|n| (strsim::levenshtein(&lower, n), n))
        .min()
        .filter(|(distance, _)| *distance <= 2)
        .map(|(_, n)| format!("did you mean '{n}'? "))
        .unwrap_or_default();
    Err(invalid(format!(
        "unknown preset; {closest}use @hourly, @daily, @weekly, @monthly, @yearly, @once, \
         \"@every 15m\" or a cron expression like \"0 3 * * *\""
    )))
}

#[cfg(test)]
mod tests;
