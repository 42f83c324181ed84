//! Bad input to the ML operators, through real runs: each fails its task with a message
//! naming the option, column, connection or file, and leaves no moved production alias.

mod common;
use common::{task, Env};

const SEED: &str =
    r#"let seed = d.command("seed", #{ cmd: "\"$CAMBIUM_BIN\" examples wine-warehouse" });"#;

fn dag(id: &str, body: &str) -> String {
    format!("let d = dag(\"{id}\", #{{}});\n{SEED}\n{body}\n")
}

fn failed_log(env: &Env, dag_id: &str, task_id: &str) -> String {
    let run = env.json(&["dags", "test", dag_id], 1);
    assert_eq!(task(&run, task_id)["state"], "failed", "{run}");
    let run_id = run["run_id"].as_str().expect("run id");
    let out = env.run(&["tasks", "logs", dag_id, run_id, task_id]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const QUERY: &str = r#"let q = d.query("q", #{ conn: "warehouse", sql: "SELECT wine_id, alcohol, quality FROM wine_quality WHERE batch = 1", to: "parquet" });
seed >> q;"#;

#[test]
fn each_bad_input_names_what_to_fix() {
    let env = Env::new();
    env.write_dag(
        "bad.rhai",
        &[
            dag(
                "empty",
                r#"let q = d.query("q", #{ conn: "warehouse", sql: "SELECT * FROM wine_quality WHERE batch = ?", binds: [99], to: "parquet" });
seed >> q;"#,
            ),
            dag(
                "unknown_conn",
                r#"d.query("q", #{ conn: "lake", sql: "SELECT 1", to: "parquet" });"#,
            ),
            dag(
                "missing_table",
                r#"d.query("q", #{ conn: "warehouse", sql: "SELECT * FROM no_such_table", to: "parquet" });"#,
            ),
            dag(
                "no_label",
                &format!(
                    "{QUERY}\nlet s = d.example_gen(\"s\", #{{ input: q }});\nd.transform(\"t\", #{{ input: s, label: \"nope\" }});"
                ),
            ),
            dag(
                "bad_key",
                &format!("{QUERY}\nd.example_gen(\"s\", #{{ input: q, hash_keys: [\"nope\"] }});"),
            ),
            dag(
                "bad_algorithm",
                &format!(
                    "{QUERY}\nlet s = d.example_gen(\"s\", #{{ input: q }});\nd.train(\"m\", #{{ input: s, label: \"quality\", algorithm: \"deep_magic\" }});"
                ),
            ),
        ]
        .join("\n"),
    );
    assert_eq!(env.json(&["dags", "errors"], 0), serde_json::json!([]));

    let log = failed_log(&env, "empty", "q");
    assert!(log.contains("returned no rows"), "{log}");
    let log = failed_log(&env, "unknown_conn", "q");
    assert!(
        log.contains("unknown connection 'lake'") && log.contains("CAMBIUM_CONN_LAKE"),
        "{log}"
    );
    let log = failed_log(&env, "missing_table", "q");
    assert!(log.contains("no_such_table"), "{log}");
    let log = failed_log(&env, "no_label", "t");
    assert!(log.contains("nope"), "{log}");
    let log = failed_log(&env, "bad_key", "s");
    assert!(log.contains("nope") && log.contains("hash_keys"), "{log}");
    let log = failed_log(&env, "bad_algorithm", "m");
    assert!(
        log.contains("deep_magic") && log.contains("logistic_regression"),
        "{log}"
    );
}

#[test]
fn references_to_unknown_tasks_are_import_errors() {
    let env = Env::new();
    env.write_dag(
        "refs.rhai",
        "let d = dag(\"refs\", #{});\nd.statistics_gen(\"s\", #{ input: \"nowhere\" });\n",
    );
    env.write_dag(
        "later.rhai",
        "let d = dag(\"later\", #{});\nd.train(\"e\", #{ input: \"nowhere_else\", image: \"trainer:1\" });\n",
    );
    let errors = env.json(&["dags", "errors"], 0);
    let text = errors.to_string();
    assert!(text.contains("names task 'nowhere'"), "{text}");
    assert!(
        text.contains("'image'") && text.contains("not available yet"),
        "{text}"
    );
    let refs = errors
        .as_array()
        .expect("errors")
        .iter()
        .find(|e| e["file"] == "refs.rhai")
        .expect("refs.rhai error");
    assert_eq!(refs["line"], 2, "{errors}");
}

#[test]
fn a_column_with_no_value_is_reported_as_missing_not_as_a_type() {
    // Batch 4 of the warehouse has alcohol NULL in every row; the reader can only guess
    // the empty column's type. The validator says what is wrong: the values are missing.
    let env = Env::new();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dags");
    let schema = std::fs::read_to_string(repo.join("wine_quality.schema.json")).expect("schema");
    env.write_dag("wine.schema.json", &schema);
    env.write_dag(
        "nulls.rhai",
        &dag(
            "nulls",
            r#"let q = d.query("q", #{ conn: "warehouse", sql: "SELECT * FROM wine_quality WHERE batch = 4", to: "parquet" });
seed >> q;
let s = d.example_gen("s", #{ input: q, hash_keys: ["wine_id"] });
let st = d.statistics_gen("st", #{ input: s });
let sc = d.schema_gen("sc", #{ schema_file: "wine.schema.json" });
d.example_validator("v", #{ statistics: st, schema: sc });"#,
        ),
    );
    let log = failed_log(&env, "nulls", "v");
    assert!(
        log.contains("[low_presence] alcohol: every value is missing"),
        "{log}"
    );
    assert!(!log.contains("wrong_type"), "{log}");
}

#[test]
fn a_bad_watermark_names_the_column() {
    let env = Env::new();
    env.write_dag(
        "wm.rhai",
        &[
            dag(
                "wm_missing",
                r#"let q = d.query("q", #{ conn: "warehouse", sql: "SELECT wine_id FROM wine_quality", watermark: "batch", to: "parquet" });
seed >> q;"#,
            ),
            dag(
                "wm_injection",
                r#"let q = d.query("q", #{ conn: "warehouse", sql: "SELECT * FROM wine_quality", watermark: "batch; DROP TABLE wine_quality", to: "parquet" });
seed >> q;"#,
            ),
        ]
        .join("\n"),
    );
    let log = failed_log(&env, "wm_missing", "q");
    assert!(log.contains("column 'batch'"), "{log}");
    assert!(log.contains("wine_id"), "{log}");
    let log = failed_log(&env, "wm_injection", "q");
    assert!(log.contains("not a plain column name"), "{log}");
}

#[test]
fn a_model_that_cannot_be_loaded_fails_clearly_and_production_stays() {
    let env = Env::new().with_repo_dags();
    env.json(&["examples", "wine-warehouse", "--through", "1"], 0);
    let run = env.json(&["dags", "test", "wine_quality_ct"], 0);
    assert_eq!(task(&run, "deploy")["output"]["version"], 1);
    let show = env.json(&["models", "show", "wine_quality"], 0);
    let uri = show["versions"][0]["artifact_uri"].as_str().expect("uri");
    let path = uri.strip_prefix("file://").expect("a file URI");
    std::fs::write(path, b"{ not a model").expect("corrupt the model");

    let out = env
        .command(&["models", "predict", "wine_quality"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("predict");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("model.json"), "{err}");

    // A run whose evaluation must compare with the broken production model fails there,
    // and deploy never moves the alias.
    env.json(&["examples", "wine-warehouse", "--through", "2"], 0);
    let run = env.json(&["dags", "test", "wine_quality_ct"], 1);
    assert_eq!(task(&run, "evaluate")["state"], "failed", "{run}");
    assert_eq!(task(&run, "deploy")["state"], "upstream_failed");
    let show = env.json(&["models", "show", "wine_quality"], 0);
    assert_eq!(show["versions"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        show["versions"][0]["aliases"],
        serde_json::json!(["production"])
    );
}
