//! `cambium dags ...` against a fresh home: listing, import errors, show, next runs, and
//! bad input (exit 2 with one line saying what is wrong).

mod common;
use common::Env;

const TWO: &str = r#"
let d = dag("two", #{ schedule: "*/10 * * * *", timezone: "Europe/Berlin", start_date: "2026-11-01", tags: ["demo"] });
let a = d.command("a", #{ cmd: "echo a" });
let b = d.command("b", #{ cmd: ["sh", "-c", "echo b"] });
a >> b;
"#;

#[test]
fn dags_list_has_the_contract_shape() {
    let env = Env::new();
    env.write_dag("two.rhai", TWO);
    let list = env.json(&["dags", "list"], 0);
    let items = list.as_array().expect("array");
    assert_eq!(items.len(), 1);
    let d = &items[0];
    let keys = common::sorted_keys(d);
    assert_eq!(
        keys,
        ["dag_id", "file", "next_run", "paused", "schedule", "tags", "tasks", "timezone"]
    );
    assert_eq!(d["dag_id"], "two");
    assert_eq!(d["file"], "two.rhai");
    assert_eq!(d["schedule"], "*/10 * * * *");
    assert_eq!(d["timezone"], "Europe/Berlin");
    assert_eq!(d["paused"], false);
    assert_eq!(d["tasks"], 2);
    assert_eq!(d["tags"], serde_json::json!(["demo"]));
    let next = d["next_run"].as_str().expect("next_run");
    assert!(
        next.ends_with("+01:00") || next.ends_with("+02:00"),
        "{next}"
    );
}

#[test]
fn broken_files_become_import_errors_and_the_rest_keeps_working() {
    let env = Env::new();
    env.write_dag("two.rhai", TWO);
    env.write_dag(
        "broken.rhai",
        "let d = dag(\"broken\", #{});\nlet a = d.command(\"a\", #{ cmd: \"x\", retires: 2 });\nlet b = d.command(\"b\", #{ cmd: \"y\" });\nlet c = d.command(\"c\", #{ cmd: \"z\" });\nb >> c;\nc >> b;\n",
    );
    env.write_dag("syntax.rhai", "let d = dag(\"s\", #{ ;\n");
    let errors = env.json(&["dags", "errors"], 0);
    let errors = errors.as_array().expect("array");
    let broken: Vec<&serde_json::Value> = errors
        .iter()
        .filter(|e| e["file"] == "broken.rhai")
        .collect();
    assert!(
        broken.iter().any(|e| e["message"]
            .as_str()
            .is_some_and(|m| m.contains("retires") && m.contains("retries"))),
        "{errors:?}"
    );
    assert!(
        broken
            .iter()
            .any(|e| e["message"].as_str().is_some_and(|m| m.contains("cycle"))),
        "{errors:?}"
    );
    for e in errors {
        assert!(e["line"].as_u64().is_some_and(|l| l >= 1), "{e}");
        assert!(e["column"].as_u64().is_some_and(|c| c >= 1), "{e}");
    }
    assert!(errors.iter().any(|e| e["file"] == "syntax.rhai"));
    let list = env.json(&["dags", "list"], 0);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
}

#[test]
fn show_and_next_runs() {
    let env = Env::new();
    env.write_dag("two.rhai", TWO);
    let show = env.json(&["dags", "show", "two"], 0);
    assert_eq!(show["edges"], serde_json::json!([["a", "b"]]));
    let dot = env.run(&["dags", "show", "two", "--dot"]);
    assert!(String::from_utf8_lossy(&dot.stdout).contains("\"a\" -> \"b\""));
    let next = env.json(&["dags", "next-runs", "two", "-n", "3"], 0);
    let next = next.as_array().expect("array");
    assert_eq!(next.len(), 3);
    for r in next {
        for k in [
            "logical_date",
            "data_interval_start",
            "data_interval_end",
            "run_after",
        ] {
            assert!(r[k].is_string(), "{r}");
        }
        assert_eq!(r["logical_date"], r["data_interval_start"]);
        assert_eq!(r["data_interval_end"], r["run_after"]);
    }
}

#[test]
fn bad_input_exits_2_with_one_clear_line() {
    let env = Env::new();
    env.write_dag("two.rhai", TWO);
    let cases: &[(&[&str], &str)] = &[
        (&["dags", "trigger", "nope"], "unknown DAG 'nope'"),
        (&["dags", "trigger", "two", "--conf", "{bad"], "--conf"),
        (&["dags", "trigger", "two", "--conf", "[1]"], "JSON object"),
        (
            &["dags", "trigger", "two", "--logical-date", "yesterday"],
            "--logical-date",
        ),
        (&["dags", "show", "nope"], "unknown DAG"),
        (&["runs", "show", "no_such_run"], "no run"),
        (
            &[
                "dags",
                "backfill",
                "two",
                "--start",
                "2026-11-02",
                "--end",
                "2026-11-01",
            ],
            "before",
        ),
    ];
    for (args, needle) in cases {
        let out = env.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(err.trim().lines().count() <= 2, "{args:?}: {err}");
    }
}

#[test]
fn unreachable_database_is_exit_2_without_the_password() {
    let env = Env::new();
    env.write_dag("two.rhai", TWO);
    let out = env
        .command(&["dags", "list"])
        .arg("--database-url")
        .arg("postgres://u:sekret@127.0.0.1:1/x")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("sekret"), "{err}");
}

#[test]
fn pause_and_unpause() {
    let env = Env::new();
    env.write_dag("two.rhai", TWO);
    assert_eq!(env.run(&["dags", "pause", "two"]).status.code(), Some(0));
    let list = env.json(&["dags", "list"], 0);
    assert_eq!(list[0]["paused"], true);
    assert_eq!(env.run(&["dags", "unpause", "two"]).status.code(), Some(0));
    let list = env.json(&["dags", "list"], 0);
    assert_eq!(list[0]["paused"], false);
    assert_eq!(env.run(&["dags", "pause", "nope"]).status.code(), Some(2));
}

#[test]
fn completions_print_a_script() {
    let env = Env::new();
    let out = env.run(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cambium"));
}

#[test]
fn another_dags_folder_cannot_replace_the_databases_dags() {
    let env = Env::new();
    env.write_dag("two.rhai", TWO);
    assert_eq!(
        env.json(&["dags", "list"], 0).as_array().map(Vec::len),
        Some(1)
    );
    let other = env.dir.path().join("other-dags");
    std::fs::create_dir_all(&other).expect("other");
    let out = env
        .command_with_dags(&other, &["dags", "list"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("other-dags") && err.contains("come from"),
        "{err}"
    );
    // Nothing was deactivated by the refused call.
    assert_eq!(
        env.json(&["dags", "list"], 0).as_array().map(Vec::len),
        Some(1)
    );
    // Once the recorded folder is gone, another folder takes over.
    std::fs::remove_dir_all(&env.dags).expect("remove");
    let out = env
        .command_with_dags(&other, &["--output", "json", "dags", "list"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
}

#[test]
fn every_configuration_problem_is_reported_at_once() {
    let env = Env::new();
    env.write_dag("two.rhai", TWO);
    std::fs::create_dir_all(&env.home).expect("home");
    std::fs::write(
        env.home.join("cambium.toml"),
        "[scheduler]\nparallelism = 0\ndatabase_url = \"sqlite:///x.db\"\nheartbeet = \"5s\"\n",
    )
    .expect("write config");
    let out = env
        .command(&["dags", "list"])
        .arg("--database-url")
        .arg("mysql://u:sekret@db/cambium")
        .env("CAMBIUM_SCHEDULER__HEARTBEAT", "5")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for needle in [
        "cambium.toml:3:1: 'database_url' belongs at the top level, not in [scheduler]",
        "cambium.toml:4:1: unknown key 'heartbeet' in [scheduler] (did you mean 'heartbeat'?)",
        "environment variable CAMBIUM_SCHEDULER__HEARTBEAT:",
        "[scheduler] parallelism must be at least 1",
        "--database-url / CAMBIUM_DATABASE_URL: 'mysql://u:***@db/cambium' is not a database URL",
    ] {
        assert!(err.contains(needle), "no {needle:?} in:\n{err}");
    }
    assert!(!err.contains("sekret"), "{err}");
    assert_eq!(out.stdout.len(), 0);
}

#[test]
fn dags_show_tells_retries_timeouts_trigger_rules_pools_and_params() {
    let env = Env::new();
    env.write_dag(
        "opts.rhai",
        r#"
let d = dag("opts", #{ params: #{ min_accuracy: 0.8, region: "eu" } });
let a = d.command("a", #{ cmd: "echo a", retries: 3, retry_delay: "45s", timeout: "10m" });
let b = d.command("b", #{ cmd: "echo b", trigger_rule: "all_done", pool: "gpu" });
a >> b;
"#,
    );
    let out = env.run(&["dags", "show", "opts"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .find(|l| l.starts_with("TASK_ID"))
        .unwrap_or_else(|| panic!("no task table in:\n{text}"));
    let columns: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        columns,
        [
            "TASK_ID",
            "OPERATOR",
            "UPSTREAM",
            "RETRIES",
            "RETRY_DELAY",
            "TIMEOUT",
            "TRIGGER_RULE",
            "POOL",
            "OPTIONS"
        ],
        "{text}"
    );
    let row = |task: &str| -> Vec<&str> {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{task} ")))
            .unwrap_or_else(|| panic!("no row for {task} in:\n{text}"))
            .split_whitespace()
            .collect()
    };
    assert_eq!(
        row("a")[..8],
        [
            "a",
            "command",
            "-",
            "3",
            "45s",
            "10m",
            "all_success",
            "default"
        ],
        "{text}"
    );
    assert_eq!(
        row("b")[..8],
        ["b", "command", "a", "0", "30s", "-", "all_done", "gpu"],
        "{text}"
    );
    let params = lines
        .iter()
        .position(|l| l.starts_with("params"))
        .unwrap_or_else(|| panic!("no params section in:\n{text}"));
    let rest = lines[params..].join("\n");
    assert!(rest.contains("PARAM"), "{rest}");
    assert!(
        lines[params..]
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["min_accuracy", "0.8"]),
        "{rest}"
    );
    assert!(
        lines[params..]
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["region", "eu"]),
        "{rest}"
    );
    // The JSON keeps its shape.
    let show = env.json(&["dags", "show", "opts"], 0);
    assert_eq!(show["params"]["region"], "eu");
    assert_eq!(show["tasks"][0]["common"]["retries"], 3);
}

#[test]
fn dags_list_labels_its_next_run_as_run_after() {
    let env = Env::new();
    env.write_dag("two.rhai", TWO);
    let out = env.run(&["dags", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let header: Vec<&str> = text
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert!(header.contains(&"NEXT_RUN_AFTER"), "{text}");
    assert!(!header.contains(&"NEXT_RUN"), "{text}");
    // The run-after shown is the next-runs' RUN_AFTER, not its LOGICAL_DATE.
    let list = env.json(&["dags", "list"], 0);
    let next = env.json(&["dags", "next-runs", "two", "-n", "1"], 0);
    assert_eq!(list[0]["next_run"], next[0]["run_after"]);
    assert_ne!(list[0]["next_run"], next[0]["logical_date"]);
    let out = env.run(&["dags", "next-runs", "two", "-n", "1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let header: Vec<&str> = text
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(header.first(), Some(&"LOGICAL_DATE"), "{text}");
    assert_eq!(header.last(), Some(&"RUN_AFTER"), "{text}");
}
