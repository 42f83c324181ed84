//! The continuous-training example end to end, through the real binary and real processes,
//! in the README's order: the scheduler's first run finds no data and deploys nothing;
//! batch 1 arrives and a run deploys version 1; batch 2 arrives and a run trains on it alone
//! (the watermark) and deploys version 2; a run with nothing new skips; drifted and broken
//! data are stopped by the validator with production left where it was; lineage answers
//! where the served model came from; `models predict` serves the README's line; rollback
//! lands on version 1. Also with an inferred schema, and one frozen from a run
//! (`cambium schema freeze`). On SQLite, and on Postgres when a server is configured.

mod common;
use common::{task, wait_for, Env};
use serde_json::Value;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

const DAG: &str = "wine_quality_ct";

/// The README's predict line (its row, fed to `models predict`).
const README_ROW: &str = r#"{"fixed_acidity": 7.4, "volatile_acidity": 0.7, "citric_acid": 0, "residual_sugar": 1.9, "chlorides": 0.076, "free_sulfur_dioxide": 11, "total_sulfur_dioxide": 34, "density": 0.9978, "ph": 3.51, "sulphates": 0.56, "alcohol": 9.4, "wine_id": 1}"#;

fn test_run(env: &Env, args: &[&str], code: i32) -> Value {
    let mut all = vec!["dags", "test", DAG];
    all.extend_from_slice(args);
    env.json(&all, code)
}

/// `cambium examples wine-warehouse --through N`: batches 1 to N have arrived.
fn land(env: &Env, through: u32) {
    let n = through.to_string();
    let out = env.json(&["examples", "wine-warehouse", "--through", &n], 0);
    assert!(out["inserted"].is_array(), "{out}");
}

const PIPELINE: [&str; 11] = [
    "query",
    "export",
    "split",
    "statistics",
    "schema",
    "validate",
    "transform",
    "tune",
    "train",
    "evaluate",
    "deploy",
];

/// The CT section of the README, in its order; `extra` is added to every `dags test`.
fn tour(env: &Env, extra: &[&str]) {
    land(env, 1);
    let first = test_run(env, extra, 0);
    assert_eq!(first["state"], "success", "{first}");
    for t in PIPELINE {
        assert_eq!(task(&first, t)["state"], "success", "{t}: {first}");
    }
    assert_eq!(task(&first, "query")["output"]["rows"], 1000, "{first}");
    assert_eq!(task(&first, "query")["output"]["watermark"], 1, "{first}");
    assert_eq!(task(&first, "deploy")["output"]["version"], 1, "{first}");
    let best = &task(&first, "tune")["output"]["best"];
    assert!(best["alpha"].is_number(), "tune's best: {best}");
    assert!(task(&first, "evaluate")["output"]["blessed"] == true);
    assert_eq!(env.production("wine_quality"), Some(1));

    // New wines arrive: the next run trains on them only (batch 2, 599 rows).
    land(env, 2);
    let second = test_run(env, extra, 0);
    assert_eq!(task(&second, "query")["output"]["rows"], 599, "{second}");
    assert_eq!(task(&second, "query")["output"]["since"], 1, "{second}");
    assert_eq!(task(&second, "deploy")["output"]["version"], 2, "{second}");
    assert_eq!(env.production("wine_quality"), Some(2));

    // Nothing new: the query is skipped and so is everything after it.
    let idle = test_run(env, extra, 0);
    assert_eq!(idle["state"], "success", "{idle}");
    for t in PIPELINE {
        assert_eq!(task(&idle, t)["state"], "skipped", "{t}: {idle}");
    }
    assert_eq!(env.production("wine_quality"), Some(2));

    // Drifted data arrives: the validator stops the run, production stays at 2.
    land(env, 3);
    let drifted = test_run(env, extra, 1);
    assert_eq!(drifted["state"], "failed");
    assert_eq!(task(&drifted, "query")["output"]["rows"], 600, "{drifted}");
    assert_eq!(task(&drifted, "validate")["state"], "failed");
    // Trials that never ran make tune upstream_failed, like everything after the validator.
    for t in ["transform", "tune", "tune.trial_000", "train", "deploy"] {
        assert_eq!(
            task(&drifted, t)["state"],
            "upstream_failed",
            "{t}: {drifted}"
        );
    }
    assert_eq!(
        env.production("wine_quality"),
        Some(2),
        "production must stay put"
    );
    let run_id = drifted["run_id"].as_str().expect("run id");
    let log = env.run(&["tasks", "logs", DAG, run_id, "validate"]);
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("[drift] alcohol"), "{log}");
    drifted_log_check(&log, extra);

    // Broken data too: the run takes batches 3 and 4 (nothing succeeded since batch 2).
    land(env, 4);
    let broken = test_run(env, extra, 1);
    assert_eq!(task(&broken, "query")["output"]["rows"], 900, "{broken}");
    if extra.is_empty() {
        // The curated schema requires alcohol in every row. (A schema inferred from this
        // very data cannot know that; the transform then refuses the missing values.)
        assert_eq!(task(&broken, "validate")["state"], "failed", "{broken}");
    }
    assert_eq!(
        task(&broken, "deploy")["state"],
        "upstream_failed",
        "{broken}"
    );
    assert_eq!(env.production("wine_quality"), Some(2));

    // Where did the model we serve come from?
    let lineage = env.json(&["lineage", "wine_quality"], 0);
    assert_eq!(lineage["model"]["version"], 2, "{lineage}");
    assert_eq!(lineage["run"]["run_id"], second["run_id"], "{lineage}");
    let kinds: Vec<&str> = lineage["trained_on"]
        .as_array()
        .expect("trained_on")
        .iter()
        .filter_map(|a| a["kind"].as_str().or(a["artifact"]["kind"].as_str()))
        .collect();
    assert!(
        kinds.contains(&"Dataset") && kinds.contains(&"Examples"),
        "{lineage}"
    );
    assert!(
        lineage["hyperparameters"].get("alpha").is_some(),
        "{lineage}"
    );
    assert!(
        !lineage["validation"]
            .as_array()
            .expect("validation")
            .is_empty(),
        "{lineage}"
    );
    // `models show` names the push that lineage shows.
    let show = env.json(&["models", "show", "wine_quality"], 0);
    let pushed = lineage["pushes"]
        .as_array()
        .and_then(|p| p.iter().find_map(|p| p["pushed_artifact_id"].as_i64()))
        .expect("a push in the lineage");
    assert_eq!(show["versions"][0]["version"], 2, "{show}");
    assert_eq!(show["versions"][0]["pushed_artifact_id"], pushed, "{show}");
    assert!(show["versions"][1]["pushed_artifact_id"].is_i64(), "{show}");
}

/// The curated schema has ranges (out_of_range for the drifted alcohol); an inferred one
/// has none, so only drift speaks.
fn drifted_log_check(log: &str, extra: &[&str]) {
    if extra.is_empty() {
        assert!(log.contains("[out_of_range] alcohol"), "{log}");
    } else {
        assert!(!log.contains("out_of_range"), "{log}");
    }
}

fn predict(env: &Env, rows: &str) -> (i32, String, String) {
    let mut child = env
        .command(&["models", "predict", "wine_quality"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn predict");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(rows.as_bytes())
        .expect("write rows");
    let out = child.wait_with_output().expect("predict");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_readme_tour_in_order_with_the_scheduler_running() {
    let env = Env::new().with_repo_dags();
    // `cambium scheduler &` (the short tour): the example's scheduled run comes first and,
    // with no wines in the warehouse yet, finds nothing new: no model.
    let mut scheduler = env.scheduler();
    let scheduled = wait_for(Duration::from_secs(120), || {
        let runs = env.json(&["runs", "list", DAG], 0);
        runs.as_array()?
            .iter()
            .find(|r| r["run_type"] == "scheduled" && r["state"] == "success")
            .cloned()
    })
    .unwrap_or_else(|| panic!("no scheduled run finished:\n{}", scheduler.log_text()));
    for t in PIPELINE {
        assert_eq!(task(&scheduled, t)["state"], "skipped", "{t}: {scheduled}");
    }
    let models = env.json(&["models", "list"], 0);
    assert_eq!(models, serde_json::json!([]), "{models}");

    // The continuous-training section, with the scheduler still running.
    tour(&env, &[]);

    // The README's predict line, then the rollback it promises.
    let (code, out, err) = predict(&env, &format!("{README_ROW}\n{README_ROW}\n"));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].get("prediction").is_some(), "{out}");
    assert!(lines[0].get("probabilities").is_some(), "{out}");
    predict_bad_input(&env);
    let rollback = env.json(&["models", "rollback", "wine_quality"], 0);
    assert_eq!(rollback["to"], 1, "{rollback}");
    assert_eq!(env.production("wine_quality"), Some(1));
    scheduler.stop();
}

#[test]
fn the_tour_with_an_inferred_schema_and_a_frozen_one() {
    let env = Env::new().with_repo_dags();
    // No schema_file: schema_gen infers from every split of the span; the eval split of the
    // same data passes.
    tour(&env, &["--conf", r#"{"schema_file": ""}"#]);

    // Freeze the first run's inferred schema into a file and use it as schema_file.
    let runs = env.json(&["runs", "list", DAG], 0);
    let first = runs
        .as_array()
        .expect("runs")
        .iter()
        .filter(|r| r["state"] == "success")
        .map(|r| r["run_id"].as_str().expect("run id").to_string())
        .next_back()
        .expect("a successful run");
    let out = env.run(&["schema", "freeze", DAG, &first, "schema"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frozen: Value = serde_json::from_slice(&out.stdout).expect("the schema as JSON");
    let alcohol = frozen["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["name"] == "alcohol")
        .expect("alcohol");
    assert_eq!(alcohol["type"], "float", "{frozen}");
    assert_eq!(alcohol["min_presence"], 1.0, "{frozen}");
    assert!(
        alcohol.get("range").is_none(),
        "no ranges unless asked: {frozen}"
    );

    // A fresh home whose DAGs folder holds the example and the frozen schema: the data it
    // was inferred from and the new batch both pass it.
    let fresh = Env::new();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dags");
    let dag = std::fs::read_to_string(repo.join("wine_quality_ct.rhai")).expect("dag");
    fresh.write_dag("wine_quality_ct.rhai", &dag);
    fresh.write_dag("frozen.schema.json", &String::from_utf8_lossy(&out.stdout));
    let conf = ["--conf", r#"{"schema_file": "frozen.schema.json"}"#];
    for (through, version) in [(1, 1), (2, 2)] {
        land(&fresh, through);
        let run = test_run(&fresh, &conf, 0);
        assert_eq!(task(&run, "validate")["state"], "success", "{run}");
        assert_eq!(task(&run, "deploy")["output"]["version"], version, "{run}");
    }
}

#[test]
fn schema_freeze_errors_are_bad_input() {
    let env = Env::new().with_repo_dags();
    land(&env, 1);
    let run = test_run(&env, &[], 0);
    let run_id = run["run_id"].as_str().expect("run id");
    // The shipped example loads a curated file: that is a Schema output too.
    let out = env.run(&["schema", "freeze", DAG, run_id, "schema"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (args, needle) in [
        (
            vec![DAG, "no_such_run", "schema"],
            "has no run 'no_such_run'",
        ),
        (vec![DAG, run_id, "train"], "has no Schema output"),
        (vec![DAG, run_id, "nope"], "has no task 'nope'"),
    ] {
        let mut all = vec!["schema", "freeze"];
        all.extend(args);
        let out = env.run(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {err}");
        assert!(err.contains(needle), "{all:?}: {err}");
        assert!(out.stdout.is_empty(), "{all:?}");
    }
}

#[test]
fn the_tour_on_postgres() {
    let Some(env) = Env::postgres() else { return };
    tour(&env.with_repo_dags(), &[]);
}

/// Bad rows are bad input (exit 2) whatever is wrong with them, and the hint's example
/// line is one the model accepts.
fn predict_bad_input(env: &Env) {
    let (code, _, bad_json) = predict(env, "{not json\n");
    assert_eq!(code, 2, "{bad_json}");
    let (code, _, missing) = predict(env, "{\"alcohol\": 9.4}\n");
    assert_eq!(code, 2, "{missing}");
    let (code, _, wrong) = predict(env, "{\"alcohol\": \"strong\"}\n");
    assert_eq!(code, 2, "{wrong}");
    assert!(wrong.contains("alcohol"), "{wrong}");
    for err in [&bad_json, &missing] {
        assert!(err.contains("fixed_acidity (float)"), "{err}");
        let example = err
            .split("e.g. ")
            .nth(1)
            .and_then(|rest| rest.lines().next())
            .unwrap_or_else(|| panic!("no example in: {err}"));
        let (code, out, err) = predict(env, &format!("{example}\n"));
        assert_eq!(code, 0, "the hint's example {example} fails: {err}");
        assert!(out.contains("prediction"), "{out}");
    }
}
