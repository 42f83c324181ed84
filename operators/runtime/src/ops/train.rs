//! The `train` operator: a built-in algorithm (`cambium-models`) or an external trainer
//! program (`cmd`, the training protocol) fitted on the train split of a transform (or
//! example_gen) task, scored on the train and eval splits.
//!
//! The model always serves raw rows: when the input is a transform task its TransformGraph
//! is reused; when it is an example_gen task a `{"*": "passthrough"}` transform is fitted
//! here and saved as this task's own TransformGraph artifact.
//!
//! Shared with `tune` (trials train the same way): [`training_data`], [`fit_builtin`],
//! [`run_external`].

use crate::artifacts::{
    artifact_key, fingerprint, input_of, new_artifact, of_kind, read_json, read_table, split,
    write_json, ArtifactRef, ARTIFACTS,
};
use crate::context::{fail, Call, OpError, Runtime};
use crate::record::Produced;
use bytes::Bytes;
use cambium_data::{Format, Location, StoreUrl, TableWriter};
use cambium_ml::{Column, Table};
use cambium_models::{
    fit, FeatureMatrix, Model, Task, TrainedModel, TransformGraph, TransformSpec,
};
use cambium_store::NewArtifact;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a trainer reads: the splits of the input task and the transform that serves them.
pub(crate) struct TrainingData {
    /// The input task.
    pub task: String,
    pub train: Table,
    pub eval: Table,
    /// The examples are a transform's output (one Float column per output feature).
    pub transformed: bool,
    /// The transform from raw rows to the model's features.
    pub graph: TransformGraph,
    /// The upstream TransformGraph artifact (None: the graph was fitted here).
    pub graph_ref: Option<ArtifactRef>,
    pub label: String,
}

impl TrainingData {
    /// The feature matrix of one of the input's tables.
    pub fn features(&self, table: &Table, split: &str) -> Result<FeatureMatrix, OpError> {
        if self.transformed {
            matrix_of(table, &self.graph.output_names(), split)
        } else {
            self.graph
                .apply(table)
                .map_err(|e| fail(format!("the {split} split of '{}': {e}", self.task)))
        }
    }

    /// The label column of one of the input's tables.
    pub fn label_of<'a>(&self, table: &'a Table, split: &str) -> Result<&'a Column, OpError> {
        table.column(&self.label).ok_or_else(|| {
            fail(format!(
                "the {split} split of '{}' has no label column '{}' (its columns: {}); set `label` to one of them",
                self.task,
                self.label,
                table.names().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// The problem: option `problem`, else inferred from the train label.
    pub fn problem(&self, call: &Call) -> Result<Task, OpError> {
        match call.opt_str("problem").filter(|s| !s.is_empty()) {
            Some(p) => Task::parse(p).map_err(|e| fail(format!("option 'problem': {e}"))),
            None => Ok(Task::infer(self.label_of(&self.train, "train")?)),
        }
    }
}

/// A dense matrix from the named Float (or numeric) columns of a transformed table.
pub(crate) fn matrix_of(
    table: &Table,
    names: &[String],
    split: &str,
) -> Result<FeatureMatrix, OpError> {
    let mut columns = Vec::with_capacity(names.len());
    for name in names {
        let col = table.column(name).ok_or_else(|| {
            fail(format!(
                "the transformed {split} split has no column '{name}', which its transform graph produces; re-run the transform task"
            ))
        })?;
        columns.push(col);
    }
    let rows = table.rows();
    let mut data = Vec::with_capacity(rows * names.len());
    for i in 0..rows {
        for (j, col) in columns.iter().enumerate() {
            let v = col.f64_at(i).ok_or_else(|| {
                fail(format!(
                    "the transformed {split} split: column '{}', row {i} is missing or not a number",
                    names[j]
                ))
            })?;
            data.push(v);
        }
    }
    FeatureMatrix::new(names.to_vec(), rows, data).map_err(|e| fail(e.to_string()))
}

/// Reads the input task's train and eval splits and its transform (or fits a passthrough).
pub(crate) async fn training_data(call: &Call) -> Result<TrainingData, OpError> {
    let (task, refs) = input_of(call, "input")?;
    let examples = of_kind(&refs, &["Examples"], "input", &task)?;
    let train_ref = split(&examples, "train")?;
    let eval_ref = split(&examples, "eval")?;
    let graph_ref = refs.iter().find(|r| r.kind == "TransformGraph").cloned();
    let transformed = train_ref
        .properties
        .get("transformed")
        .and_then(Value::as_bool)
        == Some(true);
    let label_opt = call
        .opt_str("label")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| train_ref.prop_str("label").map(str::to_string));
    let train = read_table(train_ref).await?;
    let eval = read_table(eval_ref).await?;
    let (graph, label) = match (&graph_ref, transformed) {
        (Some(g), _) => {
            let graph: TransformGraph = read_json(&g.uri, "the transform graph").await?;
            let label = label_opt.or_else(|| graph.label.clone()).ok_or_else(|| {
                fail(format!(
                    "task '{task}' has no label; set option 'label' of '{}'",
                    call.task_id
                ))
            })?;
            (graph, label)
        }
        (None, true) => {
            return Err(fail(format!(
                "option 'input' names task '{task}', whose transformed examples come without a TransformGraph artifact; name the transform task itself"
            )))
        }
        (None, false) => {
            let label = label_opt.ok_or_else(|| {
                fail(format!(
                    "option 'label' of task '{}' is required when 'input' names an example_gen task ('{task}'): there is no transform to take it from",
                    call.task_id
                ))
            })?;
            if call.options.get("cmd").is_some_and(|c| !c.is_null()) {
                // an external trainer reads the raw splits itself
                let graph = TransformGraph {
                    label: Some(label.clone()),
                    features: Vec::new(),
                };
                return Ok(TrainingData {
                    task,
                    train,
                    eval,
                    transformed,
                    graph,
                    graph_ref,
                    label,
                });
            }
            let mut features = Map::new();
            features.insert("*".into(), Value::String("passthrough".into()));
            let spec = TransformSpec::from_json(&features, Some(&label))
                .map_err(|e| fail(e.to_string()))?;
            if train.column(&label).is_none() {
                return Err(fail(format!(
                    "the train split of '{task}' has no label column '{label}' (its columns: {}); set `label` to one of them",
                    train.names().collect::<Vec<_>>().join(", ")
                )));
            }
            let graph = fit(&train, &spec).map_err(|e| {
                fail(format!(
                    "the train split of '{task}' cannot be used as raw features ({e}); put a transform task between example_gen and '{}'",
                    call.task_id
                ))
            })?;
            (graph, label)
        }
    };
    Ok(TrainingData {
        task,
        train,
        eval,
        transformed,
        graph,
        graph_ref,
        label,
    })
}

/// The option `hyperparameters` (a map, or JSON text after rendering).
pub(crate) fn hyperparameters(call: &Call) -> Result<Map<String, Value>, OpError> {
    Ok(call.opt_map("hyperparameters")?)
}

/// Trains a built-in algorithm on the train split, or on its first `rows` rows.
pub(crate) fn fit_builtin(
    data: &TrainingData,
    algorithm: &str,
    problem: Task,
    hp: &Map<String, Value>,
    rows: Option<usize>,
) -> Result<TrainedModel, OpError> {
    let mut x = data.features(&data.train, "train")?;
    let mut y = data.label_of(&data.train, "train")?.clone();
    if let Some(n) = rows {
        let idx: Vec<usize> = (0..n.min(x.rows)).collect();
        x = x.take(&idx);
        y = y.take(&idx);
    }
    Model::train(algorithm, Some(problem), hp, &x, &y)
        .map_err(|e| fail(format!("training {algorithm} on '{}': {e}", data.task)))
}

/// The model's metrics on one of the input's tables.
pub(crate) fn score(
    data: &TrainingData,
    model: &TrainedModel,
    table: &Table,
    split: &str,
) -> Result<BTreeMap<String, f64>, OpError> {
    let x = data.features(table, split)?;
    let y = data.label_of(table, split)?;
    model
        .evaluate(&x, y)
        .map_err(|e| fail(format!("scoring the model on the {split} split: {e}")))
}

/// A JSON number (null for NaN and infinities).
pub(crate) fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// Metrics as JSON, each name prefixed.
pub(crate) fn metrics_json(m: &BTreeMap<String, f64>, prefix: &str) -> Map<String, Value> {
    m.iter()
        .map(|(k, v)| (format!("{prefix}{k}"), number(*v)))
        .collect()
}

/// What an external trainer left behind.
pub(crate) struct External {
    /// Files of `$CAMBIUM_MODEL_DIR`, relative paths and where they are.
    pub files: Vec<(String, PathBuf)>,
    /// Its metrics file.
    pub metrics: Map<String, Value>,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> OpError {
    fail(format!("{what} {}: {e}", path.display()))
}

/// A clean scratch folder of this call.
fn work_dir(rt: &Runtime, call: &Call, what: &str) -> Result<PathBuf, OpError> {
    let safe: String = call
        .task_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = rt.scratch.join(format!(
        "{what}-{}-{safe}-{}",
        call.run_id.replace(['/', ':', ' '], "_"),
        call.try_number
    ));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| io_err("cannot clean", &dir, e))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| io_err("cannot create", &dir, e))?;
    Ok(dir)
}

async fn write_local(
    dir: &Path,
    file: &str,
    format: Format,
    table: &Table,
) -> Result<PathBuf, OpError> {
    let location = Location::open(StoreUrl::File {
        root: dir.to_path_buf(),
    })?;
    let mut w = TableWriter::new(format, &dir.join(".tmp"))?;
    w.write(table)?;
    w.finish(&location, file).await?;
    Ok(dir.join(file))
}

/// The files under `dir`, recursively, as sorted `(relative path, path)`.
fn files_under(dir: &Path) -> Result<Vec<(String, PathBuf)>, OpError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| io_err("cannot list", &d, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_err("cannot list", &d, e))?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((rel, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a trainer's metrics file: absent or empty means none; otherwise a flat JSON object
/// of numbers.
pub(crate) fn read_metrics_file(path: &Path) -> Result<Map<String, Value>, OpError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => return Err(io_err("cannot read the metrics file", path, e)),
    };
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let bad = |why: String| {
        fail(format!(
            "the metrics file {} ($CAMBIUM_METRICS) must hold a flat JSON object of numbers: {why}",
            path.display()
        ))
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => {
            if let Some((k, v)) = m.iter().find(|(_, v)| !v.is_number()) {
                return Err(bad(format!("'{k}' is {v}")));
            }
            Ok(m)
        }
        Ok(other) => Err(bad(format!("found {other}"))),
        Err(e) => Err(bad(e.to_string())),
    }
}

/// Runs an external trainer (option `cmd`) by the training protocol.
pub(crate) async fn run_external(
    rt: &Runtime,
    call: &Call,
    data: &TrainingData,
    cmd: &Value,
    hp: &Map<String, Value>,
) -> Result<External, OpError> {
    let dir = work_dir(rt, call, "trainer")?;
    let train_parquet =
        write_local(&dir, "data/train.parquet", Format::Parquet, &data.train).await?;
    let eval_parquet = write_local(&dir, "data/eval.parquet", Format::Parquet, &data.eval).await?;
    let train_csv = write_local(&dir, "data/train.csv", Format::Csv, &data.train).await?;
    let eval_csv = write_local(&dir, "data/eval.csv", Format::Csv, &data.eval).await?;
    let model_dir = dir.join("model");
    std::fs::create_dir_all(&model_dir).map_err(|e| io_err("cannot create", &model_dir, e))?;
    let metrics_path = dir.join("metrics.json");

    let mut command = match cmd {
        Value::String(s) if !s.trim().is_empty() => {
            let mut c = tokio::process::Command::new("sh");
            c.arg("-c").arg(s);
            c
        }
        Value::Array(items) if !items.is_empty() => {
            let argv: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            if argv.len() != items.len() {
                return Err(fail("option 'cmd' must be a string or an array of strings"));
            }
            let mut c = tokio::process::Command::new(argv[0]);
            c.args(&argv[1..]);
            c
        }
        _ => {
            return Err(fail(
                "option 'cmd' must be a non-empty string (run with sh -c) or an array of strings (argv)",
            ))
        }
    };
    let hp_text = Value::Object(hp.clone()).to_string();
    command
        .current_dir(&dir)
        .env_remove("CAMBIUM_OUTPUT")
        .env("CAMBIUM_DAG_ID", &call.dag_id)
        .env("CAMBIUM_RUN_ID", &call.run_id)
        .env("CAMBIUM_TASK_ID", &call.task_id)
        .env("CAMBIUM_TRY_NUMBER", call.try_number.to_string())
        .env("CAMBIUM_TRAIN_PATH", &train_parquet)
        .env("CAMBIUM_EVAL_PATH", &eval_parquet)
        .env("CAMBIUM_TRAIN_CSV", &train_csv)
        .env("CAMBIUM_EVAL_CSV", &eval_csv)
        .env("CAMBIUM_MODEL_DIR", &model_dir)
        .env("CAMBIUM_HYPERPARAMETERS", hp_text)
        .env("CAMBIUM_LABEL", &data.label)
        .env("CAMBIUM_METRICS", &metrics_path)
        .stdin(std::process::Stdio::null());
    let status = command.status().await.map_err(|e| {
        fail(format!(
            "option 'cmd': cannot start the trainer ({e}): {cmd}"
        ))
    })?;
    if !status.success() {
        return Err(fail(match status.code() {
            Some(code) => format!("the trainer exited with code {code}: {cmd}"),
            None => format!("the trainer was killed by a signal: {cmd}"),
        }));
    }
    let files = files_under(&model_dir)?;
    if files.is_empty() {
        return Err(fail(format!(
            "the trainer wrote no files to $CAMBIUM_MODEL_DIR ({}); it must save the model there",
            model_dir.display()
        )));
    }
    let metrics = read_metrics_file(&metrics_path)?;
    Ok(External { files, metrics })
}

/// Uploads an external trainer's model files; returns the `model/` folder's URI, the files'
/// names and a fingerprint over them.
pub(crate) async fn upload_model_dir(
    rt: &Runtime,
    call: &Call,
    files: &[(String, PathBuf)],
) -> Result<(String, Vec<String>, String), OpError> {
    let location = rt.stores.get(ARTIFACTS)?;
    let mut prints = String::new();
    let mut names = Vec::new();
    for (rel, path) in files {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| io_err("cannot read the model file", path, e))?;
        prints.push_str(&format!("{rel}={}\n", fingerprint(&bytes)));
        location
            .put_bytes(
                &artifact_key(call, &format!("model/{rel}")),
                Bytes::from(bytes),
            )
            .await?;
        names.push(rel.clone());
    }
    let uri = format!(
        "{}/",
        location
            .uri(&artifact_key(call, "model"))
            .trim_end_matches('/')
    );
    Ok((uri, names, fingerprint(prints.as_bytes())))
}

/// The transform's URI and artifact id for a model's properties; a graph fitted here is
/// written as this task's TransformGraph artifact (pushed onto `outputs`).
async fn transform_of(
    rt: &Runtime,
    call: &Call,
    data: &TrainingData,
    outputs: &mut Vec<NewArtifact>,
) -> Result<(String, Value), OpError> {
    match &data.graph_ref {
        Some(g) => Ok((g.uri.clone(), Value::from(g.id))),
        None => {
            let (uri, print) = write_json(rt, call, "transform_graph.json", &data.graph).await?;
            outputs.push(new_artifact(
                "TransformGraph",
                "transform_graph",
                &uri,
                &print,
                json!({"features": data.graph.output_names(), "label": data.label, "fitted_by": "train"}),
            ));
            Ok((uri, Value::Null))
        }
    }
}

/// `train`.
pub async fn run(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    let data = training_data(call).await?;
    let hp = hyperparameters(call)?;
    let mut outputs = Vec::new();
    let mut result = Map::new();
    result.insert("input".into(), Value::String(data.task.clone()));
    result.insert("label".into(), Value::String(data.label.clone()));
    result.insert("hyperparameters".into(), Value::Object(hp.clone()));

    if let Some(cmd) = call.options.get("cmd").filter(|v| !v.is_null()) {
        let ext = run_external(rt, call, &data, cmd, &hp).await?;
        let (uri, files, print) = upload_model_dir(rt, call, &ext.files).await?;
        let transform_uri = match &data.graph_ref {
            Some(g) => Value::String(g.uri.clone()),
            None => Value::Null,
        };
        outputs.push(new_artifact(
            "Model",
            "model",
            &uri,
            &print,
            json!({
                "external": true,
                "files": files,
                "hyperparameters": hp,
                "label": data.label,
                "transform_uri": transform_uri,
                "transform_id": data.graph_ref.as_ref().map(|g| g.id),
                "metrics": ext.metrics,
                "input": data.task,
            }),
        ));
        result.insert("algorithm".into(), Value::String("external".into()));
        result.insert("metrics".into(), Value::Object(ext.metrics.clone()));
        return Ok(Produced {
            outputs,
            result,
            metrics: ext.metrics,
            message: Some(format!("the trainer wrote {} model file(s)", files.len())),
            ..Produced::default()
        });
    }

    let algorithm = call.opt_str("algorithm").filter(|s| !s.is_empty()).ok_or_else(|| {
        fail(format!(
            "task '{}' needs option 'algorithm' (logistic_regression, linear_regression, ridge, decision_tree, random_forest) or 'cmd' (a trainer program)",
            call.task_id
        ))
    })?;
    let problem = data.problem(call)?;
    let model = fit_builtin(&data, algorithm, problem, &hp, None)?;
    let train_m = score(&data, &model, &data.train, "train")?;
    let eval_m = score(&data, &model, &data.eval, "eval")?;
    let mut metrics = metrics_json(&train_m, "train_");
    metrics.extend(metrics_json(&eval_m, "eval_"));

    let (transform_uri, transform_id) = transform_of(rt, call, &data, &mut outputs).await?;
    let bytes = model
        .to_bytes()
        .map_err(|e| fail(format!("cannot save the model: {e}")))?;
    let print = fingerprint(&bytes);
    let location = rt.stores.get(ARTIFACTS)?;
    let uri = location
        .put_bytes(&artifact_key(call, "model.json"), Bytes::from(bytes))
        .await?;
    outputs.push(new_artifact(
        "Model",
        "model",
        &uri,
        &print,
        json!({
            "algorithm": algorithm,
            "hyperparameters": hp,
            "label": data.label,
            "features": model.feature_names(),
            "problem": problem.to_string(),
            "transform_uri": transform_uri,
            "transform_id": transform_id,
            "external": false,
            "metrics": metrics_json(&eval_m, ""),
            "input": data.task,
        }),
    ));
    result.insert("algorithm".into(), Value::String(algorithm.to_string()));
    result.insert("problem".into(), Value::String(problem.to_string()));
    result.insert("metrics".into(), Value::Object(metrics.clone()));
    let headline = match problem {
        Task::Classification => "accuracy",
        Task::Regression => "rmse",
    };
    Ok(Produced {
        outputs,
        result,
        metrics,
        message: Some(format!(
            "trained {algorithm} on {} rows; eval {headline} {}",
            data.train.rows(),
            eval_m
                .get(headline)
                .map_or("-".to_string(), |v| format!("{v:.4}"))
        )),
        ..Produced::default()
    })
}
