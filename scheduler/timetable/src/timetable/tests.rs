use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test instant")
        .with_timezone(&Utc)
}

fn tt(schedule: &str) -> Timetable {
    Timetable::parse(Some(schedule), "UTC").expect("valid schedule")
}

fn restriction(start: Option<&str>, end: Option<&str>, catchup: bool) -> TimeRestriction {
    TimeRestriction {
        earliest: start.map(utc),
        latest: end.map(utc),
        catchup,
    }
}

fn interval(start: &str, end: &str) -> DataInterval {
    DataInterval {
        start: utc(start),
        end: utc(end),
    }
}

fn run(start: &str, end: &str) -> DagRunInfo {
    DagRunInfo::interval(utc(start), utc(end))
}

fn starts(runs: &[DagRunInfo]) -> Vec<String> {
    runs.iter().map(|r| r.logical_date.to_rfc3339()).collect()
}

#[test]
fn cron_with_catchup_walks_every_interval_from_the_start_date() {
    let t = tt("0 3 * * *");
    let r = restriction(Some("2026-11-01T00:00:00Z"), None, true);
    let now = utc("2026-11-23T10:00:00Z");
    let first = t.next_dagrun_info(None, &r, now).expect("first run");
    assert_eq!(first, run("2026-11-01T03:00:00Z", "2026-11-02T03:00:00Z"));
    assert_eq!(first.run_after, utc("2026-11-02T03:00:00Z"));
    let second = t
        .next_dagrun_info(Some(&first.data_interval), &r, now)
        .expect("second");
    assert_eq!(second, run("2026-11-02T03:00:00Z", "2026-11-03T03:00:00Z"));
    // A start date exactly on a fire time is the first interval's start.
    let r = restriction(Some("2026-11-01T03:00:00Z"), None, true);
    assert_eq!(
        t.next_dagrun_info(None, &r, now),
        Some(run("2026-11-01T03:00:00Z", "2026-11-02T03:00:00Z"))
    );
}

#[test]
fn catchup_returns_the_next_interval_even_if_it_has_not_ended() {
    let t = tt("0 3 * * *");
    let r = restriction(Some("2026-11-01T00:00:00Z"), None, true);
    let last = interval("2026-11-22T03:00:00Z", "2026-11-23T03:00:00Z");
    let next = t.next_dagrun_info(Some(&last), &r, utc("2026-11-23T10:00:00Z"));
    assert_eq!(
        next,
        Some(run("2026-11-23T03:00:00Z", "2026-11-24T03:00:00Z"))
    );
}

#[test]
fn without_catchup_skips_to_the_latest_ended_interval() {
    let t = tt("0 3 * * *");
    let r = restriction(Some("2026-11-01T00:00:00Z"), None, false);
    let now = utc("2026-11-23T10:00:00Z");
    let latest = run("2026-11-22T03:00:00Z", "2026-11-23T03:00:00Z");
    assert_eq!(t.next_dagrun_info(None, &r, now), Some(latest));
    let old = interval("2026-11-05T03:00:00Z", "2026-11-06T03:00:00Z");
    assert_eq!(t.next_dagrun_info(Some(&old), &r, now), Some(latest));
    // Once the latest interval has its run, the next one is the following interval.
    assert_eq!(
        t.next_dagrun_info(Some(&latest.data_interval), &r, now),
        Some(run("2026-11-23T03:00:00Z", "2026-11-24T03:00:00Z"))
    );
    // `now` exactly on a fire time: the interval that just ended.
    assert_eq!(
        t.next_dagrun_info(None, &r, utc("2026-11-23T03:00:00Z")),
        Some(latest)
    );
    // Without a start date the same applies.
    let r = restriction(None, None, false);
    assert_eq!(t.next_dagrun_info(None, &r, now), Some(latest));
}

#[test]
fn without_catchup_a_future_start_date_wins() {
    let t = tt("0 3 * * *");
    let r = restriction(Some("2026-12-01T00:00:00Z"), None, false);
    assert_eq!(
        t.next_dagrun_info(None, &r, utc("2026-11-23T10:00:00Z")),
        Some(run("2026-12-01T03:00:00Z", "2026-12-02T03:00:00Z"))
    );
}

#[test]
fn catchup_without_start_date_or_history_creates_nothing() {
    let t = tt("0 3 * * *");
    let r = restriction(None, None, true);
    assert_eq!(
        t.next_dagrun_info(None, &r, utc("2026-11-23T10:00:00Z")),
        None
    );
    let last = interval("2026-11-22T03:00:00Z", "2026-11-23T03:00:00Z");
    assert_eq!(
        t.next_dagrun_info(Some(&last), &r, utc("2026-11-23T10:00:00Z")),
        Some(run("2026-11-23T03:00:00Z", "2026-11-24T03:00:00Z"))
    );
}

#[test]
fn end_date_stops_the_schedule() {
    let t = tt("0 3 * * *");
    let r = restriction(
        Some("2026-11-01T00:00:00Z"),
        Some("2026-11-03T03:00:00Z"),
        true,
    );
    let now = utc("2026-11-23T10:00:00Z");
    let last = interval("2026-11-02T03:00:00Z", "2026-11-03T03:00:00Z");
    // An interval starting exactly at end_date is still created.
    assert_eq!(
        t.next_dagrun_info(Some(&last), &r, now),
        Some(run("2026-11-03T03:00:00Z", "2026-11-04T03:00:00Z"))
    );
    let last = interval("2026-11-03T03:00:00Z", "2026-11-04T03:00:00Z");
    assert_eq!(t.next_dagrun_info(Some(&last), &r, now), None);
    // Without catchup, the latest ended interval would start after end_date: nothing.
    let r = restriction(
        Some("2026-11-01T00:00:00Z"),
        Some("2026-11-03T00:00:00Z"),
        false,
    );
    assert_eq!(t.next_dagrun_info(None, &r, now), None);
    assert!(t.upcoming(None, &r, now, 5).is_empty());
}

#[test]
fn once_runs_exactly_once_at_the_start_date() {
    let t = tt("@once");
    assert!(t.is_scheduled());
    let r = restriction(Some("2026-11-01T09:00:00Z"), None, false);
    let now = utc("2026-11-23T10:00:00Z");
    let only = t.next_dagrun_info(None, &r, now).expect("one run");
    assert_eq!(only, run("2026-11-01T09:00:00Z", "2026-11-01T09:00:00Z"));
    assert_eq!(only.run_after, utc("2026-11-01T09:00:00Z"));
    assert_eq!(t.next_dagrun_info(Some(&only.data_interval), &r, now), None);
    assert_eq!(t.upcoming(None, &r, now, 5), vec![only]);
    assert_eq!(
        t.next_dagrun_info(None, &restriction(None, None, false), now),
        None
    );
    let ended = restriction(
        Some("2026-11-01T09:00:00Z"),
        Some("2026-10-01T00:00:00Z"),
        false,
    );
    assert_eq!(t.next_dagrun_info(None, &ended, now), None);
}

#[test]
fn manual_dags_never_create_runs() {
    let t = Timetable::parse(None, "Europe/Berlin").expect("valid");
    assert!(!t.is_scheduled());
    assert_eq!(t.schedule(), None);
    assert_eq!(t.timezone(), chrono_tz::Europe::Berlin);
    let r = restriction(Some("2026-11-01T00:00:00Z"), None, true);
    let now = utc("2026-11-23T10:00:00Z");
    assert_eq!(t.next_dagrun_info(None, &r, now), None);
    assert!(t.upcoming(None, &r, now, 3).is_empty());
    assert_eq!(
        t.runs_between(utc("2026-11-01T00:00:00Z"), utc("2026-11-02T00:00:00Z"), &r),
        Err(TimetableError::NotScheduled)
    );
}

#[test]
fn every_steps_in_absolute_time_from_the_start_date() {
    let t = tt("@every 15m");
    let r = restriction(Some("2026-11-01T00:05:00Z"), None, true);
    let now = utc("2026-11-23T10:07:00Z");
    let first = t.next_dagrun_info(None, &r, now).expect("first");
    assert_eq!(first, run("2026-11-01T00:05:00Z", "2026-11-01T00:20:00Z"));
    assert_eq!(
        t.next_dagrun_info(Some(&first.data_interval), &r, now),
        Some(run("2026-11-01T00:20:00Z", "2026-11-01T00:35:00Z"))
    );
    // Without catchup: the latest interval on the start-date grid that has ended by now.
    let r = restriction(Some("2026-11-01T00:05:00Z"), None, false);
    let latest = t.next_dagrun_info(None, &r, now).expect("latest");
    assert_eq!(latest, run("2026-11-23T09:50:00Z", "2026-11-23T10:05:00Z"));
    assert_eq!(
        t.upcoming(None, &r, now, 3),
        vec![
            latest,
            run("2026-11-23T10:05:00Z", "2026-11-23T10:20:00Z"),
            run("2026-11-23T10:20:00Z", "2026-11-23T10:35:00Z"),
        ]
    );
    // @every ignores the time zone and DST: always 24 hours apart.
    let t = Timetable::parse(Some("@every 1d"), "Europe/Berlin").expect("valid");
    let r = restriction(Some("2026-10-24T22:00:00Z"), None, true);
    let first = t.next_dagrun_info(None, &r, now).expect("first");
    assert_eq!(first, run("2026-10-24T22:00:00Z", "2026-10-25T22:00:00Z"));
}

#[test]
fn upcoming_lists_the_next_runs_in_order() {
    let t = tt("*/10 * * * *");
    let r = restriction(Some("2026-11-01T00:00:00Z"), None, false);
    let now = utc("2026-11-23T10:01:00Z");
    assert_eq!(
        starts(&t.upcoming(None, &r, now, 3)),
        [
            "2026-11-23T09:50:00+00:00",
            "2026-11-23T10:00:00+00:00",
            "2026-11-23T10:10:00+00:00"
        ]
    );
    // With catchup and a last run long ago, the next runs are the missed ones.
    let r = restriction(Some("2026-11-01T00:00:00Z"), None, true);
    let last = interval("2026-11-20T00:00:00Z", "2026-11-20T00:10:00Z");
    assert_eq!(
        starts(&t.upcoming(Some(&last), &r, now, 2)),
        ["2026-11-20T00:10:00+00:00", "2026-11-20T00:20:00+00:00"]
    );
    // end_date cuts the list short.
    let r = restriction(
        Some("2026-11-01T00:00:00Z"),
        Some("2026-11-23T10:10:00Z"),
        false,
    );
    assert_eq!(t.upcoming(None, &r, now, 10).len(), 3);
    assert!(t.upcoming(None, &r, now, 0).is_empty());
}

#[test]
fn backfill_ranges_are_inclusive_and_respect_start_and_end_dates() {
    let t = tt("@daily");
    let r = restriction(Some("2026-11-01T00:00:00Z"), None, false);
    let runs = t
        .runs_between(utc("2026-11-01T00:00:00Z"), utc("2026-11-05T00:00:00Z"), &r)
        .expect("range");
    assert_eq!(runs.len(), 5);
    assert_eq!(runs[0], run("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"));
    assert_eq!(runs[4], run("2026-11-05T00:00:00Z", "2026-11-06T00:00:00Z"));
    // A start between fire times begins at the next fire time.
    let runs = t
        .runs_between(utc("2026-11-01T12:00:00Z"), utc("2026-11-03T12:00:00Z"), &r)
        .expect("range");
    assert_eq!(
        starts(&runs),
        ["2026-11-02T00:00:00+00:00", "2026-11-03T00:00:00+00:00"]
    );
    // Clamped to the DAG's start_date and end_date.
    let r = restriction(
        Some("2026-11-03T00:00:00Z"),
        Some("2026-11-04T00:00:00Z"),
        false,
    );
    let runs = t
        .runs_between(utc("2026-10-01T00:00:00Z"), utc("2026-12-01T00:00:00Z"), &r)
        .expect("range");
    assert_eq!(
        starts(&runs),
        ["2026-11-03T00:00:00+00:00", "2026-11-04T00:00:00+00:00"]
    );
    // A range between two fire times holds no runs.
    let none = t
        .runs_between(utc("2026-11-05T01:00:00Z"), utc("2026-11-05T02:00:00Z"), &r)
        .expect("range");
    assert!(none.is_empty());
}

#[test]
fn backfill_rejects_bad_ranges() {
    let r = TimeRestriction::default();
    let (a, b) = (utc("2026-11-05T00:00:00Z"), utc("2026-11-01T00:00:00Z"));
    let err = tt("@daily").runs_between(a, b, &r).expect_err("reversed");
    assert_eq!(err, TimetableError::EmptyRange { start: a, end: b });
    assert!(err.to_string().contains("swap --start and --end"));
    let err = tt("* * * * * *")
        .runs_between(utc("2026-11-01T00:00:00Z"), utc("2026-11-03T00:00:00Z"), &r)
        .expect_err("too many");
    assert!(matches!(
        err,
        TimetableError::TooManyRuns {
            limit: MAX_BACKFILL_RUNS,
            ..
        }
    ));
    // Exactly at the limit is fine: 100_000 seconds.
    let start = utc("2026-11-01T00:00:00Z");
    let runs = tt("* * * * * *")
        .runs_between(start, start + Duration::seconds(99_999), &r)
        .expect("at the limit");
    assert_eq!(runs.len(), MAX_BACKFILL_RUNS);
}

#[test]
fn backfill_of_once_and_every() {
    let r = restriction(Some("2026-11-02T06:00:00Z"), None, false);
    let (a, b) = (utc("2026-11-01T00:00:00Z"), utc("2026-11-03T00:00:00Z"));
    assert_eq!(
        tt("@once").runs_between(a, b, &r).expect("range"),
        vec![run("2026-11-02T06:00:00Z", "2026-11-02T06:00:00Z")]
    );
    let later = (utc("2026-11-03T00:00:00Z"), utc("2026-11-04T00:00:00Z"));
    assert!(tt("@once")
        .runs_between(later.0, later.1, &r)
        .expect("range")
        .is_empty());
    // @every stays on the start-date grid.
    let r = restriction(Some("2026-11-01T00:05:00Z"), None, false);
    let runs = tt("@every 1h")
        .runs_between(utc("2026-11-02T00:00:00Z"), utc("2026-11-02T03:00:00Z"), &r)
        .expect("range");
    assert_eq!(
        starts(&runs),
        [
            "2026-11-02T00:05:00+00:00",
            "2026-11-02T01:05:00+00:00",
            "2026-11-02T02:05:00+00:00"
        ]
    );
}

#[test]
fn manual_run_intervals() {
    let t = tt("0 3 * * *");
    assert_eq!(
        t.manual_interval(utc("2026-11-23T10:00:00Z")),
        interval("2026-11-22T03:00:00Z", "2026-11-23T03:00:00Z")
    );
    assert_eq!(
        t.manual_interval(utc("2026-11-23T03:00:00Z")),
        interval("2026-11-22T03:00:00Z", "2026-11-23T03:00:00Z")
    );
    let at = utc("2026-11-23T10:00:00Z");
    assert_eq!(
        tt("@every 1h").manual_interval(at),
        interval("2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z")
    );
    assert_eq!(
        tt("@once").manual_interval(at),
        DataInterval { start: at, end: at }
    );
    let manual = Timetable::parse(None, "UTC").expect("valid");
    assert_eq!(
        manual.manual_interval(at),
        DataInterval { start: at, end: at }
    );
}

#[test]
fn presets_mean_their_cron_expressions() {
    let now = utc("2026-11-23T10:30:00Z"); // a Monday
    let r = restriction(None, None, false);
    let latest = |s: &str| tt(s).next_dagrun_info(None, &r, now).expect("runs");
    assert_eq!(
        latest("@hourly"),
        run("2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z")
    );
    assert_eq!(
        latest("@daily"),
        run("2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z")
    );
    assert_eq!(latest("@midnight"), latest("@daily"));
    assert_eq!(
        latest("@weekly"),
        run("2026-11-15T00:00:00Z", "2026-11-22T00:00:00Z")
    );
    assert_eq!(
        latest("@monthly"),
        run("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
    );
    assert_eq!(
        latest("@yearly"),
        run("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z")
    );
    assert_eq!(latest("@annually"), latest("@yearly"));
    assert_eq!(latest("@DAILY"), latest("@daily"));
}

#[test]
fn cron_in_a_time_zone_across_dst() {
    let t = Timetable::parse(Some("30 2 * * *"), "Europe/Berlin").expect("valid");
    assert_eq!(t.schedule(), Some("30 2 * * *"));
    let r = restriction(Some("2026-03-27T12:00:00Z"), None, true);
    let now = utc("2026-11-23T10:00:00Z");
    let runs = t.upcoming(None, &r, now, 3);
    // 2026-03-29 02:30 does not exist in Berlin: the interval from the 28th spans to the 30th.
    assert_eq!(runs[0], run("2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"));
    assert_eq!(runs[1], run("2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"));
    // 2026-10-25 02:30 happens twice: one run, at the first occurrence (CEST).
    let r = restriction(Some("2026-10-24T00:00:00Z"), None, true);
    let runs = t.upcoming(None, &r, now, 3);
    assert_eq!(
        starts(&runs),
        [
            "2026-10-24T00:30:00+00:00",
            "2026-10-25T00:30:00+00:00",
            "2026-10-26T01:30:00+00:00"
        ]
    );
    // New York, Monday 09:00 local, through the November change.
    let t = Timetable::parse(Some("0 9 * * 1"), "America/New_York").expect("valid");
    let r = restriction(Some("2026-10-20T00:00:00Z"), None, true);
    let runs = t.upcoming(None, &r, now, 2);
    assert_eq!(runs[0], run("2026-10-26T13:00:00Z", "2026-11-02T14:00:00Z"));
}

#[test]
fn bad_schedules_say_what_to_write() {
    let err = |s: &str| Timetable::parse(Some(s), "UTC").expect_err(s).to_string();
    assert_eq!(
        err("*/10 * * *"),
        "'*/10 * * *' is not a valid schedule: expected 5 fields (minute hour day month weekday) or 6 with seconds, or a preset like @daily"
    );
    assert!(err("").contains("expected 5 fields"));
    assert!(
        err("@dayly").contains("did you mean '@daily'?"),
        "{}",
        err("@dayly")
    );
    assert!(err("@sometimes").contains("use @hourly, @daily"));
    assert!(err("@every").contains("@every needs a duration"));
    assert!(
        err("@every 15").contains("has no unit"),
        "{}",
        err("@every 15")
    );
    assert!(err("@every 0s").contains("at least 1s"));
    assert!(err("@every 500ms").contains("at least 1s"));
    assert!(err("0 24 * * *").contains("hour '24' has value 24, outside 0-23"));
    let tz = Timetable::parse(Some("@daily"), "Europe/Berln").expect_err("bad zone");
    assert_eq!(
        tz.to_string(),
        "'Europe/Berln' is not an IANA time zone (did you mean 'Europe/Berlin'?)"
    );
    assert!(Timetable::parse(None, "Mars/Olympus").is_err());
}

#[test]
fn timetables_are_shareable_between_threads() {
    fn assert_traits<T: Clone + std::fmt::Debug + Send + Sync + 'static>() {}
    assert_traits::<Timetable>();
    assert_traits::<DagRunInfo>();
}
