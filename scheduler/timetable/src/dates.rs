//! Reading time zone names and DAG-file dates.

use std::str::FromStr;

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::{Result, TimetableError};

/// Parses an IANA time zone name such as `"Europe/Berlin"` or `"UTC"`.
///
/// On failure the error suggests the closest known name when one is close.
pub fn parse_timezone(name: &str) -> Result<Tz> {
    if let Ok(tz) = Tz::from_str(name.trim()) {
        return Ok(tz);
    }
    Err(TimetableError::InvalidTimezone {
        name: name.to_string(),
        suggestion: closest_zone(name),
    })
}

/// The longest text worth comparing with zone names (the longest IANA name has 32 bytes).
/// Found by fuzzing: the comparison is quadratic, and a DAG file's 64 KB `timezone` kept the
/// loader busy for minutes, outside the file's wall-clock budget.
const MAX_SUGGESTABLE_ZONE: usize = 64;

fn closest_zone(name: &str) -> Option<String> {
    let wanted = name.trim().to_ascii_lowercase();
    if wanted.len() > MAX_SUGGESTABLE_ZONE {
        return None;
    }
    let mut best: Option<(f64, &'static str)> = None;
    for tz in chrono_tz::TZ_VARIANTS.iter() {
        let candidate = tz.name();
        let score = strsim::jaro_winkler(&wanted, &candidate.to_ascii_lowercase());
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.filter(|(score, _)| *score >= 0.9)
        .map(|(_, n)| n.to_string())
}

/// Parses a DAG-file date.
///
/// Accepted forms:
/// - `"YYYY-MM-DD"`: midnight in `tz`;
/// - `"YYYY-MM-DDTHH:MM[:SS]"` (or with a space instead of `T`): that wall-clock time in `tz`;
/// - RFC 3339 (`"2026-11-01T00:00:00+01:00"`, `"…Z"`): its own offset.
///
/// A local time that does not exist in `tz` (DST gap) moves forward by the gap's length
/// (02:30 on a spring-forward night becomes 03:30); an ambiguous one means its first occurrence.
pub fn parse_date(text: &str, tz: Tz) -> Result<DateTime<Utc>> {
    let s = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return local_to_utc(d.and_time(chrono::NaiveTime::MIN), tz, text);
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return local_to_utc(t, tz, text);
        }
    }
    Err(TimetableError::InvalidDate {
        text: text.to_string(),
        reason: "write \"YYYY-MM-DD\" (midnight in the DAG's timezone) or RFC 3339 such as \
                 \"2026-11-01T09:00:00+01:00\""
            .to_string(),
    })
}

fn local_to_utc(local: NaiveDateTime, tz: Tz, text: &str) -> Result<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Ok(a.with_timezone(&Utc).min(b.with_timezone(&Utc))),
        LocalResult::None => {
            // Inside a DST gap: read the wall-clock time with the offset in force before the
            // gap, which moves it forward by the gap's length (02:30 becomes 03:30), as
            // pendulum and java.time do.
            (1..=48)
                .find_map(|h| {
                    tz.from_local_datetime(&(local - Duration::hours(h)))
                        .earliest()
                })
                .map(|before| {
                    let offset =
                        Duration::seconds(i64::from(before.offset().fix().local_minus_utc()));
                    Utc.from_utc_datetime(&(local - offset))
                })
                .ok_or_else(|| TimetableError::InvalidDate {
                    text: text.to_string(),
                    reason: format!("this local time does not exist in {}", tz.name()),
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_zone_name_is_refused_at_once() {
        let name = "E".repeat(64 * 1024);
        let started = std::time::Instant::now();
        assert!(parse_timezone(&name).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // Short names still get a suggestion.
        match parse_timezone("Europe/Berln") {
            Err(TimetableError::InvalidTimezone { suggestion, .. }) => {
                assert_eq!(suggestion.as_deref(), Some("Europe/Berlin"));
            }
            other => panic!("{other:?}"),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn timezones() {
        assert_eq!(
            parse_timezone("Europe/Berlin"),
            Ok(chrono_tz::Europe::Berlin)
        );
        assert_eq!(parse_timezone("UTC"), Ok(chrono_tz::UTC));
        let err = parse_timezone("Europe/Berln").expect_err("misspelt");
        assert_eq!(
            err.to_string(),
            "'Europe/Berln' is not an IANA time zone (did you mean 'Europe/Berlin'?)"
        );
        let err = parse_timezone("Nowhere at all").expect_err("nonsense");
        assert!(
            err.to_string()
                .starts_with("'Nowhere at all' is not an IANA time zone"),
            "{err}"
        );
    }

    #[test]
    fn dates() {
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            parse_date("2026-11-01", berlin),
            Ok(utc("2026-10-31T23:00:00Z"))
        );
        assert_eq!(
            parse_date("2026-07-01", berlin),
            Ok(utc("2026-06-30T22:00:00Z"))
        );
        assert_eq!(
            parse_date("2026-11-01", chrono_tz::UTC),
            Ok(utc("2026-11-01T00:00:00Z"))
        );
        assert_eq!(
            parse_date("2026-11-01T09:30:00+05:00", berlin),
            Ok(utc("2026-11-01T04:30:00Z"))
        );
        assert_eq!(
            parse_date("2026-11-01T09:30:00Z", berlin),
            Ok(utc("2026-11-01T09:30:00Z"))
        );
        assert_eq!(
            parse_date("2026-11-01T09:30", berlin),
            Ok(utc("2026-11-01T08:30:00Z"))
        );
        assert_eq!(
            parse_date("2026-11-01 09:30:15", berlin),
            Ok(utc("2026-11-01T08:30:15Z"))
        );
        // In the spring-forward gap: moved forward by the gap, 02:30 CET is 03:30 CEST.
        assert_eq!(
            parse_date("2026-03-29T02:30", berlin),
            Ok(utc("2026-03-29T01:30:00Z"))
        );
        // In the repeated hour: the first occurrence.
        assert_eq!(
            parse_date("2026-10-25T02:30", berlin),
            Ok(utc("2026-10-25T00:30:00Z"))
        );
        for bad in ["2026-13-01", "yesterday", "2026/11/01", ""] {
            let err = parse_date(bad, berlin).expect_err(bad);
            assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");
        }
    }
}
