//! `load_source`: the contract of dag-files.md, errors with positions, and the sandbox.

use cambium_dag::{RetryBackoff, TriggerRule};
use cambium_loader::{load_source, Limits, LoadedFile};
use std::time::{Duration, Instant};

fn load(src: &str) -> LoadedFile {
    load_source("t.rhai", src, &Limits::default())
}

fn messages(f: &LoadedFile) -> Vec<String> {
    f.errors
        .iter()
        .map(|e| format!("{}:{}: {}", e.line, e.column, e.message))
        .collect()
}

const HELLO: &str = r#"// dags/hello.rhai
let d = dag("hello", #{
    schedule: "*/10 * * * *",       // cron, evaluated in `timezone`
    timezone: "Europe/Berlin",
    start_date: "2026-11-01",
    catchup: false,
    default_args: #{ retries: 2, retry_delay: "5s" },
    tags: ["demo"],
});

let a = d.command("say_hello", #{ cmd: "echo hello for {{ ds }}" });
let b = d.command("say_bye",   #{ cmd: ["sh", "-c", "echo bye from $CAMBIUM_TASK_ID"] });
a >> b;
"#;

#[test]
fn first_example_parses_to_the_expected_spec() {
    let f = load(HELLO);
    assert!(f.errors.is_empty(), "{:?}", messages(&f));
    assert_eq!(f.file, "t.rhai");
    assert_eq!(f.hash.len(), 64);
    assert_eq!(f.dags.len(), 1);
    let d = &f.dags[0];
    assert_eq!(d.dag_id, "hello");
    assert_eq!(d.file, "t.rhai");
    assert_eq!(d.schedule.as_deref(), Some("*/10 * * * *"));
    assert_eq!(d.timezone, "Europe/Berlin");
    assert_eq!(
        d.start_date.map(|t| t.to_rfc3339()),
        Some("2026-10-31T23:00:00+00:00".to_string())
    );
    assert_eq!(d.end_date, None);
    assert!(!d.catchup);
    assert_eq!((d.max_active_runs, d.max_active_tasks), (16, 16));
    assert_eq!(d.tags, ["demo"]);
    assert_eq!(d.tasks.len(), 2);
    let a = &d.tasks[0];
    assert_eq!(a.task_id, "say_hello");
    assert_eq!(a.operator, "command");
    assert_eq!(
        a.options.get("cmd"),
        Some(&serde_json::json!("echo hello for {{ ds }}"))
    );
    assert_eq!(a.options.len(), 1);
    assert_eq!(a.common.retries, 2);
    assert_eq!(a.common.retry_delay, Duration::from_secs(5));
    assert_eq!(a.common.retry_backoff, RetryBackoff::Fixed);
    assert_eq!(a.common.trigger_rule, TriggerRule::AllSuccess);
    assert_eq!(a.common.pool, "default");
    let b = &d.tasks[1];
    assert_eq!(
        b.options.get("cmd"),
        Some(&serde_json::json!([
            "sh",
            "-c",
            "echo bye from $CAMBIUM_TASK_ID"
        ]))
    );
    assert_eq!(d.edges, [("say_hello".to_string(), "say_bye".to_string())]);
}

#[test]
fn task_options_override_default_args_and_common_options_leave_operator_options() {
    let f = load(
        r#"
let d = dag("x", #{ default_args: #{ retries: 2, pool: "gpu" } });
d.command("a", #{ cmd: "true", cwd: "/tmp", retries: 5, env: #{ A: "1" }, trigger_rule: "all_done",
    retry_backoff: "exponential", timeout: "1h", priority: -3, doc: "hi", executor: "local" });
"#,
    );
    assert!(f.errors.is_empty(), "{:?}", messages(&f));
    let t = &f.dags[0].tasks[0];
    assert_eq!(t.options.keys().collect::<Vec<_>>(), ["cmd", "cwd"]);
    assert_eq!(t.common.retries, 5);
    assert_eq!(t.common.pool, "gpu");
    assert_eq!(t.common.env.get("A").map(String::as_str), Some("1"));
    assert_eq!(t.common.trigger_rule, TriggerRule::AllDone);
    assert_eq!(t.common.retry_backoff, RetryBackoff::Exponential);
    assert_eq!(t.common.timeout, Some(Duration::from_secs(3600)));
    assert_eq!(t.common.priority, -3);
    assert_eq!(t.common.doc.as_deref(), Some("hi"));
    assert_eq!(f.dags[0].schedule, None);
}

fn edges(src: &str) -> Vec<(String, String)> {
    let f = load(src);
    assert!(f.errors.is_empty(), "{:?}", messages(&f));
    f.dags[0].edges.clone()
}

fn e(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

const TASKS: &str = r#"
let d = dag("deps");
let a = d.command("a", #{ cmd: "true" });
let b = d.command("b", #{ cmd: "true" });
let c = d.task("c", "command", #{ cmd: "true" });
"#;

#[test]
fn every_dependency_form() {
    assert_eq!(
        edges(&format!("{TASKS} a >> b >> c;")),
        e(&[("a", "b"), ("b", "c")])
    );
    assert_eq!(
        edges(&format!("{TASKS} a >> [b, c];")),
        e(&[("a", "b"), ("a", "c")])
    );
    assert_eq!(
        edges(&format!("{TASKS} [a, b] >> c;")),
        e(&[("a", "c"), ("b", "c")])
    );
    assert_eq!(edges(&format!("{TASKS} b.after(a);")), e(&[("a", "b")]));
    assert_eq!(
        edges(&format!("{TASKS} c.after([a, b]);")),
        e(&[("a", "c"), ("b", "c")])
    );
    assert_eq!(
        edges(&format!("{TASKS} d.chain([a, b, c]);")),
        e(&[("a", "b"), ("b", "c")])
    );
    // Duplicates collapse; `>>` on an array returns the array.
    let src = format!(
        "{TASKS} a >> b; a >> b; let x = a >> [b, c]; x >> d.command(\"z\", #{{ cmd: \"\" }});"
    );
    assert_eq!(
        edges(&src),
        e(&[("a", "b"), ("a", "c"), ("b", "z"), ("c", "z")])
    );
}

#[test]
fn three_mistakes_give_three_errors_with_positions() {
    let f = load(
        r#"let d = dag("m", #{
    max_active_runs: 0,
});
d.command("a", #{ cmd: "x", retries: "two" });
d.command("b", #{ cmd: "y", retires: 1 });
"#,
    );
    assert!(f.dags.is_empty());
    assert_eq!(
        messages(&f),
        [
            "2:5: option 'max_active_runs' of DAG 'm' must be 1 or more, got 0",
            "4:29: option 'retries' of task 'a': expected a whole number, got a string (\"two\")",
            "5:29: unknown option 'retires' for task 'b' (did you mean 'retries'?)",
        ]
    );
}

#[test]
fn unknown_operator_is_suggested() {
    let f = load("let d = dag(\"x\");\nd.comand(\"a\", #{ cmd: \"true\" });\n");
    assert_eq!(
        messages(&f),
        ["2:3: unknown operator 'comand' (did you mean 'command'?)"]
    );
    let f = load("let d = dag(\"x\");\nd.task(\"a\", \"comand\", #{ cmd: \"true\" });\n");
    assert_eq!(
        messages(&f),
        ["2:3: unknown operator 'comand' for task 'a' (did you mean 'command'?)"]
    );
}

#[test]
fn missing_required_and_wrong_types() {
    let f = load("let d = dag(\"x\", #{ tags: \"demo\", shedule: \"@daily\" });\nd.command(\"a\", #{ cwd: 1 });\n");
    let m = messages(&f);
    assert_eq!(m.len(), 4, "{m:?}");
    assert!(
        m[0].starts_with("1:21: option 'tags' of DAG 'x': expected an array of strings"),
        "{m:?}"
    );
    assert_eq!(
        m[1],
        "1:35: unknown option 'shedule' for DAG 'x' (did you mean 'schedule'?)"
    );
    assert!(
        m[2].starts_with("2:3: task 'a' is missing the required option 'cmd'"),
        "{m:?}"
    );
    assert!(
        m[3].starts_with("2:19: option 'cwd' of task 'a': expected a string"),
        "{m:?}"
    );
}

#[test]
fn cycle_is_reported_at_the_closing_dependency() {
    let f = load("let d = dag(\"c\");\nlet a = d.command(\"a\", #{ cmd: \"\" });\nlet b = d.command(\"b\", #{ cmd: \"\" });\nlet c = d.command(\"c\", #{ cmd: \"\" });\na >> b >> c;\nc >> b;\n");
    assert_eq!(messages(&f), ["6:3: task 'b' is on a cycle: b -> c -> b"]);
}

#[test]
fn schedule_time_zone_and_dates_are_checked() {
    let f = load(
        r#"dag("a", #{ schedule: "@daily" });
dag("b", #{ schedule: "61 * * * *", start_date: "2026-01-01" });
dag("c", #{ timezone: "Europe/Berln" });
dag("d", #{ start_date: "yesterday" });
dag("e", #{ schedule: "@daily", start_date: "2026-01-02T10:00:00+02:00", end_date: "2026-01-01" });
"#,
    );
    let m = messages(&f);
    assert_eq!(m.len(), 5, "{m:?}");
    assert!(
        m[0].starts_with("1:13: DAG 'a' has a schedule but no start_date"),
        "{m:?}"
    );
    assert!(
        m[1].starts_with("2:13: option 'schedule' of DAG 'b'"),
        "{m:?}"
    );
    assert!(
        m[2].starts_with("3:13: option 'timezone' of DAG 'c'") && m[2].contains("Europe/Berlin"),
        "{m:?}"
    );
    assert!(
        m[3].starts_with("4:13: option 'start_date' of DAG 'd'"),
        "{m:?}"
    );
    assert!(
        m[4].contains("end_date") && m[4].contains("before"),
        "{m:?}"
    );
}

#[test]
fn ids_duplicates_and_cross_dag_edges() {
    let f = load(
        r#"let d = dag("d");
let e = dag("e");
let a = d.command("a b", #{ cmd: "" });
let x = d.command("x", #{ cmd: "" });
let x2 = d.command("x", #{ cmd: "" });
let y = e.command("y", #{ cmd: "" });
x >> y;
dag("d");
"#,
    );
    let m = messages(&f);
    assert_eq!(m.len(), 4, "{m:?}");
    assert!(
        m[0].starts_with("3:11: task id 'a b' contains ' '"),
        "{m:?}"
    );
    assert!(
        m[1].starts_with("5:12: task id 'x' is already used in DAG 'd'"),
        "{m:?}"
    );
    assert!(
        m[2].starts_with("7:3: task 'x' of DAG 'd' cannot be upstream of task 'y' of DAG 'e'"),
        "{m:?}"
    );
    assert!(
        m[3].starts_with("8:1: DAG id 'd' is already declared in this file"),
        "{m:?}"
    );
    assert!(
        f.dags.is_empty(),
        "{:?}",
        f.dags.iter().map(|d| &d.dag_id).collect::<Vec<_>>()
    );
}

#[test]
fn features_of_later_versions_are_refused_by_name() {
    let f = load(
        r#"let d = dag("x", #{
    triggers: [on_object("landing", "wine/incoming/", #{ pattern: "*.csv", settle: "10s" }), on_asset("w")],
    on_failure: #{ email: ["a@b.c"] },
    sla: "1h",
    default_args: #{ executor: "kubernetes" },
});
d.command("a", #{ cmd: "", image: "python:3", resources: #{ cpu: "2" }, pull_policy: "always", outlets: ["w"], cache: true });
d.command("b", #{ cmd: "", outlets: [], cache: false, executor: "docker" });
"#,
    );
    let m = messages(&f);
    let not_yet = |key: &str| {
        m.iter().any(|x| {
            x.contains(&format!("'{key}'"))
                && x.contains("not available yet in this version of Cambium")
        })
    };
    for key in [
        "triggers",
        "on_failure",
        "sla",
        "kubernetes",
        "image",
        "resources",
        "pull_policy",
    ] {
        assert!(not_yet(key), "{key} not refused: {m:?}");
    }
    assert!(
        m.iter()
            .any(|x| x.contains("'cache'") && x.contains("cannot be reused")),
        "{m:?}"
    );
    assert!(
        m.iter().any(|x| x.contains("'docker' is not an executor")),
        "{m:?}"
    );
    assert_eq!(m.len(), 9, "{m:?}");
    assert!(m[0].starts_with("2:5: option 'triggers'"), "{m:?}");
    assert!(m[0].contains("on_object(...)"), "{m:?}");
}

#[test]
fn asset_triggers_and_outlets_are_declared() {
    let f = load(
        r#"let up = dag("etl", #{});
up.command("load", #{ cmd: "true", outlets: ["warehouse.wine_daily", "b", "b"] });
up.command("other", #{ cmd: "true" });
let down = dag("retrain", #{ triggers: [on_asset("warehouse.wine_daily")] });
down.command("train", #{ cmd: "true" });
"#,
    );
    assert!(f.errors.is_empty(), "{:?}", messages(&f));
    let etl = f.dags.iter().find(|d| d.dag_id == "etl").expect("etl");
    let load = etl.task("load").expect("load");
    assert_eq!(load.common.outlets, ["warehouse.wine_daily", "b"]);
    assert!(etl.task("other").expect("other").common.outlets.is_empty());
    let retrain = f
        .dags
        .iter()
        .find(|d| d.dag_id == "retrain")
        .expect("retrain");
    assert_eq!(
        retrain.triggers,
        [serde_json::json!({"type": "asset", "name": "warehouse.wine_daily"})]
    );
}

#[test]
fn bad_asset_triggers_and_outlets_are_named() {
    let f = load(
        r#"let d = dag("x", #{ triggers: [on_asset("")] });
d.command("a", #{ cmd: "true", outlets: [""] });
let e = dag("y", #{ triggers: ["w"] });
e.command("a", #{ cmd: "true" });
"#,
    );
    let m = messages(&f);
    assert!(
        m.iter()
            .any(|x| x.contains("'triggers'") && x.contains("needs an asset name")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|x| x.contains("'outlets'") && x.contains("cannot be empty")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|x| x.contains("DAG 'y'") && x.contains("is not a trigger")),
        "{m:?}"
    );
}

#[test]
fn evaluation_errors_and_sandbox() {
    let f = load("let d = dag(\"x\";\n");
    assert_eq!(f.errors.len(), 1);
    assert!(
        f.errors[0].message.starts_with("syntax error"),
        "{:?}",
        messages(&f)
    );
    let f = load("import \"os\" as os;\n");
    assert!(
        messages(&f)[0].contains("cannot import modules"),
        "{:?}",
        messages(&f)
    );
    let f = load("let t = timestamp();\n");
    assert_eq!(f.errors.len(), 1, "no clock: {:?}", messages(&f));
    let f = load("print(\"hi\"); debug(1); dag(\"ok\");\n");
    assert!(
        f.errors.is_empty() && f.dags.len() == 1,
        "{:?}",
        messages(&f)
    );
    let f = load("dag(\"a\");\nthrow \"nope\";\n");
    assert_eq!(messages(&f), ["2:1: the file threw an error: nope"]);
    assert!(f.dags.is_empty());
}

fn timed(src: &str) -> (Duration, LoadedFile) {
    let start = Instant::now();
    let f = load(src);
    (start.elapsed(), f)
}

#[test]
fn endless_loop_stops_within_the_budget() {
    let (took, f) = timed("dag(\"x\");\nloop { }\n");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(f.errors.len(), 1);
    assert_eq!(f.errors[0].line, 2);
    assert!(
        f.errors[0].message.contains("endless loop"),
        "{:?}",
        messages(&f)
    );
    assert!(f.dags.is_empty());
}

#[test]
fn wall_time_alone_stops_a_slow_file() {
    let limits = Limits {
        max_operations: u64::MAX,
        wall_time: Duration::from_millis(200),
        ..Limits::default()
    };
    let start = Instant::now();
    let f = load_source("t.rhai", "let i = 0; loop { i += 1; }", &limits);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert!(
        f.errors[0].message.contains("took longer than"),
        "{:?}",
        messages(&f)
    );
}

#[test]
fn doubling_string_stops_within_the_budget() {
    let (took, f) = timed("let s = \"x\";\nloop { s += s; }\n");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(f.errors.len(), 1);
    assert!(
        f.errors[0].message.contains("grew beyond the limit"),
        "{:?}",
        messages(&f)
    );
}

#[test]
fn endless_recursion_stops_within_the_budget() {
    let (took, f) = timed("fn f(x) { f(x + 1) }\nf(1);\n");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(f.errors.len(), 1);
    assert!(
        f.errors[0].message.contains("endless recursion"),
        "{:?}",
        messages(&f)
    );
}

#[test]
fn params_may_be_declared_in_full_and_bad_declarations_are_import_errors() {
    let f = load(
        "dag(\"p\", #{ params: #{ rows: 200, min: #{ \"default\": 0.6, type: \"number\", min: 0.0, max: 1.0 } } });\n",
    );
    assert!(f.errors.is_empty(), "{:?}", messages(&f));
    let spec = &f.dags[0];
    assert_eq!(spec.params["rows"], serde_json::json!(200));
    assert_eq!(spec.params["min"], serde_json::json!(0.6));
    assert_eq!(spec.param_specs["min"].max, Some(1.0));
    assert!(spec
        .check_conf(
            &serde_json::json!({"min": 2})
                .as_object()
                .cloned()
                .unwrap_or_default()
        )
        .is_err());

    let f = load("dag(\"p\", #{ params: #{ n: #{ \"default\": \"x\", type: \"integer\" } } });\n");
    assert!(f.dags.is_empty());
    assert!(
        messages(&f)[0].contains("param 'n' of DAG 'p': the default \"x\": must be an integer"),
        "{:?}",
        messages(&f)
    );
}

#[test]
fn an_unquoted_default_says_how_to_write_it() {
    let f = load("dag(\"p\", #{ params: #{ n: #{ default: 3 } } });\n");
    assert!(
        messages(&f)[0].contains("#{ \"default\": 3"),
        "{:?}",
        messages(&f)
    );
}
