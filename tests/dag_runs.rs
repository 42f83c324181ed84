//! Whole runs through `cambium dags test` (real processes, real SQLite): the examples, the
//! task protocol, retries, skips, trigger rules, timeouts, templates.

mod common;
use common::{task, Env};
use std::time::{Duration, Instant};

#[test]
fn every_example_dag_runs_to_success() {
    let env = Env::new().with_repo_dags();
    let list = env.json(&["dags", "list"], 0);
    let ids: Vec<String> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["dag_id"].as_str().map(String::from))
        .collect();
    assert!(ids.len() >= 3, "{ids:?}");
    let errors = env.json(&["dags", "errors"], 0);
    assert_eq!(
        errors,
        serde_json::json!([]),
        "the examples must import cleanly"
    );
    for id in ids {
        let run = env.json(&["dags", "test", &id], 0);
        assert_eq!(run["state"], "success", "{id}: {run}");
    }
}

#[test]
fn run_json_has_the_contract_shape_and_protocol_works() {
    let env = Env::new();
    env.write_dag(
        "proto.rhai",
        r#"
let d = dag("proto", #{ params: #{ who: "world", n: 2, extra: "" } });
let a = d.command("a", #{ cmd: "printf '{\"rows\": 3, \"who\": \"%s\"}' \"{{ params.who }}\" > $CAMBIUM_OUTPUT && printf '{\"accuracy\": 0.9}' > $CAMBIUM_METRICS && echo $CAMBIUM_DAG_ID $CAMBIUM_TASK_ID $CAMBIUM_TRY_NUMBER" });
let b = d.command("b", #{ cmd: "test {{ outputs.a.rows }} = 3 && test '{{ conf.extra }}' = yes && test {{ ds }} = 2026-11-20 && echo {{ macros.ds_add(ds, -7) }}", env: #{ GREETING: "hi {{ params.who }}" } });
a >> b;
"#,
    );
    let run = env.json(
        &[
            "dags",
            "test",
            "proto",
            "--conf",
            r#"{"extra": "yes", "who": "cambium"}"#,
            "--logical-date",
            "2026-11-20",
        ],
        0,
    );
    let keys = common::sorted_keys(&run);
    assert_eq!(
        keys,
        [
            "conf",
            "dag_id",
            "data_interval_end",
            "data_interval_start",
            "end",
            "logical_date",
            "run_id",
            "run_type",
            "start",
            "state",
            "tasks"
        ]
    );
    assert_eq!(run["state"], "success", "{run}");
    assert_eq!(run["run_type"], "manual");
    assert!(run["logical_date"]
        .as_str()
        .is_some_and(|t| t.starts_with("2026-11-20T00:00:00") && t.ends_with("+00:00")));
    let a = task(&run, "a");
    let tkeys = common::sorted_keys(a);
    assert_eq!(
        tkeys,
        [
            "duration_ms",
            "end",
            "metrics",
            "output",
            "start",
            "state",
            "task_id",
            "try_number"
        ]
    );
    assert_eq!(
        a["output"],
        serde_json::json!({"rows": 3, "who": "cambium"})
    );
    assert_eq!(a["metrics"], serde_json::json!({"accuracy": 0.9}));
    assert_eq!(a["try_number"], 1);
    let run_id = run["run_id"].as_str().expect("run id");
    let log = env.run(&["tasks", "logs", "proto", run_id, "a"]);
    let text = String::from_utf8_lossy(&log.stdout);
    assert!(text.contains("proto a 1"), "{text}");
    assert!(
        text.starts_with("[20"),
        "log lines carry timestamps: {text}"
    );
    let log = env.run(&["tasks", "logs", "proto", run_id, "b"]);
    assert!(String::from_utf8_lossy(&log.stdout).contains("2026-11-13"));
}

#[test]
fn retries_then_failure_fails_the_run_and_downstream() {
    let env = Env::new();
    env.write_dag(
        "flaky.rhai",
        r#"
let d = dag("flaky", #{ default_args: #{ retries: 2, retry_delay: "100ms" } });
let a = d.command("a", #{ cmd: "echo try $CAMBIUM_TRY_NUMBER; exit 3" });
let b = d.command("b", #{ cmd: "echo never" });
let c = d.command("c", #{ cmd: "echo cleanup", trigger_rule: "all_done" });
a >> b >> c;
"#,
    );
    let run = env.json(&["dags", "test", "flaky"], 0);
    assert_eq!(
        run["state"], "success",
        "the leaf (all_done cleanup) succeeded, so the run succeeds as in Airflow: {run}"
    );
    assert_eq!(task(&run, "a")["state"], "failed");
    assert_eq!(task(&run, "a")["try_number"], 3);
    assert_eq!(task(&run, "b")["state"], "upstream_failed");
    assert_eq!(task(&run, "c")["state"], "success");
}

#[test]
fn a_failing_leaf_fails_the_run_with_exit_1() {
    let env = Env::new();
    env.write_dag(
        "fails.rhai",
        "let d = dag(\"fails\", #{});\nd.command(\"a\", #{ cmd: \"exit 1\" });\n",
    );
    let run = env.json(&["dags", "test", "fails"], 1);
    assert_eq!(run["state"], "failed");
    let out = env.run(&["dags", "test", "fails"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_retry_that_succeeds() {
    let env = Env::new();
    let marker = env.dir.path().join("marker");
    env.write_dag(
        "second.rhai",
        &format!(
            "let d = dag(\"second\", #{{}});\nd.command(\"a\", #{{ cmd: \"if [ -f {m} ]; then echo ok; else touch {m}; exit 1; fi\", retries: 1, retry_delay: \"50ms\", retry_backoff: \"exponential\" }});\n",
            m = marker.display()
        ),
    );
    let run = env.json(&["dags", "test", "second"], 0);
    assert_eq!(task(&run, "a")["state"], "success");
    assert_eq!(task(&run, "a")["try_number"], 2);
}

#[test]
fn exit_99_skips_and_trigger_rules_follow_airflow() {
    let env = Env::new();
    env.write_dag(
        "skips.rhai",
        r#"
let d = dag("skips", #{});
let gate = d.command("gate", #{ cmd: "exit 99" });
let next = d.command("next", #{ cmd: "echo no" });
let nf = d.command("none_failed", #{ cmd: "echo yes", trigger_rule: "none_failed" });
let ok = d.command("ok", #{ cmd: "true" });
let one = d.command("one_success", #{ cmd: "true", trigger_rule: "one_success" });
gate >> next;
gate >> nf;
[gate, ok] >> one;
"#,
    );
    let run = env.json(&["dags", "test", "skips"], 0);
    assert_eq!(task(&run, "gate")["state"], "skipped");
    assert_eq!(task(&run, "next")["state"], "skipped");
    assert_eq!(task(&run, "none_failed")["state"], "success");
    assert_eq!(task(&run, "one_success")["state"], "success");
    assert_eq!(run["state"], "success");
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let env = Env::new();
    let pidfile = env.dir.path().join("grandchild.pid");
    env.write_dag(
        "slow.rhai",
        &format!(
            "let d = dag(\"slow\", #{{}});\nd.command(\"a\", #{{ cmd: \"sleep 30 & echo $! > {p}; wait\", timeout: \"500ms\" }});\n",
            p = pidfile.display()
        ),
    );
    let started = Instant::now();
    let run = env.json(&["dags", "test", "slow"], 1);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(task(&run, "a")["state"], "failed");
    let pid = std::fs::read_to_string(&pidfile).expect("pid file");
    // Gone, or a zombie waiting for init to reap it (PID 1 in a container may not).
    let gone = common::wait_for(Duration::from_secs(3), || {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next());
        matches!(state, None | Some("Z") | Some("X")).then_some(())
    });
    assert!(
        gone.is_some(),
        "the background sleep must be killed with its group"
    );
}

#[test]
fn an_undefined_template_variable_fails_the_task_with_a_log_line() {
    let env = Env::new();
    env.write_dag(
        "tmpl.rhai",
        "let d = dag(\"tmpl\", #{});\nd.command(\"a\", #{ cmd: \"echo {{ nope }}\" });\n",
    );
    let run = env.json(&["dags", "test", "tmpl"], 1);
    assert_eq!(task(&run, "a")["state"], "failed");
    let run_id = run["run_id"].as_str().expect("run id");
    let log = env.run(&["tasks", "logs", "tmpl", run_id, "a"]);
    let text = String::from_utf8_lossy(&log.stdout);
    assert!(text.contains("nope"), "{text}");
}

#[test]
fn tasks_test_runs_one_task_without_recording_it() {
    let env = Env::new();
    env.write_dag(
        "one.rhai",
        "let d = dag(\"one\", #{});\nlet a = d.command(\"a\", #{ cmd: \"echo from-a\" });\nlet b = d.command(\"b\", #{ cmd: \"echo from-b {{ ds }}\" });\na >> b;\n",
    );
    let out = env.run(&["tasks", "test", "one", "b", "--logical-date", "2026-01-02"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("from-b 2026-01-02"));
    let runs = env.json(&["runs", "list", "one"], 0);
    assert_eq!(runs, serde_json::json!([]));
    assert_eq!(
        env.run(&["tasks", "test", "one", "zz"]).status.code(),
        Some(2)
    );
}

#[test]
fn dags_test_lists_tasks_in_run_order_and_tables_call_test_runs_test() {
    let env = Env::new();
    // Declared downstream first: the table still lists them in the order they run.
    env.write_dag(
        "order.rhai",
        r#"
let d = dag("order", #{});
let last = d.command("last", #{ cmd: "true" });
let middle = d.command("middle", #{ cmd: "true" });
let first = d.command("first", #{ cmd: "true" });
first >> middle;
middle >> last;
"#,
    );
    let out = env.run(&["dags", "test", "order"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let at = |name: &str| {
        text.find(&format!("\n{name} "))
            .unwrap_or_else(|| panic!("{name} in {text}"))
    };
    assert!(
        at("first") < at("middle") && at("middle") < at("last"),
        "{text}"
    );
    assert!(text.contains("(test, logical date"), "{text}");
    let json = env.json(&["dags", "test", "order"], 0);
    let ids: Vec<&str> = json["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["task_id"].as_str())
        .collect();
    assert_eq!(ids, ["first", "middle", "last"]);

    // JSON keeps the documented run type; the table says what the run is.
    let runs = env.json(&["runs", "list", "order"], 0);
    assert_eq!(runs[0]["run_type"], "manual", "{runs}");
    let out = env.run(&["runs", "list", "order"]);
    let table = String::from_utf8_lossy(&out.stdout);
    let row = table
        .lines()
        .find(|l| l.contains("test__"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.split_whitespace().any(|w| w == "test"), "{row}");
    assert!(!row.split_whitespace().any(|w| w == "manual"), "{row}");
}
