//! Time formatting shared by run ids, the protocol and views.

use chrono::{DateTime, SecondsFormat, Utc};

/// RFC 3339 with an explicit `+00:00` offset and only as many fraction digits as needed.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// The time to microseconds, the precision the store keeps.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// A run id: `<kind>__<logical date>`, as Airflow writes them.
pub fn run_id(kind: &str, logical_date: DateTime<Utc>) -> String {
    format!("{kind}__{}", rfc3339(logical_date))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn run_ids_look_like_airflows() {
        let t = Utc
            .with_ymd_and_hms(2026, 11, 22, 9, 0, 0)
            .single()
            .expect("valid");
        assert_eq!(run_id("manual", t), "manual__2026-11-22T09:00:00+00:00");
        let t = t + chrono::Duration::microseconds(1500);
        assert_eq!(
            run_id("manual", t),
            "manual__2026-11-22T09:00:00.001500+00:00"
        );
    }
}
