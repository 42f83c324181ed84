//! Unix-cron expressions parsed into bit sets, and matching on local (naive) date-times.
//!
//! We parse cron ourselves rather than through the `cron` crate because Unix cron and that crate
//! disagree on what users' strings mean: the crate numbers weekdays 1-7 from Sunday while Unix
//! cron uses 0-7 with 0 and 7 both Sunday, and the crate requires day-of-month AND day-of-week
//! to match while Unix cron fires when EITHER matches if both are restricted. Here:
//!
//! - 5 fields `minute hour day-of-month month day-of-week`, or 6 with seconds first;
//! - each field is a comma list of `*`, `N`, `N-M`, each optionally `/STEP`, or `N/STEP`;
//!   `?` is accepted as `*` in the day fields;
//! - months may be `JAN`..`DEC`, weekdays `SUN`..`SAT` (any case); weekday numbers are
//!   0-7 with 0 and 7 = Sunday, 1 = Monday;
//! - if both day fields are restricted (neither starts with `*` or `?`), a day matches when
//!   either matches (Vixie cron, croniter); otherwise both must.
//!
//! Time zones are not this module's business: see `zoned`.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// How many days a search may look ahead or back before giving up. Every expression we accept
/// fires at least once every 8 years (29 February on a restricted weekday is the rarest case
/// with OR semantics: it is just 29 February, at most 8 years apart).
const SEARCH_DAYS: u32 = 366 * 9;

/// A parsed cron expression. Bit `i` of a set is value `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CronExpr {
    seconds: u64,
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    /// 0 = Sunday .. 6 = Saturday.
    days_of_week: u64,
    /// The day-of-month field is `*` or `?`.
    dom_star: bool,
    /// The day-of-week field is `*` or `?`.
    dow_star: bool,
}

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Describes one cron field: its name, numeric range and optional names.
struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// Value of the first name (1 for months, 0 for weekdays).
    names_base: u32,
}

const SECOND: FieldSpec = FieldSpec {
    name: "second",
    min: 0,
    max: 59,
    names: &[],
    names_base: 0,
};
const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
    names_base: 0,
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
    names_base: 0,
};
const DOM: FieldSpec = FieldSpec {
    name: "day of month",
    min: 1,
    max: 31,
    names: &[],
    names_base: 0,
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    names: &MONTH_NAMES,
    names_base: 1,
};
/// Weekday numbers go up to 7 (Sunday again); they are folded to 0-6 after parsing.
const DOW: FieldSpec = FieldSpec {
    name: "weekday",
    min: 0,
    max: 7,
    names: &DAY_NAMES,
    names_base: 0,
};

/// The message used when the number of fields is wrong.
pub(crate) const FIELD_COUNT_HELP: &str =
    "expected 5 fields (minute hour day month weekday) or 6 with seconds, or a preset like @daily";

impl CronExpr {
    /// Parses a 5- or 6-field expression. The error is the reason only (no quoting of `text`).
    pub(crate) fn parse(text: &str) -> Result<CronExpr, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let (sec, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            _ => return Err(FIELD_COUNT_HELP.to_string()),
        };
        let (min, hour, dom, month, dow) = (rest[0], rest[1], rest[2], rest[3], rest[4]);
        let is_star = |f: &str| f.starts_with('*') || f == "?";
        let mut days_of_week = parse_field(dow, &DOW, true)?;
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        let expr = CronExpr {
            seconds: parse_field(sec, &SECOND, false)?,
            minutes: parse_field(min, &MINUTE, false)?,
            hours: parse_field(hour, &HOUR, false)?,
            days_of_month: parse_field(dom, &DOM, true)?,
            months: parse_field(month, &MONTH, false)?,
            days_of_week,
            dom_star: is_star(dom),
            dow_star: is_star(dow),
        };
        expr.check_can_fire(dom)?;
        Ok(expr)
    }

    /// Rejects expressions such as `0 0 30 2 *` that name only days no chosen month has.
    fn check_can_fire(&self, dom_text: &str) -> Result<(), String> {
        if !self.dow_star && !self.dom_star {
            return Ok(()); // either field may match; weekdays occur in every month
        }
        let possible = (1..=12u32)
            .filter(|m| self.months & (1 << m) != 0)
            .any(|m| {
                let longest = match m {
                    2 => 29,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                (1..=longest).any(|d| self.days_of_month & (1 << d) != 0)
            });
        if possible {
            Ok(())
        } else {
            Err(format!(
                "day of month '{dom_text}' never occurs in the chosen months, so it would never run; pick days that exist"
            ))
        }
    }

    /// Whether the schedule fires on this calendar day (at some time of day).
    pub(crate) fn matches_day(&self, date: NaiveDate) -> bool {
        if self.months & (1 << date.month()) == 0 {
            return false;
        }
        let dom = self.days_of_month & (1 << date.day()) != 0;
        let dow = self.days_of_week & (1 << date.weekday().num_days_from_sunday()) != 0;
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// Whether the schedule fires at this local date-time (whole seconds).
    #[cfg(test)]
    pub(crate) fn matches(&self, t: NaiveDateTime) -> bool {
        self.matches_day(t.date())
            && has(self.hours, t.hour())
            && has(self.minutes, t.minute())
            && has(self.seconds, t.second())
    }

    /// The first matching local date-time at or after `from` (sub-seconds ignored).
    pub(crate) fn next_at_or_after(&self, from: NaiveDateTime) -> Option<NaiveDateTime> {
        let mut date = from.date();
        let mut time = Some(from.time());
        for _ in 0..SEARCH_DAYS {
            if self.months & (1 << date.month()) == 0 {
                date = first_of_next_month(date)?;
                time = None;
                continue;
            }
            if self.matches_day(date) {
                let found = match time {
                    Some(t) => self.time_at_or_after(t.hour(), t.minute(), t.second()),
                    None => self.first_time(),
                };
                if let Some(t) = found {
                    return Some(date.and_time(t));
                }
            }
            date = date.succ_opt()?;
            time = None;
        }
        None
    }

    /// The last matching local date-time at or before `from` (sub-seconds ignored).
    pub(crate) fn prev_at_or_before(&self, from: NaiveDateTime) -> Option<NaiveDateTime> {
        let mut date = from.date();
        let mut time = Some(from.time());
        for _ in 0..SEARCH_DAYS {
            if self.months & (1 << date.month()) == 0 {
                date = date.with_day(1)?.pred_opt()?;
                time = None;
                continue;
            }
            if self.matches_day(date) {
                let found = match time {
                    Some(t) => self.time_at_or_before(t.hour(), t.minute(), t.second()),
                    None => self.last_time(),
                };
                if let Some(t) = found {
                    return Some(date.and_time(t));
                }
            }
            date = date.pred_opt()?;
            time = None;
        }
        None
    }

    fn first_time(&self) -> Option<NaiveTime> {
        hms(
            lowest(self.hours)?,
            lowest(self.minutes)?,
            lowest(self.seconds)?,
        )
    }

    fn last_time(&self) -> Option<NaiveTime> {
        hms(
            highest(self.hours)?,
            highest(self.minutes)?,
            highest(self.seconds)?,
        )
    }

    fn time_at_or_after(&self, h: u32, m: u32, s: u32) -> Option<NaiveTime> {
        if has(self.hours, h) {
            if has(self.minutes, m) {
                if let Some(ss) = next_bit(self.seconds, s) {
                    return hms(h, m, ss);
                }
            }
            if let Some(mm) = next_bit(self.minutes, m + 1) {
                return hms(h, mm, lowest(self.seconds)?);
            }
        }
        let hh = next_bit(self.hours, h + 1)?;
        hms(hh, lowest(self.minutes)?, lowest(self.seconds)?)
    }

    fn time_at_or_before(&self, h: u32, m: u32, s: u32) -> Option<NaiveTime> {
        if has(self.hours, h) {
            if has(self.minutes, m) {
                if let Some(ss) = prev_bit(self.seconds, s) {
                    return hms(h, m, ss);
                }
            }
            if let Some(mm) = m.checked_sub(1).and_then(|m1| prev_bit(self.minutes, m1)) {
                return hms(h, mm, highest(self.seconds)?);
            }
        }
        let hh = h.checked_sub(1).and_then(|h1| prev_bit(self.hours, h1))?;
        hms(hh, highest(self.minutes)?, highest(self.seconds)?)
    }
}

fn hms(h: u32, m: u32, s: u32) -> Option<NaiveTime> {
    NaiveTime::from_hms_opt(h, m, s)
}

fn first_of_next_month(date: NaiveDate) -> Option<NaiveDate> {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
}

fn has(set: u64, v: u32) -> bool {
    v < 64 && set & (1 << v) != 0
}

/// The lowest value `>= from` in `set`.
fn next_bit(set: u64, from: u32) -> Option<u32> {
    if from >= 64 {
        return None;
    }
    let masked = set & (u64::MAX << from);
    (masked != 0).then(|| masked.trailing_zeros())
}

/// The highest value `<= from` in `set`.
fn prev_bit(set: u64, from: u32) -> Option<u32> {
    let masked = if from >= 63 {
        set
    } else {
        set & ((1u64 << (from + 1)) - 1)
    };
    (masked != 0).then(|| 63 - masked.leading_zeros())
}

fn lowest(set: u64) -> Option<u32> {
    next_bit(set, 0)
}

fn highest(set: u64) -> Option<u32> {
    prev_bit(set, 63)
}

/// Parses one field into a bit set of the values it allows.
fn parse_field(text: &str, spec: &FieldSpec, allow_question: bool) -> Result<u64, String> {
    let mut set = 0u64;
    for item in text.split(',') {
        set |= parse_item(item, text, spec, allow_question)?;
    }
    Ok(set)
}

fn parse_item(
    item: &str,
    field: &str,
    spec: &FieldSpec,
    allow_question: bool,
) -> Result<u64, String> {
    let name = spec.name;
    if item.is_empty() {
        return Err(format!(
            "{name} '{field}' has an empty list item; write e.g. '1,15'"
        ));
    }
    let (range, step) = match item.split_once('/') {
        Some((r, s)) => {
            let step: u32 = s.parse().map_err(|_| {
                format!("{name} '{field}' has step '{s}', which is not a whole number; write e.g. '*/5'")
            })?;
            if step == 0 {
                return Err(format!(
                    "{name} '{field}' has step 0; steps start at 1, e.g. '*/5'"
                ));
            }
            (r, Some(step))
        }
        None => (item, None),
    };
    let top = if spec.max == 7 { 6 } else { spec.max }; // `*` over weekdays is 0-6
    let (lo, hi) = if range == "*" || (allow_question && range == "?") {
        (spec.min, top)
    } else if let Some((a, b)) = range.split_once('-') {
        let lo = parse_value(a, field, spec)?;
        let hi = parse_value(b, field, spec)?;
        if lo > hi {
            return Err(format!(
                "{name} '{field}' has range '{range}' that runs backwards; write the smaller value first"
            ));
        }
        (lo, hi)
    } else {
        let v = parse_value(range, field, spec)?;
        // `N/STEP` means from N to the end of the range.
        if step.is_some() {
            (v, top.max(v))
        } else {
            (v, v)
        }
    };
    let step = step.unwrap_or(1);
    let mut set = 0u64;
    let mut v = lo;
    while v <= hi {
        set |= 1 << v;
        v += step;
    }
    Ok(set)
}

fn parse_value(text: &str, field: &str, spec: &FieldSpec) -> Result<u32, String> {
    let name = spec.name;
    if let Ok(v) = text.parse::<u32>() {
        if v < spec.min || v > spec.max {
            return Err(format!(
                "{name} '{field}' has value {v}, outside {}-{}",
                spec.min, spec.max
            ));
        }
        return Ok(v);
    }
    let upper = text.to_ascii_uppercase();
    if let Some(i) = spec.names.iter().position(|n| *n == upper) {
        return Ok(spec.names_base + i as u32);
    }
    let hint = if spec.names.is_empty() {
        format!("use numbers {}-{}", spec.min, spec.max)
    } else {
        format!(
            "use numbers {}-{} or names {}..{}",
            spec.min,
            spec.max,
            spec.names[0],
            spec.names[spec.names.len() - 1]
        )
    };
    Err(format!(
        "{name} '{field}' has '{text}', which is not understood; {hint} (L, W and # are not supported)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("test date")
    }

    fn next(expr: &str, from: &str) -> NaiveDateTime {
        CronExpr::parse(expr)
            .expect("parses")
            .next_at_or_after(dt(from))
            .expect("fires")
    }

    fn prev(expr: &str, from: &str) -> NaiveDateTime {
        CronExpr::parse(expr)
            .expect("parses")
            .prev_at_or_before(dt(from))
            .expect("fires")
    }

    #[test]
    fn unix_weekday_numbers() {
        // 2026-11-23 is a Monday.
        assert_eq!(
            next("0 9 * * 1", "2026-11-24 00:00:00"),
            dt("2026-11-30 09:00:00")
        );
        assert_eq!(
            next("0 9 * * 0", "2026-11-24 00:00:00"),
            dt("2026-11-29 09:00:00")
        );
        assert_eq!(
            next("0 9 * * 7", "2026-11-24 00:00:00"),
            dt("2026-11-29 09:00:00")
        );
        assert_eq!(
            next("* * * * 7", "2026-11-24 00:00:00"),
            dt("2026-11-29 00:00:00")
        );
        assert_eq!(
            next("0 9 * * sun", "2026-11-24 00:00:00"),
            dt("2026-11-29 09:00:00")
        );
        assert_eq!(
            next("0 9 * * MON-FRI", "2026-11-28 00:00:00"),
            dt("2026-11-30 09:00:00")
        );
        // 1-5 is Monday to Friday: Saturday 28th and Sunday 29th are skipped.
        assert_eq!(
            next("0 9 * * 1-5", "2026-11-27 10:00:00"),
            dt("2026-11-30 09:00:00")
        );
        // 5-7 is Friday, Saturday, Sunday.
        let e = CronExpr::parse("0 0 * * 5-7").expect("parses");
        let days: Vec<u32> = (23..=29)
            .filter(|d| e.matches(dt(&format!("2026-11-{d} 00:00:00"))))
            .collect();
        assert_eq!(days, vec![27, 28, 29]);
        // */2 is Sunday, Tuesday, Thursday, Saturday.
        let e = CronExpr::parse("0 0 * * */2").expect("parses");
        let days: Vec<u32> = (23..=29)
            .filter(|d| e.matches(dt(&format!("2026-11-{d} 00:00:00"))))
            .collect();
        assert_eq!(days, vec![24, 26, 28, 29]);
    }

    #[test]
    fn steps_ranges_lists_and_seconds() {
        assert_eq!(
            next("*/10 * * * *", "2026-11-23 10:01:00"),
            dt("2026-11-23 10:10:00")
        );
        assert_eq!(
            next("*/10 * * * *", "2026-11-23 10:10:00"),
            dt("2026-11-23 10:10:00")
        );
        assert_eq!(
            next("5,35 1-3 * * *", "2026-11-23 03:36:00"),
            dt("2026-11-24 01:05:00")
        );
        assert_eq!(
            next("10/20 * * * *", "2026-11-23 10:31:00"),
            dt("2026-11-23 10:50:00")
        );
        assert_eq!(
            next("30 */15 * * * *", "2026-11-23 10:00:31"),
            dt("2026-11-23 10:15:30")
        );
        assert_eq!(
            next("0 0 1 jan *", "2026-11-23 00:00:00"),
            dt("2027-01-01 00:00:00")
        );
        assert_eq!(
            next("0 0 29 2 *", "2026-03-01 00:00:00"),
            dt("2028-02-29 00:00:00")
        );
        assert_eq!(
            next("0 0 31 * *", "2026-11-01 00:00:00"),
            dt("2026-12-31 00:00:00")
        );
        assert_eq!(
            next("59 23 31 12 *", "2026-12-31 23:59:01"),
            dt("2027-12-31 23:59:00")
        );
    }

    #[test]
    fn previous_fires() {
        assert_eq!(
            prev("*/10 * * * *", "2026-11-23 10:09:59"),
            dt("2026-11-23 10:00:00")
        );
        assert_eq!(
            prev("*/10 * * * *", "2026-11-23 10:10:00"),
            dt("2026-11-23 10:10:00")
        );
        assert_eq!(
            prev("0 3 * * *", "2026-11-23 02:59:59"),
            dt("2026-11-22 03:00:00")
        );
        assert_eq!(
            prev("0 0 1 * *", "2026-03-15 00:00:00"),
            dt("2026-03-01 00:00:00")
        );
        assert_eq!(
            prev("0 0 1 jan *", "2026-11-23 00:00:00"),
            dt("2026-01-01 00:00:00")
        );
        assert_eq!(
            prev("0 0 29 2 *", "2026-11-23 00:00:00"),
            dt("2024-02-29 00:00:00")
        );
        assert_eq!(
            prev("15,45 * * * *", "2026-11-23 10:14:00"),
            dt("2026-11-23 09:45:00")
        );
        assert_eq!(
            prev("0 9 * * 1", "2026-11-29 00:00:00"),
            dt("2026-11-23 09:00:00")
        );
    }

    #[test]
    fn day_of_month_or_day_of_week_when_both_restricted() {
        // Vixie cron: the 1st of the month OR any Monday.
        let e = CronExpr::parse("0 0 1 * 1").expect("parses");
        assert!(e.matches(dt("2026-11-23 00:00:00"))); // a Monday
        assert!(e.matches(dt("2026-12-01 00:00:00"))); // a Tuesday, the 1st
        assert!(!e.matches(dt("2026-11-24 00:00:00")));
        // With a star in either field both must match (the star matches everything).
        let e = CronExpr::parse("0 0 * * 1").expect("parses");
        assert!(!e.matches(dt("2026-12-01 00:00:00")));
        let e = CronExpr::parse("0 0 1 * ?").expect("parses");
        assert!(!e.matches(dt("2026-11-23 00:00:00")));
    }

    #[test]
    fn bad_expressions_explain_themselves() {
        let err = |s: &str| CronExpr::parse(s).expect_err(s);
        assert_eq!(err("*/10 * * *"), FIELD_COUNT_HELP);
        assert_eq!(err("* * * * * * *"), FIELD_COUNT_HELP);
        assert!(err("0 25 * * *").contains("hour '25' has value 25, outside 0-23"));
        assert!(err("60 * * * *").contains("minute"));
        assert!(err("0 0 0 * *").contains("day of month '0' has value 0, outside 1-31"));
        assert!(err("0 0 * 13 *").contains("month"));
        assert!(err("0 0 * * 8").contains("weekday '8' has value 8, outside 0-7"));
        assert!(err("0 0 * * FUNDAY").contains("names SUN..SAT"));
        assert!(err("*/0 * * * *").contains("step 0"));
        assert!(err("*/x * * * *").contains("not a whole number"));
        assert!(err("5-1 * * * *").contains("runs backwards"));
        assert!(err("1,,2 * * * *").contains("empty list item"));
        assert!(err("0 0 L * *").contains("L, W and # are not supported"));
        assert!(err("0 0 30 2 *").contains("never"));
        assert!(err("0 0 31 4,6 *").contains("never"));
    }
}
