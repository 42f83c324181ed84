//! ML lineage and the model registry as JSON views, shared by `cambium lineage`,
//! `cambium models ...` and (later) the HTTP API.
//!
//! [`lineage`] answers the questions of `ml-components.md` about an artifact or a model
//! version: which data it was trained on, with which hyperparameters, which run and which
//! operator version produced it, when it was pushed and by which run, and what that run's
//! validation found. It only reads the store; callers print or serve the result.

use crate::time;
use cambium_store::{
    AliasChange, ArtifactRecord, ExecutionRecord, ModelSummary, ModelVersion, Store,
};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// The alias deployments move and `models rollback` moves back.
pub const PRODUCTION: &str = "production";

/// How many execution hops the upstream walk follows from its target.
pub const MAX_DEPTH: u32 = 64;

/// How many upstream artifacts the walk collects at most.
pub const MAX_UPSTREAM: usize = 5_000;

/// Artifact kinds that hold training data.
const DATA_KINDS: [&str; 2] = ["Dataset", "Examples"];

/// Why a lineage (or registry) question cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum LineageError {
    #[error("'{0}' is not a model name, NAME:VERSION or an artifact id")]
    BadTarget(String),
    #[error("there is no model named '{0}' in the registry")]
    UnknownModel(String),
    #[error("model '{name}' has no version {version}")]
    UnknownVersion { name: String, version: i64 },
    #[error("there is no artifact with id {0} in the metadata database")]
    UnknownArtifact(i64),
    #[error(transparent)]
    Store(#[from] cambium_store::Error),
}

/// What `cambium lineage TARGET` looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A model's production version, else its latest.
    Model(String),
    /// `NAME:VERSION` or `NAME@VERSION`.
    ModelVersion(String, i64),
    /// An artifact id.
    Artifact(i64),
}

impl Target {
    /// A number is an artifact id; `NAME:VERSION` / `NAME@VERSION` a model version; any
    /// other text a model name.
    pub fn parse(text: &str) -> Result<Target, LineageError> {
        let text = text.trim();
        let bad = || LineageError::BadTarget(text.to_string());
        if text.is_empty() {
            return Err(bad());
        }
        if let Ok(id) = text.parse::<i64>() {
            return Ok(Target::Artifact(id));
        }
        if let Some((name, version)) = text.rsplit_once([':', '@']) {
            let version = version.trim().parse::<i64>().map_err(|_| bad())?;
            let name = name.trim();
            if name.is_empty() {
                return Err(bad());
            }
            return Ok(Target::ModelVersion(name.to_string(), version));
        }
        Ok(Target::Model(text.to_string()))
    }
}

/// An artifact as the views print it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ArtifactView {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub uri: String,
    pub fingerprint: String,
    pub properties: Value,
    /// The execution that wrote it.
    pub execution_id: i64,
    pub dag_id: String,
    pub run_id: String,
    /// The task that wrote it.
    pub task_id: String,
    pub try_number: u32,
    pub created: String,
}

impl From<&ArtifactRecord> for ArtifactView {
    fn from(a: &ArtifactRecord) -> Self {
        ArtifactView {
            id: a.id,
            kind: a.kind.clone(),
            name: a.name.clone(),
            uri: a.uri.clone(),
            fingerprint: a.fingerprint.clone(),
            properties: a.properties.clone(),
            execution_id: a.execution_id,
            dag_id: a.dag_id.clone(),
            run_id: a.run_id.clone(),
            task_id: a.task_id.clone(),
            try_number: a.try_number,
            created: time(a.created),
        }
    }
}

/// An operator execution (one task try).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExecutionView {
    pub execution_id: i64,
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    pub try_number: u32,
    pub operator: String,
    pub operator_version: String,
    pub started: String,
    pub ended: String,
    /// The earlier execution whose outputs this one reused (`cache: true`).
    pub cached_from: Option<i64>,
    /// `{"rendered": <the task's rendered options>, "result": <its output fields>}`.
    pub options: Value,
}

impl From<&ExecutionRecord> for ExecutionView {
    fn from(e: &ExecutionRecord) -> Self {
        ExecutionView {
            execution_id: e.id,
            dag_id: e.dag_id.clone(),
            run_id: e.run_id.clone(),
            task_id: e.task_id.clone(),
            try_number: e.try_number,
            operator: e.operator.clone(),
            operator_version: e.operator_version.clone(),
            started: time(e.started),
            ended: time(e.ended),
            cached_from: e.cached_from,
            options: e.options.clone(),
        }
    }
}

/// A registered model version (`models show`, the `model` of a lineage).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ModelVersionView {
    pub name: String,
    pub version: i64,
    pub aliases: Vec<String>,
    pub metrics: Map<String, Value>,
    pub params: Map<String, Value>,
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    pub created: String,
    pub artifact_uri: String,
    pub transform_uri: Option<String>,
    pub model_artifact_id: i64,
    pub pushed_artifact_id: Option<i64>,
}

impl From<&ModelVersion> for ModelVersionView {
    fn from(v: &ModelVersion) -> Self {
        ModelVersionView {
            name: v.name.clone(),
            version: v.version,
            aliases: v.aliases.clone(),
            metrics: v.metrics.clone(),
            params: v.params.clone(),
            dag_id: v.dag_id.clone(),
            run_id: v.run_id.clone(),
            task_id: v.task_id.clone(),
            created: time(v.created),
            artifact_uri: v.artifact_uri.clone(),
            transform_uri: v.transform_uri.clone(),
            model_artifact_id: v.model_artifact_id,
            pushed_artifact_id: v.pushed_artifact_id,
        }
    }
}

/// One row of `models list`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ModelListItem {
    pub name: String,
    pub latest_version: i64,
    /// The version `production` points at, if any.
    pub production_version: Option<i64>,
    /// How many versions it has.
    pub versions: i64,
    /// Alias -> version.
    pub aliases: BTreeMap<String, i64>,
    pub updated: String,
}

impl From<&ModelSummary> for ModelListItem {
    fn from(m: &ModelSummary) -> Self {
        ModelListItem {
            name: m.name.clone(),
            latest_version: m.latest_version,
            production_version: m.aliases.get(PRODUCTION).copied(),
            versions: m.versions,
            aliases: m.aliases.clone(),
            updated: time(m.updated),
        }
    }
}

/// `models show NAME`: the versions newest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ModelDetail {
    pub name: String,
    pub versions: Vec<ModelVersionView>,
}

impl ModelDetail {
    pub fn new(name: &str, versions: &[ModelVersion]) -> Self {
        ModelDetail {
            name: name.to_string(),
            versions: versions.iter().map(ModelVersionView::from).collect(),
        }
    }

    /// [`ModelDetail::new`] with each version's push found in the store (see
    /// [`push_of_version`]).
    pub async fn load(
        store: &Store,
        name: &str,
        versions: &[ModelVersion],
    ) -> Result<Self, cambium_store::Error> {
        let mut detail = Self::new(name, versions);
        for (view, v) in detail.versions.iter_mut().zip(versions) {
            view.pushed_artifact_id = push_of_version(store, v).await?;
        }
        Ok(detail)
    }
}

/// The id of the `PushedModel` artifact that registered version `v`. `deploy` registers the
/// version before its push artifact is recorded, so the registry row has no id for it; the
/// artifact is the deploy task's `PushedModel` naming this model and version.
pub async fn push_of_version(
    store: &Store,
    v: &ModelVersion,
) -> Result<Option<i64>, cambium_store::Error> {
    if v.pushed_artifact_id.is_some() {
        return Ok(v.pushed_artifact_id);
    }
    Ok(store
        .artifacts_of_run(&v.dag_id, &v.run_id)
        .await?
        .into_iter()
        .filter(|a| {
            a.kind == "PushedModel"
                && a.task_id == v.task_id
                && a.properties.get("name").and_then(Value::as_str) == Some(v.name.as_str())
                && a.properties.get("version").and_then(Value::as_i64) == Some(v.version)
        })
        .map(|a| a.id)
        .next_back())
}

/// A move of an alias (`models promote`, `models rollback`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AliasChangeView {
    pub name: String,
    pub alias: String,
    /// The version it pointed at before (`null` when the alias was new).
    pub from: Option<i64>,
    /// The version it points at now.
    pub to: i64,
    pub at: String,
    pub reason: String,
}

impl From<&AliasChange> for AliasChangeView {
    fn from(c: &AliasChange) -> Self {
        AliasChangeView {
            name: c.name.clone(),
            alias: c.alias.clone(),
            from: c.previous,
            to: c.version,
            at: time(c.at),
            reason: c.reason.clone(),
        }
    }
}

/// An artifact reached walking inputs upstream from the target.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UpstreamArtifact {
    #[serde(flatten)]
    pub artifact: ArtifactView,
    /// The role under which the execution below read it (`input`, `examples`, `model`...).
    pub role: String,
    /// Execution hops from the target (1: an input of the target's producer).
    pub depth: u32,
    /// The execution that read it on the way to the target, and its task.
    pub read_by_execution: i64,
    pub read_by_task: String,
}

/// The run the target was produced in.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunRef {
    pub dag_id: String,
    pub run_id: String,
}

/// The code that produced the target.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CodeView {
    pub operator: String,
    pub operator_version: String,
    /// The DAG file declaring the DAG now, when the DAG is known.
    pub dag_file: Option<String>,
    /// sha256 of that file's text when it was last imported.
    pub dag_file_hash: Option<String>,
}

/// A push of the model: a deploy's `PushedModel` artifact and/or a move of `production`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PushView {
    /// The registry's model name and version, when known.
    pub name: Option<String>,
    pub version: Option<i64>,
    pub at: String,
    /// The run that pushed it (the deploy's run; for alias moves by a deploy, from the
    /// reason `deploy run <run_id>`).
    pub dag_id: Option<String>,
    pub run_id: Option<String>,
    pub task_id: Option<String>,
    /// The deploy target (`registry`, `kubernetes`, ...).
    pub target: Option<String>,
    pub pushed_artifact_id: Option<i64>,
    /// The alias moved to it (`production`) and why (`deploy run ...`, `promote`, `rollback`).
    pub alias: Option<String>,
    pub reason: Option<String>,
    #[serde(skip)]
    sort_at: chrono::DateTime<chrono::Utc>,
}

/// An `Anomalies` artifact of the target's run.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ValidationView {
    pub artifact_id: i64,
    pub task_id: String,
    /// The operator that wrote it (`example_validator`), when its execution is known.
    pub operator: Option<String>,
    pub name: String,
    pub uri: String,
    pub created: String,
    /// How many anomalies it found (0: the data passed).
    pub count: u64,
    pub passed: bool,
    /// `{feature, kind, observed, expected, description}` each.
    pub anomalies: Vec<Value>,
}

/// The answers `cambium lineage` prints.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Lineage {
    /// The target as asked for.
    pub target: String,
    /// The model version the target is (or was pushed as), if any.
    pub model: Option<ModelVersionView>,
    /// The artifact whose lineage this is (a model version's `Model` artifact).
    pub artifact: ArtifactView,
    /// The execution that wrote it.
    pub produced_by: Option<ExecutionView>,
    /// The `Dataset` and `Examples` artifacts upstream, nearest first.
    pub trained_on: Vec<UpstreamArtifact>,
    /// From the `Model` artifact's properties, else its training execution's rendered
    /// options, else the registered version's params.
    pub hyperparameters: Map<String, Value>,
    pub run: RunRef,
    pub code: Option<CodeView>,
    /// Pushes of this model, oldest first.
    pub pushes: Vec<PushView>,
    /// What the validation of the target's run found.
    pub validation: Vec<ValidationView>,
    /// Every artifact upstream, nearest first.
    pub upstream: Vec<UpstreamArtifact>,
    /// True when the walk stopped at `MAX_DEPTH` or `MAX_UPSTREAM` before the sources.
    pub truncated: bool,
}

/// The lineage of a target as `cambium lineage` takes it (see [`Target::parse`]).
pub async fn lineage(store: &Store, target: &str) -> Result<Lineage, LineageError> {
    let parsed = Target::parse(target)?;
    let (model, artifact) = resolve(store, &parsed).await?;
    lineage_of(store, target, model, artifact).await
}

/// A model's production version, else its latest.
pub async fn current_version(store: &Store, name: &str) -> Result<ModelVersion, LineageError> {
    if let Some(v) = store.alias_version(name, PRODUCTION).await? {
        return Ok(v);
    }
    store
        .model_versions(name)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| LineageError::UnknownModel(name.to_string()))
}

/// A model version, telling an unknown model from an unknown version.
pub async fn model_version(
    store: &Store,
    name: &str,
    version: i64,
) -> Result<ModelVersion, LineageError> {
    if let Some(v) = store.model_version(name, version).await? {
        return Ok(v);
    }
    if store.model_versions(name).await?.is_empty() {
        Err(LineageError::UnknownModel(name.to_string()))
    } else {
        Err(LineageError::UnknownVersion {
            name: name.to_string(),
            version,
        })
    }
}

async fn resolve(
    store: &Store,
    target: &Target,
) -> Result<(Option<ModelVersion>, ArtifactRecord), LineageError> {
    let version = match target {
        Target::Artifact(id) => {
            if let Some(a) = store.artifact(*id).await? {
                return Ok((None, a));
            }
            // A model may be named like a number.
            match current_version(store, &id.to_string()).await {
                Ok(v) => v,
                Err(LineageError::UnknownModel(_)) => {
                    return Err(LineageError::UnknownArtifact(*id))
                }
                Err(e) => return Err(e),
            }
        }
        Target::Model(name) => current_version(store, name).await?,
        Target::ModelVersion(name, version) => model_version(store, name, *version).await?,
    };
    let artifact = store
        .artifact(version.model_artifact_id)
        .await?
        .ok_or(LineageError::UnknownArtifact(version.model_artifact_id))?;
    Ok((Some(version), artifact))
}

/// An artifact reached upstream, before it becomes a view.
struct Reached {
    artifact: ArtifactRecord,
    role: String,
    depth: u32,
    read_by_execution: i64,
    read_by_task: String,
}

impl Reached {
    fn view(&self) -> UpstreamArtifact {
        UpstreamArtifact {
            artifact: ArtifactView::from(&self.artifact),
            role: self.role.clone(),
            depth: self.depth,
            read_by_execution: self.read_by_execution,
            read_by_task: self.read_by_task.clone(),
        }
    }
}

/// Breadth first from `start` through the executions that wrote each artifact to what
/// they read. Each execution is expanded once and each artifact listed once (at its
/// nearest depth), so shared inputs and cycles in corrupt data end the walk.
async fn walk_upstream(
    store: &Store,
    start: &ArtifactRecord,
) -> Result<(Vec<Reached>, bool), LineageError> {
    let mut seen_artifacts = HashSet::from([start.id]);
    let mut seen_executions = HashSet::new();
    let mut queue = VecDeque::from([(start.clone(), 0u32)]);
    let mut reached = Vec::new();
    let mut truncated = false;
    while let Some((artifact, depth)) = queue.pop_front() {
        if !seen_executions.insert(artifact.execution_id) {
            continue;
        }
        let inputs = store.execution_inputs(artifact.execution_id).await?;
        if depth >= MAX_DEPTH {
            truncated |= !inputs.is_empty();
            continue;
        }
        for (role, input) in inputs {
            if !seen_artifacts.insert(input.id) {
                continue;
            }
            if reached.len() >= MAX_UPSTREAM {
                truncated = true;
                break;
            }
            reached.push(Reached {
                artifact: input.clone(),
                role,
                depth: depth + 1,
                read_by_execution: artifact.execution_id,
                read_by_task: artifact.task_id.clone(),
            });
            queue.push_back((input, depth + 1));
        }
    }
    Ok((reached, truncated))
}

fn object(value: Option<&Value>) -> Option<Map<String, Value>> {
    match value {
        Some(Value::Object(map)) if !map.is_empty() => Some(map.clone()),
        _ => None,
    }
}

fn hyperparameters(
    model_artifact: Option<&ArtifactRecord>,
    train: Option<&ExecutionRecord>,
    version: Option<&ModelVersion>,
) -> Map<String, Value> {
    model_artifact
        .and_then(|a| object(a.properties.get("hyperparameters")))
        .or_else(|| {
            train.and_then(|e| {
                object(
                    e.options
                        .get("rendered")
                        .and_then(|r| r.get("hyperparameters")),
                )
            })
        })
        .or_else(|| version.map(|v| v.params.clone()))
        .unwrap_or_default()
}

fn pushed_view(a: &ArtifactRecord) -> PushView {
    let props = &a.properties;
    PushView {
        name: props
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string),
        version: props.get("version").and_then(Value::as_i64),
        at: time(a.created),
        dag_id: Some(a.dag_id.clone()),
        run_id: Some(a.run_id.clone()),
        task_id: Some(a.task_id.clone()),
        target: props
            .get("target")
            .and_then(Value::as_str)
            .map(str::to_string),
        pushed_artifact_id: Some(a.id),
        alias: None,
        reason: None,
        sort_at: a.created,
    }
}

/// The `PushedModel` artifacts written from a model artifact (and the target itself when
/// it is one).
async fn pushed_artifacts(
    store: &Store,
    target: &ArtifactRecord,
    model_artifact: Option<&ArtifactRecord>,
) -> Result<Vec<ArtifactRecord>, LineageError> {
    let mut out: Vec<ArtifactRecord> = Vec::new();
    if target.kind == "PushedModel" {
        out.push(target.clone());
    }
    if let Some(model) = model_artifact {
        let mut seen = HashSet::new();
        for (_, execution) in store.executions_consuming(model.id).await? {
            if !seen.insert(execution.id) {
                continue;
            }
            for a in store.execution_outputs(execution.id).await? {
                if a.kind == "PushedModel" && out.iter().all(|o| o.id != a.id) {
                    out.push(a);
                }
            }
        }
    }
    Ok(out)
}

/// The registered version a model artifact was pushed as, if any.
async fn version_of_pushes(
    store: &Store,
    pushed: &[ArtifactRecord],
    model_artifact: Option<&ArtifactRecord>,
) -> Result<Option<ModelVersion>, LineageError> {
    for a in pushed {
        let name = a.properties.get("name").and_then(Value::as_str);
        let version = a.properties.get("version").and_then(Value::as_i64);
        let (Some(name), Some(version)) = (name, version) else {
            continue;
        };
        if let Some(v) = store.model_version(name, version).await? {
            if model_artifact.is_none_or(|m| m.id == v.model_artifact_id) {
                return Ok(Some(v));
            }
        }
    }
    Ok(None)
}

/// Pushes from the `PushedModel` artifacts and the moves of `production` to the version;
/// a move by a deploy joins that deploy's push.
async fn pushes(
    store: &Store,
    pushed: &[ArtifactRecord],
    version: Option<&ModelVersion>,
) -> Result<Vec<PushView>, LineageError> {
    let mut out: Vec<PushView> = pushed
        .iter()
        .map(pushed_view)
        .filter(|p| {
            version.is_none_or(|v| {
                p.version.is_none_or(|n| n == v.version)
                    && p.name.as_deref().is_none_or(|n| n == v.name)
            })
        })
        .collect();
    if let Some(v) = version {
        let mut changes = store.alias_history(&v.name, PRODUCTION).await?;
        changes.reverse();
        for change in changes.iter().filter(|c| c.version == v.version) {
            let run_id = change
                .reason
                .strip_prefix("deploy run ")
                .map(|r| r.trim().to_string());
            let joined = out.iter_mut().find(|p| {
                p.alias.is_none() && run_id.is_some() && p.run_id.as_deref() == run_id.as_deref()
            });
            match joined {
                Some(p) => {
                    p.alias = Some(change.alias.clone());
                    p.reason = Some(change.reason.clone());
                    p.name.get_or_insert_with(|| v.name.clone());
                    p.version.get_or_insert(v.version);
                }
                None => out.push(PushView {
                    name: Some(v.name.clone()),
                    version: Some(v.version),
                    at: time(change.at),
                    dag_id: run_id.as_ref().map(|_| v.dag_id.clone()),
                    run_id,
                    task_id: None,
                    target: None,
                    pushed_artifact_id: None,
                    alias: Some(change.alias.clone()),
                    reason: Some(change.reason.clone()),
                    sort_at: change.at,
                }),
            }
        }
    }
    out.sort_by_key(|p| p.sort_at);
    Ok(out)
}

/// The `Anomalies` artifacts of a run.
async fn validation(store: &Store, run: &RunRef) -> Result<Vec<ValidationView>, LineageError> {
    let operators: HashMap<i64, String> = store
        .executions_of_run(&run.dag_id, &run.run_id)
        .await?
        .into_iter()
        .map(|e| (e.id, e.operator))
        .collect();
    Ok(store
        .artifacts_of_run(&run.dag_id, &run.run_id)
        .await?
        .iter()
        .filter(|a| a.kind == "Anomalies")
        .map(|a| {
            let anomalies = a
                .properties
                .get("anomalies")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let count = a
                .properties
                .get("count")
                .and_then(Value::as_u64)
                .unwrap_or(anomalies.len() as u64);
            ValidationView {
                artifact_id: a.id,
                task_id: a.task_id.clone(),
                operator: operators.get(&a.execution_id).cloned(),
                name: a.name.clone(),
                uri: a.uri.clone(),
                created: time(a.created),
                count,
                passed: count == 0,
                anomalies,
            }
        })
        .collect())
}

async fn lineage_of(
    store: &Store,
    target: &str,
    model: Option<ModelVersion>,
    artifact: ArtifactRecord,
) -> Result<Lineage, LineageError> {
    let produced_by = store.execution(artifact.execution_id).await?;
    let (reached, truncated) = walk_upstream(store, &artifact).await?;

    // The model artifact: the target, else the nearest one upstream (a push's model).
    let model_artifact = if artifact.kind == "Model" {
        Some(&artifact)
    } else {
        reached
            .iter()
            .map(|r| &r.artifact)
            .find(|a| a.kind == "Model")
    };
    let train = match model_artifact {
        Some(m) if m.execution_id == artifact.execution_id => produced_by.clone(),
        Some(m) => store.execution(m.execution_id).await?,
        None => None,
    };
    let pushed = pushed_artifacts(store, &artifact, model_artifact).await?;
    let model = match model {
        Some(v) => Some(v),
        None => version_of_pushes(store, &pushed, model_artifact).await?,
    };

    let run = RunRef {
        dag_id: artifact.dag_id.clone(),
        run_id: artifact.run_id.clone(),
    };
    let code = match &produced_by {
        Some(e) => {
            let dag = store.get_dag(&e.dag_id).await?;
            Some(CodeView {
                operator: e.operator.clone(),
                operator_version: e.operator_version.clone(),
                dag_file: dag.as_ref().map(|d| d.spec.file.clone()),
                dag_file_hash: dag.map(|d| d.file_hash),
            })
        }
        None => None,
    };

    let mut model_view = model.as_ref().map(ModelVersionView::from);
    if let (Some(view), Some(v)) = (model_view.as_mut(), model.as_ref()) {
        view.pushed_artifact_id = push_of_version(store, v).await?;
    }
    Ok(Lineage {
        target: target.to_string(),
        hyperparameters: hyperparameters(model_artifact, train.as_ref(), model.as_ref()),
        pushes: pushes(store, &pushed, model.as_ref()).await?,
        validation: validation(store, &run).await?,
        model: model_view,
        artifact: ArtifactView::from(&artifact),
        produced_by: produced_by.as_ref().map(ExecutionView::from),
        trained_on: reached
            .iter()
            .filter(|r| DATA_KINDS.contains(&r.artifact.kind.as_str()))
            .map(Reached::view)
            .collect(),
        run,
        code,
        upstream: reached.iter().map(Reached::view).collect(),
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cambium_store::{NewArtifact, NewExecution, NewModelVersion};
    use chrono::{DateTime, Utc};
    use serde_json::json;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + secs, 0).expect("time")
    }

    async fn store() -> Store {
        let store = Store::connect("sqlite::memory:").await.expect("connect");
        store.migrate().await.expect("migrate");
        store
    }

    async fn produce(
        store: &Store,
        run: &str,
        task: &str,
        operator: &str,
        options: Value,
        inputs: &[(&str, i64)],
        outputs: &[(&str, &str, Value)],
    ) -> Vec<ArtifactRecord> {
        let e = NewExecution {
            dag_id: "d".into(),
            run_id: run.into(),
            task_id: task.into(),
            try_number: 1,
            operator: operator.into(),
            operator_version: "0.1.0".into(),
            options,
            cache_key: format!("{run}-{task}"),
            cached_from: None,
            started: t(0),
            ended: t(1),
        };
        let inputs: Vec<(String, i64)> = inputs.iter().map(|(r, i)| (r.to_string(), *i)).collect();
        let outputs: Vec<NewArtifact> = outputs
            .iter()
            .map(|(kind, name, properties)| NewArtifact {
                kind: kind.to_string(),
                name: name.to_string(),
                uri: format!("file:///a/{run}/{task}/{name}"),
                fingerprint: format!("sha256:{task}-{name}"),
                properties: properties.clone(),
            })
            .collect();
        store
            .record_execution(&e, &inputs, &outputs)
            .await
            .expect("record")
            .1
    }

    #[test]
    fn targets_parse() {
        assert_eq!(Target::parse("12").ok(), Some(Target::Artifact(12)));
        assert_eq!(
            Target::parse("wine:3").ok(),
            Some(Target::ModelVersion("wine".into(), 3))
        );
        assert_eq!(
            Target::parse("wine@2").ok(),
            Some(Target::ModelVersion("wine".into(), 2))
        );
        assert_eq!(
            Target::parse("wine").ok(),
            Some(Target::Model("wine".into()))
        );
        assert!(matches!(
            Target::parse("wine:x"),
            Err(LineageError::BadTarget(_))
        ));
        assert!(matches!(
            Target::parse(" "),
            Err(LineageError::BadTarget(_))
        ));
    }

    #[tokio::test]
    async fn a_model_version_answers_every_question() {
        let store = store().await;
        let ds = produce(
            &store,
            "r1",
            "query",
            "query",
            json!({}),
            &[],
            &[("Dataset", "rows", json!({}))],
        )
        .await;
        let ex = produce(
            &store,
            "r1",
            "split",
            "example_gen",
            json!({}),
            &[("input", ds[0].id)],
            &[
                ("Examples", "train", json!({})),
                ("Examples", "eval", json!({})),
            ],
        )
        .await;
        produce(
            &store,
            "r1",
            "validate",
            "example_validator",
            json!({}),
            &[("examples", ex[0].id)],
            &[(
                "Anomalies",
                "anomalies",
                json!({"count": 1, "anomalies": [{"feature": "ph"}]}),
            )],
        )
        .await;
        let model = produce(
            &store,
            "r1",
            "train",
            "train",
            json!({"rendered": {"hyperparameters": {"c": 2.0}}}),
            &[("examples", ex[0].id), ("examples", ex[0].id)],
            &[("Model", "model", json!({}))],
        )
        .await;
        let pushed = produce(
            &store,
            "r1",
            "deploy",
            "deploy",
            json!({}),
            &[("model", model[0].id)],
            &[(
                "PushedModel",
                "pushed",
                json!({"name": "wine", "version": 1, "target": "registry"}),
            )],
        )
        .await;
        let new = NewModelVersion {
            name: "wine".into(),
            model_artifact_id: model[0].id,
            pushed_artifact_id: Some(pushed[0].id),
            artifact_uri: model[0].uri.clone(),
            transform_uri: None,
            metrics: Map::new(),
            params: Map::new(),
            dag_id: "d".into(),
            run_id: "r1".into(),
            task_id: "deploy".into(),
        };
        store
            .register_model_version(&new, &[PRODUCTION], "deploy run r1")
            .await
            .expect("register");

        let l = lineage(&store, "wine").await.expect("lineage");
        assert_eq!(l.model.as_ref().map(|m| m.version), Some(1));
        assert_eq!(l.artifact.id, model[0].id);
        assert_eq!(
            l.hyperparameters,
            json!({"c": 2.0}).as_object().cloned().unwrap_or_default()
        );
        let upstream: Vec<(i64, u32)> = l
            .upstream
            .iter()
            .map(|u| (u.artifact.id, u.depth))
            .collect();
        assert_eq!(upstream, vec![(ex[0].id, 1), (ds[0].id, 2)]);
        assert_eq!(l.trained_on.len(), 2);
        assert_eq!(l.validation.len(), 1);
        assert_eq!(l.validation[0].count, 1);
        assert_eq!(l.pushes.len(), 1, "{:?}", l.pushes);
        assert_eq!(l.pushes[0].alias.as_deref(), Some(PRODUCTION));
        assert_eq!(l.pushes[0].pushed_artifact_id, Some(pushed[0].id));
        assert!(!l.truncated);

        // The pushed artifact by id finds the same model version.
        let by_id = lineage(&store, &pushed[0].id.to_string())
            .await
            .expect("lineage");
        assert_eq!(by_id.model.map(|m| m.version), Some(1));
        assert_eq!(by_id.upstream.len(), 3);
        assert_eq!(by_id.hyperparameters.get("c"), Some(&json!(2.0)));

        assert!(matches!(
            lineage(&store, "nope").await,
            Err(LineageError::UnknownModel(_))
        ));
        assert!(matches!(
            lineage(&store, "wine:9").await,
            Err(LineageError::UnknownVersion { .. })
        ));
        assert!(matches!(
            lineage(&store, "9999").await,
            Err(LineageError::UnknownArtifact(9999))
        ));
    }

    #[tokio::test]
    async fn deep_chains_stop_at_the_depth_cap() {
        let store = store().await;
        let mut last = produce(
            &store,
            "r",
            "t0",
            "query",
            json!({}),
            &[],
            &[("Dataset", "d", json!({}))],
        )
        .await;
        for i in 1..=(MAX_DEPTH + 3) {
            last = produce(
                &store,
                "r",
                &format!("t{i}"),
                "export",
                json!({}),
                &[("input", last[0].id)],
                &[("Dataset", "d", json!({}))],
            )
            .await;
        }
        let l = lineage(&store, &last[0].id.to_string())
            .await
            .expect("lineage");
        assert!(l.truncated);
        assert_eq!(l.upstream.len(), MAX_DEPTH as usize);
        assert!(l.model.is_none());
    }
}
