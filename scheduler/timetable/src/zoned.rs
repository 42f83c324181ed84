//! Cron fire times in a time zone, DST-correct, as instants in UTC.
//!
//! A cron expression names local wall-clock times. Mapping them to instants:
//! - a local time that does not exist (the clock springs forward over it) is skipped;
//! - a local time that exists twice (the clock falls back over it) fires once, at its first
//!   occurrence.
//!
//! With "first occurrence" the map from existing local times to instants is strictly
//! increasing, so the next fire after an instant `t` is the first matching local time whose
//! first occurrence lies after `t`. The `cron` crate (v0.15) instead yields both occurrences
//! of a repeated local time, out of order in absolute time (see the test
//! `the_cron_crate_fires_twice_in_the_repeated_hour_but_we_do_not`); searching here avoids it.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::cron_expr::CronExpr;

/// Upper bound on candidates examined per search (each candidate skipped is a local time that
/// does not exist or falls before `t` inside a repeated hour; in practice a few thousand at most).
const MAX_CANDIDATES: usize = 200_000;

/// A cron expression evaluated in a time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZonedCron {
    pub(crate) expr: CronExpr,
    pub(crate) tz: Tz,
}

impl ZonedCron {
    /// The first fire time strictly after `t`.
    pub(crate) fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let base = floor_second(t).naive_utc();
        let (min_off, _) = self.offset_range(t);
        let mut from = base + min_off + Duration::seconds(1);
        for _ in 0..MAX_CANDIDATES {
            let local = self.expr.next_at_or_after(from)?;
            if let Some(instant) = self.first_occurrence(local) {
                if instant > t {
                    return Some(instant);
                }
            }
            from = local + Duration::seconds(1);
        }
        None
    }

    /// The last fire time at or before `t`.
    pub(crate) fn at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let base = floor_second(t).naive_utc();
        let (_, max_off) = self.offset_range(t);
        let mut from = base + max_off;
        for _ in 0..MAX_CANDIDATES {
            let local = self.expr.prev_at_or_before(from)?;
            if let Some(instant) = self.first_occurrence(local) {
                if instant <= t {
                    return Some(instant);
                }
            }
            from = local - Duration::seconds(1);
        }
        None
    }

    /// The first fire time at or after `t`.
    pub(crate) fn at_or_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_after(t - Duration::nanoseconds(1))
    }

    /// The last fire time strictly before `t`.
    pub(crate) fn before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.at_or_before(t - Duration::nanoseconds(1))
    }

    /// The instant of the first occurrence of a local time, or `None` if it does not exist.
    fn first_occurrence(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.tz.from_local_datetime(&local) {
            LocalResult::None => None,
            LocalResult::Single(x) => Some(x.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, second) => {
                Some(first.with_timezone(&Utc).min(second.with_timezone(&Utc)))
            }
        }
    }

    /// The smallest and largest UTC offset in force within a day of `t`.
    fn offset_range(&self, t: DateTime<Utc>) -> (Duration, Duration) {
        let offsets = [-1i64, 0, 1].map(|days| {
            let at = t
                .checked_add_signed(Duration::days(days))
                .unwrap_or(t)
                .naive_utc();
            let secs = self
                .tz
                .offset_from_utc_datetime(&at)
                .fix()
                .local_minus_utc();
            Duration::seconds(i64::from(secs))
        });
        let min = offsets.iter().copied().min().unwrap_or_else(Duration::zero);
        let max = offsets.iter().copied().max().unwrap_or_else(Duration::zero);
        (min, max)
    }
}

/// `t` with its sub-second part removed.
pub(crate) fn floor_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zc(expr: &str, tz: Tz) -> ZonedCron {
        ZonedCron {
            expr: CronExpr::parse(expr).expect("parses"),
            tz,
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test instant")
            .with_timezone(&Utc)
    }

    fn fires(z: &ZonedCron, from: &str, n: usize) -> Vec<String> {
        let mut t = utc(from);
        let mut out = Vec::new();
        for _ in 0..n {
            t = z.next_after(t).expect("fires");
            out.push(t.with_timezone(&z.tz).to_rfc3339());
        }
        out
    }

    #[test]
    fn berlin_spring_forward_skips_the_missing_time() {
        // 2026-03-29 02:00 CET jumps to 03:00 CEST: 02:30 does not exist that day.
        let z = zc("30 2 * * *", chrono_tz::Europe::Berlin);
        assert_eq!(
            fires(&z, "2026-03-27T12:00:00Z", 3),
            [
                "2026-03-28T02:30:00+01:00",
                "2026-03-30T02:30:00+02:00",
                "2026-03-31T02:30:00+02:00"
            ]
        );
    }

    #[test]
    fn berlin_fall_back_fires_once() {
        // 2026-10-25 03:00 CEST falls back to 02:00 CET: 02:30 happens twice, fires at the first.
        let z = zc("30 2 * * *", chrono_tz::Europe::Berlin);
        assert_eq!(
            fires(&z, "2026-10-24T12:00:00Z", 2),
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
        );
        // Asking from inside the repeated hour (02:45 CET, the second occurrence) moves on to
        // the next day instead of going back in time.
        assert_eq!(
            z.next_after(utc("2026-10-25T01:45:00Z")),
            Some(utc("2026-10-26T01:30:00Z"))
        );
        assert_eq!(
            z.at_or_before(utc("2026-10-25T01:45:00Z")),
            Some(utc("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn every_half_hour_through_dst_changes() {
        let z = zc("*/30 * * * *", chrono_tz::Europe::Berlin);
        assert_eq!(
            fires(&z, "2026-10-24T23:45:00Z", 5),
            [
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:30:00+02:00",
                // 02:00 and 02:30 CET are the same local times again: not repeated.
                "2026-10-25T03:00:00+01:00",
                "2026-10-25T03:30:00+01:00",
                "2026-10-25T04:00:00+01:00"
            ]
        );
        // Spring forward: the 02:xx local times are skipped.
        assert_eq!(
            fires(&z, "2026-03-29T00:15:00Z", 3),
            [
                "2026-03-29T01:30:00+01:00",
                "2026-03-29T03:00:00+02:00",
                "2026-03-29T03:30:00+02:00"
            ]
        );
    }

    #[test]
    fn new_york_dst_2026() {
        // 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
        let z = zc("30 2 * * *", chrono_tz::America::New_York);
        assert_eq!(
            fires(&z, "2026-03-06T12:00:00Z", 2),
            ["2026-03-07T02:30:00-05:00", "2026-03-09T02:30:00-04:00"]
        );
        let z = zc("30 1 * * *", chrono_tz::America::New_York);
        assert_eq!(
            fires(&z, "2026-10-31T12:00:00Z", 2),
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]
        );
        // A daily midnight job keeps firing at local midnight across the change.
        let z = zc("0 0 * * *", chrono_tz::America::New_York);
        assert_eq!(
            fires(&z, "2026-10-31T12:00:00Z", 2),
            ["2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00"]
        );
    }

    #[test]
    fn previous_fire_across_spring_forward() {
        let z = zc("30 2 * * *", chrono_tz::Europe::Berlin);
        assert_eq!(
            z.at_or_before(utc("2026-03-29T12:00:00Z")),
            Some(utc("2026-03-28T01:30:00Z"))
        );
        assert_eq!(
            z.before(utc("2026-03-28T01:30:00Z")),
            Some(utc("2026-03-27T01:30:00Z"))
        );
        assert_eq!(
            z.at_or_after(utc("2026-03-28T01:30:00Z")),
            Some(utc("2026-03-28T01:30:00Z"))
        );
    }

    #[test]
    fn sub_second_instants() {
        let z = zc("0 * * * *", chrono_tz::UTC);
        let t = utc("2026-11-23T10:00:00.250Z");
        assert_eq!(z.next_after(t), Some(utc("2026-11-23T11:00:00Z")));
        assert_eq!(z.at_or_before(t), Some(utc("2026-11-23T10:00:00Z")));
        assert_eq!(z.at_or_after(t), Some(utc("2026-11-23T11:00:00Z")));
        assert_eq!(
            z.before(utc("2026-11-23T10:00:00Z")),
            Some(utc("2026-11-23T09:00:00Z"))
        );
    }

    /// In UTC (no DST) our matcher must agree with the independent `cron` crate on expressions
    /// where the two dialects mean the same thing (no numeric weekdays, day fields not both set).
    #[test]
    fn agrees_with_the_cron_crate_in_utc() {
        use std::str::FromStr;
        let cases = [
            ("*/7 * * * *", "0 */7 * * * *"),
            ("5 4 * * *", "0 5 4 * * *"),
            ("0 0 1,15 * *", "0 0 0 1,15 * *"),
            ("0 22 * * MON-FRI", "0 0 22 * * Mon-Fri"),
            ("23 0-20/2 * * *", "0 23 0-20/2 * * *"),
            ("0 0 29 2 *", "0 0 0 29 2 *"),
            ("15 10 * JUN-AUG SUN", "0 15 10 * Jun-Aug Sun"),
            ("10,20,30 */5 * * * *", "10,20,30 */5 * * * *"),
        ];
        for (ours, theirs) in cases {
            let z = zc(ours, chrono_tz::UTC);
            let other = cron::Schedule::from_str(theirs).expect("cron crate parses");
            let start = utc("2026-01-01T00:00:00Z");
            // The cron crate stops at 2099, so compare as many as it gives (at least 18).
            let expected: Vec<DateTime<Utc>> = other.after(&start).take(200).collect();
            assert!(expected.len() >= 18, "{theirs}");
            let mut t = start;
            let mut got = Vec::new();
            for _ in 0..expected.len() {
                t = z.next_after(t).expect("fires");
                got.push(t);
            }
            assert_eq!(got, expected, "{ours}");
        }
    }

    /// Why we do not let the `cron` crate walk local times: in the repeated hour it fires
    /// twice and goes back in time (02:30 CEST = 00:30Z comes after 02:00 CET = 01:00Z).
    #[test]
    fn the_cron_crate_fires_twice_in_the_repeated_hour_but_we_do_not() {
        use std::str::FromStr;
        let berlin = chrono_tz::Europe::Berlin;
        let crate_fires: Vec<DateTime<Utc>> = cron::Schedule::from_str("0 */30 * * * *")
            .expect("cron crate parses")
            .after(&utc("2026-10-24T23:45:00Z").with_timezone(&berlin))
            .take(4)
            .map(|t| t.with_timezone(&Utc))
            .collect();
        assert_eq!(
            crate_fires,
            [
                utc("2026-10-25T00:00:00Z"),
                utc("2026-10-25T01:00:00Z"),
                utc("2026-10-25T00:30:00Z"),
                utc("2026-10-25T01:30:00Z")
            ]
        );
        let ours = zc("*/30 * * * *", berlin);
        assert_eq!(
            fires(&ours, "2026-10-24T23:45:00Z", 3),
            [
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:30:00+02:00",
                "2026-10-25T03:00:00+01:00"
            ]
        );
    }
}
