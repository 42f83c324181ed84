//! The JSON routes under `/api/v1`. Shapes are the CLI's `--output json` views; every
//! handler checks the caller's role first and answers bad input with a 400 naming the field.

use super::auth::User;
use super::error::ApiError;
use super::ids::check;
use super::App;
use crate::lineage::{
    lineage, model_version, AliasChangeView, ModelDetail, ModelListItem, PRODUCTION,
};
use crate::service::{self, BackfillPreview};
use crate::{time, DagDetail, DagListItem, ImportErrorView, NextRunView, RunView};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cambium_auth::Role;
use cambium_dag::{RunState, TaskState};
use cambium_scheduler::runs::{
    create_manual_run, plan_backfill, start_backfill, BackfillRequest, Rerun,
};
use cambium_store::{DagRecord, RunFilter, RunRecord};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON body, with serde's complaint (naming the field) as a 400.
pub fn body<T>(body: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    body.map(|Json(b)| b).map_err(ApiError::from)
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    q.map(|Query(q)| q).map_err(ApiError::from)
}

#[utoipa::path(get, path = "/health", tag = "meta",
    responses((status = 200, description = "The server is up", body = crate::web::openapi::Health, example = json!({"status": "ok"}))))]
pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such API route; /api/v1/openapi.json lists them")
}

/// The active DAG with this id, or a 404.
pub async fn dag_or_404(app: &App, dag_id: &str) -> ApiResult<DagRecord> {
    check("dag_id", dag_id)?;
    match app.store.get_dag(dag_id).await? {
        Some(d) if d.active => Ok(d),
        _ => Err(ApiError::not_found(format!(
            "there is no DAG '{dag_id}'; GET /api/v1/dags lists them (and /api/v1/import-errors files that failed to import)"
        ))),
    }
}

#[utoipa::path(get, path = "/api/v1/dags", tag = "dags",
    responses((status = 200, body = [DagListItem])))]
pub async fn list_dags(
    State(app): State<Arc<App>>,
    user: User,
) -> ApiResult<Json<Vec<DagListItem>>> {
    user.require(Role::Viewer)?;
    let dags = app.active_dags().await?;
    Ok(Json(
        service::dag_list(&app.store, &dags, Utc::now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/dags/{dag_id}", tag = "dags",
    params(("dag_id" = String, Path)),
    responses((status = 200, body = DagDetail)))]
pub async fn get_dag(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
) -> ApiResult<Json<DagDetail>> {
    user.require(Role::Viewer)?;
    let dag = dag_or_404(&app, &dag_id).await?;
    Ok(Json(DagDetail::new(&dag.spec, dag.paused)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchDag {
    pub paused: bool,
}

#[utoipa::path(patch, path = "/api/v1/dags/{dag_id}", tag = "dags",
    params(("dag_id" = String, Path)), request_body = PatchDag,
    responses((status = 200, body = DagDetail)))]
pub async fn patch_dag(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
    patch: Result<Json<PatchDag>, JsonRejection>,
) -> ApiResult<Json<DagDetail>> {
    user.require(Role::Op)?;
    let patch = body(patch)?;
    let dag = dag_or_404(&app, &dag_id).await?;
    app.store.set_paused(&dag_id, patch.paused).await?;
    Ok(Json(DagDetail::new(&dag.spec, patch.paused)))
}

/// The text of the file that declares the DAG, read from the DAGs folder (and only from it).
pub async fn source_text(app: &App, dag: &DagRecord) -> ApiResult<String> {
    let Some(folder) = &app.config.dags_folder else {
        return Err(ApiError::not_found(
            "this server was started without a DAGs folder, so it cannot show DAG files",
        ));
    };
    let root = std::fs::canonicalize(folder).map_err(ApiError::internal)?;
    let path = std::fs::canonicalize(root.join(&dag.spec.file)).map_err(|_| {
        ApiError::not_found(format!(
            "the DAG file {} is gone from the DAGs folder",
            dag.spec.file
        ))
    })?;
    if !path.starts_with(&root) {
        return Err(ApiError::not_found(
            "the DAG file is outside the DAGs folder",
        ));
    }
    tokio::fs::read_to_string(&path)
        .await
        .map_err(ApiError::internal)
}

#[utoipa::path(get, path = "/api/v1/dags/{dag_id}/source", tag = "dags",
    params(("dag_id" = String, Path)),
    responses((status = 200, description = "The DAG file's text", body = String, content_type = "text/plain")))]
pub async fn dag_source(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
) -> ApiResult<Response> {
    user.require(Role::Viewer)?;
    let dag = dag_or_404(&app, &dag_id).await?;
    let text = source_text(&app, &dag).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct NextRunsQuery {
    /// How many (1 to 100, default 5).
    #[param(minimum = 1, maximum = 100)]
    pub n: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/dags/{dag_id}/next-runs", tag = "dags",
    params(("dag_id" = String, Path), NextRunsQuery),
    responses((status = 200, body = [NextRunView])))]
pub async fn next_runs(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
    q: Result<Query<NextRunsQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<NextRunView>>> {
    user.require(Role::Viewer)?;
    let q = query(q)?;
    let n = q.n.unwrap_or(5);
    if n == 0 || n > 100 {
        return Err(ApiError::field("n", "n must be between 1 and 100"));
    }
    let dag = dag_or_404(&app, &dag_id).await?;
    Ok(Json(
        service::next_runs(&app.store, &dag.spec, n, Utc::now()).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerRequest {
    /// Overrides of the DAG's params.
    #[serde(default)]
    pub conf: Option<Map<String, Value>>,
    /// RFC 3339, or YYYY-MM-DD in the DAG's time zone; default (empty or null) now.
    #[serde(default)]
    #[schema(schema_with = crate::web::openapi::optional_date_schema)]
    pub logical_date: Option<String>,
}

/// Creates a manual run; shared by the API and the trigger form.
pub async fn trigger(
    app: &App,
    dag: &DagRecord,
    conf: Map<String, Value>,
    logical_date: Option<&str>,
) -> ApiResult<RunRecord> {
    let logical = match logical_date.map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => Some(
            service::parse_time("logical_date", text, &dag.spec)
                .map_err(|m| ApiError::field("logical_date", m))?,
        ),
        None => None,
    };
    let now = Utc::now();
    Ok(create_manual_run(&app.store, &dag.spec, conf, logical, now, false).await?)
}

#[utoipa::path(post, path = "/api/v1/dags/{dag_id}/runs", tag = "runs",
    params(("dag_id" = String, Path)), request_body = TriggerRequest,
    responses((status = 201, body = RunView),
              (status = 409, description = "A run for that logical date exists", body = crate::web::openapi::ErrorBody)))]
pub async fn trigger_run(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
    request: Result<Json<TriggerRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<RunView>)> {
    user.require(Role::Op)?;
    let request = body(request)?;
    let dag = dag_or_404(&app, &dag_id).await?;
    let run = trigger(
        &app,
        &dag,
        request.conf.unwrap_or_default(),
        request.logical_date.as_deref(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(service::run_view(&app.store, &run).await?),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RunsQuery {
    /// queued, running, success or failed (empty: any).
    #[param(value_type = Option<crate::web::openapi::RunStateFilter>)]
    pub state: Option<String>,
    /// At most this many (default 25, at most 1000).
    #[param(minimum = 0, maximum = 1000)]
    pub limit: Option<i64>,
    /// Skip this many, newest first.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

pub fn parse_run_state(text: Option<&str>) -> ApiResult<Vec<RunState>> {
    match text.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(vec![]),
        Some(s) => s
            .parse::<RunState>()
            .map(|s| vec![s])
            .map_err(|m| ApiError::field("state", m)),
    }
}

#[utoipa::path(get, path = "/api/v1/dags/{dag_id}/runs", tag = "runs",
    params(("dag_id" = String, Path), RunsQuery),
    responses((status = 200, body = [RunView])))]
pub async fn list_runs(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
    q: Result<Query<RunsQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<RunView>>> {
    user.require(Role::Viewer)?;
    let q = query(q)?;
    let states = parse_run_state(q.state.as_deref())?;
    let limit = q.limit.unwrap_or(25);
    if !(0..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "limit must be between 0 and 1000"));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::field("offset", "offset must not be negative"));
    }
    dag_or_404(&app, &dag_id).await?;
    let runs = app
        .store
        .list_runs(&RunFilter {
            dag_id: Some(dag_id),
            states,
            limit: Some(limit),
            offset: Some(offset),
            ..RunFilter::default()
        })
        .await?;
    Ok(Json(service::run_views(&app.store, &runs).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RunQuery {
    /// The DAG, when several DAGs have a run with this id.
    pub dag_id: Option<String>,
}

/// The run with this id (of this DAG, when given), or 404; 409 when several DAGs have it.
pub async fn find_run(app: &App, run_id: &str, dag_id: Option<&str>) -> ApiResult<RunRecord> {
    check("run_id", run_id)?;
    if let Some(dag_id) = dag_id {
        check("dag_id", dag_id)?;
        return app
            .store
            .get_run(dag_id, run_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("DAG '{dag_id}' has no run '{run_id}'")));
    }
    let mut found = app.store.find_runs(run_id).await?;
    match found.len() {
        0 => Err(ApiError::not_found(format!("there is no run '{run_id}'"))),
        1 => Ok(found.remove(0)),
        _ => Err(ApiError::conflict(format!(
            "several DAGs have a run '{run_id}'; add ?dag_id= to say which"
        ))
        .with_detail(
            json!({"dag_ids": found.iter().map(|r| r.dag_id.clone()).collect::<Vec<_>>()}),
        )),
    }
}

#[utoipa::path(get, path = "/api/v1/runs/{run_id}", tag = "runs",
    params(("run_id" = String, Path), RunQuery),
    responses((status = 200, body = RunView),
              (status = 409, description = "Several DAGs have a run with this id; add dag_id", body = crate::web::openapi::ErrorBody)))]
pub async fn get_run(
    State(app): State<Arc<App>>,
    user: User,
    Path(run_id): Path<String>,
    q: Result<Query<RunQuery>, QueryRejection>,
) -> ApiResult<Json<RunView>> {
    user.require(Role::Viewer)?;
    let q = query(q)?;
    let run = find_run(&app, &run_id, q.dag_id.as_deref()).await?;
    Ok(Json(service::run_view(&app.store, &run).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearRequest {
    /// Tasks to clear; default all.
    #[serde(default)]
    pub tasks: Vec<String>,
    /// Also clear everything downstream of them.
    #[serde(default)]
    pub downstream: bool,
}

/// Clears tasks of a run so a scheduler runs them again; shared with the task page.
pub async fn clear(
    app: &App,
    run: &RunRecord,
    tasks: &[String],
    downstream: bool,
) -> ApiResult<Value> {
    let dag = dag_or_404(app, &run.dag_id).await?;
    let cleared =
        cambium_scheduler::runs::clear_run_tasks(&app.store, &dag.spec, run.id, tasks, downstream)
            .await?;
    Ok(
        json!({"dag_id": run.dag_id, "run_id": run.run_id, "cleared": cleared.count, "tasks": cleared.tasks}),
    )
}

#[utoipa::path(post, path = "/api/v1/runs/{run_id}/clear", tag = "runs",
    params(("run_id" = String, Path), RunQuery), request_body = ClearRequest,
    responses((status = 200, description = "What was cleared", body = crate::web::openapi::ClearResult),
              (status = 409, description = "Several DAGs have a run with this id; add dag_id", body = crate::web::openapi::ErrorBody)))]
pub async fn clear_run(
    State(app): State<Arc<App>>,
    user: User,
    Path(run_id): Path<String>,
    q: Result<Query<RunQuery>, QueryRejection>,
    request: Result<Json<ClearRequest>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    user.require(Role::Op)?;
    let q = query(q)?;
    let request = body(request)?;
    let run = find_run(&app, &run_id, q.dag_id.as_deref()).await?;
    Ok(Json(
        clear(&app, &run, &request.tasks, request.downstream).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRequest {
    /// success or failed.
    #[schema(value_type = crate::web::openapi::MarkState)]
    pub state: String,
}

/// Marks a task instance success or failed without running it.
pub async fn mark(app: &App, run: &RunRecord, task_id: &str, state: &str) -> ApiResult<RunView> {
    check("task_id", task_id)?;
    let state: TaskState = match state {
        "success" => TaskState::Success,
        "failed" => TaskState::Failed,
        other => {
            return Err(ApiError::field(
                "state",
                format!("state '{other}' cannot be marked; use success or failed"),
            ))
        }
    };
    let tis = app.store.task_instances(run.id).await?;
    let Some(ti) = tis.iter().find(|t| t.task_id == task_id) else {
        return Err(ApiError::not_found(format!(
            "run '{}' of DAG '{}' has no task '{task_id}'",
            run.run_id, run.dag_id
        )));
    };
    app.store
        .mark_task_instance(ti.id, state, Utc::now())
        .await?;
    let run = app
        .store
        .get_run_by_pk(run.id)
        .await?
        .unwrap_or_else(|| run.clone());
    Ok(service::run_view(&app.store, &run).await?)
}

#[utoipa::path(post, path = "/api/v1/runs/{run_id}/tasks/{task_id}/mark", tag = "runs",
    params(("run_id" = String, Path), ("task_id" = String, Path), RunQuery), request_body = MarkRequest,
    responses((status = 200, body = RunView),
              (status = 409, description = "Several DAGs have a run with this id; add dag_id", body = crate::web::openapi::ErrorBody)))]
pub async fn mark_task(
    State(app): State<Arc<App>>,
    user: User,
    Path((run_id, task_id)): Path<(String, String)>,
    q: Result<Query<RunQuery>, QueryRejection>,
    request: Result<Json<MarkRequest>, JsonRejection>,
) -> ApiResult<Json<RunView>> {
    user.require(Role::Op)?;
    let q = query(q)?;
    let request = body(request)?;
    let run = find_run(&app, &run_id, q.dag_id.as_deref()).await?;
    Ok(Json(mark(&app, &run, &task_id, &request.state).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackfillRequestBody {
    /// RFC 3339, or YYYY-MM-DD in the DAG's time zone.
    #[schema(schema_with = crate::web::openapi::date_schema)]
    pub start: String,
    /// As start; not before it.
    #[schema(schema_with = crate::web::openapi::date_schema)]
    pub end: String,
    /// failed, all or none (default none).
    #[serde(default)]
    #[schema(value_type = Option<crate::web::openapi::RerunMode>)]
    pub rerun: Option<String>,
    /// Runs of this backfill at once (default: the DAG's max_active_runs).
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 4294967295.0)]
    pub max_active_runs: Option<u32>,
    /// Only show the runs it would create.
    #[serde(default)]
    pub dry_run: bool,
}

/// The outcome of a backfill request.
pub enum BackfillOutcome {
    Preview(BackfillPreview),
    Started { id: i64, runs: Vec<RunView> },
}

/// Plans a backfill and, unless it is a dry run, starts it; shared with the backfill form.
pub async fn backfill(
    app: &App,
    dag: &DagRecord,
    request: &BackfillRequestBody,
) -> ApiResult<BackfillOutcome> {
    let spec = &dag.spec;
    let start = service::parse_time("start", &request.start, spec)
        .map_err(|m| ApiError::field("start", m))?;
    let end =
        service::parse_time("end", &request.end, spec).map_err(|m| ApiError::field("end", m))?;
    if end < start {
        return Err(ApiError::field("end", "end is before start"));
    }
    let rerun: Rerun = request
        .rerun
        .as_deref()
        .unwrap_or("none")
        .parse()
        .map_err(|m: String| ApiError::field("rerun", m))?;
    if request.max_active_runs == Some(0) {
        return Err(ApiError::field(
            "max_active_runs",
            "max_active_runs must be at least 1",
        ));
    }
    let plan = plan_backfill(&app.store, spec, start, end, rerun).await?;
    if request.dry_run {
        return Ok(BackfillOutcome::Preview(BackfillPreview::new(
            &spec.dag_id,
            &plan,
        )));
    }
    if plan.len() > 10_000 {
        return Err(ApiError::field(
            "end",
            format!(
                "that range has {} intervals; backfill at most 10000 at once",
                plan.len()
            ),
        ));
    }
    let (record, runs) = start_backfill(
        &app.store,
        spec,
        &plan,
        BackfillRequest {
            start,
            end,
            rerun,
            max_active_runs: request.max_active_runs.unwrap_or(spec.max_active_runs),
        },
        Utc::now(),
    )
    .await?;
    Ok(BackfillOutcome::Started {
        id: record.id,
        runs: service::run_views(&app.store, &runs).await?,
    })
}

#[utoipa::path(post, path = "/api/v1/dags/{dag_id}/backfills", tag = "backfills",
    params(("dag_id" = String, Path)), request_body = BackfillRequestBody,
    responses((status = 201, description = "Started", body = crate::web::openapi::BackfillStarted),
              (status = 200, description = "Dry run: the runs it would create", body = BackfillPreview),
              (status = 400, description = "Bad input, or a range the DAG cannot backfill (end before start, no schedule, more than 10000 intervals)", body = crate::web::openapi::ErrorBody)))]
pub async fn create_backfill(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
    request: Result<Json<BackfillRequestBody>, JsonRejection>,
) -> ApiResult<Response> {
    user.require(Role::Op)?;
    let request = body(request)?;
    let dag = dag_or_404(&app, &dag_id).await?;
    Ok(match backfill(&app, &dag, &request).await? {
        BackfillOutcome::Preview(p) => Json(p).into_response(),
        BackfillOutcome::Started { id, runs } => (
            StatusCode::CREATED,
            Json(json!({"backfill_id": id, "dag_id": dag_id, "runs": runs})),
        )
            .into_response(),
    })
}

/// A backfill's progress.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BackfillProgress {
    pub id: i64,
    pub dag_id: String,
    pub start: String,
    pub end: String,
    pub rerun: String,
    pub max_active_runs: u32,
    pub created: String,
    pub total: usize,
    /// Runs that ended (success or failed).
    pub done: usize,
    /// Run count by state.
    pub runs_by_state: BTreeMap<String, usize>,
    pub runs: Vec<BackfillRunBrief>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BackfillRunBrief {
    pub run_id: String,
    pub logical_date: String,
    pub state: String,
}

pub async fn backfill_progress(app: &App, id: i64) -> ApiResult<BackfillProgress> {
    let Some(record) = app.store.get_backfill(id).await? else {
        return Err(ApiError::not_found(format!("there is no backfill {id}")));
    };
    let runs = app
        .store
        .list_runs(&RunFilter {
            backfill_id: Some(id),
            oldest_first: true,
            ..RunFilter::default()
        })
        .await?;
    let mut by_state = BTreeMap::new();
    for s in ["queued", "running", "success", "failed"] {
        by_state.insert(s.to_string(), 0);
    }
    for r in &runs {
        *by_state.entry(r.state.to_string()).or_insert(0) += 1;
    }
    Ok(BackfillProgress {
        id,
        dag_id: record.dag_id,
        start: time(record.start),
        end: time(record.end),
        rerun: record.rerun,
        max_active_runs: record.max_active_runs,
        created: time(record.created_at),
        total: runs.len(),
        done: runs.iter().filter(|r| r.state.is_finished()).count(),
        runs_by_state: by_state,
        runs: runs
            .iter()
            .map(|r| BackfillRunBrief {
                run_id: r.run_id.clone(),
                logical_date: time(r.logical_date),
                state: r.state.to_string(),
            })
            .collect(),
    })
}

#[utoipa::path(get, path = "/api/v1/backfills/{id}", tag = "backfills",
    params(("id" = i64, Path)),
    responses((status = 200, body = BackfillProgress)))]
pub async fn get_backfill(
    State(app): State<Arc<App>>,
    user: User,
    Path(id): Path<String>,
) -> ApiResult<Json<BackfillProgress>> {
    user.require(Role::Viewer)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::field("id", format!("backfill id '{id}' is not a number")))?;
    Ok(Json(backfill_progress(&app, id).await?))
}

#[utoipa::path(get, path = "/api/v1/import-errors", tag = "dags",
    responses((status = 200, body = [ImportErrorView])))]
pub async fn import_errors(
    State(app): State<Arc<App>>,
    user: User,
) -> ApiResult<Json<Vec<ImportErrorView>>> {
    user.require(Role::Viewer)?;
    Ok(Json(
        app.store
            .list_import_errors()
            .await?
            .iter()
            .map(ImportErrorView::from)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/assets", tag = "assets",
    responses((status = 200, description = "Assets with producers, consumers and event counts", body = [crate::assets::AssetView])))]
pub async fn list_assets(
    State(app): State<Arc<App>>,
    user: User,
) -> ApiResult<Json<Vec<crate::assets::AssetView>>> {
    user.require(Role::Viewer)?;
    let dags = app.active_dags().await?;
    let summaries = app.store.asset_summaries().await?;
    Ok(Json(crate::assets::asset_views(&dags, &summaries)))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetEventRequest {
    /// Anything to record with the event.
    #[serde(default)]
    pub extra: Option<Map<String, Value>>,
}

/// Records an asset event and creates the runs it triggers; shared with the assets page.
pub async fn emit_asset(app: &App, name: &str, extra: Map<String, Value>) -> ApiResult<Value> {
    check("name", name)?;
    let (event, runs) =
        cambium_scheduler::assets::emit(&app.store, name, extra, None, Utc::now()).await?;
    Ok(json!({
        "event": crate::assets::AssetEventView::from(&event),
        "runs": runs.iter().map(|r| json!({"dag_id": r.dag_id, "run_id": r.run_id})).collect::<Vec<_>>(),
    }))
}

#[utoipa::path(post, path = "/api/v1/assets/{name}/events", tag = "assets",
    params(("name" = String, Path)), request_body = AssetEventRequest,
    responses((status = 201, description = "The event and the runs it triggered", body = crate::web::openapi::AssetEventCreated)))]
pub async fn post_asset_event(
    State(app): State<Arc<App>>,
    user: User,
    Path(name): Path<String>,
    request: Result<Json<AssetEventRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    user.require(Role::Op)?;
    let request = body(request)?;
    Ok((
        StatusCode::CREATED,
        Json(emit_asset(&app, &name, request.extra.unwrap_or_default()).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/models", tag = "models",
    responses((status = 200, description = "As `models list`", body = [ModelListItem])))]
pub async fn list_models(
    State(app): State<Arc<App>>,
    user: User,
) -> ApiResult<Json<Vec<ModelListItem>>> {
    user.require(Role::Viewer)?;
    let models = app.store.models().await?;
    Ok(Json(models.iter().map(ModelListItem::from).collect()))
}

pub async fn model_detail(app: &App, name: &str) -> ApiResult<ModelDetail> {
    check("name", name)?;
    let versions = app.store.model_versions(name).await?;
    if versions.is_empty() {
        return Err(ApiError::not_found(format!(
            "there is no model named '{name}' in the registry"
        )));
    }
    Ok(ModelDetail::load(&app.store, name, &versions).await?)
}

#[utoipa::path(get, path = "/api/v1/models/{name}", tag = "models",
    params(("name" = String, Path)),
    responses((status = 200, description = "As `models show`", body = ModelDetail)))]
pub async fn get_model(
    State(app): State<Arc<App>>,
    user: User,
    Path(name): Path<String>,
) -> ApiResult<Json<ModelDetail>> {
    user.require(Role::Viewer)?;
    Ok(Json(model_detail(&app, &name).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    pub version: i64,
}

pub async fn promote(app: &App, name: &str, version: i64) -> ApiResult<AliasChangeView> {
    check("name", name)?;
    model_version(&app.store, name, version).await?;
    let change = app
        .store
        .set_alias(name, PRODUCTION, version, "promote")
        .await?;
    Ok(AliasChangeView::from(&change))
}

pub async fn rollback(app: &App, name: &str) -> ApiResult<AliasChangeView> {
    check("name", name)?;
    let change = app
        .store
        .rollback_alias(name, PRODUCTION, "rollback")
        .await?;
    Ok(AliasChangeView::from(&change))
}

#[utoipa::path(post, path = "/api/v1/models/{name}/promote", tag = "models",
    params(("name" = String, Path)), request_body = PromoteRequest,
    responses((status = 200, description = "The alias change", body = AliasChangeView)))]
pub async fn promote_model(
    State(app): State<Arc<App>>,
    user: User,
    Path(name): Path<String>,
    request: Result<Json<PromoteRequest>, JsonRejection>,
) -> ApiResult<Json<AliasChangeView>> {
    user.require(Role::Op)?;
    let request = body(request)?;
    Ok(Json(promote(&app, &name, request.version).await?))
}

#[utoipa::path(post, path = "/api/v1/models/{name}/rollback", tag = "models",
    params(("name" = String, Path)),
    responses((status = 200, description = "The alias change", body = AliasChangeView),
              (status = 409, description = "No production version, or none before it", body = crate::web::openapi::ErrorBody)))]
pub async fn rollback_model(
    State(app): State<Arc<App>>,
    user: User,
    Path(name): Path<String>,
) -> ApiResult<Json<AliasChangeView>> {
    user.require(Role::Op)?;
    Ok(Json(rollback(&app, &name).await?))
}

#[utoipa::path(get, path = "/api/v1/lineage/{artifact_id}", tag = "models",
    params(("artifact_id" = i64, Path)),
    responses((status = 200, description = "As `cambium lineage ID --output json`", body = crate::lineage::Lineage)))]
pub async fn get_lineage(
    State(app): State<Arc<App>>,
    user: User,
    Path(artifact_id): Path<String>,
) -> ApiResult<Json<crate::lineage::Lineage>> {
    user.require(Role::Viewer)?;
    if artifact_id.parse::<i64>().is_err() {
        return Err(ApiError::field(
            "artifact_id",
            format!("artifact id '{artifact_id}' is not a number"),
        ));
    }
    Ok(Json(lineage(&app.store, &artifact_id).await?))
}

// ---------------------------------------------------------------------------------------
// Users (admin only)

/// `POST /api/v1/users`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    /// 1 to 64 characters without '/', '\\', '..', control characters or spaces at either end.
    #[schema(
        pattern = r"^(?!\s)(?!.*\s$)\.?(?:[^./\\\u0000-\u001f\u007f-\u009f]\.?)+$",
        min_length = 1,
        max_length = 64
    )]
    pub name: String,
    /// `viewer`, `op` or `admin`.
    #[schema(value_type = crate::web::openapi::RoleName)]
    pub role: String,
    /// At least 8 characters.
    #[schema(min_length = 8)]
    pub password: String,
}

/// `PATCH /api/v1/users/{name}`: what to change (at least one of them).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct PatchUserRequest {
    /// `viewer`, `op` or `admin`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = crate::web::openapi::RoleName, required = false)]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "present")]
    /// At least 8 characters.
    #[schema(value_type = String, min_length = 8, required = false)]
    pub password: Option<String>,
}

/// A field that may be left out but, when sent, is not `null`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

fn parse_role(text: &str) -> ApiResult<Role> {
    text.parse::<Role>()
        .map_err(|_| ApiError::field("role", format!("role '{text}' is not viewer, op or admin")))
}

/// An argon2 hash of a new password, off the async runtime (it costs tens of ms on purpose).
async fn new_password_hash(password: String) -> ApiResult<String> {
    cambium_auth::check_new_password(&password)
        .map_err(|e| ApiError::field("password", e.to_string()))?;
    tokio::task::spawn_blocking(move || cambium_auth::hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// Creates a user; shared with the users page.
pub async fn create_user(app: &App, request: NewUserRequest) -> ApiResult<crate::UserView> {
    cambium_auth::check_user_name(&request.name).map_err(|m| ApiError::field("name", m))?;
    let role = parse_role(&request.role)?;
    if app.store.user_by_name(&request.name).await?.is_some() {
        return Err(cambium_store::Error::UserExists(request.name).into());
    }
    let hash = new_password_hash(request.password).await?;
    let user = app
        .store
        .create_user(&request.name, role.as_str(), &hash, Utc::now())
        .await?;
    Ok(crate::UserView::from(&user))
}

/// The user with this name, or a 404 saying how to list them.
pub(super) async fn user_or_404(app: &App, name: &str) -> ApiResult<cambium_store::UserRecord> {
    check("name", name)?;
    app.store
        .user_by_name(name)
        .await?
        .ok_or_else(|| cambium_store::Error::UnknownUser(name.to_string()).into())
}

/// A 409 when `user` is the only admin: someone must always be able to manage users.
async fn refuse_the_last_admin(app: &App, user: &cambium_store::UserRecord) -> ApiResult<()> {
    if user.role != Role::Admin.as_str() {
        return Ok(());
    }
    let admins = app
        .store
        .users()
        .await?
        .iter()
        .filter(|u| u.role == Role::Admin.as_str())
        .count();
    if admins <= 1 {
        return Err(ApiError::conflict(format!(
            "'{}' is the only admin; make another user admin first",
            user.name
        )));
    }
    Ok(())
}

/// Deletes a user with its tokens and sessions; shared with the users page. Nobody deletes
/// themselves (another admin can), nor the last admin.
pub async fn delete_user(app: &App, caller: &User, name: &str) -> ApiResult<()> {
    let existing = user_or_404(app, name).await?;
    if existing.id == caller.id {
        return Err(ApiError::conflict(
            "you cannot delete yourself; another admin can",
        ));
    }
    refuse_the_last_admin(app, &existing).await?;
    Ok(app.store.delete_user(name).await?)
}

/// Changes a user's role and/or password; shared with the users page. An admin cannot take
/// the admin role from the last admin, so someone can always manage users.
pub async fn update_user(
    app: &App,
    name: &str,
    request: PatchUserRequest,
) -> ApiResult<crate::UserView> {
    let existing = user_or_404(app, name).await?;
    if request.role.is_none() && request.password.is_none() {
        return Err(ApiError::bad_request(
            "nothing to change: send \"role\" and/or \"password\"",
        ));
    }
    let role = request.role.as_deref().map(parse_role).transpose()?;
    if role.is_some_and(|r| r != Role::Admin) {
        refuse_the_last_admin(app, &existing).await?;
    }
    if let Some(password) = request.password {
        let hash = new_password_hash(password).await?;
        app.store.set_user_password(name, &hash).await?;
    }
    if let Some(role) = role {
        app.store.set_user_role(name, role.as_str()).await?;
    }
    Ok(crate::UserView::from(&user_or_404(app, name).await?))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<crate::UserView>), (status = 403, description = "Only admins manage users", body = crate::web::openapi::ErrorBody)))]
pub async fn list_users(
    State(app): State<Arc<App>>,
    user: User,
) -> ApiResult<Json<Vec<crate::UserView>>> {
    user.require(Role::Admin)?;
    let users = app.store.users().await?;
    Ok(Json(users.iter().map(crate::UserView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserRequest,
    responses((status = 201, body = crate::UserView),
              (status = 409, description = "There is a user with this name", body = crate::web::openapi::ErrorBody)))]
pub async fn post_user(
    State(app): State<Arc<App>>,
    user: User,
    request: Result<Json<NewUserRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<crate::UserView>)> {
    user.require(Role::Admin)?;
    let request = body(request)?;
    Ok((StatusCode::CREATED, Json(create_user(&app, request).await?)))
}

#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "users",
    params(("name" = String, Path)), request_body = PatchUserRequest,
    responses((status = 200, body = crate::UserView),
              (status = 409, description = "That would leave no admin", body = crate::web::openapi::ErrorBody)))]
pub async fn patch_user(
    State(app): State<Arc<App>>,
    user: User,
    Path(name): Path<String>,
    request: Result<Json<PatchUserRequest>, JsonRejection>,
) -> ApiResult<Json<crate::UserView>> {
    user.require(Role::Admin)?;
    let request = body(request)?;
    Ok(Json(update_user(&app, &name, request).await?))
}

#[utoipa::path(delete, path = "/api/v1/users/{name}", tag = "users",
    params(("name" = String, Path)),
    responses((status = 204, description = "Deleted, with its API tokens and sessions"),
              (status = 409, description = "That is you, or the last admin", body = crate::web::openapi::ErrorBody)))]
pub async fn remove_user(
    State(app): State<Arc<App>>,
    user: User,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    user.require(Role::Admin)?;
    delete_user(&app, &user, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
