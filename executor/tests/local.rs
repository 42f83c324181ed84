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
        log_path: root.join("logs").join(format!("t{n}.log")),
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
