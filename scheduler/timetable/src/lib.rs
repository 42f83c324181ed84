//! Cambium's timetables: when a DAG's runs happen and which data interval each one covers.
//!
//! This crate owns the meaning of a DAG's `schedule`, `timezone`, `start_date`, `end_date` and
//! `catchup` options, with Airflow's data-interval semantics: the run for `[start, end)` has
//! `logical_date = start` and may start at `end`. It parses Unix cron (5 fields, or 6 with
//! seconds first; weekdays 0-7 with 0 and 7 = Sunday), presets (`@daily`, …), `@once` and
//! `@every 15m`; evaluates cron in the DAG's IANA time zone, DST-correct (a local time that
//! does not exist is skipped, an ambiguous one fires once); and answers the scheduler's
//! questions — the next run to create, the runs of a backfill range, the upcoming runs, a
//! manual run's interval.
//!
//! Pure: no IO and no clock; `now` is always a parameter.

mod cron_expr;
mod dates;
mod error;
mod timetable;
mod zoned;

pub use dates::{parse_date, parse_timezone};
pub use error::{Result, TimetableError};
pub use timetable::{DagRunInfo, DataInterval, TimeRestriction, Timetable, MAX_BACKFILL_RUNS};
