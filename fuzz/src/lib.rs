//! The fuzz targets' bodies, one function per target, each taking the raw bytes libFuzzer
//! generates. `cargo fuzz run <target>` calls them from `fuzz_targets/<target>.rs`; the main
//! workspace's `tests/fuzz_corpora.rs` includes this file and replays every committed corpus
//! through the same functions, so CI checks the corpora on stable without libFuzzer.
//!
//! Besides "no panic, no hang, bounded memory" (which libFuzzer checks with `-timeout` and
//! `-rss_limit_mb`), each target asserts properties that must hold for any input: the loader
//! never reports an internal error and its errors have positions; a timetable's runs move
//! forward with well-formed intervals; a parsed duration or date survives formatting and
//! parsing again; rendering a template either succeeds or names what went wrong.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use std::time::Duration;

/// The limits the scheduler evaluates DAG files with (`Limits::default()` with the default
/// `[scheduler] parse_timeout` of 2 s as the wall-clock budget).
pub fn loader_limits() -> cambium_loader::Limits {
    cambium_loader::Limits {
        wall_time: Duration::from_secs(2),
        ..cambium_loader::Limits::default()
    }
}

/// The DAG loader: Rhai evaluation in the sandbox, then validation of every option.
///
/// Like the DAGs folder, a file that is not UTF-8 is not evaluated at all.
pub fn loader(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let loaded = cambium_loader::load_source("fuzz.rhai", source, &loader_limits());
    assert_eq!(loaded.hash, cambium_loader::hash_text(data));
    for error in &loaded.errors {
        // The loader catches its own panics and turns them into this message; for the fuzzer
        // that is a crash like any other.
        assert!(
            !error.message.contains("internal error"),
            "internal error for {source:?}: {error:?}"
        );
        assert!(error.line >= 1 && error.column >= 1, "{error:?}");
        assert!(!error.message.trim().is_empty(), "{error:?}");
    }
    for dag in &loaded.dags {
        assert!(!dag.dag_id.is_empty());
        // A loaded DAG's schedule and time zone are valid: the scheduler relies on it.
        let timetable = cambium_timetable::Timetable::parse(dag.schedule.as_deref(), &dag.timezone);
        assert!(timetable.is_ok(), "{:?} / {:?}", dag.schedule, dag.timezone);
    }
}

/// Splits `data` at the first `\n` into (line, rest); without one, everything is the line.
fn first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// Reads up to 8 bytes as a little-endian integer, consuming them.
fn take_u64(data: &mut &[u8]) -> u64 {
    let n = data.len().min(8);
    let mut buf = [0u8; 8];
    buf[..n].copy_from_slice(&data[..n]);
    *data = &data[n..];
    u64::from_le_bytes(buf)
}

/// An instant a DAG file can name: years 0000 to 9999 (what the date forms accept).
fn instant(seed: u64) -> DateTime<Utc> {
    let lo = Utc
        .with_ymd_and_hms(0, 1, 1, 0, 0, 0)
        .single()
        .map_or(0, |t| t.timestamp());
    let hi = Utc
        .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
        .single()
        .map_or(0, |t| t.timestamp());
    let span = u64::try_from(hi - lo).unwrap_or(1).max(1);
    let secs = lo + i64::try_from(seed % span).unwrap_or(0);
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

/// The timetable: parses `schedule\ntimezone\n<bytes>` and asks every question the scheduler
/// and the CLI ask, with a start date, end date and clock drawn from the remaining bytes.
pub fn timetable(data: &[u8]) {
    let (schedule, rest) = first_line(data);
    let (timezone, mut rest) = first_line(rest);
    let (Ok(schedule), Ok(timezone)) =
        (std::str::from_utf8(schedule), std::str::from_utf8(timezone))
    else {
        return;
    };
    let timetable = match cambium_timetable::Timetable::parse(Some(schedule), timezone) {
        Ok(t) => t,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let flags = take_u64(&mut rest);
    let start = instant(take_u64(&mut rest));
    let end = instant(take_u64(&mut rest));
    let now = instant(take_u64(&mut rest));
    let restriction = cambium_timetable::TimeRestriction {
        earliest: (flags & 1 != 0).then_some(start),
        latest: (flags & 2 != 0).then_some(end),
        catchup: flags & 4 != 0,
    };
    let well_formed = |info: &cambium_timetable::DagRunInfo| {
        assert!(
            info.data_interval.start <= info.data_interval.end,
            "{schedule:?} {timezone:?}: {info:?}"
        );
        assert_eq!(info.logical_date, info.data_interval.start, "{schedule:?}");
    };
    let upcoming = timetable.upcoming(None, &restriction, now, 20);
    for pair in upcoming.windows(2) {
        assert!(
            pair[0].logical_date < pair[1].logical_date,
            "{schedule:?}: {pair:?}"
        );
    }
    upcoming.iter().for_each(well_formed);
    if let Some(last) = upcoming.last() {
        if let Some(next) = timetable.next_dagrun_info(Some(&last.data_interval), &restriction, now)
        {
            well_formed(&next);
        }
    }
    let manual = timetable.manual_interval(now);
    assert!(manual.start <= manual.end, "{schedule:?}: {manual:?}");
    // A backfill over up to a day from the start date (a longer range only repeats the work).
    let window = (flags >> 8) % 86_400;
    let until = start
        .checked_add_signed(chrono::Duration::seconds(
            i64::try_from(window).unwrap_or(0),
        ))
        .unwrap_or(start);
    if let Ok(runs) = timetable.runs_between(start, until, &restriction) {
        for pair in runs.windows(2) {
            assert!(
                pair[0].logical_date < pair[1].logical_date,
                "{schedule:?}: {pair:?}"
            );
        }
        runs.iter().for_each(well_formed);
    }
}

/// Time zones with unusual rules: DST gaps and folds, a 30-minute DST, a skipped day, and a
/// zone far from UTC.
const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "America/St_Johns",
];

/// Durations (`retry_delay`, `execution_timeout`, `@every 15m`), DAG-file dates and time zone
/// names, from the same text.
pub fn dates(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(d) = cambium_dag::parse_duration(text) {
        let formatted = cambium_dag::format_duration(d);
        assert_eq!(
            cambium_dag::parse_duration(&formatted),
            Ok(d),
            "{text:?} formatted as {formatted:?}"
        );
    }
    for zone in ZONES {
        let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
        match cambium_timetable::parse_date(text, tz) {
            Ok(t) if (0..=9999).contains(&t.year()) => {
                let again = cambium_timetable::parse_date(&t.to_rfc3339(), tz);
                assert_eq!(again.ok(), Some(t), "{text:?} in {zone}");
            }
            Ok(_) => {}
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    // A time zone name never starts with a digit; the closest-name suggestion compares with
    // every zone, so durations and dates skip it to keep the target fast.
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        if let Err(e) = cambium_timetable::parse_timezone(text) {
            assert!(!e.to_string().is_empty());
        }
    }
}

/// Template rendering as the scheduler does it for a try: `template\0values`, where `values`
/// is a JSON object used as the run's params, conf and outputs when it parses as one, and a
/// string param `v` (plus conf `v`) otherwise.
pub fn template(data: &[u8]) {
    let (template, values) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(template) = std::str::from_utf8(template) else {
        return;
    };
    let values = String::from_utf8_lossy(values);
    let map = match serde_json::from_str::<serde_json::Value>(&values) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => {
            let mut map = serde_json::Map::new();
            map.insert("v".into(), serde_json::Value::String(values.into_owned()));
            map
        }
    };
    let date = Utc
        .with_ymd_and_hms(2026, 11, 21, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH);
    let ctx = cambium_operators::template::TemplateContext {
        dag_id: "fuzz".into(),
        run_id: "manual__2026-11-21T00:00:00+00:00".into(),
        task_id: "t".into(),
        try_number: 1,
        logical_date: date,
        data_interval_start: date,
        data_interval_end: date,
        timezone: "UTC".into(),
        params: map.clone(),
        conf: map.clone(),
        outputs: map,
    };
    match cambium_operators::template::render_str(template, &ctx) {
        Ok(_) => {}
        Err(e) => assert!(!e.message.is_empty(), "{template:?}: {e:?}"),
    }
    let options = serde_json::json!({ "cmd": [template], "env": { "X": template } });
    if let Err(e) = cambium_operators::template::render_value(&options, &ctx, "") {
        assert!(e.option == "cmd[0]" || e.option == "env.X", "{e:?}");
    }
}
