//! A task's environment is built, not inherited, and secrets never reach the disk: with a
//! standby supervisor and with one started per try. In its own test binary because it sets
//! variables on this process (the scheduler's side), which its supervisors inherit.

use cambium_executor::{Executor, LocalExecutor, TryEvent, TryKey, TryRequest};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

const SUPERVISOR: &str = env!("CARGO_BIN_EXE_cambium-task-supervise");

const DB_PASSWORD: &str = "db-pass-4f1e";
const CONN_PASSWORD: &str = "conn-pass-9c2d";

async fn finished(rx: &mut UnboundedReceiver<TryEvent>, key: TryKey) -> Option<i32> {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("an event within 20s")
            .expect("channel open");
        if let TryEvent::Finished { key: k, outcome } = event {
            if k == key {
                return outcome.exit_code;
            }
        }
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

async fn check(standbys: usize) {
    let root = tempfile::tempdir().expect("tempdir");
    let (tx, mut rx) = unbounded_channel();
    let ex = LocalExecutor::new(vec![SUPERVISOR.to_string()], 2, tx).with_standby(standbys);
    let try_dir = root
        .path()
        .join("tries")
        .join("d")
        .join("r")
        .join("t")
        .join("1");
    let log_path = root
        .path()
        .join("logs")
        .join("d")
        .join("r")
        .join("t")
        .join("1.log");
    let env_file = root.path().join("task-env.txt");
    let key = TryKey {
        ti_id: 1,
        try_number: 1,
    };
    let conn_url = format!("postgres://etl:{CONN_PASSWORD}@warehouse/dw");
    let request = TryRequest {
        key,
        dag_id: "d".into(),
        run_id: "r".into(),
        task_id: "t".into(),
        argv: vec![
            "sh".into(),
            "-c".into(),
            format!(
                "env > '{}'; echo \"conn=$CAMBIUM_CONN_WAREHOUSE\"",
                env_file.display()
            ),
        ],
        cwd: None,
        env: BTreeMap::from([
            ("CAMBIUM_TASK_ID".to_string(), "t".to_string()),
            ("MINE".to_string(), "asked-for".to_string()),
        ]),
        secret_env: BTreeMap::from([("CAMBIUM_CONN_WAREHOUSE".to_string(), conn_url.clone())]),
        timeout: None,
        secrets: vec![conn_url.clone(), CONN_PASSWORD.to_string()],
        try_dir: try_dir.clone(),
        log_path: log_path.clone(),
        operator: None,
    };
    if standbys > 0 {
        // Let the standbys start, so the try is handed to one.
        ex.submit(TryRequest {
            key: TryKey {
                ti_id: 0,
                try_number: 1,
            },
            try_dir: root.path().join("warm"),
            log_path: root.path().join("warm.log"),
            argv: vec!["true".into()],
            ..request.clone()
        })
        .expect("submit");
        finished(
            &mut rx,
            TryKey {
                ti_id: 0,
                try_number: 1,
            },
        )
        .await;
        for _ in 0..200 {
            if !ex.standby_pids().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!ex.standby_pids().is_empty(), "a standby is ready");
    }
    ex.submit(request).expect("submit");
    assert_eq!(finished(&mut rx, key).await, Some(0));

    let env = std::fs::read_to_string(&env_file).expect("the task wrote its environment");
    let names: Vec<&str> = env.lines().filter_map(|l| l.split('=').next()).collect();
    for wanted in ["PATH", "HOME", "LANG", "CAMBIUM_TASK_ID", "MINE"] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
    assert!(
        env.contains(&format!("CAMBIUM_CONN_WAREHOUSE={conn_url}")),
        "{env}"
    );
    for secret in [
        "FOO",
        "AWS_SECRET_ACCESS_KEY",
        "CAMBIUM_DATABASE_URL",
        "CAMBIUM_CONN_OTHER",
    ] {
        assert!(!names.contains(&secret), "{secret} leaked into {names:?}");
    }
    assert!(!env.contains(DB_PASSWORD), "{env}");

    // The log masks the connection; no file of the try holds its password.
    let log = std::fs::read_to_string(&log_path).expect("log");
    assert!(log.contains("conn=***"), "{log}");
    for file in files_under(&try_dir).into_iter().chain([log_path.clone()]) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).expect("read")).to_string();
        assert!(
            !text.contains(CONN_PASSWORD) && !text.contains(DB_PASSWORD),
            "{} holds a password: {text}",
            file.display()
        );
    }
    // Only the scheduler's user can read them.
    assert_eq!(mode(&root.path().join("tries")), 0o700);
    assert_eq!(mode(&try_dir), 0o700);
    assert_eq!(mode(&try_dir.join("spec.json")), 0o600);
    assert_eq!(mode(&try_dir.join("result.json")), 0o600);
    assert_eq!(mode(&root.path().join("logs")), 0o700);
    assert_eq!(mode(log_path.parent().expect("folder")), 0o700);
    assert_eq!(mode(&log_path), 0o600);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_gets_a_built_environment_and_secrets_stay_off_disk() {
    // The scheduler's own environment, with secrets a task must not see.
    std::env::set_var("FOO", "scheduler-only");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "aws-secret-1234");
    std::env::set_var(
        "CAMBIUM_DATABASE_URL",
        format!("postgres://cambium:{DB_PASSWORD}@db/cambium"),
    );
    std::env::set_var("CAMBIUM_CONN_OTHER", "postgres://x:y@z/w");
    std::env::set_var("LANG", "C.UTF-8");
    check(0).await;
    check(2).await;
}
