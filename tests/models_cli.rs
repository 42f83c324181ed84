//! `cambium models ...` and `cambium lineage` against a home whose store is seeded directly
//! with two runs of a query -> example_gen -> example_validator / train -> deploy chain and
//! two registered versions.

mod common;
use cambium_store::{ArtifactRecord, NewArtifact, NewExecution, NewModelVersion, Store};
use chrono::{DateTime, Utc};
use common::Env;
use serde_json::{json, Map, Value};

const DAG: &str = "wine_quality";

/// The artifact ids of one seeded run.
#[derive(Debug, Clone, Copy)]
struct Run {
    dataset: i64,
    train: i64,
    anomalies: i64,
    model: i64,
    pushed: i64,
}

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + secs, 0).expect("time")
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

#[allow(clippy::too_many_arguments)]
async fn produce(
    store: &Store,
    run: &str,
    at: i64,
    task: &str,
    operator: &str,
    options: Value,
    inputs: &[(&str, i64)],
    outputs: &[(&str, &str, Value)],
) -> Vec<ArtifactRecord> {
    let e = NewExecution {
        dag_id: DAG.into(),
        run_id: run.into(),
        task_id: task.into(),
        try_number: 1,
        operator: operator.into(),
        operator_version: "0.1.0".into(),
        options,
        cache_key: format!("{run}-{task}"),
        cached_from: None,
        started: t(at),
        ended: t(at + 1),
    };
    let inputs: Vec<(String, i64)> = inputs.iter().map(|(r, id)| (r.to_string(), *id)).collect();
    let outputs: Vec<NewArtifact> = outputs
        .iter()
        .map(|(kind, name, properties)| NewArtifact {
            kind: kind.to_string(),
            name: name.to_string(),
            uri: format!("file:///artifacts/{run}/{task}/{name}"),
            fingerprint: format!("sha256:{run}-{task}-{name}"),
            properties: properties.clone(),
        })
        .collect();
    store
        .record_execution(&e, &inputs, &outputs)
        .await
        .expect("record execution")
        .1
}

/// One run of the chain, registered as the next version with `production` moved to it.
async fn seed_run(store: &Store, run: &str, n: i64, c: f64, anomalies: Value) -> Run {
    let at = n * 100;
    let ds = produce(
        store,
        run,
        at,
        "query",
        "query",
        json!({"rendered": {"conn": "warehouse", "sql": "SELECT * FROM wine"}, "result": {"rows": 100}}),
        &[],
        &[("Dataset", "rows", json!({"rows": 100}))],
    )
    .await;
    let ex = produce(
        store,
        run,
        at + 10,
        "split",
        "example_gen",
        json!({"rendered": {"input": "query", "splits": {"train": 8, "eval": 2}}, "result": {}}),
        &[("input", ds[0].id)],
        &[
            ("Examples", "train", json!({"rows": 80})),
            ("Examples", "eval", json!({"rows": 20})),
        ],
    )
    .await;
    let count = anomalies.as_array().map_or(0, Vec::len);
    let an = produce(
        store,
        run,
        at + 20,
        "validate",
        "example_validator",
        json!({"rendered": {"on_anomaly": "warn"}, "result": {"count": count}}),
        &[("examples", ex[0].id)],
        &[(
            "Anomalies",
            "anomalies",
            json!({"count": count, "anomalies": anomalies}),
        )],
    )
    .await;
    let model = produce(
        store,
        run,
        at + 30,
        "train",
        "train",
        json!({"rendered": {"algorithm": "logistic_regression", "hyperparameters": {"c": c}, "label": "quality"},
               "result": {"accuracy": 0.9}}),
        &[("examples", ex[0].id)],
        &[(
            "Model",
            "model",
            json!({"algorithm": "logistic_regression", "hyperparameters": {"c": c},
                   "label": "quality", "features": ["ph", "alcohol"]}),
        )],
    )
    .await;
    let pushed = produce(
        store,
        run,
        at + 40,
        "deploy",
        "deploy",
        json!({"rendered": {"target": "registry"}, "result": {"version": n}}),
        &[("model", model[0].id)],
        &[(
            "PushedModel",
            "pushed",
            json!({"name": DAG, "version": n, "target": "registry"}),
        )],
    )
    .await;
    let new = NewModelVersion {
        name: DAG.into(),
        model_artifact_id: model[0].id,
        pushed_artifact_id: Some(pushed[0].id),
        artifact_uri: model[0].uri.clone(),
        transform_uri: None,
        metrics: obj(json!({"accuracy": if n == 1 { 0.85 } else { 0.9 }})),
        params: obj(json!({"c": c})),
        dag_id: DAG.into(),
        run_id: run.into(),
        task_id: "deploy".into(),
    };
    let v = store
        .register_model_version(&new, &["production"], &format!("deploy run {run}"))
        .await
        .expect("register");
    assert_eq!(v.version, n);
    Run {
        dataset: ds[0].id,
        train: ex[0].id,
        anomalies: an[0].id,
        model: model[0].id,
        pushed: pushed[0].id,
    }
}

/// A fresh home with the DAG file and two deployed versions (production: 2).
fn seeded() -> (Env, Run, Run) {
    let env = Env::new();
    env.write_dag(
        "wine_quality.rhai",
        "let d = dag(\"wine_quality\", #{});\nd.command(\"a\", #{ cmd: \"echo a\" });\n",
    );
    // Imports the DAG (so lineage knows its file) and creates and migrates the store.
    let dags = env.json(&["dags", "list"], 0);
    assert_eq!(dags[0]["dag_id"], DAG, "{dags}");
    let url = format!("sqlite://{}", env.home.join("cambium.db").display());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (r1, r2) = runtime.block_on(async {
        let store = Store::connect(&url).await.expect("connect");
        store.migrate().await.expect("migrate");
        let r1 = seed_run(
            &store,
            "r1",
            1,
            1.0,
            json!([{"feature": "ph", "kind": "out_of_range", "observed": 15.2,
                    "expected": "[0, 14]", "description": "ph above its range"}]),
        )
        .await;
        let r2 = seed_run(&store, "r2", 2, 2.0, json!([])).await;
        store.close().await;
        (r1, r2)
    });
    (env, r1, r2)
}

/// Runs `cambium ARGS`, asserting exit 2 with a one-line message containing `hint`.
fn fails_with(env: &Env, args: &[&str], hint: &str) {
    let out = env.run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "cambium {args:?}: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(hint), "cambium {args:?}: {stderr}");
}

fn is_rfc3339_with_offset(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        DateTime::parse_from_rfc3339(s).is_ok() && (s.ends_with("+00:00") || s.contains('+'))
    })
}

#[test]
fn models_list_and_show_have_the_contract_shapes() {
    let (env, _, r2) = seeded();
    let list = env.json(&["models", "list"], 0);
    let items = list.as_array().expect("array");
    assert_eq!(items.len(), 1, "{list}");
    let m = &items[0];
    for key in ["name", "latest_version", "versions", "aliases", "updated"] {
        assert!(m.get(key).is_some(), "{key} missing in {m}");
    }
    assert_eq!(m["name"], DAG);
    assert_eq!(m["latest_version"], 2);
    assert_eq!(m["versions"], 2);
    assert_eq!(m["aliases"], json!({"production": 2}));
    assert!(is_rfc3339_with_offset(&m["updated"]), "{m}");

    let show = env.json(&["models", "show", DAG], 0);
    assert_eq!(show["name"], DAG);
    let versions = show["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 2);
    let v2 = &versions[0];
    for key in [
        "version",
        "aliases",
        "metrics",
        "params",
        "run_id",
        "created",
        "artifact_uri",
    ] {
        assert!(v2.get(key).is_some(), "{key} missing in {v2}");
    }
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["aliases"], json!(["production"]));
    assert_eq!(v2["metrics"]["accuracy"], json!(0.9));
    assert_eq!(v2["params"], json!({"c": 2.0}));
    assert_eq!(v2["run_id"], "r2");
    assert_eq!(v2["artifact_uri"], "file:///artifacts/r2/train/model");
    assert_eq!(v2["model_artifact_id"], r2.model);
    assert!(is_rfc3339_with_offset(&v2["created"]), "{v2}");
    assert_eq!(versions[1]["version"], 1);
    assert_eq!(versions[1]["aliases"], json!([]));

    // The tables print too.
    let out = env.run(&["models", "list"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PRODUCTION") && text.contains(DAG), "{text}");
    let out = env.run(&["models", "show", DAG]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("production: 2") && text.contains("accuracy="),
        "{text}"
    );

    fails_with(&env, &["models", "show", "nope"], "cambium models list");
}

#[test]
fn promote_and_rollback_move_production() {
    let (env, _, _) = seeded();
    let change = env.json(&["models", "promote", DAG, "1"], 0);
    assert_eq!(change["name"], DAG);
    assert_eq!(change["alias"], "production");
    assert_eq!(change["from"], 2);
    assert_eq!(change["to"], 1);
    assert_eq!(change["reason"], "promote");
    assert!(is_rfc3339_with_offset(&change["at"]), "{change}");
    let list = env.json(&["models", "list"], 0);
    assert_eq!(list[0]["aliases"]["production"], 1);

    // Undo the promotion, then the deploy of version 2; version 1 was the first.
    let back = env.json(&["models", "rollback", DAG], 0);
    assert_eq!(
        (back["from"].clone(), back["to"].clone()),
        (json!(1), json!(2))
    );
    let out = env.run(&["models", "rollback", DAG]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("from version 2 to version 1"), "{text}");
    let show = env.json(&["models", "show", DAG], 0);
    assert_eq!(show["versions"][1]["aliases"], json!(["production"]));
    fails_with(&env, &["models", "rollback", DAG], "no earlier version");

    let out = env.run(&["models", "promote", DAG, "2"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("from version 1 to version 2"));

    fails_with(
        &env,
        &["models", "promote", DAG, "9"],
        "cambium models show wine_quality",
    );
    fails_with(
        &env,
        &["models", "promote", "nope", "1"],
        "cambium models list",
    );
    fails_with(&env, &["models", "rollback", "nope"], "cambium models list");
}

#[test]
fn lineage_of_a_model_answers_the_six_questions() {
    let (env, r1, r2) = seeded();
    let l = env.json(&["lineage", DAG], 0);
    assert_eq!(l["target"], DAG);
    // The production version, and its Model artifact.
    assert_eq!(l["model"]["name"], DAG);
    assert_eq!(l["model"]["version"], 2);
    assert_eq!(l["model"]["aliases"], json!(["production"]));
    assert_eq!(l["artifact"]["id"], r2.model);
    assert_eq!(l["artifact"]["kind"], "Model");
    // Which run and which code.
    let e = &l["produced_by"];
    assert_eq!(
        (&e["dag_id"], &e["run_id"], &e["task_id"], &e["try_number"]),
        (&json!(DAG), &json!("r2"), &json!("train"), &json!(1))
    );
    assert_eq!(e["operator"], "train");
    assert_eq!(e["operator_version"], "0.1.0");
    assert!(is_rfc3339_with_offset(&e["started"]) && is_rfc3339_with_offset(&e["ended"]));
    assert_eq!(l["run"], json!({"dag_id": DAG, "run_id": "r2"}));
    assert_eq!(l["code"]["operator"], "train");
    assert_eq!(l["code"]["operator_version"], "0.1.0");
    assert_eq!(l["code"]["dag_file"], "wine_quality.rhai");
    // Which data.
    let trained_on = l["trained_on"].as_array().expect("trained_on");
    let data: Vec<(&Value, &Value, &Value)> = trained_on
        .iter()
        .map(|a| (&a["id"], &a["kind"], &a["task_id"]))
        .collect();
    assert_eq!(
        data,
        vec![
            (&json!(r2.train), &json!("Examples"), &json!("split")),
            (&json!(r2.dataset), &json!("Dataset"), &json!("query")),
        ]
    );
    assert_eq!(trained_on[0]["uri"], "file:///artifacts/r2/split/train");
    assert_eq!(trained_on[0]["fingerprint"], "sha256:r2-split-train");
    // Which hyperparameters.
    assert_eq!(l["hyperparameters"], json!({"c": 2.0}));
    // When pushed and by which run.
    let pushes = l["pushes"].as_array().expect("pushes");
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    assert_eq!(pushes[0]["version"], 2);
    assert_eq!(pushes[0]["run_id"], "r2");
    assert_eq!(pushes[0]["alias"], "production");
    assert_eq!(pushes[0]["target"], "registry");
    assert_eq!(pushes[0]["pushed_artifact_id"], r2.pushed);
    assert!(is_rfc3339_with_offset(&pushes[0]["at"]));
    // What validation found.
    let validation = l["validation"].as_array().expect("validation");
    assert_eq!(validation.len(), 1);
    assert_eq!(validation[0]["artifact_id"], r2.anomalies);
    assert_eq!(validation[0]["count"], 0);
    assert_eq!(validation[0]["operator"], "example_validator");
    // The whole walk, with edges and depths.
    let upstream: Vec<(&Value, &Value, &Value)> = l["upstream"]
        .as_array()
        .expect("upstream")
        .iter()
        .map(|a| (&a["id"], &a["role"], &a["depth"]))
        .collect();
    assert_eq!(
        upstream,
        vec![
            (&json!(r2.train), &json!("examples"), &json!(1)),
            (&json!(r2.dataset), &json!("input"), &json!(2)),
        ]
    );
    assert_eq!(l["truncated"], false);

    // The text form answers the same.
    let out = env.run(&["lineage", DAG]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "version 2",
        "trained on",
        "c=2",
        "r2",
        "pushes",
        "validation",
    ] {
        assert!(text.contains(needle), "{needle} missing in\n{text}");
    }

    // NAME:VERSION and NAME@VERSION pick the older version and its run's validation.
    for target in ["wine_quality:1", "wine_quality@1"] {
        let l1 = env.json(&["lineage", target], 0);
        assert_eq!(l1["model"]["version"], 1, "{target}");
        assert_eq!(l1["artifact"]["id"], r1.model);
        assert_eq!(l1["run"]["run_id"], "r1");
        assert_eq!(l1["hyperparameters"], json!({"c": 1.0}));
        assert_eq!(l1["validation"][0]["count"], 1);
        assert_eq!(l1["validation"][0]["anomalies"][0]["feature"], "ph");
        assert_eq!(l1["pushes"][0]["run_id"], "r1");
    }
}

#[test]
fn lineage_of_an_artifact_id_and_unknown_targets() {
    let (env, r1, _) = seeded();
    // A Model artifact finds the version it was pushed as.
    let l = env.json(&["lineage", &r1.model.to_string()], 0);
    assert_eq!(l["artifact"]["id"], r1.model);
    assert_eq!(l["model"]["version"], 1);
    assert_eq!(l["pushes"][0]["version"], 1);
    // A pushed model: its deploy, and the model and data upstream.
    let l = env.json(&["lineage", &r1.pushed.to_string()], 0);
    assert_eq!(l["produced_by"]["operator"], "deploy");
    assert_eq!(l["model"]["version"], 1);
    assert_eq!(l["hyperparameters"], json!({"c": 1.0}));
    assert_eq!(l["upstream"][0]["id"], r1.model);
    assert_eq!(l["upstream"][0]["role"], "model");
    assert_eq!(l["trained_on"].as_array().map(Vec::len), Some(2));
    // A source dataset: produced by the query, nothing upstream, no model.
    let l = env.json(&["lineage", &r1.dataset.to_string()], 0);
    assert_eq!(l["model"], Value::Null);
    assert_eq!(l["produced_by"]["operator"], "query");
    assert_eq!(l["upstream"], json!([]));
    assert_eq!(l["pushes"], json!([]));

    fails_with(&env, &["lineage", "nope"], "cambium models list");
    fails_with(
        &env,
        &["lineage", "wine_quality:9"],
        "cambium models show wine_quality",
    );
    fails_with(&env, &["lineage", "99999"], "artifact with id 99999");
    fails_with(&env, &["lineage", "wine_quality:x"], "NAME:VERSION");
}
