//! The engine stepped one tick at a time with an injected clock (no sleeping) over a real
//! SQLite store, with an executor scripted by the test: retries wait for their delay on the
//! clock, scheduled runs follow it, a clear or mark made elsewhere is never overwritten by
//! the engine's older view, a mark stops the try it ends, and a shutdown does not wait
//! out a store that cannot be written.

mod common;

use cambium_dag::{DagSpec, RetryBackoff, RunState, RunType, TaskOptions, TaskSpec, TaskState};
use cambium_scheduler::runs::create_manual_run;
use cambium_scheduler::{Engine, EngineOptions, Home, ManualClock, Mode};
use cambium_store::{RunFilter, Store};
use chrono::{DateTime, TimeZone, Utc};
use common::Scripted;
use serde_json::{json, Map};
use std::sync::Arc;
use std::time::Duration;

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("valid time")
}

fn dag(schedule: Option<&str>, retries: u32, retry_delay: Duration) -> DagSpec {
    let mut options = Map::new();
    options.insert("cmd".into(), json!("true"));
    DagSpec {
        schedule: schedule.map(String::from),
        start_date: Some(at(2026, 11, 1, 0)),
        catchup: true,
        tasks: vec![TaskSpec {
            task_id: "a".into(),
            operator: "command".into(),
            options,
            common: TaskOptions {
                retries,
                retry_delay,
                retry_backoff: RetryBackoff::Fixed,
                ..TaskOptions::default()
            },
        }],
        ..DagSpec::new("d", "d.rhai")
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    store: Store,
    clock: Arc<ManualClock>,
    executor: Arc<Scripted>,
    engine: Engine,
}

async fn harness(spec: &DagSpec, now: DateTime<Utc>) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("cambium.db").display());
    let store = Store::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
        .sync_dag_file(
            "d.rhai",
            "hash",
            std::slice::from_ref(spec),
            &[],
            false,
            now,
        )
        .await
        .expect("sync");
    let clock = Arc::new(ManualClock::new(now));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let executor = Arc::new(Scripted::new(tx.clone()));
    let opts = EngineOptions::new(Home::new(dir.path()), Mode::Scheduler);
    let mut engine = Engine::new(store.clone(), executor.clone(), tx, rx, clock.clone(), opts);
    engine.start().await.expect("start");
    Harness {
        _dir: dir,
        store,
        clock,
        executor,
        engine,
    }
}

#[tokio::test]
async fn a_retry_waits_for_its_delay_on_the_injected_clock() {
    let now = at(2026, 11, 23, 12);
    let spec = dag(None, 1, Duration::from_secs(3600));
    let mut h = harness(&spec, now).await;
    let run = create_manual_run(&h.store, &spec, Map::new(), None, now, false)
        .await
        .expect("run");

    h.engine.tick().await.expect("tick");
    let first = h.executor.submitted();
    assert_eq!(first.len(), 1, "the root task starts at once");
    assert_eq!(first[0].key.try_number, 1);
    assert_eq!(first[0].argv, ["sh", "-c", "true"]);

    h.executor.finish(first[0].key, 1, now);
    h.engine.tick().await.expect("tick");
    let tis = h.store.task_instances(run.id).await.expect("tis");
    assert_eq!(tis[0].state, TaskState::UpForRetry);
    assert_eq!(tis[0].next_retry_at, Some(now + chrono::Duration::hours(1)));

    // Nothing happens before the delay has passed on the clock...
    h.clock.advance(chrono::Duration::minutes(59));
    h.engine.tick().await.expect("tick");
    assert_eq!(h.executor.submitted().len(), 1);

    // ...and the second try starts once it has.
    h.clock.advance(chrono::Duration::minutes(2));
    h.engine.tick().await.expect("tick");
    let tries = h.executor.submitted();
    assert_eq!(tries.len(), 2);
    assert_eq!(tries[1].key.try_number, 2);

    h.executor.finish(tries[1].key, 0, h.clock_now());
    h.engine.tick().await.expect("tick");
    let done = h
        .store
        .get_run_by_pk(run.id)
        .await
        .expect("read")
        .expect("run");
    assert_eq!(done.state, RunState::Success);
    let tis = h.store.task_instances(run.id).await.expect("tis");
    assert_eq!((tis[0].state, tis[0].try_number), (TaskState::Success, 2));
}

#[tokio::test]
async fn scheduled_runs_follow_the_injected_clock() {
    let now = at(2026, 11, 3, 12);
    let spec = dag(Some("@daily"), 0, Duration::from_secs(30));
    let mut h = harness(&spec, now).await;
    h.engine.tick().await.expect("tick");
    let scheduled = |runs: &[cambium_store::RunRecord]| -> Vec<String> {
        runs.iter()
            .filter(|r| r.run_type == RunType::Scheduled)
            .map(|r| r.run_id.clone())
            .collect()
    };
    let filter = RunFilter {
        dag_id: Some("d".into()),
        oldest_first: true,
        ..RunFilter::default()
    };
    let runs = h.store.list_runs(&filter).await.expect("runs");
    assert_eq!(
        scheduled(&runs),
        [
            "scheduled__2026-11-01T00:00:00+00:00",
            "scheduled__2026-11-02T00:00:00+00:00"
        ],
        "catchup: one run per complete interval since the start date"
    );
    // Nothing more until the next interval ends.
    h.clock.set(at(2026, 11, 3, 23));
    h.engine.tick().await.expect("tick");
    assert_eq!(h.store.list_runs(&filter).await.expect("runs").len(), 2);
    h.clock
        .set(at(2026, 11, 4, 0) + chrono::Duration::seconds(1));
    h.engine.tick().await.expect("tick");
    let runs = h.store.list_runs(&filter).await.expect("runs");
    assert_eq!(
        scheduled(&runs).last().map(String::as_str),
        Some("scheduled__2026-11-03T00:00:00+00:00")
    );
}

impl Harness {
    fn clock_now(&self) -> DateTime<Utc> {
        use cambium_scheduler::Clock;
        self.clock.now()
    }
}

#[tokio::test]
async fn a_backfill_never_takes_the_slots_of_the_schedule() {
    use cambium_scheduler::runs::{plan_backfill, start_backfill, BackfillRequest, Rerun};
    let now = at(2026, 11, 3, 12);
    let mut spec = dag(Some("@daily"), 0, Duration::from_secs(30));
    spec.start_date = Some(at(2026, 10, 1, 0));
    spec.catchup = false;
    spec.max_active_runs = 1;
    let mut h = harness(&spec, now).await;
    // A ten-day backfill is queued before the scheduler gets to the schedule.
    let (start, end) = (at(2026, 10, 1, 0), at(2026, 10, 10, 0));
    let plan = plan_backfill(&h.store, &spec, start, end, Rerun::None)
        .await
        .expect("plan");
    assert_eq!(plan.len(), 10);
    let request = BackfillRequest {
        start,
        end,
        rerun: Rerun::None,
        max_active_runs: 1,
    };
    start_backfill(&h.store, &spec, &plan, request, now)
        .await
        .expect("backfill");

    h.engine.tick().await.expect("tick");
    let started: Vec<String> = h
        .executor
        .submitted()
        .iter()
        .map(|r| r.run_id.clone())
        .collect();
    assert!(
        started.contains(&"scheduled__2026-11-02T00:00:00+00:00".to_string()),
        "the scheduled run starts next to the backfill: {started:?}"
    );
    let backfill_runs = started
        .iter()
        .filter(|r| r.starts_with("backfill__"))
        .count();
    assert_eq!(
        backfill_runs, 1,
        "the backfill keeps to its own max_active_runs: {started:?}"
    );
}

/// Two independent tasks `a` and `b`, no retries.
fn pair() -> DagSpec {
    let mut spec = dag(None, 0, Duration::from_secs(30));
    let mut b = spec.tasks[0].clone();
    b.task_id = "b".into();
    spec.tasks.push(b);
    spec
}

fn state_of(tis: &[cambium_store::TaskInstance], task_id: &str) -> TaskState {
    tis.iter()
        .find(|t| t.task_id == task_id)
        .map(|t| t.state)
        .expect("task instance")
}

#[tokio::test]
async fn a_clear_while_the_run_goes_on_is_not_overwritten_by_the_runs_end() {
    let now = at(2026, 11, 23, 12);
    let spec = pair();
    let mut h = harness(&spec, now).await;
    let run = create_manual_run(&h.store, &spec, Map::new(), None, now, false)
        .await
        .expect("run");
    h.engine.tick().await.expect("tick");
    let first = h.executor.submitted();
    assert_eq!(first.len(), 2, "a and b start");
    let key = |task: &str| {
        first
            .iter()
            .find(|r| r.task_id == task)
            .map(|r| r.key)
            .expect("submitted")
    };
    h.executor.finish(key("b"), 0, now);
    h.engine.tick().await.expect("tick");

    // b is cleared (by the CLI or the API) while a still runs...
    cambium_scheduler::runs::clear_run_tasks(&h.store, &spec, run.id, &["b".into()], false)
        .await
        .expect("clear");
    // ...then a ends: the engine's view still has b done, and must not end the run on it.
    h.executor.finish(key("a"), 0, now);
    h.engine.tick().await.expect("tick");
    h.engine.tick().await.expect("tick");
    let stored = h
        .store
        .get_run_by_pk(run.id)
        .await
        .expect("read")
        .expect("run");
    assert_ne!(
        stored.state,
        RunState::Success,
        "the cleared task has not run again yet"
    );
    let again: Vec<_> = h
        .executor
        .submitted()
        .into_iter()
        .filter(|r| r.task_id == "b")
        .collect();
    assert_eq!(again.len(), 2, "the cleared task runs again");
    h.executor.finish(again[1].key, 0, now);
    h.engine.tick().await.expect("tick");
    let stored = h
        .store
        .get_run_by_pk(run.id)
        .await
        .expect("read")
        .expect("run");
    assert_eq!(stored.state, RunState::Success);
    let tis = h.store.task_instances(run.id).await.expect("tis");
    assert_eq!(state_of(&tis, "b"), TaskState::Success);
}

#[tokio::test]
async fn marking_a_running_try_kills_it_and_its_end_does_not_undo_the_mark() {
    let now = at(2026, 11, 23, 12);
    let spec = dag(None, 0, Duration::from_secs(30));
    let mut h = harness(&spec, now).await;
    let run = create_manual_run(&h.store, &spec, Map::new(), None, now, false)
        .await
        .expect("run");
    h.engine.tick().await.expect("tick");
    let tries = h.executor.submitted();
    assert_eq!(tries.len(), 1);
    h.engine.tick().await.expect("tick");
    let tis = h.store.task_instances(run.id).await.expect("tis");
    assert_eq!(tis[0].state, TaskState::Running);

    // Marked by another process (the CLI or the API) while the engine runs the try.
    h.store
        .mark_task_instance(tis[0].id, TaskState::Success, now)
        .await
        .expect("mark");
    // The engine reads its runs again at its next resync and stops the try.
    h.clock.advance(chrono::Duration::seconds(2));
    h.engine.tick().await.expect("tick");
    assert_eq!(
        h.executor.killed(),
        [tries[0].key],
        "the marked try is killed"
    );

    // The killed try's end (by a signal) does not undo the mark, and the run ends.
    let killed = cambium_executor::TryOutcome {
        exit_code: None,
        timed_out: false,
        lost: false,
        started_at: Some(now),
        ended_at: h.clock_now(),
        output: None,
        metrics: Map::new(),
        error: Some("the task's process was killed by signal 15 (SIGTERM)".into()),
    };
    h.executor
        .events
        .send(cambium_executor::TryEvent::Finished {
            key: tries[0].key,
            outcome: killed,
        })
        .expect("send");
    h.engine.tick().await.expect("tick");
    h.engine.tick().await.expect("tick");
    let tis = h.store.task_instances(run.id).await.expect("tis");
    assert_eq!(tis[0].state, TaskState::Success);
    let stored = h
        .store
        .get_run_by_pk(run.id)
        .await
        .expect("read")
        .expect("run");
    assert_eq!(stored.state, RunState::Success);
    assert_eq!(h.executor.killed().len(), 1, "killed once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_does_not_wait_for_an_unwritable_store() {
    use sqlx::Connection;
    let now = at(2026, 11, 23, 12);
    let spec = dag(None, 0, Duration::from_secs(30));
    let h = harness(&spec, now).await;
    // A run due two (clock) seconds from now: loaded, not started yet.
    create_manual_run(
        &h.store,
        &spec,
        Map::new(),
        None,
        now + chrono::Duration::seconds(2),
        false,
    )
    .await
    .expect("run");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let engine = tokio::spawn(h.engine.run(None, async move {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Another connection takes the database's write lock: every write of the engine now
    // waits for it, then fails as busy, a retryable outage.
    let url = format!("sqlite://{}", h._dir.path().join("cambium.db").display());
    let mut blocker = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("connect");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .expect("lock");
    // The run falls due (before the next heartbeat): the engine claims its task and is
    // stuck writing the claim.
    h.clock.advance(chrono::Duration::seconds(3));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        h.executor.submitted().is_empty(),
        "nothing could be claimed"
    );

    let asked = std::time::Instant::now();
    let _ = stop.send(());
    let ended = tokio::time::timeout(Duration::from_secs(5), engine).await;
    assert!(
        ended.is_ok(),
        "the engine must stop on shutdown while the store is unwritable"
    );
    assert!(asked.elapsed() < Duration::from_secs(4));
    sqlx::query("ROLLBACK")
        .execute(&mut blocker)
        .await
        .expect("unlock");
}
