//! Sensors through real runs: they poke, free their slot between pokes (state
//! `up_for_retry` with the next poke time), succeed once the condition holds, and fail after
//! their `timeout`.

mod common;
use common::{task, Env};
use std::time::{Duration, Instant};

#[test]
fn a_query_sensor_waits_for_its_condition_then_downstream_runs() {
    let env = Env::new();
    let flag = env.dir.path().join("flag.db");
    env.write_dag(
        "sense.rhai",
        r#"let d = dag("sense", #{});
let wait = d.wait_for_query("wait", #{ conn: "flags", sql: "SELECT count(*) FROM flags WHERE ready = 1", poke_interval: "300ms", timeout: "30s" });
let after = d.command("after", #{ cmd: "echo the data is there" });
wait >> after;
let obj = d.wait_for_object("obj", #{ store: "landing", key: "in/data.csv", poke_interval: "300ms", timeout: "30s" });
"#,
    );
    // The flag table exists but says "not ready"; a helper flips it after ~1.5 s.
    let url = format!("sqlite://{}", flag.display());
    let landing = env.dir.path().join("landing");
    std::fs::create_dir_all(landing.join("in")).expect("landing");
    let sql = |q: &str| {
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                &format!(
                    "import sqlite3; c=sqlite3.connect({:?}); c.executescript({q:?}); c.commit()",
                    flag.display().to_string()
                ),
            ])
            .output()
            .expect("python3 sqlite3");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sql("CREATE TABLE flags (ready INTEGER); INSERT INTO flags VALUES (0);");
    let flip = {
        let flag = flag.clone();
        let landing = landing.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            let _ = std::process::Command::new("python3")
                .args(["-c", &format!("import sqlite3; c=sqlite3.connect({:?}); c.execute('UPDATE flags SET ready = 1'); c.commit()", flag.display().to_string())])
                .status();
            let _ = std::fs::write(landing.join("in").join("data.csv"), "a\n1\n");
        })
    };
    let started = Instant::now();
    let out = env
        .command(&["--output", "json", "dags", "test", "sense"])
        .env("CAMBIUM_CONN_FLAGS", &url)
        .env(
            "CAMBIUM_STORE_LANDING",
            format!("file://{}", landing.display()),
        )
        .output()
        .expect("run");
    let _ = flip.join();
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(run["state"], "success", "{run}");
    assert_eq!(task(&run, "after")["state"], "success");
    assert!(
        task(&run, "wait")["try_number"].as_u64().unwrap_or(0) >= 2,
        "it poked more than once: {run}"
    );
    assert_eq!(
        task(&run, "obj")["output"]["objects"][0]["key"],
        "in/data.csv",
        "{run}"
    );
    assert!(started.elapsed() >= Duration::from_millis(1500));
}

#[test]
fn a_sensor_fails_after_its_timeout() {
    let env = Env::new();
    env.write_dag(
        "never.rhai",
        r#"let d = dag("never", #{});
d.wait_for_query("wait", #{ conn: "flags", sql: "SELECT 0", poke_interval: "200ms", timeout: "1s" });
"#,
    );
    let db = env.dir.path().join("empty.db");
    let made = std::process::Command::new("python3")
        .args([
            "-c",
            &format!(
                "import sqlite3; sqlite3.connect({:?}).execute('CREATE TABLE t (x)')",
                db.display().to_string()
            ),
        ])
        .status()
        .expect("python3");
    assert!(made.success());
    let out = env
        .command(&["--output", "json", "dags", "test", "never"])
        .env("CAMBIUM_CONN_FLAGS", format!("sqlite://{}", db.display()))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(task(&run, "wait")["state"], "failed", "{run}");
    let run_id = run["run_id"].as_str().expect("run id");
    let log = env.run(&["tasks", "logs", "never", run_id, "wait"]);
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("still not true after"), "{log}");
}
