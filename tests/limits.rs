//! Concurrency limits, pools, `depends_on_past` and pausing, through real runs.

mod common;
use common::{task, wait_for, Env};
use serde_json::Value;
use std::time::Duration;

fn interval(t: &Value) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    let p = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().expect("time"))
            .expect("rfc3339")
            .with_timezone(&chrono::Utc)
    };
    (p(&t["start"]), p(&t["end"]))
}

fn assert_no_overlap(run: &Value, ids: &[&str]) {
    let mut spans: Vec<_> = ids.iter().map(|id| interval(task(run, id))).collect();
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "tasks overlapped: {spans:?}");
    }
}

#[test]
fn max_active_tasks_limits_parallel_tries() {
    let env = Env::new();
    env.write_dag(
        "narrow.rhai",
        "let d = dag(\"narrow\", #{ max_active_tasks: 1 });\nfor i in 0..3 { d.command(`t${i}`, #{ cmd: \"sleep 0.2\" }); }\n",
    );
    let run = env.json(&["dags", "test", "narrow"], 0);
    assert_no_overlap(&run, &["t0", "t1", "t2"]);
}

#[test]
fn a_pool_from_the_config_file_limits_its_tasks_and_priority_orders_them() {
    let env = Env::new();
    std::fs::create_dir_all(&env.home).expect("home");
    std::fs::write(env.home.join("cambium.toml"), "[pools]\nsingle = 1\n").expect("config");
    env.write_dag(
        "pooled.rhai",
        "let d = dag(\"pooled\", #{});\nd.command(\"low\", #{ cmd: \"sleep 0.2\", pool: \"single\", priority: 1 });\nd.command(\"high\", #{ cmd: \"sleep 0.2\", pool: \"single\", priority: 9 });\nd.command(\"mid\", #{ cmd: \"sleep 0.2\", pool: \"single\", priority: 5 });\nd.command(\"free\", #{ cmd: \"sleep 0.2\" });\n",
    );
    let run = env.json(&["dags", "test", "pooled"], 0);
    assert_no_overlap(&run, &["low", "mid", "high"]);
    let (high, _) = interval(task(&run, "high"));
    let (mid, _) = interval(task(&run, "mid"));
    let (low, _) = interval(task(&run, "low"));
    assert!(
        high < mid && mid < low,
        "priority order: high {high}, mid {mid}, low {low}"
    );
    // The task outside the pool is not held back by it.
    let (free, _) = interval(task(&run, "free"));
    assert!(free < mid, "free {free} should start before mid {mid}");
}

#[test]
fn a_bad_config_file_is_a_clear_error() {
    let env = Env::new();
    std::fs::create_dir_all(&env.home).expect("home");
    std::fs::write(
        env.home.join("cambium.toml"),
        "[scheduler]\nparalelism = 4\n",
    )
    .expect("config");
    let out = env.run(&["dags", "list"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("paralelism") && err.contains("parallelism"),
        "{err}"
    );
}

#[test]
fn depends_on_past_waits_for_the_previous_run() {
    let env = Env::new();
    let marker = env.dir.path().join("ok");
    env.write_dag(
        "past.rhai",
        &format!(
            "let d = dag(\"past\", #{{}});\nd.command(\"a\", #{{ cmd: \"test -f {m}\", depends_on_past: true }});\nd.command(\"b\", #{{ cmd: \"true\" }});\n",
            m = marker.display()
        ),
    );
    let _scheduler = env.scheduler();
    let first = env.json(
        &[
            "dags",
            "trigger",
            "past",
            "--logical-date",
            "2026-01-01",
            "--wait",
        ],
        1,
    );
    assert_eq!(task(&first, "a")["state"], "failed");
    let second = env.trigger(&["past", "--logical-date", "2026-01-02"]);
    wait_for(Duration::from_secs(10), || {
        let r = env.json(&["runs", "show", &second, "--dag", "past"], 0);
        (task(&r, "b")["state"] == "success").then_some(())
    })
    .expect("b ran");
    std::thread::sleep(Duration::from_millis(1500));
    let r = env.json(&["runs", "show", &second, "--dag", "past"], 0);
    assert_eq!(
        task(&r, "a")["try_number"],
        0,
        "a must wait for its previous success: {r}"
    );
    // Fix the cause and clear the first run's task: once it succeeds, the second follows.
    std::fs::write(&marker, "").expect("marker");
    let first_id = first["run_id"].as_str().expect("id").to_string();
    let out = env.run(&["tasks", "clear", "past", &first_id, "--task", "a"]);
    assert_eq!(out.status.code(), Some(0));
    let done = wait_for(Duration::from_secs(15), || {
        let r = env.json(&["runs", "show", &second, "--dag", "past"], 0);
        (r["state"] == "success").then_some(r)
    });
    assert!(
        done.is_some(),
        "the second run continues once the run before it succeeded"
    );
    let first = env.json(&["runs", "show", &first_id, "--dag", "past"], 0);
    assert_eq!(first["state"], "success");
    assert_eq!(task(&first, "a")["try_number"], 2);
}

#[test]
fn a_paused_dag_gets_no_scheduled_runs_until_unpaused() {
    let env = Env::new();
    let start = (chrono::Utc::now() - chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    env.write_dag(
        "p.rhai",
        &format!("let d = dag(\"p\", #{{ schedule: \"@daily\", start_date: \"{start}\", catchup: true }});\nd.command(\"a\", #{{ cmd: \"true\" }});\n"),
    );
    assert_eq!(env.run(&["dags", "pause", "p"]).status.code(), Some(0));
    let _scheduler = env.scheduler();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(env.json(&["runs", "list", "p"], 0), serde_json::json!([]));
    assert_eq!(env.run(&["dags", "unpause", "p"]).status.code(), Some(0));
    let runs = wait_for(Duration::from_secs(15), || {
        let runs = env.json(&["runs", "list", "p"], 0);
        (runs.as_array().map_or(0, Vec::len) >= 2).then_some(runs)
    });
    assert!(runs.is_some(), "runs appear once unpaused");
}
