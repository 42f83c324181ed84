//! The supervisor binary on its own: its result file in edge cases.

use cambium_executor::files::{self, TryResult};
use cambium_executor::{TryKey, TryRequest};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const SUPERVISOR: &str = env!("CARGO_BIN_EXE_cambium-task-supervise");

fn write_spec(dir: &Path, script: &str, timeout: Option<Duration>) {
    let request = TryRequest {
        key: TryKey {
            ti_id: 1,
            try_number: 1,
        },
        dag_id: "d".into(),
        run_id: "r".into(),
        task_id: "t".into(),
        argv: vec!["sh".into(), "-c".into(), script.into()],
        cwd: None,
        env: BTreeMap::new(),
        timeout,
        secrets: vec![],
        secret_env: Default::default(),
        try_dir: dir.to_path_buf(),
        log_path: dir.join("try.log"),
        operator: None,
    };
    std::fs::write(
        dir.join(files::SPEC),
        serde_json::to_vec(&request).expect("json"),
    )
    .expect("write spec");
}

fn supervise(dir: &Path) -> (i32, TryResult) {
    let status = Command::new(SUPERVISOR)
        .arg(dir)
        .status()
        .expect("run supervisor");
    let result = std::fs::read(dir.join(files::RESULT)).expect("result.json");
    (
        status.code().expect("exit code"),
        serde_json::from_slice(&result).expect("parse result"),
    )
}

#[test]
fn a_missing_spec_is_recorded_as_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, result) = supervise(dir.path());
    assert_ne!(code, 0);
    assert_eq!(result.exit_code, None);
    assert!(result
        .error
        .expect("error")
        .starts_with("could not read the try's spec"));
}

#[test]
fn output_of_background_children_is_still_logged() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_spec(dir.path(), "(sleep 0.2; echo late) & echo early", None);
    let (code, result) = supervise(dir.path());
    assert_eq!(code, 0);
    assert_eq!(result.exit_code, Some(0));
    let log = std::fs::read_to_string(dir.path().join("try.log")).expect("log");
    assert!(
        log.contains("] early\n") && log.contains("] late\n"),
        "{log}"
    );
    let pid = std::fs::read_to_string(dir.path().join(files::PID)).expect("pid");
    assert!(files::ProcessId::parse(&pid).is_some(), "{pid}");
}

#[test]
fn a_task_ignoring_sigterm_is_killed_3s_later() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_spec(
        dir.path(),
        "trap '' TERM; sleep 30",
        Some(Duration::from_millis(300)),
    );
    let begin = Instant::now();
    let (code, result) = supervise(dir.path());
    let took = begin.elapsed();
    assert_eq!(code, 0);
    assert!(result.timed_out);
    assert_eq!(result.signal, Some(9));
    assert_eq!(result.exit_code, None);
    assert_eq!(
        result.error.as_deref(),
        Some("the try timed out after 300ms")
    );
    assert!(
        took >= Duration::from_millis(3200) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

fn standby() -> std::process::Child {
    Command::new(SUPERVISOR)
        .arg("--standby")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("start a standby supervisor")
}

fn exits_within(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let begin = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(begin.elapsed() < limit, "still running after {limit:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_standby_supervisor_exits_quietly_on_eof_or_an_empty_line() {
    // EOF: the scheduler went away.
    let mut child = standby();
    drop(child.stdin.take());
    assert_eq!(
        exits_within(&mut child, Duration::from_secs(5)).code(),
        Some(0)
    );

    // An empty line.
    let mut child = standby();
    let mut stdin = child.stdin.take().expect("stdin");
    std::io::Write::write_all(&mut stdin, b"\n").expect("write");
    assert_eq!(
        exits_within(&mut child, Duration::from_secs(5)).code(),
        Some(0)
    );
    drop(stdin);

    // Half a line and then EOF: the scheduler died while writing; nothing is run.
    let dir = tempfile::tempdir().expect("tempdir");
    write_spec(dir.path(), "echo ran", None);
    let mut child = standby();
    let mut stdin = child.stdin.take().expect("stdin");
    std::io::Write::write_all(&mut stdin, dir.path().as_os_str().as_encoded_bytes())
        .expect("write");
    drop(stdin);
    assert_eq!(
        exits_within(&mut child, Duration::from_secs(5)).code(),
        Some(0)
    );
    assert!(!dir.path().join(files::RESULT).exists());
    assert!(!dir.path().join(files::PID).exists());
}

#[test]
fn a_standby_supervisor_runs_the_try_it_is_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_spec(dir.path(), "echo from standby; exit 7", None);
    let mut child = standby();
    // Started well before it gets its try.
    std::thread::sleep(Duration::from_millis(50));
    let mut stdin = child.stdin.take().expect("stdin");
    let mut line = dir.path().as_os_str().as_encoded_bytes().to_vec();
    line.push(b'\n');
    std::io::Write::write_all(&mut stdin, &line).expect("write");
    drop(stdin);
    assert_eq!(
        exits_within(&mut child, Duration::from_secs(10)).code(),
        Some(0)
    );
    let result: TryResult =
        serde_json::from_slice(&std::fs::read(dir.path().join(files::RESULT)).expect("result"))
            .expect("parse result");
    assert_eq!(result.exit_code, Some(7));
    let pid = std::fs::read_to_string(dir.path().join(files::PID)).expect("pid");
    assert_eq!(
        files::ProcessId::parse(&pid).expect("pid").pid,
        child.id() as i32
    );
    let log = std::fs::read_to_string(dir.path().join("try.log")).expect("log");
    assert!(log.contains("] from standby\n"), "{log}");
}
