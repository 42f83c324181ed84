//! A running `cambium scheduler` (real process, real SQLite): manual runs, new DAG files,
//! scheduled runs, backfills, clears, and `kill -9` in the middle of a run.

mod common;
use common::{task, wait_for, Env};
use std::time::{Duration, Instant};

fn count_lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[test]
fn a_running_scheduler_runs_a_triggered_run() {
    let env = Env::new();
    env.write_dag(
        "chain.rhai",
        "let d = dag(\"chain\", #{ params: #{ k: 0 } });\nlet a = d.command(\"a\", #{ cmd: \"true\" });\nlet b = d.command(\"b\", #{ cmd: \"true\" });\nlet c = d.command(\"c\", #{ cmd: \"true\" });\nd.chain([a, b, c]);\n",
    );
    let mut scheduler = env.scheduler();
    let run = env.json(
        &["dags", "trigger", "chain", "--wait", "--conf", "{\"k\": 1}"],
        0,
    );
    assert_eq!(run["state"], "success", "{run}\n{}", scheduler.log_text());
    assert_eq!(run["conf"], serde_json::json!({"k": 1}));
    for t in ["a", "b", "c"] {
        assert_eq!(task(&run, t)["state"], "success");
    }
    let shown = env.json(&["runs", "show", run["run_id"].as_str().expect("id")], 0);
    assert_eq!(shown["state"], "success");
    scheduler.stop();
}

#[test]
fn new_dag_files_are_picked_up_while_running() {
    let env = Env::new();
    env.write_dag(
        "empty.rhai",
        "let d = dag(\"first\", #{});\nd.command(\"a\", #{ cmd: \"true\" });\n",
    );
    let _scheduler = env.scheduler();
    std::thread::sleep(Duration::from_millis(500));
    let marker = env.dir.path().join("once.txt");
    env.write_dag(
        "sub/once.rhai",
        &format!(
            "let d = dag(\"once\", #{{ schedule: \"@once\", start_date: \"2026-01-01\" }});\nd.command(\"a\", #{{ cmd: \"echo ran >> {}\" }});\n",
            marker.display()
        ),
    );
    let written = Instant::now();
    let ran = wait_for(Duration::from_secs(10), || {
        (count_lines(&marker) == 1).then_some(())
    });
    assert!(
        ran.is_some(),
        "the @once DAG added while the scheduler runs was not run"
    );
    assert!(
        written.elapsed() < Duration::from_secs(5),
        "{:?}",
        written.elapsed()
    );
}

#[test]
fn catchup_creates_one_run_per_missed_interval() {
    let env = Env::new();
    let start = (chrono::Utc::now() - chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    env.write_dag(
        "daily.rhai",
        &format!("let d = dag(\"daily\", #{{ schedule: \"@daily\", start_date: \"{start}\", catchup: true }});\nd.command(\"a\", #{{ cmd: \"echo {{{{ ds }}}}\" }});\n"),
    );
    let _scheduler = env.scheduler();
    let runs = wait_for(Duration::from_secs(20), || {
        let runs = env.json(&["runs", "list", "daily", "--state", "success"], 0);
        let n = runs.as_array().map_or(0, Vec::len);
        (n >= 3).then_some(runs)
    })
    .expect("three scheduled runs");
    for r in runs.as_array().expect("array") {
        assert_eq!(r["run_type"], "scheduled");
        assert!(r["run_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("scheduled__")));
    }
}

#[test]
fn backfill_dry_run_then_wait() {
    let env = Env::new();
    env.write_dag(
        "bf.rhai",
        "let d = dag(\"bf\", #{ schedule: \"@daily\", start_date: \"2026-01-01\", catchup: false });\nd.command(\"a\", #{ cmd: \"echo {{ ds }}\" });\n",
    );
    let dry = env.json(
        &[
            "dags",
            "backfill",
            "bf",
            "--start",
            "2026-02-01",
            "--end",
            "2026-02-05",
            "--dry-run",
        ],
        0,
    );
    assert_eq!(dry["runs"].as_array().map(Vec::len), Some(5), "{dry}");
    assert_eq!(
        env.json(&["runs", "list", "bf"], 0),
        serde_json::json!([]),
        "dry run writes nothing"
    );
    let _scheduler = env.scheduler();
    let done = env.json(
        &[
            "dags",
            "backfill",
            "bf",
            "--start",
            "2026-02-01",
            "--end",
            "2026-02-05",
            "--max-active-runs",
            "2",
            "--wait",
        ],
        0,
    );
    let runs = done["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 5);
    assert_eq!(done["dag_id"], "bf");
    let dates: Vec<&str> = runs
        .iter()
        .filter_map(|r| r["logical_date"].as_str())
        .collect();
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted, "backfill runs come in logical-date order");
    assert!(runs
        .iter()
        .all(|r| r["state"] == "success" && r["run_type"] == "backfill"));
}

#[test]
fn clear_reruns_tasks_and_downstream() {
    let env = Env::new();
    let log = env.dir.path().join("ran.txt");
    env.write_dag(
        "cl.rhai",
        &format!(
            "let d = dag(\"cl\", #{{}});\nlet a = d.command(\"a\", #{{ cmd: \"echo a >> {l}\" }});\nlet b = d.command(\"b\", #{{ cmd: \"echo b >> {l}\" }});\na >> b;\n",
            l = log.display()
        ),
    );
    let _scheduler = env.scheduler();
    let run = env.json(&["dags", "trigger", "cl", "--wait"], 0);
    let run_id = run["run_id"].as_str().expect("id").to_string();
    assert_eq!(count_lines(&log), 2);
    let out = env.run(&[
        "tasks",
        "clear",
        "cl",
        &run_id,
        "--task",
        "a",
        "--downstream",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = wait_for(Duration::from_secs(15), || {
        let r = env.json(&["runs", "show", &run_id], 0);
        (r["state"] == "success" && task(&r, "b")["try_number"] == 2).then_some(r)
    })
    .expect("cleared run re-ran");
    assert_eq!(task(&again, "a")["try_number"], 2);
    assert_eq!(count_lines(&log), 4);
    let first = env.run(&["tasks", "logs", "cl", &run_id, "a", "--try", "1"]);
    assert_eq!(first.status.code(), Some(0));
}

#[test]
fn kill_9_mid_run_loses_nothing_and_reruns_nothing() {
    let env = Env::new();
    let log = env.dir.path().join("ran.txt");
    // a: quick; b: long enough to be running when the scheduler dies; c after b.
    env.write_dag(
        "crash.rhai",
        &format!(
            "let d = dag(\"crash\", #{{}});\nlet a = d.command(\"a\", #{{ cmd: \"echo a >> {l}\" }});\nlet b = d.command(\"b\", #{{ cmd: \"sleep 2; echo b >> {l}\" }});\nlet c = d.command(\"c\", #{{ cmd: \"echo c >> {l}\" }});\nd.chain([a, b, c]);\n",
            l = log.display()
        ),
    );
    let mut scheduler = env.scheduler();
    let run_id = env.trigger(&["crash"]);
    wait_for(Duration::from_secs(10), || {
        let r = env.json(&["runs", "show", &run_id], 0);
        (task(&r, "b")["state"] == "running").then_some(())
    })
    .expect("b running");
    scheduler.kill9();
    let _second = env.scheduler();
    let done = wait_for(Duration::from_secs(20), || {
        let r = env.json(&["runs", "show", &run_id], 0);
        (r["state"] == "success").then_some(r)
    })
    .expect("run finished after restart");
    assert_eq!(
        task(&done, "b")["try_number"],
        1,
        "b was adopted, not re-run"
    );
    let text = std::fs::read_to_string(&log).expect("log");
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        ["a", "b", "c"],
        "each task ran exactly once"
    );
}

#[test]
fn logs_follow_streams_until_the_try_ends() {
    let env = Env::new();
    env.write_dag(
        "slow.rhai",
        "let d = dag(\"slow\", #{});\nd.command(\"a\", #{ cmd: \"for i in 1 2 3; do echo line $i; sleep 0.3; done\" });\n",
    );
    let _scheduler = env.scheduler();
    let run_id = env.trigger(&["slow"]);
    wait_for(Duration::from_secs(10), || {
        let r = env.json(&["runs", "show", &run_id], 0);
        (task(&r, "a")["try_number"] == 1).then_some(())
    })
    .expect("a started");
    let out = env.run(&["tasks", "logs", "slow", &run_id, "a", "--follow"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[2].ends_with("line 3"), "{text}");
}

#[test]
fn tasks_test_knows_a_sensor_that_asks_to_be_poked_again() {
    let env = Env::new();
    env.write_dag(
        "sense.rhai",
        "let d = dag(\"sense\", #{});\nd.command(\"wait\", #{ cmd: \"printf '{\\\"poke_after_ms\\\": 1500}' > $CAMBIUM_OUTPUT; exit 98\" });\n",
    );
    let out = env.run(&["tasks", "test", "sense", "wait"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("wait of sense: up_for_retry")
            && stderr.contains("condition does not hold yet")
            && stderr.contains("1s500ms"),
        "{stderr}"
    );
    let json = env.json(&["tasks", "test", "sense", "wait"], 0);
    assert_eq!(json["state"], "up_for_retry", "{json}");
    assert_eq!(json["exit_code"], 98);
    assert_eq!(json["poke_after_ms"], 1500);
}

#[test]
fn marking_a_running_task_stops_its_process() {
    let env = Env::new();
    let pid_file = env.dir.path().join("task.pid");
    let after = env.dir.path().join("after.txt");
    env.write_dag(
        "long.rhai",
        &format!(
            "let d = dag(\"long\", #{{}});\nlet a = d.command(\"a\", #{{ cmd: \"echo $$ > {p}; sleep 60; echo late >> {l}\" }});\nlet b = d.command(\"b\", #{{ cmd: \"echo b >> {l}\" }});\na >> b;\n",
            p = pid_file.display(),
            l = after.display()
        ),
    );
    let scheduler = env.scheduler();
    let run_id = env.trigger(&["long"]);
    let pid: i32 = wait_for(Duration::from_secs(15), || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
    })
    .expect("a started");
    // Marked from another process (the CLI) while the scheduler runs the try.
    let marked = env.json(
        &["tasks", "mark", "long", &run_id, "a", "--state", "success"],
        0,
    );
    assert_eq!(task(&marked, "a")["state"], "success", "{marked}");
    let gone = wait_for(Duration::from_secs(10), || {
        (!std::path::Path::new(&format!("/proc/{pid}")).exists()).then_some(())
    });
    assert!(
        gone.is_some(),
        "the marked task's process still runs\n{}",
        scheduler.log_text()
    );
    let done = wait_for(Duration::from_secs(15), || {
        let r = env.json(&["runs", "show", &run_id], 0);
        (r["state"] == "success").then_some(r)
    })
    .expect("the run ends");
    assert_eq!(task(&done, "a")["state"], "success", "the mark stands");
    assert_eq!(task(&done, "b")["state"], "success");
    let text = std::fs::read_to_string(&after).expect("after");
    assert_eq!(text.lines().collect::<Vec<_>>(), ["b"], "a never finished");
}

/// Starts a scheduler that kills itself (SIGKILL, as `kill -9`) at a crash point.
fn crashing_scheduler(env: &Env, fault: &str) -> common::Proc {
    let log = env
        .dir
        .path()
        .join(format!("crashing-{}.log", fault.replace(':', "-")));
    let file = std::fs::File::create(&log).expect("log");
    let err = file.try_clone().expect("clone");
    let child = env
        .command(&["scheduler"])
        .env("CAMBIUM_LOG", "info")
        .env("CAMBIUM_FAULT", fault)
        .stdout(file)
        .stderr(err)
        .spawn()
        .expect("start scheduler");
    common::Proc { child, log }
}

/// A fan-out whose tasks each append their try number to their own marker file.
fn write_fan_out(env: &Env, dag_id: &str, n: usize, cmd_tail: &str) -> std::path::PathBuf {
    let marks = env.dir.path().join(format!("marks-{dag_id}"));
    std::fs::create_dir_all(&marks).expect("marks");
    let mut text = format!(
        "let d = dag(\"{dag_id}\", #{{ max_active_tasks: 256 }});\nlet start = d.command(\"start\", #{{ cmd: \"echo $CAMBIUM_TRY_NUMBER >> {m}/start\" }});\n",
        m = marks.display()
    );
    for i in 0..n {
        text.push_str(&format!(
            "let t{i} = d.command(\"t{i}\", #{{ cmd: \"echo $CAMBIUM_TRY_NUMBER >> {m}/t{i}{cmd_tail}\" }});\nstart >> t{i};\n",
            m = marks.display()
        ));
    }
    env.write_dag(&format!("{dag_id}.rhai"), &text);
    marks
}

/// Every task of the fan-out ran exactly once.
fn assert_each_ran_once(marks: &std::path::Path, n: usize, context: &str) {
    let mut names = vec!["start".to_string()];
    names.extend((0..n).map(|i| format!("t{i}")));
    for name in names {
        let runs = std::fs::read_to_string(marks.join(&name))
            .map(|t| t.lines().count())
            .unwrap_or(0);
        assert_eq!(runs, 1, "task {name} ran {runs} times ({context})");
    }
}

#[test]
fn a_scheduler_killed_between_claim_and_start_loses_and_repeats_nothing() {
    // Crash points (see the executor's `fault` module): after a claim is committed and
    // before the try is handed over; after its spec is written and before its supervisor
    // starts; after the supervisor starts and before the scheduler records it. The first
    // claim batch holds `start`, the second the eight others.
    for fault in [
        "after-claim:1",
        "after-claim:4",
        "after-spec:1",
        "after-spec:3",
        "after-spawn:1",
        "after-spawn:5",
    ] {
        let env = Env::new();
        let marks = write_fan_out(&env, "fan", 8, "; sleep 0.2");
        env.json(&["dags", "list"], 0);
        let run_id = env.trigger(&["fan"]);
        let mut crashing = crashing_scheduler(&env, fault);
        let died = wait_for(Duration::from_secs(20), || {
            crashing.child.try_wait().ok().flatten()
        });
        assert!(
            died.is_some(),
            "{fault}: the scheduler did not reach its crash point\n{}",
            crashing.log_text()
        );
        assert!(crashing.log_text().contains("crashing at"), "{fault}");
        let second = env.scheduler();
        let done = wait_for(Duration::from_secs(30), || {
            let r = env.json(&["runs", "show", &run_id], 0);
            (r["state"] == "success").then_some(r)
        });
        assert!(
            done.is_some(),
            "{fault}: the run did not finish after the restart\n{}",
            second.log_text()
        );
        assert_each_ran_once(&marks, 8, fault);
        drop(second);
        crashing.kill9();
    }
}
