//! The local executor and the supervisor with real processes.

use cambium_executor::files::ProcessId;
use cambium_executor::{Error, Executor, LocalExecutor, TryEvent, TryKey, TryOutcome, TryRequest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

const SUPERVISOR: &str = env!("CARGO_BIN_EXE_cambium-task-supervise");

fn executor(slots: usize) -> (LocalExecutor, UnboundedReceiver<TryEvent>) {
    let (tx, rx) = unbounded_channel();
    (
        LocalExecutor::new(vec![SUPERVISOR.to_string()], slots, tx),
        rx,
    )
}

fn key(n: i64) -> TryKey {
    TryKey {
        ti_id: n,
        try_number: 1,
    }
}

fn request(root: &Path, n: i64, argv: &[&str]) -> TryRequest {
    let try_dir = root.join(format!("try-{n}"));
    let mut env = BTreeMap::new();
    env.insert(
        "CAMBIUM_OUTPUT".to_string(),
        try_dir.join("output.json").display().to_string(),
    );
    env.insert(
        "CAMBIUM_METRICS".to_string(),
        try_dir.join("metrics.json").display().to_string(),
    );
    TryRequest {
        key: key(n),
        dag_id: "d".into(),
        run_id: "r".into(),
        task_id: format!("t{n}"),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        cwd: None,
        env,
        timeout: None,
        secrets: vec![],
        secret_env: Default::default(),
        log_path: root.join("logs").join(format!("t{n}.log")),
        operator: None,
        try_dir,
    }
}

fn sh(root: &Path, n: i64, script: &str) -> TryRequest {
    request(root, n, &["sh", "-c", script])
}

/// Waits for the `Finished` event of `key`, checking that `Started` came first.
async fn finished(rx: &mut UnboundedReceiver<TryEvent>, key: TryKey) -> TryOutcome {
    let mut started = false;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("an event within 20s")
            .expect("channel open");
        match event {
            TryEvent::Started { key: k, pid, .. } if k == key => {
                assert!(pid > 0);
                started = true;
            }
            TryEvent::Finished { key: k, outcome } if k == key => {
                assert!(started, "Finished before Started");
                return outcome;
            }
            _ => {}
        }
    }
}

/// Waits for `Finished` of an adopted try (no `Started`).
async fn adopted(rx: &mut UnboundedReceiver<TryEvent>) -> (TryKey, TryOutcome) {
    let event = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("an event within 20s")
        .expect("channel open");
    match event {
        TryEvent::Finished { key, outcome } => (key, outcome),
        other => panic!("unexpected event {other:?}"),
    }
}

fn log_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("log")
        .lines()
        .map(|l| {
            assert!(
                chrono::DateTime::parse_from_rfc3339(&l[1..25]).is_ok() && &l[25..27] == "] ",
                "bad log line {l}"
            );
            l[27..].to_string()
        })
        .collect()
}

async fn wait_for_file(path: &Path) -> String {
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(path) {
            if !text.trim().is_empty() {
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{} never appeared", path.display());
}

fn gone(pid: i32) -> bool {
    !ProcessId {
        pid,
        start_ticks: 0,
    }
    .is_alive()
}

#[tokio::test]
async fn success_logs_stdout_and_stderr_with_timestamps() {
    let root = tempfile::tempdir().expect("tempdir");
    let (ex, mut rx) = executor(4);
    let req = sh(
        root.path(),
        1,
        "echo hello; echo oops >&2; printf 'no newline'",
    );
    let log = req.log_path.clone();
    ex.submit(req).expect("submit");
    let outcome = finished(&mut rx, key(1)).await;
    assert_eq!(outcome.exit_code, Some(0));
    assert_eq!(outcome.error, None);
    assert!(!outcome.timed_out && !outcome.lost);
    assert!(outcome.started_at.expect("started") <= outcome.ended_at);
    assert_eq!(outcome.output, None);
    assert!(outcome.metrics.is_empty());
    let mut lines = log_lines(&log);
    lines.sort();
    assert_eq!(lines, ["hello", "no newline", "oops"]);
}

#[tokio::test]
async fn exit_codes_are_kept_and_99_stays_99() {
    let root = tempfile::tempdir().expect("tempdir");
    let (ex, mut rx) = executor(4);
    ex.submit(sh(root.path(), 1, "exit 3")).expect("submit");
    let a = finished(&mut rx, key(1)).await;
    ex.submit(sh(root.path(), 2, "exit 99")).expect("submit");
    let b = finished(&mut rx, key(2)).await;
    assert_eq!(a.exit_code, Some(3));
    assert_eq!(b.exit_code, Some(99));
    assert_eq!(a.error, None);
}

#[tokio::test]
async fn output_and_metrics_files_are_read() {
    let root = tempfile::tempdir().expect("tempdir");
    let (ex, mut rx) = executor(4);
    ex.submit(sh(
        root.path(),
        1,
        r#"echo '{"best": {"alpha": 0.1}}' > "$CAMBIUM_OUTPUT"; echo '{"rmse": 0.5, "n": 10}' > "$CAMBIUM_METRICS""#,
    ))
    .expect("submit");
    let outcome = finished(&mut rx, key(1)).await;
    assert_eq!(outcome.exit_code, Some(0));
    assert_eq!(outcome.error, None);
    assert_eq!(
        outcome.output,
        Some(serde_json::json!({"best": {"alpha": 0.1}}))
    );
    assert_eq!(
        serde_json::Value::Object(outcome.metrics),
        serde_json::json!({"rmse": 0.5, "n": 10})
    );

    ex.submit(sh(
        root.path(),
        2,
        r#"echo '{"rmse": 0.5, "x": "a"}' > "$CAMBIUM_METRICS""#,
    ))
    .expect("submit");
    let bad = finished(&mut rx, key(2)).await;
    assert_eq!(bad.exit_code, Some(0));
    assert_eq!(
        bad.error.as_deref(),
        Some("CAMBIUM_METRICS must be a flat JSON object of numbers; 'x' is a string")
    );
    ex.submit(sh(root.path(), 3, r#"echo '{oops' > "$CAMBIUM_OUTPUT""#))
        .expect("submit");
    let bad = finished(&mut rx, key(3)).await;
    assert!(bad.error.expect("error").contains("CAMBIUM_OUTPUT"));
}

#[tokio::test]
async fn secrets_are_masked_and_env_and_cwd_are_set() {
    let root = tempfile::tempdir().expect("tempdir");
    let (ex, mut rx) = executor(4);
    let mut req = sh(
        root.path(),
        1,
        "echo token=$TOKEN; echo \"$GREETING\" >&2; pwd",
    );
    req.env.insert("TOKEN".into(), "s3cr3t-value".into());
    req.env.insert("GREETING".into(), "hi there".into());
    req.secrets = vec!["s3cr3t-value".into(), String::new()];
    let cwd = root.path().join("work");
    std::fs::create_dir_all(&cwd).expect("mkdir");
    req.cwd = Some(cwd.clone());
    let log = req.log_path.clone();
    ex.submit(req).expect("submit");
    assert_eq!(finished(&mut rx, key(1)).await.exit_code, Some(0));
    let lines = log_lines(&log);
    assert!(lines.contains(&"token=***".to_string()), "{lines:?}");
    assert!(lines.contains(&"hi there".to_string()), "{lines:?}");
    let real_cwd = std::fs::canonicalize(&cwd).expect("canonical");
    assert!(
        lines.contains(&real_cwd.display().to_string())
            || lines.contains(&cwd.display().to_string()),
        "{lines:?}"
    );
    assert!(!std::fs::read_to_string(&log)
        .expect("log")
        .contains("s3cr3t"));
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let root = tempfile::tempdir().expect("tempdir");
    let (ex, mut rx) = executor(4);
    let bg = root.path().join("bg.pid");
    let mut req = sh(
        root.path(),
        1,
        &format!("sleep 100 & echo $! > {}; sleep 100", bg.display()),
    );
    req.timeout = Some(Duration::from_secs(1));
    let log = req.log_path.clone();
    let begin = Instant::now();
    ex.submit(req).expect("submit");
    let outcome = finished(&mut rx, key(1)).await;
    let took = begin.elapsed();
    assert!(outcome.timed_out);
    assert_eq!(outcome.exit_code, None);
    assert_eq!(outcome.error.as_deref(), Some("the try timed out after 1s"));
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    let bg_pid: i32 = std::fs::read_to_string(&bg)
        .expect("bg pid")
        .trim()
        .parse()
        .expect("pid");
    // The background sleep dies with the group (allow a moment for reaping).
    let mut dead = false;
    for _ in 0..50 {
        if gone(bg_pid) {
            dead = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(dead, "the background sleep {bg_pid} survived the timeout");
    assert!(log_lines(&log)
        .iter()
        .any(|l| l.starts_with("the try timed out after 1s")));
}

#[tokio::test]
async fn kill_stops_the_try_and_its_children() {
    let root = tempfile::tempdir().expect("tempdir");
    let (ex, mut rx) = executor(4);
    let req = sh(root.path(), 1, "sleep 100 & sleep 100");
    let child_pid_file = req.try_dir.join("child.pid");
    ex.submit(req).expect("submit");
    let child: i32 = wait_for_file(&child_pid_file)
        .await
        .trim()
        .parse()
        .expect("pid");
    let begin = Instant::now();
    ex.kill(key(1));
    let outcome = finished(&mut rx, key(1)).await;
    assert!(
        begin.elapsed() < Duration::from_secs(2),
        "{:?}",
        begin.elapsed()
    );
    assert_eq!(outcome.exit_code, None);
    assert!(!outcome.timed_out);
    assert_eq!(outcome.error.as_deref(), Some("the try was killed"));
    let mut dead = false;
    for _ in 0..50 {
        if gone(child) {
            dead = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(dead);
    assert_eq!(ex.free_slots(), 4);
}

#[tokio::test]
async fn an_unstartable_program_exits_127_with_a_clear_message() {
    let root = tempfile::tempdir().expect("tempdir");
    let (ex, mut rx) = executor(4);
    let req = request(root.path(), 1, &["no-such-program-cambium", "x"]);
    let log = req.log_path.clone();
    ex.submit(req).expect("submit");
    let outcome = finished(&mut rx, key(1)).await;
    let message = "could not start 'no-such-program-cambium': No such file or directory";
    assert_eq!(outcome.exit_code, Some(127));
    assert_eq!(outcome.error.as_deref(), Some(message));
    assert_eq!(log_lines(&log), [message]);
}

#[tokio::test]
async fn slots_are_taken_and_given_back() {
    let root = tempfile::tempdir().expect("tempdir");
    let (ex, mut rx) = executor(1);
    assert_eq!(ex.free_slots(), 1);
    ex.submit(sh(root.path(), 1, "sleep 0.3")).expect("submit");
    assert_eq!(ex.free_slots(), 0);
    assert!(matches!(
        ex.submit(sh(root.path(), 2, "true")),
        Err(Error::Full)
    ));
    assert_eq!(finished(&mut rx, key(1)).await.exit_code, Some(0));
    assert_eq!(ex.free_slots(), 1);
}

#[tokio::test]
async fn adopts_a_running_try_after_a_restart() {
    let root = tempfile::tempdir().expect("tempdir");
    let req = sh(root.path(), 1, "sleep 0.5; echo done; exit 4");
    let try_dir = req.try_dir.clone();
    {
        let (old, mut old_rx) = executor(2);
        old.submit(req).expect("submit");
        match old_rx.recv().await.expect("event") {
            TryEvent::Started { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
        wait_for_file(&try_dir.join("pid")).await;
        // The old scheduler goes away while its try runs.
    }
    let (new, mut rx) = executor(2);
    new.adopt(key(1), try_dir.clone());
    assert_eq!(new.free_slots(), 1);
    let (k, outcome) = adopted(&mut rx).await;
    assert_eq!(k, key(1));
    assert_eq!(outcome.exit_code, Some(4));
    assert!(!outcome.lost);
    assert_eq!(new.free_slots(), 2);

    // Adopting it again (the try is over): settled at once from result.json.
    let (again, mut rx) = executor(2);
    again.adopt(key(1), try_dir);
    let (_, outcome) = adopted(&mut rx).await;
    assert_eq!(outcome.exit_code, Some(4));
    assert_eq!(again.free_slots(), 2);
}

#[tokio::test]
async fn a_try_gone_without_a_result_is_lost() {
    let root = tempfile::tempdir().expect("tempdir");
    let try_dir: PathBuf = root.path().join("try");
    std::fs::create_dir_all(&try_dir).expect("mkdir");
    let mut dead = std::process::Command::new("true").spawn().expect("spawn");
    let pid = dead.id();
    dead.wait().expect("wait");
    std::fs::write(try_dir.join("pid"), format!("{pid} 12345\n")).expect("write");
    let (ex, mut rx) = executor(2);
    ex.adopt(key(7), try_dir.clone());
    let (k, outcome) = adopted(&mut rx).await;
    assert_eq!(k, key(7));
    assert!(outcome.lost);
    assert_eq!(outcome.exit_code, None);
    assert_eq!(
        outcome.error.as_deref(),
        Some("the try's process was lost (scheduler restart or machine reboot)")
    );
    // A pid file naming a live process with another start time is a reused pid: lost too.
    let me = ProcessId::current();
    std::fs::write(
        try_dir.join("pid"),
        format!("{} {}\n", me.pid, me.start_ticks + 7),
    )
    .expect("write");
    ex.adopt(key(8), try_dir);
    assert!(adopted(&mut rx).await.1.lost);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_of_forty_trivial_tries_is_fast() {
    let root = tempfile::tempdir().expect("tempdir");
    let (ex, mut rx) = executor(4);
    let begin = Instant::now();
    for n in 0..40 {
        ex.submit(request(root.path(), n, &["true"]))
            .expect("submit");
        assert_eq!(finished(&mut rx, key(n)).await.exit_code, Some(0));
    }
    let took = begin.elapsed();
    eprintln!("40 sequential tries took {took:?}");
    // ~100 ms in a release build on an idle machine; generous for debug builds under load.
    assert!(took < Duration::from_secs(4), "took {took:?}");
}

/// Whether `pid` is fully gone: not running and not left a zombie.
fn reaped(pid: i32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

async fn wait_reaped(pid: i32) {
    for _ in 0..200 {
        if reaped(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    panic!("process {pid} is still there: {stat}");
}

/// Waits until `ex` has `n` standby supervisors ready; returns their pids.
async fn standbys_ready(ex: &LocalExecutor, n: usize) -> Vec<u32> {
    for _ in 0..500 {
        let pids = ex.standby_pids();
        if pids.len() >= n {
            return pids;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{n} standby supervisors never became ready");
}

/// Waits for `Finished` of `key`; returns the `Started` pid too.
async fn started_and_finished(
    rx: &mut UnboundedReceiver<TryEvent>,
    key: TryKey,
) -> (i64, TryOutcome) {
    let mut pid = None;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("an event within 20s")
            .expect("channel open");
        match event {
            TryEvent::Started { key: k, pid: p, .. } if k == key => pid = Some(p),
            TryEvent::Finished { key: k, outcome } if k == key => {
                return (pid.expect("Started before Finished"), outcome);
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_try_is_handed_to_a_ready_standby_supervisor() {
    let root = tempfile::tempdir().expect("tempdir");
    let (ex, mut rx) = executor(4);
    assert!(ex.standby_pids().is_empty(), "none before the first try");
    ex.submit(sh(root.path(), 1, "true")).expect("submit");
    assert_eq!(finished(&mut rx, key(1)).await.exit_code, Some(0));
    let standbys = standbys_ready(&ex, 2).await;
    assert_eq!(standbys.len(), 2, "{standbys:?}");

    let req = sh(root.path(), 2, "echo via standby; exit 5");
    let (log, try_dir) = (req.log_path.clone(), req.try_dir.clone());
    ex.submit(req).expect("submit");
    let (pid, outcome) = started_and_finished(&mut rx, key(2)).await;
    assert_eq!(pid, i64::from(standbys[0]));
    assert_eq!(outcome.exit_code, Some(5));
    assert_eq!(outcome.error, None);
    assert_eq!(log_lines(&log), ["via standby"]);
    // The standby wrote the pid file as itself before the task started.
    let recorded = std::fs::read_to_string(try_dir.join("pid")).expect("pid file");
    let recorded = ProcessId::parse(&recorded).expect("pid file parses");
    assert_eq!(i64::from(recorded.pid), pid);
    // A replacement is started in the background.
    let now = standbys_ready(&ex, 2).await;
    assert!(!now.contains(&standbys[0]), "{now:?}");
}

#[tokio::test]
async fn a_dead_standby_is_skipped_and_the_try_still_runs() {
    let root = tempfile::tempdir().expect("tempdir");
    let (ex, mut rx) = executor(4);
    ex.submit(sh(root.path(), 1, "true")).expect("submit");
    assert_eq!(finished(&mut rx, key(1)).await.exit_code, Some(0));
    let standbys = standbys_ready(&ex, 2).await;
    for pid in &standbys {
        let pid = nix::unistd::Pid::from_raw(*pid as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("kill");
    }
    // Let them die (they stay zombies until the executor reaps them).
    for pid in &standbys {
        while !gone(*pid as i32) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    ex.submit(sh(root.path(), 2, "exit 6")).expect("submit");
    let (pid, outcome) = started_and_finished(&mut rx, key(2)).await;
    assert!(!standbys.contains(&(pid as u32)), "{pid} {standbys:?}");
    assert_eq!(outcome.exit_code, Some(6));
    for pid in standbys {
        wait_reaped(pid as i32).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_quick_tries_work_and_no_standby_outlives_the_executor() {
    let root = tempfile::tempdir().expect("tempdir");
    let (ex, mut rx) = executor(4);
    let mut pids = Vec::new();
    for n in 0..30 {
        ex.submit(sh(root.path(), n, &format!("exit {}", n % 3)))
            .expect("submit");
        let (pid, outcome) = started_and_finished(&mut rx, key(n)).await;
        assert_eq!(outcome.exit_code, Some((n % 3) as i32), "try {n}");
        pids.push(pid as i32);
    }
    // Two at once as well.
    ex.submit(sh(root.path(), 100, "exit 0")).expect("submit");
    ex.submit(sh(root.path(), 101, "exit 1")).expect("submit");
    let mut codes = BTreeMap::new();
    while codes.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("an event within 20s")
            .expect("channel open");
        match event {
            TryEvent::Started { pid, .. } => pids.push(pid as i32),
            TryEvent::Finished { key, outcome } => {
                codes.insert(key.ti_id, outcome.exit_code);
            }
        }
    }
    assert_eq!(codes, BTreeMap::from([(100, Some(0)), (101, Some(1))]));
    let standbys = standbys_ready(&ex, 2).await;
    let mut distinct = pids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), pids.len(), "a supervisor ran two tries");
    drop(ex);
    for pid in standbys.iter().map(|p| *p as i32).chain(pids) {
        wait_reaped(pid).await;
    }
}

#[tokio::test]
async fn standbys_can_be_turned_off() {
    let root = tempfile::tempdir().expect("tempdir");
    let (tx, mut rx) = unbounded_channel();
    let ex = LocalExecutor::new(vec![SUPERVISOR.to_string()], 2, tx).with_standby(0);
    for n in 0..3 {
        ex.submit(sh(root.path(), n, "true")).expect("submit");
        assert_eq!(finished(&mut rx, key(n)).await.exit_code, Some(0));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(ex.standby_pids().is_empty());
}

#[tokio::test]
async fn a_supervisor_command_with_arguments_gets_no_standbys() {
    let root = tempfile::tempdir().expect("tempdir");
    let (tx, mut rx) = unbounded_channel();
    // Like `cambium task supervise DIR`: the try folder is the last argument.
    let command = vec![
        "sh".to_string(),
        "-c".to_string(),
        format!("exec '{SUPERVISOR}' \"$0\""),
    ];
    let ex = LocalExecutor::new(command, 2, tx);
    for n in 0..3 {
        ex.submit(sh(root.path(), n, &format!("exit {n}")))
            .expect("submit");
        assert_eq!(finished(&mut rx, key(n)).await.exit_code, Some(n as i32));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(ex.standby_pids().is_empty());
}

/// A chain of `n` tries of `true`, each submitted when the one before finished.
async fn chain(standby: usize, n: i64) -> Duration {
    let root = tempfile::tempdir().expect("tempdir");
    let (tx, mut rx) = unbounded_channel();
    let ex = LocalExecutor::new(vec![SUPERVISOR.to_string()], 4, tx).with_standby(standby);
    if standby > 0 {
        // Warm up as a running scheduler would be: the standbys are ready.
        ex.submit(request(root.path(), -1, &["true"]))
            .expect("submit");
        finished(&mut rx, key(-1)).await;
        standbys_ready(&ex, standby).await;
    }
    let begin = Instant::now();
    for i in 0..n {
        ex.submit(request(root.path(), i, &["true"]))
            .expect("submit");
        assert_eq!(finished(&mut rx, key(i)).await.exit_code, Some(0));
    }
    begin.elapsed()
}

/// `cargo test --release -p cambium-executor --test local -- --ignored --nocapture
/// standby_chain_timing`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run it by hand in release"]
async fn standby_chain_timing() {
    // Interleaved, so a busy moment of the machine hits every setting alike.
    let settings = [0, 1, 2];
    let mut runs = vec![Vec::new(); settings.len()];
    for _ in 0..5 {
        for (i, standby) in settings.iter().enumerate() {
            runs[i].push(chain(*standby, 40).await);
        }
    }
    for (standby, mut runs) in settings.into_iter().zip(runs) {
        runs.sort();
        eprintln!(
            "standby={standby}: median {:?} of 40 tries; sorted runs {runs:?}",
            runs[2]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_try_outlives_the_executor_but_its_standbys_do_not() {
    let root = tempfile::tempdir().expect("tempdir");
    let (ex, mut rx) = executor(4);
    ex.submit(sh(root.path(), 1, "true")).expect("submit");
    assert_eq!(finished(&mut rx, key(1)).await.exit_code, Some(0));
    standbys_ready(&ex, 2).await;
    let req = sh(root.path(), 2, "sleep 2.5; exit 3");
    let try_dir = req.try_dir.clone();
    ex.submit(req).expect("submit");
    let supervisor = match rx.recv().await.expect("event") {
        TryEvent::Started { pid, .. } => pid as i32,
        other => panic!("unexpected {other:?}"),
    };
    let standbys = standbys_ready(&ex, 2).await;
    assert!(!standbys.contains(&(supervisor as u32)));
    // The scheduler goes away: its standbys see EOF and exit while the try runs on (no
    // standby's stdin leaked into the try's supervisor).
    drop(ex);
    for pid in &standbys {
        wait_reaped(*pid as i32).await;
    }
    assert!(!gone(supervisor), "the try's supervisor should still run");
    let result = wait_for_file(&try_dir.join("result.json")).await;
    assert!(result.contains("\"exit_code\": 3"), "{result}");
}
