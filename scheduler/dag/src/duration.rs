//! Durations as DAG files write them: `"500ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"`, and
//! combinations such as `"1h30m"`.

use std::time::Duration;

/// Parses a duration string. Accepts one or more `<number><unit>` parts with units
/// `ms`, `s`, `m`, `h`, `d`, `w` (e.g. `"90s"`, `"1h30m"`). A bare `0` is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("a duration cannot be empty; write e.g. \"30s\", \"5m\" or \"2h\"".into());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total_ms: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "'{text}' is not a duration: expected a number before '{rest}' (e.g. \"30s\", \"5m\", \"2h\")"
            ));
        }
        let number: f64 = rest[..digits].parse().map_err(|_| {
            format!(
                "'{text}' is not a duration: bad number '{}'",
                &rest[..digits]
            )
        })?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let factor_ms: f64 = match unit {
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            "w" => 604_800_000.0,
            "" => {
                return Err(format!(
                    "'{text}' has no unit: add one of ms, s, m, h, d (e.g. \"{number}s\")"
                ))
            }
            other => {
                return Err(format!(
                    "'{text}' has an unknown unit '{other}': use ms, s, m, h, d or w"
                ))
            }
        };
        // A number too long for an f64 reads as infinity, and `as` would saturate it; the
        // sum is checked so that huge parts never wrap around to a short duration.
        let too_long = || format!("'{text}' is too long a duration");
        let part_ms = (number * factor_ms).round();
        if !part_ms.is_finite() || part_ms >= u64::MAX as f64 {
            return Err(too_long());
        }
        total_ms = total_ms.checked_add(part_ms as u128).ok_or_else(too_long)?;
    }
    let ms = u64::try_from(total_ms).map_err(|_| format!("'{text}' is too long a duration"))?;
    Ok(Duration::from_millis(ms))
}

/// Formats a duration in the largest units that divide it exactly (`90s` → `"1m30s"`).
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000u128),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    if ms > 0 {
        out.push_str(&format!("{ms}ms"));
    }
    out
}

/// Serde helpers that store a `Duration` as whole milliseconds.
pub mod serde_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }

    /// The same for `Option<Duration>`.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use std::time::Duration;

        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_some(&(d.as_millis() as u64)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_bad_text_with_a_hint() {
        assert!(parse_duration("").unwrap_err().contains("30s"));
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(parse_duration("5 minutes")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_duration("m").unwrap_err().contains("number"));
    }

    /// Found by fuzzing (`fuzz/`, target `dates`): a part too long for an f64 saturated and
    /// the sum of two such parts overflowed (a panic in debug builds; in release it wrapped
    /// around to a zero-length duration).
    #[test]
    fn huge_parts_are_too_long_never_short() {
        let huge = "9".repeat(46);
        for text in [
            format!("{huge}ms1ms"),
            format!("{huge}ms{huge}ms"),
            format!("{huge}w"),
            "18446744073709551615ms1ms".to_string(),
            "18446744073709551616ms".to_string(),
        ] {
            let err = parse_duration(&text).expect_err(&text);
            assert!(err.contains("too long"), "{text}: {err}");
        }
        assert_eq!(
            parse_duration("10000w"),
            Ok(Duration::from_secs(10_000 * 7 * 86_400))
        );
    }

    #[test]
    fn formats_round_trip() {
        for text in ["1m30s", "2h", "1d", "500ms", "1s250ms"] {
            let d = parse_duration(text).expect("valid");
            assert_eq!(format_duration(d), text);
        }
    }
}
