//! The shared-database mode on a real Postgres: the same flows as on SQLite, and several
//! schedulers sharing one database without ever starting a try twice.

mod common;
use common::{task, wait_for, Env};
use std::collections::HashSet;
use std::time::Duration;

#[test]
fn dags_test_and_a_scheduler_on_postgres() {
    let Some(env) = Env::postgres() else { return };
    env.write_dag(
        "pg.rhai",
        "let d = dag(\"pg\", #{ default_args: #{ retries: 1, retry_delay: \"50ms\" } });\nlet a = d.command(\"a\", #{ cmd: \"printf '{\\\"n\\\": 1}' > $CAMBIUM_OUTPUT\" });\nlet b = d.command(\"b\", #{ cmd: \"test {{ outputs.a.n }} = 1\" });\na >> b;\n",
    );
    let run = env.json(&["dags", "test", "pg"], 0);
    assert_eq!(run["state"], "success", "{run}");
    assert_eq!(task(&run, "a")["output"], serde_json::json!({"n": 1}));
    let _scheduler = env.scheduler();
    let run = env.json(&["dags", "trigger", "pg", "--wait"], 0);
    assert_eq!(run["state"], "success", "{run}");
    let errors = env.json(&["dags", "errors"], 0);
    assert_eq!(errors, serde_json::json!([]));
}

#[test]
fn two_schedulers_never_start_a_try_twice() {
    let Some(env) = Env::postgres() else { return };
    let log = env.dir.path().join("tries.txt");
    let mut text = String::from("let d = dag(\"wide\", #{ max_active_tasks: 64, max_active_runs: 8 });\nlet start = d.command(\"start\", #{ cmd: \"true\" });\n");
    for i in 0..20 {
        text.push_str(&format!(
            "let t{i} = d.command(\"t{i}\", #{{ cmd: \"echo $CAMBIUM_RUN_ID/t{i}/$CAMBIUM_TRY_NUMBER >> {l}\" }});\nstart >> t{i};\n",
            l = log.display()
        ));
    }
    env.write_dag("wide.rhai", &text);
    // Import once so both schedulers start from the same DAG.
    env.json(&["dags", "list"], 0);
    let s1 = env.scheduler();
    let s2 = env.scheduler();
    let run_ids: Vec<String> = (0..3).map(|_| env.trigger(&["wide"])).collect();
    for run_id in &run_ids {
        let done = wait_for(Duration::from_secs(60), || {
            let r = env.json(&["runs", "show", run_id], 0);
            (r["state"] == "success").then_some(())
        });
        assert!(
            done.is_some(),
            "run {run_id} did not finish\n{}\n{}",
            s1.log_text(),
            s2.log_text()
        );
    }
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .expect("tries log")
        .lines()
        .map(String::from)
        .collect();
    let unique: HashSet<&String> = lines.iter().collect();
    assert_eq!(lines.len(), 60, "every task ran once: {lines:?}");
    assert_eq!(unique.len(), 60);
    assert!(lines.iter().all(|l| l.ends_with("/1")));
}

#[test]
fn the_scheduler_rides_out_lost_database_connections() {
    let Some(env) = Env::postgres() else { return };
    let log = env.dir.path().join("ran.txt");
    env.write_dag(
        "steady.rhai",
        &format!(
            "let d = dag(\"steady\", #{{}});\nlet a = d.command(\"a\", #{{ cmd: \"sleep 1; echo a >> {l}\" }});\nlet b = d.command(\"b\", #{{ cmd: \"echo b >> {l}\" }});\na >> b;\n",
            l = log.display()
        ),
    );
    let scheduler = env.scheduler();
    let run_id = env.trigger(&["steady"]);
    wait_for(Duration::from_secs(10), || {
        let r = env.json(&["runs", "show", &run_id], 0);
        (task(&r, "a")["state"] == "running").then_some(())
    })
    .unwrap_or_else(|| panic!("a never ran\n{}", scheduler.log_text()));
    // Keep cutting the scheduler's connections while `a` ends, as a database restart would.
    let pg = env.pg().expect("postgres");
    for _ in 0..15 {
        pg.terminate_connections();
        std::thread::sleep(Duration::from_millis(100));
    }
    let done = wait_for(Duration::from_secs(30), || {
        let r = env.json(&["runs", "show", &run_id], 0);
        (r["state"] == "success").then_some(r)
    });
    assert!(
        done.is_some(),
        "run did not finish\n{}",
        scheduler.log_text()
    );
    // The cuts must have been felt: either the pool found dead connections on its
    // pre-use ping and reconnected, or a query failed and the engine retried its step.
    let log_text = scheduler.log_text();
    assert!(
        log_text.contains("retrying") || log_text.contains("terminating connection"),
        "the scheduler never saw its connections cut:\n{log_text}"
    );
    let text = std::fs::read_to_string(&log).expect("log");
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        ["a", "b"],
        "each task ran once"
    );
}

/// A scheduler with `parallelism` slots, optionally killing itself (SIGKILL) at a crash
/// point of the executor's `fault` module.
fn scheduler_with(env: &Env, name: &str, parallelism: u32, fault: Option<&str>) -> common::Proc {
    let log = env.dir.path().join(format!("scheduler-{name}.log"));
    let file = std::fs::File::create(&log).expect("log");
    let err = file.try_clone().expect("clone");
    let mut cmd = env.command(&["scheduler"]);
    cmd.env("CAMBIUM_LOG", "info")
        .env("CAMBIUM_SCHEDULER__PARALLELISM", parallelism.to_string())
        .stdout(file)
        .stderr(err);
    if let Some(fault) = fault {
        cmd.env("CAMBIUM_FAULT", fault);
    }
    common::Proc {
        child: cmd.spawn().expect("start scheduler"),
        log,
    }
}

#[test]
fn failover_runs_a_dead_schedulers_claimed_tries_exactly_once() {
    let Some(env) = Env::postgres() else { return };
    let marks = env.dir.path().join("marks");
    std::fs::create_dir_all(&marks).expect("marks");
    let n = 120;
    let mut text = String::from("let d = dag(\"fan\", #{ max_active_tasks: 256, max_active_runs: 4 });\nlet start = d.command(\"start\", #{ cmd: \"true\" });\n");
    for i in 0..n {
        text.push_str(&format!(
            "let t{i} = d.command(\"t{i}\", #{{ cmd: \"echo $CAMBIUM_TRY_NUMBER >> {m}/$CAMBIUM_RUN_ID-t{i}; sleep 0.5\" }});\nstart >> t{i};\n",
            m = marks.display()
        ));
    }
    env.write_dag("fan.rhai", &text);
    env.json(&["dags", "list"], 0);

    // Two ways to die with tries claimed and not started: a crash point right after a
    // claim (the 12th try it hands over), and a plain `kill -9` two seconds in.
    let survivor = scheduler_with(&env, "survivor", 8, None);
    let mut crashing = scheduler_with(&env, "crashing", 8, Some("after-claim:12"));
    let first = env.trigger(&["fan"]);
    let died = wait_for(Duration::from_secs(20), || {
        crashing.child.try_wait().ok().flatten()
    });
    assert!(died.is_some(), "no crash\n{}", crashing.log_text());
    let mut killed = scheduler_with(&env, "killed", 8, None);
    let second = env.trigger(&["fan"]);
    std::thread::sleep(Duration::from_secs(2));
    killed.kill9();

    for run_id in [&first, &second] {
        let done = wait_for(Duration::from_secs(40), || {
            let r = env.json(&["runs", "show", run_id], 0);
            (r["state"] == "success").then_some(())
        });
        assert!(
            done.is_some(),
            "run {run_id} did not finish: {}\n{}",
            env.json(&["runs", "show", run_id], 0),
            survivor.log_text()
        );
        for i in 0..n {
            let path = marks.join(format!("{run_id}-t{i}"));
            let runs = std::fs::read_to_string(&path)
                .map(|t| t.lines().count())
                .unwrap_or(0);
            assert_eq!(runs, 1, "t{i} of {run_id} ran {runs} times");
        }
    }
}
