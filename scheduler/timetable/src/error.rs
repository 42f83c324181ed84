//! The errors a timetable can report; each message names the bad text and says what to write.

use chrono::{DateTime, Utc};

/// Something about a schedule, time zone, date or range that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimetableError {
    /// The `schedule` text is neither a cron expression, a preset nor `@every <duration>`.
    #[error("'{text}' is not a valid schedule: {reason}")]
    InvalidSchedule {
        /// The schedule as written.
        text: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// The `timezone` is not an IANA time zone name.
    #[error("'{name}' is not an IANA time zone{}", suggestion_text(.suggestion))]
    InvalidTimezone {
        /// The name as written.
        name: String,
        /// The closest known zone name, if one is close.
        suggestion: Option<String>,
    },
    /// A `start_date`/`end_date` (or a CLI date) that cannot be read.
    #[error("'{text}' is not a date: {reason}")]
    InvalidDate {
        /// The date as written.
        text: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// Backfill was asked of a DAG without a schedule.
    #[error(
        "this DAG has no schedule, so it has no intervals to backfill; \
         trigger runs with `cambium dags trigger DAG --logical-date T` instead"
    )]
    NotScheduled,
    /// A backfill range whose start lies after its end.
    #[error("the range is empty: start {start} is after end {end}; swap --start and --end")]
    EmptyRange {
        /// Start of the range as given.
        start: DateTime<Utc>,
        /// End of the range as given.
        end: DateTime<Utc>,
    },
    /// A backfill range holding more runs than we are willing to create at once.
    #[error(
        "the range {start} .. {end} holds more than {limit} runs; \
         pick a shorter range or a coarser schedule"
    )]
    TooManyRuns {
        /// Start of the range.
        start: DateTime<Utc>,
        /// End of the range.
        end: DateTime<Utc>,
        /// The limit that was exceeded.
        limit: usize,
    },
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean '{s}'?)"),
        None => " (write a name like 'UTC', 'Europe/Berlin' or 'America/New_York')".to_string(),
    }
}

/// Shorthand for results carrying a [`TimetableError`].
pub type Result<T, E = TimetableError> = std::result::Result<T, E>;
