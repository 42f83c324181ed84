//! `cambium assets list | emit` and `cambium tasks mark` with the real binary on a fresh
//! home: an emitted event creates a run of the DAG waiting for the asset, a task's outlet
//! does the same under a running scheduler, bad input exits 2 saying what to fix.

mod common;
use common::{task, wait_for, Env};
use serde_json::{json, Value};
use std::time::Duration;

/// `etl.load` updates `warehouse.wine_daily`, which `retrain` and `paused_consumer` are
/// triggered by; `report` waits for another asset.
const DAGS: &str = r#"
let etl = dag("etl", #{});
let extract = etl.command("extract", #{ cmd: "true" });
let load = etl.command("load", #{ cmd: "true", outlets: ["warehouse.wine_daily"] });
extract >> load;

let retrain = dag("retrain", #{ triggers: [on_asset("warehouse.wine_daily")], params: #{ lr: 0.1 } });
retrain.command("train", #{ cmd: "echo lr={{ params.lr }} asset={{ conf.asset.name }}" });

let paused = dag("paused_consumer", #{ triggers: [on_asset("warehouse.wine_daily")] });
paused.command("p", #{ cmd: "true" });

let report = dag("report", #{ triggers: [on_asset("reports.daily")] });
report.command("r", #{ cmd: "true" });
"#;

fn env() -> Env {
    let env = Env::new();
    env.write_dag("assets.rhai", DAGS);
    let out = env.run(&["dags", "pause", "paused_consumer"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env
}

fn stderr_of(env: &Env, args: &[&str]) -> (Option<i32>, String) {
    let out = env.run(args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn emit_creates_a_run_for_each_dag_waiting_for_the_asset() {
    let env = env();
    let out = env.json(
        &[
            "assets",
            "emit",
            "warehouse.wine_daily",
            "--extra",
            r#"{"rows": 120}"#,
        ],
        0,
    );
    assert_eq!(common::sorted_keys(&out), ["event", "runs"]);
    let event = &out["event"];
    assert_eq!(
        common::sorted_keys(event),
        ["asset", "created", "extra", "id", "source"]
    );
    assert_eq!(event["asset"], "warehouse.wine_daily");
    assert_eq!(event["extra"], json!({"rows": 120}));
    assert_eq!(event["source"], Value::Null);
    let created = event["created"].as_str().expect("created");
    assert!(created.ends_with("+00:00"), "{created}");

    let runs = out["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "the paused DAG gets none: {out}");
    let run_id = runs[0].as_str().expect("run id");
    assert_eq!(run_id, format!("asset_triggered__{created}"));

    let run = env.json(&["runs", "show", run_id, "--dag", "retrain"], 0);
    assert_eq!(run["run_type"], "asset_triggered");
    assert_eq!(run["state"], "queued");
    assert_eq!(run["logical_date"], created);
    assert_eq!(
        run["conf"],
        json!({"asset": {"id": event["id"], "name": "warehouse.wine_daily",
                         "extra": {"rows": 120}, "source": null, "created": created}})
    );

    // Without --extra the event has an empty one; an asset nobody waits for creates no run.
    let out = env.json(&["assets", "emit", "nobody.listens"], 0);
    assert_eq!(out["event"]["extra"], json!({}));
    assert_eq!(out["runs"], json!([]));

    // The table says what happened.
    let out = env.run(&["assets", "emit", "warehouse.wine_daily"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("warehouse.wine_daily") && text.contains("retrain"),
        "{text}"
    );
}

#[test]
fn assets_list_has_the_view_shape() {
    let env = env();
    let empty = env.json(&["assets", "list"], 0);
    let names: Vec<&str> = empty
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["reports.daily", "warehouse.wine_daily"]);

    env.json(&["assets", "emit", "warehouse.wine_daily"], 0);
    env.json(&["assets", "emit", "posted.only"], 0);
    let list = env.json(&["assets", "list"], 0);
    let items = list.as_array().expect("array");
    let names: Vec<&str> = items
        .iter()
        .map(|a| a["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["posted.only", "reports.daily", "warehouse.wine_daily"]
    );
    let wine = &items[2];
    assert_eq!(
        common::sorted_keys(wine),
        ["consumers", "events", "last_event", "name", "producers"]
    );
    assert_eq!(
        wine["producers"],
        json!([{"dag_id": "etl", "task_id": "load"}])
    );
    assert_eq!(wine["consumers"], json!(["paused_consumer", "retrain"]));
    assert_eq!(wine["events"], 1);
    assert!(wine["last_event"].as_str().is_some(), "{wine}");
    let report = &items[1];
    assert_eq!(
        (
            &report["producers"],
            &report["consumers"],
            &report["events"],
            &report["last_event"]
        ),
        (&json!([]), &json!(["report"]), &json!(0), &Value::Null)
    );
    assert_eq!(items[0]["events"], 1);

    let out = env.run(&["assets", "list"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("NAME") && text.contains("etl.load"),
        "{text}"
    );
}

#[test]
fn bad_extra_and_names_exit_2_saying_what_to_fix() {
    let env = env();
    for bad in ["[1, 2]", "3", "{not json"] {
        let (code, err) = stderr_of(&env, &["assets", "emit", "w", "--extra", bad]);
        assert_eq!(code, Some(2), "{bad}: {err}");
        assert!(
            err.contains("--extra") && err.contains("JSON object"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    let (code, err) = stderr_of(&env, &["assets", "emit", ""]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("asset name"), "{err}");
    // Nothing was recorded.
    let list = env.json(&["assets", "list"], 0);
    assert!(list
        .as_array()
        .expect("array")
        .iter()
        .all(|a| a["events"] == 0));
}

#[test]
fn tasks_mark_sets_a_state_and_an_ended_run_follows() {
    let env = env();
    let run = env.json(&["dags", "test", "etl"], 0);
    assert_eq!(run["state"], "success");
    let run_id = run["run_id"].as_str().expect("run id").to_string();

    let marked = env.json(
        &["tasks", "mark", "etl", &run_id, "load", "--state", "failed"],
        0,
    );
    assert_eq!(task(&marked, "load")["state"], "failed");
    assert_eq!(task(&marked, "extract")["state"], "success");
    assert_eq!(marked["state"], "failed", "an ended run is recomputed");
    let shown = env.json(&["runs", "show", &run_id, "--dag", "etl"], 0);
    assert_eq!(shown["state"], "failed");

    let out = env.run(&[
        "tasks", "mark", "etl", &run_id, "load", "--state", "success",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("success") && text.contains("was failed"),
        "{text}"
    );
    let shown = env.json(&["runs", "show", &run_id, "--dag", "etl"], 0);
    assert_eq!(shown["state"], "success");

    // A run not started yet: the task is marked, the run is left to a scheduler.
    let queued = env.trigger(&["etl"]);
    let marked = env.json(
        &[
            "tasks", "mark", "etl", &queued, "extract", "--state", "success",
        ],
        0,
    );
    assert_eq!(task(&marked, "extract")["state"], "success");
    assert!(task(&marked, "extract")["end"].as_str().is_some());
    assert_eq!(task(&marked, "load")["state"], "none");
    assert_eq!(marked["state"], "queued");

    // Bad input: exit 2 with what to fix.
    let (code, err) = stderr_of(
        &env,
        &[
            "tasks", "mark", "etl", &run_id, "load", "--state", "running",
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("success") && err.contains("failed"), "{err}");
    let (code, err) = stderr_of(
        &env,
        &[
            "tasks", "mark", "etl", &run_id, "nope", "--state", "success",
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no task 'nope'"), "{err}");
    let (code, err) = stderr_of(
        &env,
        &[
            "tasks",
            "mark",
            "etl",
            "no_such_run",
            "load",
            "--state",
            "success",
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no run 'no_such_run'"), "{err}");
}

#[test]
fn a_task_outlet_triggers_the_waiting_dag_under_a_running_scheduler() {
    let env = env();
    let mut scheduler = env.scheduler();
    let etl = env.json(&["dags", "trigger", "etl", "--wait"], 0);
    assert_eq!(etl["state"], "success", "{etl}\n{}", scheduler.log_text());
    let etl_run = etl["run_id"].as_str().expect("run id").to_string();

    let done = wait_for(Duration::from_secs(20), || {
        let runs = env.json(&["runs", "list", "retrain"], 0);
        runs.as_array()
            .and_then(|r| r.first().cloned())
            .filter(|r| r["state"] == "success")
    });
    let run = done.unwrap_or_else(|| {
        panic!(
            "no successful asset-triggered run of retrain\n{}",
            scheduler.log_text()
        )
    });
    let run_id = run["run_id"].as_str().expect("run id");
    let shown = env.json(&["runs", "show", run_id, "--dag", "retrain"], 0);
    assert_eq!(shown["run_type"], "asset_triggered");
    assert_eq!(
        shown["conf"]["asset"]["source"],
        json!({"dag_id": "etl", "run_id": etl_run, "task_id": "load"})
    );
    assert_eq!(task(&shown, "train")["state"], "success");
    let log = env.run(&["tasks", "logs", "retrain", run_id, "train"]);
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("lr=0.1 asset=warehouse.wine_daily"), "{log}");

    let list = env.json(&["assets", "list"], 0);
    let wine = list
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "warehouse.wine_daily"))
        .cloned()
        .expect("asset");
    assert_eq!(wine["events"], 1);
    assert!(
        env.json(&["runs", "list", "paused_consumer"], 0)
            .as_array()
            .expect("array")
            .is_empty(),
        "a paused DAG is not triggered"
    );
    scheduler.stop();
}
