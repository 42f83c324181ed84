//! The ML operators end to end on real parts: a migrated SQLite metadata store, file object
//! stores in a tempdir, CSV files that example_gen ingests, and every call going through
//! `cambium_runtime::run` (so executions and lineage are recorded as in a task process).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use cambium_data::Stores;
use cambium_runtime::serving::load_predictor;
use cambium_runtime::{run, Call, OpError, Outcome, Runtime};
use cambium_store::Store;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use tempfile::TempDir;

const DAG: &str = "wine";

struct Env {
    dir: TempDir,
    rt: Runtime,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!(
        "sqlite://{}/home/cambium.db",
        dir.path().display()
    ))
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let landing = dir.path().join("landing");
    std::fs::create_dir_all(&landing).unwrap();
    std::fs::write(landing.join("wine.csv"), csv_data(400)).unwrap();
    let serving = dir.path().join("serving");
    std::fs::create_dir_all(&serving).unwrap();
    let mut named = BTreeMap::new();
    named.insert(
        "landing".to_string(),
        format!("file://{}", landing.display()),
    );
    named.insert(
        "serving".to_string(),
        format!("file://{}", serving.display()),
    );
    let stores = Stores::new(named, dir.path().join("artifacts")).unwrap();
    let rt = Runtime {
        store,
        stores,
        connections: BTreeMap::new(),
        scratch: dir.path().join("scratch"),
        dags_folder: None,
    };
    Env { dir, rt }
}

/// A classification table: label = 1.5·x1 − x2 + noise > 0; a color column for slices.
fn csv_data(n: usize) -> String {
    let mut seed: u64 = 42;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 11) as f64) / ((1u64 << 53) as f64)
    };
    let mut out = String::from("id,x1,x2,color,label\n");
    for i in 0..n {
        let x1 = next() * 4.0 - 2.0;
        let x2 = next() * 4.0 - 2.0;
        let noise = (next() - 0.5) * 0.6;
        let color = ["red", "green", "blue"][i % 3];
        let label = i64::from(1.5 * x1 - x2 + noise > 0.0);
        out.push_str(&format!("{i},{x1:.4},{x2:.4},{color},{label}\n"));
    }
    out
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

struct RunState {
    run_id: String,
    up: Map<String, Value>,
}

impl RunState {
    fn new(run_id: &str) -> RunState {
        RunState {
            run_id: run_id.to_string(),
            up: Map::new(),
        }
    }

    fn call(&self, operator: &str, task: &str, options: Value) -> Call {
        Call {
            operator: operator.to_string(),
            options: obj(options),
            upstream: self.up.clone(),
            dag_id: DAG.to_string(),
            dag_file: "wine.rhai".to_string(),
            run_id: self.run_id.clone(),
            task_id: task.to_string(),
            try_number: 1,
            logical_date: chrono::Utc::now(),
            params: Map::new(),
            cache: false,
        }
    }

    async fn try_step(
        &self,
        rt: &Runtime,
        operator: &str,
        task: &str,
        options: Value,
    ) -> Result<Outcome, OpError> {
        run(rt, &self.call(operator, task, options)).await
    }

    async fn step(&mut self, rt: &Runtime, operator: &str, task: &str, options: Value) -> Outcome {
        let out = self
            .try_step(rt, operator, task, options)
            .await
            .unwrap_or_else(|e| panic!("{task} failed: {e}"));
        self.up
            .insert(task.to_string(), Value::Object(out.output.clone()));
        out
    }

    fn artifact(&self, task: &str, name: &str) -> Value {
        self.up[task]["artifacts"][name].clone()
    }
}

async fn prepare(rt: &Runtime, r: &mut RunState) {
    r.step(
        rt,
        "example_gen",
        "example_gen",
        json!({"store": "landing", "pattern": "*.csv", "hash_keys": ["id"], "splits": {"train": 8, "eval": 2}}),
    )
    .await;
    r.step(
        rt,
        "transform",
        "transform",
        json!({
            "input": "example_gen",
            "label": "label",
            "features": {"x1": "standardize", "x2": {"kind": "min_max"}, "color": "one_hot", "id": "drop"},
        }),
    )
    .await;
}

#[tokio::test]
async fn train_evaluate_deploy_and_a_worse_model_is_not_pushed() {
    let e = env().await;
    let rt = &e.rt;
    let mut r1 = RunState::new("run-1");
    prepare(rt, &mut r1).await;

    // transform
    let t = &r1.up["transform"];
    assert_eq!(t["label"], json!("label"));
    let features: Vec<&str> = t["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        features.contains(&"x1") && features.contains(&"x2"),
        "{features:?}"
    );
    assert!(
        features.iter().any(|f| f.starts_with("color")),
        "{features:?}"
    );
    assert!(!features.contains(&"id"));
    let train_split = r1.artifact("transform", "train");
    assert_eq!(train_split["kind"], json!("Examples"));
    assert_eq!(train_split["properties"]["transformed"], json!(true));
    assert_eq!(train_split["properties"]["label"], json!("label"));
    assert_eq!(
        train_split["properties"]["source_id"],
        r1.artifact("example_gen", "train")["id"]
    );
    assert_eq!(
        r1.artifact("transform", "transform_graph")["kind"],
        json!("TransformGraph")
    );

    // train (numeric strings as rendered templates give them)
    let trained = r1
        .step(
            rt,
            "train",
            "train",
            json!({"input": "transform", "algorithm": "logistic_regression", "hyperparameters": {"alpha": "0.1"}}),
        )
        .await;
    let acc = trained.metrics["eval_accuracy"].as_f64().unwrap();
    assert!(acc > 0.8, "eval accuracy {acc}");
    assert!(trained.metrics["train_accuracy"].as_f64().unwrap() > 0.8);
    let model = r1.artifact("train", "model");
    assert_eq!(model["kind"], json!("Model"));
    assert!(model["uri"].as_str().unwrap().ends_with("/model.json"));
    assert_eq!(model["properties"]["external"], json!(false));
    assert_eq!(
        model["properties"]["algorithm"],
        json!("logistic_regression")
    );
    assert_eq!(model["properties"]["label"], json!("label"));
    assert_eq!(model["properties"]["problem"], json!("classification"));
    assert_eq!(
        model["properties"]["transform_id"],
        r1.artifact("transform", "transform_graph")["id"]
    );
    assert_eq!(r1.up["train"]["algorithm"], json!("logistic_regression"));

    // evaluate: thresholds, slices, no production yet
    let ev = r1
        .step(
            rt,
            "evaluate",
            "evaluate",
            json!({"model": "train", "slices": ["color"], "thresholds": {"accuracy": {"min": 0.7}}, "baseline": "production"}),
        )
        .await;
    let out = &ev.output;
    assert_eq!(out["blessed"], json!(true), "{:?}", out["reasons"]);
    let reasons = out["reasons"].to_string();
    assert!(
        reasons.contains("no production version to compare with"),
        "{reasons}"
    );
    assert_eq!(out["baseline"], Value::Null);
    let by_color = out["slices"]["color"].as_object().unwrap();
    assert_eq!(
        by_color.keys().collect::<Vec<_>>(),
        vec!["blue", "green", "red"]
    );
    assert!(by_color["red"]["metrics"]["accuracy"].as_f64().unwrap() > 0.6);
    // the serving path on raw rows gives what train measured on the transformed split
    assert!((out["metrics"]["accuracy"].as_f64().unwrap() - acc).abs() < 1e-9);
    assert!(ev.metrics.contains_key("accuracy"));
    assert_eq!(
        r1.artifact("evaluate", "blessing")["kind"],
        json!("ModelBlessing")
    );
    assert_eq!(
        r1.artifact("evaluate", "evaluation")["kind"],
        json!("ModelEvaluation")
    );

    // unknown threshold metric and slice column fail, naming them
    let err = r1
        .try_step(
            rt,
            "evaluate",
            "evaluate_bad",
            json!({"model": "train", "thresholds": {"auc": {"min": 0.5}}}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("'auc'") && err.contains("accuracy"), "{err}");
    let err = r1
        .try_step(
            rt,
            "evaluate",
            "evaluate_bad",
            json!({"model": "train", "slices": ["region"]}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("'region'"), "{err}");

    // deploy to the registry
    let dep = r1
        .step(
            rt,
            "deploy",
            "deploy",
            json!({"model": "train", "blessing": "evaluate"}),
        )
        .await;
    assert!(!dep.skipped);
    assert_eq!(dep.output["version"], json!(1));
    assert_eq!(dep.output["name"], json!(DAG));
    assert_eq!(
        r1.artifact("deploy", "pushed")["kind"],
        json!("PushedModel")
    );
    let prod = rt
        .store
        .alias_version(DAG, "production")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(prod.version, 1);
    assert_eq!(prod.model_artifact_id, model["id"].as_i64().unwrap());
    assert!(prod.metrics.contains_key("accuracy"));
    assert_eq!(prod.params["alpha"], json!("0.1"));

    // lineage: train read the transformed examples and the graph
    let executions = rt.store.executions_of_run(DAG, "run-1").await.unwrap();
    let train_exec = executions.iter().find(|x| x.task_id == "train").unwrap();
    let inputs = rt.store.execution_inputs(train_exec.id).await.unwrap();
    assert!(inputs.iter().all(|(role, _)| role == "input"));
    let kinds: Vec<&str> = inputs.iter().map(|(_, a)| a.kind.as_str()).collect();
    assert!(
        kinds.contains(&"Examples") && kinds.contains(&"TransformGraph"),
        "{kinds:?}"
    );
    let deploy_exec = executions.iter().find(|x| x.task_id == "deploy").unwrap();
    let deploy_inputs = rt.store.execution_inputs(deploy_exec.id).await.unwrap();
    let roles: Vec<&str> = deploy_inputs.iter().map(|(r, _)| r.as_str()).collect();
    assert!(
        roles.contains(&"model") && roles.contains(&"blessing"),
        "{roles:?}"
    );

    // serving: raw JSON rows through the production version
    let (version, predictor) = load_predictor(&rt.store, DAG, None).await.unwrap();
    assert_eq!(version.version, 1);
    let rows = vec![
        obj(json!({"x1": 1.8, "x2": -1.5, "color": "red", "id": 1})),
        obj(json!({"x1": -1.8, "x2": 1.5, "color": "blue"})),
    ];
    let preds = predictor.predict_rows(&rows).unwrap();
    assert_eq!(preds[0]["prediction"], json!(1));
    assert_eq!(preds[1]["prediction"], json!(0));
    let err = load_predictor(&rt.store, "nope", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no production version") && err.contains("cambium models promote"),
        "{err}"
    );
    assert!(load_predictor(&rt.store, DAG, Some(7)).await.is_err());

    // the store target copies the files
    let pushed = r1
        .step(
            rt,
            "deploy",
            "deploy_store",
            json!({"model": "train", "target": "store", "store": "serving"}),
        )
        .await;
    assert_eq!(pushed.output["target"], json!("store"));
    let copied = e.dir.path().join("serving").join(DAG).join("run-1");
    assert!(copied.join("model.json").is_file());
    assert!(copied.join("transform_graph.json").is_file());
    let err = r1
        .try_step(
            rt,
            "deploy",
            "deploy_k8s",
            json!({"model": "train", "target": "kubernetes"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not available yet"), "{err}");

    // run 2: a much worse model (heavily regularized) is not blessed against production
    let mut r2 = RunState::new("run-2");
    prepare(rt, &mut r2).await;
    r2.step(
        rt,
        "train",
        "train",
        json!({"input": "transform", "algorithm": "logistic_regression", "hyperparameters": "{\"alpha\": \"100000\"}"}),
    )
    .await;
    let ev2 = r2
        .step(rt, "evaluate", "evaluate", json!({"model": "train"}))
        .await;
    assert_eq!(ev2.output["blessed"], json!(false), "{:?}", ev2.output);
    assert_eq!(ev2.output["baseline"]["version"], json!(1));
    let reasons = ev2.output["reasons"].to_string();
    assert!(
        reasons.contains("worse than production version 1"),
        "{reasons}"
    );
    let dep2 = r2
        .step(
            rt,
            "deploy",
            "deploy",
            json!({"model": "train", "blessing": "evaluate"}),
        )
        .await;
    assert!(dep2.skipped);
    assert!(dep2.message.unwrap().starts_with("not blessed: "));
    assert_eq!(
        rt.store
            .alias_version(DAG, "production")
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    assert_eq!(rt.store.model_versions(DAG).await.unwrap().len(), 1);

    // a generous max_regression blesses it; deploy registers version 2
    let ev3 = r2
        .step(
            rt,
            "evaluate",
            "evaluate_lenient",
            json!({"model": "train", "max_regression": 1.0}),
        )
        .await;
    assert_eq!(ev3.output["blessed"], json!(true), "{:?}", ev3.output);
    let dep3 = r2
        .step(
            rt,
            "deploy",
            "deploy_lenient",
            json!({"model": "train", "blessing": "evaluate_lenient"}),
        )
        .await;
    assert_eq!(dep3.output["version"], json!(2));
    assert_eq!(
        rt.store
            .alias_version(DAG, "production")
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );
}

#[tokio::test]
async fn tune_runs_trials_stops_bad_ones_and_picks_the_best() {
    let e = env().await;
    let rt = &e.rt;
    let mut r = RunState::new("run-t");
    prepare(rt, &mut r).await;
    let alphas = [0.01, 1.0, 3000.0, 100000.0];
    let trial_opts = |i: usize| {
        json!({
            "input": "transform",
            "algorithm": "logistic_regression",
            "hyperparameters": {"alpha": "5"},
            "metric": "accuracy",
            "trial": i,
            "tune": "tune",
            "trial_hyperparameters": {"alpha": alphas[i]},
        })
    };
    // max_parallel_trials 2: two at a time
    let mut outputs = Vec::new();
    for pair in [[0usize, 1], [2, 3]] {
        let (id_a, id_b) = (
            format!("tune.trial_{:03}", pair[0]),
            format!("tune.trial_{:03}", pair[1]),
        );
        let (a, b) = tokio::join!(
            r.try_step(rt, "tune_trial", &id_a, trial_opts(pair[0])),
            r.try_step(rt, "tune_trial", &id_b, trial_opts(pair[1])),
        );
        outputs.push((pair[0], a.unwrap()));
        outputs.push((pair[1], b.unwrap()));
    }
    for (i, out) in &outputs {
        r.up.insert(
            format!("tune.trial_{i:03}"),
            Value::Object(out.output.clone()),
        );
    }
    let first = &outputs[0].1.output;
    assert_eq!(first["stopped_early"], json!(false));
    assert!(first["score"].as_f64().unwrap() > 0.8);
    assert!(first["partial_score"].as_f64().is_some());
    assert_eq!(first["hyperparameters"], json!({"alpha": 0.01}));
    assert!(outputs[0].1.metrics.contains_key("score"));
    let last = &outputs[3].1.output;
    assert_eq!(last["stopped_early"], json!(true), "{last:?}");
    assert_eq!(last["score"], Value::Null);

    let ids: Vec<String> = (0..5).map(|i| format!("tune.trial_{i:03}")).collect(); // 004 failed
    let tune = r
        .step(
            rt,
            "tune",
            "tune",
            json!({"input": "transform", "space": {"alpha": alphas}, "metric": "accuracy", "trials": ids}),
        )
        .await;
    let o = &tune.output;
    assert!(
        matches!(
            o["best_trial"].as_str(),
            Some("tune.trial_000" | "tune.trial_001")
        ),
        "{o:?}"
    );
    assert_eq!(o["failed"], json!(1));
    assert!(o["stopped_early"].as_u64().unwrap() >= 1);
    assert_eq!(
        o["completed"].as_u64().unwrap() + o["stopped_early"].as_u64().unwrap(),
        4
    );
    assert_eq!(o["goal"], json!("maximize"));
    assert!(o["best"]["alpha"].as_f64().unwrap() <= 1.0);
    assert_eq!(
        r.artifact("tune", "search")["kind"],
        json!("HyperparameterSearch")
    );

    // downstream train gets the best as rendered JSON text
    let best = serde_json::to_string(&o["best"]).unwrap();
    let trained = r
        .step(rt, "train", "train", json!({"input": "transform", "algorithm": "logistic_regression", "hyperparameters": best}))
        .await;
    assert!(trained.metrics["eval_accuracy"].as_f64().unwrap() > 0.8);

    // no successful trial: a clear failure
    let mut none = RunState::new("run-t");
    none.up
        .insert("tune.trial_003".into(), r.up["tune.trial_003"].clone());
    let err = none
        .try_step(
            rt,
            "tune",
            "tune",
            json!({"trials": ["tune.trial_003", "tune.trial_009"]}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("1 failed") && err.contains("1 stopped early"),
        "{err}"
    );
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[tokio::test]
async fn an_external_trainer_follows_the_protocol() {
    let e = env().await;
    let rt = &e.rt;
    let mut r = RunState::new("run-x");
    r.step(
        rt,
        "example_gen",
        "example_gen",
        json!({"store": "landing", "pattern": "*.csv", "hash_keys": ["id"]}),
    )
    .await;
    let script = fixture("trainer.py").display().to_string();
    let out = r
        .step(
            rt,
            "train",
            "train",
            json!({"input": "example_gen", "label": "label", "cmd": ["python3", script], "hyperparameters": {"k": 1}}),
        )
        .await;
    let acc = out.metrics["eval_accuracy"].as_f64().unwrap();
    assert!((0.2..0.8).contains(&acc), "{acc}");
    assert!(out.metrics["train_rows"].as_u64().unwrap() > 250);
    let model = r.artifact("train", "model");
    assert_eq!(model["properties"]["external"], json!(true));
    assert_eq!(
        model["properties"]["files"],
        json!(["NOTES.txt", "model.json"])
    );
    assert_eq!(model["properties"]["hyperparameters"], json!({"k": 1}));
    assert_eq!(model["properties"]["label"], json!("label"));
    let uri = model["uri"].as_str().unwrap();
    assert!(uri.ends_with("/train/1/model/"), "{uri}");
    let saved = e
        .dir
        .path()
        .join("artifacts/wine/run-x/train/1/model/model.json");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    assert!(saved["majority"].is_string());

    // a failing trainer fails the task with its exit code
    let err = r
        .try_step(
            rt,
            "train",
            "train_bad",
            json!({"input": "example_gen", "label": "label", "cmd": "echo failing >&2; exit 3"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("code 3"), "{err}");
    // metrics that are not a flat object of numbers fail, naming the file
    let err = r
        .try_step(
            rt,
            "train",
            "train_bad",
            json!({"input": "example_gen", "label": "label",
                   "cmd": "echo m > \"$CAMBIUM_MODEL_DIR/m\"; echo '{\"acc\": \"high\"}' > \"$CAMBIUM_METRICS\""}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("metrics file") && err.contains("'acc'"),
        "{err}"
    );
    // no model files
    let err = r
        .try_step(
            rt,
            "train",
            "train_bad",
            json!({"input": "example_gen", "label": "label", "cmd": "true"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("CAMBIUM_MODEL_DIR"), "{err}");
}

#[tokio::test]
async fn deploy_posts_metadata_to_an_http_target() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let e = env().await;
    let rt = &e.rt;
    let mut r = RunState::new("run-h");
    prepare(rt, &mut r).await;
    r.step(rt, "train", "train", json!({"input": "transform", "algorithm": "decision_tree", "hyperparameters": {"max_depth": 4}}))
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = sock.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len: usize = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap();
                if buf.len() >= end + 4 + len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        sock.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        String::from_utf8(buf).unwrap()
    });
    let out = r
        .step(
            rt,
            "deploy",
            "deploy",
            json!({"model": "train", "target": "http", "url": format!("http://127.0.0.1:{port}/models")}),
        )
        .await;
    assert_eq!(out.output["status"], json!(201));
    let request = server.await.unwrap();
    assert!(
        request.starts_with("POST /models HTTP/1.1\r\n"),
        "{request}"
    );
    let body: Value = serde_json::from_str(request.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["name"], json!(DAG));
    assert!(body["model_uri"].as_str().unwrap().ends_with("model.json"));
    let err = r
        .try_step(
            rt,
            "deploy",
            "deploy_tls",
            json!({"model": "train", "target": "http", "url": "https://example.com/x"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("https"), "{err}");
}

#[tokio::test]
async fn corrupt_model_files_and_bad_options_are_named() {
    let e = env().await;
    let rt = &e.rt;
    let mut r = RunState::new("run-e");
    prepare(rt, &mut r).await;
    r.step(
        rt,
        "train",
        "train",
        json!({"input": "transform", "algorithm": "logistic_regression"}),
    )
    .await;
    let model = r.artifact("train", "model");
    let model_uri = model["uri"].as_str().unwrap().to_string();
    let transform_uri = model["properties"]["transform_uri"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        cambium_runtime::serving::predictor_from(&model_uri, Some(&transform_uri))
            .await
            .is_ok()
    );
    let path = model_uri.strip_prefix("file://").unwrap();
    std::fs::write(path, b"{not json").unwrap();
    let err = cambium_runtime::serving::predictor_from(&model_uri, Some(&transform_uri))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(&model_uri), "{err}");

    let err = r
        .try_step(
            rt,
            "transform",
            "transform_bad",
            json!({"input": "example_gen", "label": "label", "features": {"acidity": "standardize"}}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("'acidity'"), "{err}");
    let err = r
        .try_step(rt, "train", "train_bad", json!({"input": "transform"}))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'algorithm'") && err.contains("'cmd'"),
        "{err}"
    );
    let err = r
        .try_step(
            rt,
            "train",
            "train_bad",
            json!({"input": "transform", "algorithm": "svm"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("svm"), "{err}");
}
