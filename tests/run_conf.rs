//! A run's `conf` is checked against the DAG's params (CLI exit 2, API 400, naming the key),
//! values rendered with `shell_quote` reach `sh` as one literal word, a task's environment
//! holds none of the scheduler's secrets, no file of a try holds a password, and the home's
//! files are the scheduler user's alone. Every attack here is the one of the report.

mod common;

use common::{task, Env};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

/// The injection of the report: closes the awk program and runs `id` into a marker file.
fn injection(marker: &Path) -> String {
    format!("0.5 '; id > {}; #", marker.display())
}

fn conf(key: &str, value: Value) -> String {
    serde_json::json!({ key: value }).to_string()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_cli_refuses_a_conf_that_does_not_fit_the_params() {
    let env = Env::new().with_repo_dags();
    let marker = env.dir.path().join("pwned");
    for (conf, key) in [
        (
            conf("min_accuracy", Value::from(injection(&marker))),
            "min_accuracy",
        ),
        (conf("rows", Value::from("1e12")), "rows"),
        (conf("rows", Value::from(100_000_000)), "rows"),
        (conf("min_accuracy", Value::from(7.5)), "min_accuracy"),
        (conf("cmd", Value::from("id")), "cmd"),
    ] {
        for verb in ["trigger", "test"] {
            let out = env.run(&["dags", verb, "retrain_shell", "--conf", &conf]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{verb} {conf}: {err}");
            assert!(err.contains(&format!("'{key}'")), "{verb} {conf}: {err}");
        }
    }
    assert!(!marker.exists(), "the injection ran");
    // What fits is accepted: the example runs with a bar of its own.
    let run = env.json(
        &[
            "dags",
            "test",
            "retrain_shell",
            "--conf",
            r#"{"min_accuracy": 0.5, "rows": 300}"#,
        ],
        0,
    );
    assert_eq!(run["state"], "success", "{run}");
    assert_eq!(task(&run, "deploy")["state"], "success", "{run}");
}

#[test]
fn a_shell_quoted_value_reaches_the_command_as_one_literal_word() {
    let env = Env::new();
    let marker = env.dir.path().join("pwned");
    let out_file = env.dir.path().join("note.txt");
    env.write_dag(
        "quoted.rhai",
        &format!(
            "let d = dag(\"quoted\", #{{ params: #{{ note: \"hi\" }} }});\n\
             d.command(\"say\", #{{ cmd: \"printf '%s' {{{{ params.note | shell_quote }}}} > {}\" }});\n",
            out_file.display()
        ),
    );
    let evil = format!(
        "x'; touch {m}; # $(touch {m}) `touch {m}` \"\n; touch {m}",
        m = marker.display()
    );
    let run = env.json(
        &[
            "dags",
            "test",
            "quoted",
            "--conf",
            &conf("note", Value::from(evil.clone())),
        ],
        0,
    );
    assert_eq!(run["state"], "success", "{run}");
    assert_eq!(
        std::fs::read_to_string(&out_file).expect("the command wrote the note"),
        evil
    );
    assert!(!marker.exists(), "the quoted value ran as a command");
}

#[test]
fn a_task_gets_no_scheduler_secret_and_no_file_holds_a_password() {
    let env = Env::new();
    let env_file = env.dir.path().join("task-env.txt");
    env.write_dag(
        "envdump.rhai",
        &format!(
            "let d = dag(\"envdump\", #{{}});\n\
             d.command(\"dump\", #{{ cmd: \"env > {}\", env: #{{ MINE: \"asked for\" }} }});\n",
            env_file.display()
        ),
    );
    let out = env
        .command(&["--output", "json", "dags", "test", "envdump"])
        .env("CAMBIUM_CONN_CRM", "postgres://crm:crm-pass-7b1@crm/db")
        .env("AWS_SECRET_ACCESS_KEY", "aws-secret-5d2")
        .env("FOO", "scheduler-only")
        .env("LANG", "C.UTF-8")
        .output()
        .expect("dags test");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dumped = std::fs::read_to_string(&env_file).expect("the task wrote its environment");
    let names: Vec<&str> = dumped.lines().filter_map(|l| l.split('=').next()).collect();
    for wanted in [
        "PATH",
        "HOME",
        "LANG",
        "CAMBIUM_RUN_ID",
        "CAMBIUM_OUTPUT",
        "MINE",
    ] {
        assert!(names.contains(&wanted), "{wanted} missing: {names:?}");
    }
    for secret in [
        "CAMBIUM_CONN_CRM",
        "AWS_SECRET_ACCESS_KEY",
        "FOO",
        "CAMBIUM_DATABASE_URL",
    ] {
        assert!(!names.contains(&secret), "{secret} leaked: {names:?}");
    }
    assert!(!dumped.contains("crm-pass-7b1") && !dumped.contains("aws-secret-5d2"));

    // No file under tries/ holds a connection password (spec.json once held them all).
    let mut stack = vec![env.home.join("tries")];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                assert_eq!(mode(&path), 0o700, "{}", path.display());
                stack.push(path);
            } else {
                seen += 1;
                let text =
                    String::from_utf8_lossy(&std::fs::read(&path).expect("read")).to_string();
                assert!(!text.contains("crm-pass-7b1"), "{}: {text}", path.display());
            }
        }
    }
    assert!(seen > 0, "the try left its files");

    // The home, its database, tries/ and logs/ are the scheduler user's alone.
    assert_eq!(mode(&env.home), 0o700);
    assert_eq!(mode(&env.home.join("cambium.db")), 0o600);
    assert_eq!(mode(&env.home.join("tries")), 0o700);
    assert_eq!(mode(&env.home.join("logs")), 0o700);
    let log_dir = env.home.join("logs").join("envdump");
    let run_dir = std::fs::read_dir(&log_dir)
        .expect("the run's logs")
        .flatten()
        .next()
        .expect("a run folder")
        .path();
    assert_eq!(mode(&run_dir.join("dump").join("1.log")), 0o600);
}

#[test]
fn the_api_refuses_a_conf_that_does_not_fit_the_params() {
    let env = Env::new().with_repo_dags();
    let marker = env.dir.path().join("pwned");
    let s = env.standalone();
    let token = env.token_for("otto", "op");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let post = |body: String| {
        let request = ureq::http::Request::builder()
            .method("POST")
            .uri(format!("{}/api/v1/dags/retrain_shell/runs", s.url))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .body(body)
            .expect("request");
        let mut response = agent.run(request).expect("POST runs");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, text)
    };
    for (conf, key) in [
        (
            serde_json::json!({"min_accuracy": injection(&marker)}),
            "min_accuracy",
        ),
        (serde_json::json!({"rows": "lots"}), "rows"),
        (serde_json::json!({"unknown": 1}), "unknown"),
    ] {
        let (status, text) = post(serde_json::json!({ "conf": conf }).to_string());
        assert_eq!(status, 400, "{conf}: {text}");
        assert!(text.contains(&format!("'{key}'")), "{conf}: {text}");
    }
    let (status, text) = post(r#"{"conf": {"min_accuracy": 0.7}}"#.to_string());
    assert_eq!(status, 201, "{text}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(!marker.exists(), "the injection ran");
}
