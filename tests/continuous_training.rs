//! The continuous-training example end to end, through the real binary and real processes:
//! a first run deploys version 1, a run on new data deploys version 2, a run on drifted
//! data and one on broken data are stopped by the validator with production left where it
//! was; lineage answers where the served model came from; `models predict` serves it. On
//! SQLite, and on Postgres when a server is configured.

mod common;
use common::{task, Env};
use serde_json::Value;
use std::io::Write;
use std::process::Stdio;

const DAG: &str = "wine_quality_ct";

fn test_run(env: &Env, conf: &str, code: i32) -> Value {
    env.json(&["dags", "test", DAG, "--conf", conf], code)
}

fn tour(env: &Env) {
    let first = test_run(env, "{}", 0);
    assert_eq!(first["state"], "success", "{first}");
    for t in [
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
    ] {
        assert_eq!(task(&first, t)["state"], "success", "{t}: {first}");
    }
    assert_eq!(task(&first, "deploy")["output"]["version"], 1, "{first}");
    let best = &task(&first, "tune")["output"]["best"];
    assert!(best["alpha"].is_number(), "tune's best: {best}");
    assert!(task(&first, "evaluate")["output"]["blessed"] == true);
    assert_eq!(env.production("wine_quality"), Some(1));

    let second = test_run(env, r#"{"last_batch": 2}"#, 0);
    assert_eq!(task(&second, "query")["output"]["rows"], 1599, "{second}");
    assert_eq!(task(&second, "deploy")["output"]["version"], 2, "{second}");
    assert_eq!(env.production("wine_quality"), Some(2));

    let drifted = test_run(env, r#"{"first_batch": 3, "last_batch": 3}"#, 1);
    assert_eq!(drifted["state"], "failed");
    assert_eq!(task(&drifted, "validate")["state"], "failed");
    assert_eq!(task(&drifted, "deploy")["state"], "upstream_failed");
    assert_eq!(
        env.production("wine_quality"),
        Some(2),
        "production must stay put"
    );
    let run_id = drifted["run_id"].as_str().expect("run id");
    let log = env.run(&["tasks", "logs", DAG, run_id, "validate"]);
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("[drift] alcohol"), "{log}");
    assert!(log.contains("[out_of_range] alcohol"), "{log}");

    let broken = test_run(env, r#"{"first_batch": 4, "last_batch": 4}"#, 1);
    assert_eq!(task(&broken, "validate")["state"], "failed", "{broken}");
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
fn the_tour_on_sqlite_deploys_twice_and_stops_bad_data() {
    let env = Env::new().with_repo_dags();
    tour(&env);
    let row = r#"{"wine_id": 5, "fixed_acidity": 7.4, "volatile_acidity": 0.7, "citric_acid": 0.0, "residual_sugar": 1.9, "chlorides": 0.076, "free_sulfur_dioxide": 11.0, "total_sulfur_dioxide": 34.0, "density": 0.9978, "ph": 3.51, "sulphates": 0.56, "alcohol": 9.4}"#;
    let (code, out, err) = predict(&env, &format!("{row}\n{row}\n"));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].get("prediction").is_some(), "{out}");
    let (code, _, err) = predict(&env, "{\"alcohol\": \"strong\"}\n");
    assert_ne!(code, 0);
    assert!(
        err.contains("alcohol") || err.contains("fixed_acidity"),
        "{err}"
    );
}

#[test]
fn the_tour_on_postgres() {
    let Some(env) = Env::postgres() else { return };
    tour(&env.with_repo_dags());
}
