//! The server-rendered pages. Each reads what it shows in a fixed number of queries
//! (no N+1 over DAGs, runs or tasks), renders a template, and works without JavaScript; the
//! small script in `/static/app.js` only adds live updates (log tail, run state polling).
//! Forms that change something carry the session's CSRF token and redirect after success.

use super::api::{self, dag_or_404, find_run, BackfillOutcome, BackfillRequestBody};
use super::auth::User;
use super::error::ApiError;
use super::ids::check;
use super::templates::segment;
use super::App;
use crate::lineage::{current_version, ModelVersionView, PRODUCTION};
use crate::service;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use cambium_auth::Role;
use cambium_store::{RunFilter, RunRecord};
use chrono::Utc;
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// A page's failure: the error page with the API error's status and message.
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError(e)
    }
}

impl From<cambium_store::Error> for PageError {
    fn from(e: cambium_store::Error) -> Self {
        PageError(e.into())
    }
}

/// HTML-escapes text for markup written outside templates (minijinja's own escaping).
fn escape(text: &str) -> String {
    minijinja::HtmlEscape(text).to_string()
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        let title = e.status.canonical_reason().unwrap_or("Error");
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · Cambium</title>\
             <link rel=\"stylesheet\" href=\"/static/app.css\"></head><body><main class=\"error-page\">\
             <h1>{} {title}</h1><p id=\"error-message\">{}</p><p><a href=\"/\">Back to the DAGs</a></p></main></body></html>",
            e.status.as_u16(),
            escape(&e.error)
        );
        (e.status, Html(body)).into_response()
    }
}

type PageResult = Result<Response, PageError>;

/// What every page's header needs about the user.
#[derive(Debug, Serialize)]
struct Me {
    name: String,
    role: String,
    csrf: String,
    op: bool,
    admin: bool,
}

fn me(user: &User) -> Me {
    Me {
        name: user.name.clone(),
        role: user.role.as_str().to_string(),
        csrf: user.csrf.clone().unwrap_or_default(),
        op: user.role.allows(Role::Op),
        admin: user.role.allows(Role::Admin),
    }
}

fn render(app: &App, name: &str, ctx: minijinja::Value) -> PageResult {
    Ok(app.templates.render(name, ctx)?.into_response())
}

fn render_status(app: &App, status: StatusCode, name: &str, ctx: minijinja::Value) -> PageResult {
    Ok((status, app.templates.render(name, ctx)?).into_response())
}

pub async fn not_found() -> PageError {
    PageError(ApiError::not_found("There is no such page."))
}

// ---------------------------------------------------------------------------------------
// The DAG list

#[derive(Debug, Deserialize)]
pub struct DagListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
    /// all, active or paused.
    #[serde(default)]
    show: String,
}

#[derive(Debug, Serialize)]
struct DagRow {
    dag_id: String,
    file: String,
    schedule: Option<String>,
    timezone: String,
    paused: bool,
    next_run: Option<String>,
    tags: Vec<String>,
    tasks: usize,
    owner: Option<String>,
    href: String,
    dots: minijinja::Value,
}

pub async fn dag_list(
    State(app): State<Arc<App>>,
    user: User,
    Query(q): Query<DagListQuery>,
) -> PageResult {
    user.require(Role::Viewer)?;
    let dags = app.active_dags().await?;
    let items = service::dag_list(&app.store, &dags, Utc::now()).await?;
    let recent = app.store.recent_runs_by_dag(10).await?;
    let errors = app.store.list_import_errors().await?;
    let needle = q.q.trim().to_lowercase();
    let mut all_tags = BTreeSet::new();
    let mut rows = Vec::with_capacity(items.len());
    for (item, dag) in items.into_iter().zip(&dags) {
        all_tags.extend(item.tags.iter().cloned());
        if !needle.is_empty()
            && !item.dag_id.to_lowercase().contains(&needle)
            && !item.tags.iter().any(|t| t.to_lowercase().contains(&needle))
            && !dag
                .spec
                .owner
                .as_deref()
                .unwrap_or("")
                .to_lowercase()
                .contains(&needle)
        {
            continue;
        }
        if !q.tag.is_empty() && !item.tags.contains(&q.tag) {
            continue;
        }
        match q.show.as_str() {
            "active" if item.paused => continue,
            "paused" if !item.paused => continue,
            _ => {}
        }
        // The dots are written here rather than in the template: 10,000 of them on a list
        // of 1,000 DAGs.
        let dag_seg = segment(&item.dag_id);
        let mut dots = String::new();
        if let Some(runs) = recent.get(&item.dag_id) {
            for r in runs.iter().rev() {
                let state = escape(&r.state);
                dots.push_str(&format!(
                    "<a class=\"dot state-{state}\" title=\"{}: {state}\" href=\"/dags/{dag_seg}/runs/{}\"></a>",
                    escape(&r.run_id),
                    segment(&r.run_id)
                ));
            }
        }
        rows.push(DagRow {
            dag_id: item.dag_id,
            file: item.file,
            schedule: item.schedule,
            timezone: item.timezone,
            paused: item.paused,
            next_run: item.next_run,
            tags: item.tags,
            tasks: item.tasks,
            owner: dag.spec.owner.clone(),
            href: format!("/dags/{dag_seg}"),
            dots: minijinja::Value::from_safe_string(dots),
        });
    }
    let error_files: BTreeSet<&str> = errors.iter().map(|e| e.file.as_str()).collect();
    render(
        &app,
        "dags.html",
        context! {
            me => me(&user), dags => rows, total => dags.len(), q => q.q, tag => q.tag,
            show => q.show, tags => all_tags, import_error_files => error_files.len(),
            import_errors => errors.iter().map(crate::ImportErrorView::from).collect::<Vec<_>>(),
        },
    )
}

pub async fn import_errors(State(app): State<Arc<App>>, user: User) -> PageResult {
    user.require(Role::Viewer)?;
    let errors = app.store.list_import_errors().await?;
    render(
        &app,
        "import_errors.html",
        context! { me => me(&user),
        errors => errors.iter().map(crate::ImportErrorView::from).collect::<Vec<_>>() },
    )
}

// ---------------------------------------------------------------------------------------
// A DAG: grid, graph, code, runs

#[derive(Debug, Serialize)]
struct DagHeader {
    dag_id: String,
    file: String,
    schedule: Option<String>,
    timezone: String,
    paused: bool,
    description: Option<String>,
    owner: Option<String>,
    tags: Vec<String>,
    next_run: Option<String>,
}

async fn dag_header(app: &App, dag: &cambium_store::DagRecord) -> Result<DagHeader, PageError> {
    let next = service::next_run_after(&app.store, &dag.spec, Utc::now()).await?;
    Ok(DagHeader {
        dag_id: dag.spec.dag_id.clone(),
        file: dag.spec.file.clone(),
        schedule: dag.spec.schedule.clone(),
        timezone: dag.spec.timezone.clone(),
        paused: dag.paused,
        description: dag.spec.description.clone(),
        owner: dag.spec.owner.clone(),
        tags: dag.spec.tags.clone(),
        next_run: next.map(|t| crate::time_in(t, &dag.spec.timezone)),
    })
}

#[derive(Debug, Deserialize)]
pub struct GridQuery {
    runs: Option<String>,
}

pub async fn grid(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
    Query(q): Query<GridQuery>,
) -> PageResult {
    user.require(Role::Viewer)?;
    let n: i64 = match q.runs.as_deref() {
        None | Some("") => 25,
        Some(t) => t
            .parse()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ApiError::field("runs", "runs must be a number from 1 to 100"))?,
    };
    let dag = dag_or_404(&app, &dag_id).await?;
    let mut runs = app
        .store
        .list_runs(&RunFilter {
            dag_id: Some(dag_id.clone()),
            limit: Some(n),
            ..RunFilter::default()
        })
        .await?;
    runs.reverse(); // oldest on the left, as Airflow's grid
    let pks: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let mut cells: HashMap<(i64, &str), cambium_store::TaskCell> = HashMap::new();
    let fetched = app.store.task_cells_of_runs(&pks).await?;
    let task_ids: Vec<&str> = dag.spec.tasks.iter().map(|t| t.task_id.as_str()).collect();
    for cell in fetched {
        // Key by the spec's own task id (cells of removed tasks are not shown).
        if let Some(id) = task_ids.iter().find(|id| **id == cell.task_id) {
            cells.insert((cell.run_pk, id), cell);
        }
    }
    let body = grid_body(&dag_id, &dag.spec, &runs, &cells);
    let run_cols: Vec<Value> = runs.iter().map(run_brief).collect();
    let active = runs.iter().any(|r| !r.state.is_finished());
    render(
        &app,
        "grid.html",
        context! {
            me => me(&user), dag => dag_header(&app, &dag).await?, tab => "grid",
            runs => run_cols, grid_body => minijinja::Value::from_safe_string(body),
            active => active, n => n,
        },
    )
}

/// The grid's rows as HTML, written directly: 5,000 cells through the template engine
/// would cost more than everything else on the page. Every value is escaped.
fn grid_body(
    dag_id: &str,
    spec: &cambium_dag::DagSpec,
    runs: &[RunRecord],
    cells: &HashMap<(i64, &str), cambium_store::TaskCell>,
) -> String {
    use std::fmt::Write;
    let dag_seg = segment(dag_id);
    let run_parts: Vec<(String, String)> = runs
        .iter()
        .map(|r| (segment(&r.run_id), escape(&r.run_id)))
        .collect();
    let mut out = String::with_capacity(spec.tasks.len() * runs.len() * 200);
    for t in &spec.tasks {
        let task_html = escape(&t.task_id);
        let task_seg = segment(&t.task_id);
        let _ = write!(
            out,
            "<tr data-task-id=\"{task_html}\"><th class=\"task-col\">{task_html} <span class=\"sub\">{}</span></th>",
            escape(&t.operator)
        );
        for (r, (run_seg, run_html)) in runs.iter().zip(&run_parts) {
            match cells.get(&(r.id, t.task_id.as_str())) {
                Some(c) => {
                    let state = escape(&c.state);
                    let _ = write!(
                        out,
                        "<td><a class=\"cell state-{state}\" data-task-id=\"{task_html}\" data-run-id=\"{run_html}\" data-state=\"{state}\" href=\"/dags/{dag_seg}/runs/{run_seg}/tasks/{task_seg}\" title=\"{task_html}: {state}, try {}\"></a></td>",
                        c.try_number
                    );
                }
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out
}

fn run_brief(r: &RunRecord) -> Value {
    json!({
        "run_id": r.run_id, "state": r.state.to_string(), "run_type": r.run_type.to_string(),
        "logical_date": crate::time(r.logical_date),
        "start": r.start_at.map(crate::time), "end": r.end_at.map(crate::time),
        "duration_ms": match (r.start_at, r.end_at) {
            (Some(s), Some(e)) => Some((e - s).num_milliseconds()),
            _ => None,
        },
    })
}

#[derive(Debug, Deserialize)]
pub struct GraphQuery {
    run_id: Option<String>,
}

pub async fn graph(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
    Query(q): Query<GraphQuery>,
) -> PageResult {
    user.require(Role::Viewer)?;
    let dag = dag_or_404(&app, &dag_id).await?;
    let run = match q.run_id.as_deref().filter(|s| !s.is_empty()) {
        Some(run_id) => Some(find_run(&app, run_id, Some(&dag_id)).await?),
        None => app
            .store
            .list_runs(&RunFilter {
                dag_id: Some(dag_id.clone()),
                limit: Some(1),
                ..RunFilter::default()
            })
            .await?
            .into_iter()
            .next(),
    };
    let states: HashMap<String, String> = match &run {
        Some(r) => app
            .store
            .task_instances(r.id)
            .await?
            .into_iter()
            .map(|t| (t.task_id.clone(), t.state.to_string()))
            .collect(),
        None => HashMap::new(),
    };
    let graph = cambium_svg::Graph {
        nodes: dag
            .spec
            .tasks
            .iter()
            .map(|t| cambium_svg::Node {
                id: t.task_id.clone(),
                label: t.task_id.clone(),
                kind: "task".to_string(),
                state: states.get(&t.task_id).cloned(),
                href: run.as_ref().map(|r| {
                    format!(
                        "/dags/{}/runs/{}/tasks/{}",
                        segment(&dag_id),
                        segment(&r.run_id),
                        segment(&t.task_id)
                    )
                }),
                tooltip: Some(format!(
                    "{} ({}){}",
                    t.task_id,
                    t.operator,
                    states
                        .get(&t.task_id)
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default()
                )),
            })
            .collect(),
        edges: dag
            .spec
            .edges
            .iter()
            .map(|(a, b)| cambium_svg::Edge {
                from: a.clone(),
                to: b.clone(),
            })
            .collect(),
    };
    let svg = cambium_svg::graph_svg(&graph, &cambium_svg::GraphStyle::default())
        .map_err(ApiError::internal)?;
    render(
        &app,
        "graph.html",
        context! {
            me => me(&user), dag => dag_header(&app, &dag).await?, tab => "graph",
            svg => minijinja::Value::from_safe_string(svg), run => run.as_ref().map(run_brief),
        },
    )
}

pub async fn code(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
) -> PageResult {
    user.require(Role::Viewer)?;
    let dag = dag_or_404(&app, &dag_id).await?;
    let (source, problem) = match api::source_text(&app, &dag).await {
        Ok(text) => (Some(text), None),
        Err(e) => (None, Some(e.error)),
    };
    render(
        &app,
        "code.html",
        context! {
            me => me(&user), dag => dag_header(&app, &dag).await?, tab => "code",
            source => source, problem => problem,
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct RunsPageQuery {
    state: Option<String>,
    page: Option<String>,
}

const RUNS_PER_PAGE: i64 = 50;

pub async fn runs(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
    Query(q): Query<RunsPageQuery>,
) -> PageResult {
    user.require(Role::Viewer)?;
    let states = api::parse_run_state(q.state.as_deref())?;
    let page: i64 = match q.page.as_deref() {
        None | Some("") => 1,
        Some(t) => t
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| ApiError::field("page", "page must be a number from 1"))?,
    };
    let dag = dag_or_404(&app, &dag_id).await?;
    let runs = app
        .store
        .list_runs(&RunFilter {
            dag_id: Some(dag_id.clone()),
            states,
            limit: Some(RUNS_PER_PAGE + 1),
            offset: Some((page - 1) * RUNS_PER_PAGE),
            ..RunFilter::default()
        })
        .await?;
    let more = runs.len() as i64 > RUNS_PER_PAGE;
    let shown: Vec<RunRecord> = runs.into_iter().take(RUNS_PER_PAGE as usize).collect();
    // The duration chart: the last runs' task durations, oldest first.
    let mut chart_runs = app
        .store
        .list_runs(&RunFilter {
            dag_id: Some(dag_id.clone()),
            limit: Some(50),
            ..RunFilter::default()
        })
        .await?;
    chart_runs.reverse();
    let chart = duration_chart(&app, &dag.spec, &chart_runs).await?;
    render(
        &app,
        "runs.html",
        context! {
            me => me(&user), dag => dag_header(&app, &dag).await?, tab => "runs",
            runs => shown.iter().map(run_brief).collect::<Vec<_>>(), page => page, more => more,
            state => q.state.unwrap_or_default(),
            chart => minijinja::Value::from_safe_string(chart),
        },
    )
}

/// Task durations over runs as an SVG line chart (seconds; one line per task).
async fn duration_chart(
    app: &App,
    spec: &cambium_dag::DagSpec,
    runs: &[RunRecord],
) -> Result<String, PageError> {
    let pks: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let mut by_key: HashMap<(i64, String), i64> = HashMap::new();
    for cell in app.store.task_cells_of_runs(&pks).await? {
        if let Some(ms) = cell.duration_ms {
            by_key.insert((cell.run_pk, cell.task_id), ms);
        }
    }
    let chart = cambium_svg::DurationChart {
        runs: runs.iter().map(|r| crate::time(r.logical_date)).collect(),
        tasks: spec
            .tasks
            .iter()
            .take(50)
            .map(|t| cambium_svg::TaskDurations {
                task_id: t.task_id.clone(),
                seconds: runs
                    .iter()
                    .map(|r| {
                        by_key
                            .get(&(r.id, t.task_id.clone()))
                            .map(|ms| *ms as f64 / 1000.0)
                    })
                    .collect(),
            })
            .collect(),
        width: 900,
        height: 320,
    };
    cambium_svg::duration_chart_svg(&chart).map_err(|e| PageError(ApiError::internal(e)))
}

#[derive(Debug, Deserialize)]
pub struct PauseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    paused: String,
    #[serde(default)]
    back: String,
}

pub async fn pause(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
    Form(form): Form<PauseForm>,
) -> PageResult {
    user.require(Role::Op)?;
    user.check_csrf(&form.csrf)?;
    dag_or_404(&app, &dag_id).await?;
    let paused = matches!(form.paused.as_str(), "true" | "1" | "on" | "yes");
    app.store.set_paused(&dag_id, paused).await?;
    let back = if form.back == "list" {
        "/".to_string()
    } else {
        format!("/dags/{}", segment(&dag_id))
    };
    Ok(Redirect::to(&back).into_response())
}

// ---------------------------------------------------------------------------------------
// Trigger and backfill forms

#[derive(Debug, Default, Deserialize)]
pub struct TriggerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    conf: String,
    #[serde(default)]
    logical_date: String,
}

pub async fn trigger_form(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
) -> PageResult {
    user.require(Role::Viewer)?;
    let dag = dag_or_404(&app, &dag_id).await?;
    let conf = serde_json::to_string_pretty(&dag.spec.params).unwrap_or_else(|_| "{}".into());
    render(
        &app,
        "trigger.html",
        context! {
            me => me(&user), dag => dag_header(&app, &dag).await?, tab => "trigger",
            conf => conf, logical_date => "", error => None::<String>,
            params => dag.spec.params.clone(),
        },
    )
}

pub async fn trigger(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
    Form(form): Form<TriggerForm>,
) -> PageResult {
    user.require(Role::Op)?;
    user.check_csrf(&form.csrf)?;
    let dag = dag_or_404(&app, &dag_id).await?;
    let attempt = async {
        let conf =
            service::parse_conf("conf", &form.conf).map_err(|m| ApiError::field("conf", m))?;
        api::trigger(&app, &dag, conf, Some(&form.logical_date)).await
    };
    match attempt.await {
        Ok(run) => Ok(Redirect::to(&format!(
            "/dags/{}/runs/{}",
            segment(&dag_id),
            segment(&run.run_id)
        ))
        .into_response()),
        Err(e) if e.status.is_client_error() => render_status(
            &app,
            e.status,
            "trigger.html",
            context! {
                me => me(&user), dag => dag_header(&app, &dag).await?, tab => "trigger",
                conf => form.conf, logical_date => form.logical_date, error => e.error,
                params => dag.spec.params.clone(),
            },
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct BackfillForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    rerun: String,
    #[serde(default)]
    max_active_runs: String,
    /// `preview` or `start`.
    #[serde(default)]
    action: String,
}

#[derive(Debug, Deserialize)]
pub struct BackfillPageQuery {
    backfill: Option<String>,
}

pub async fn backfill_form(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
    Query(q): Query<BackfillPageQuery>,
) -> PageResult {
    user.require(Role::Viewer)?;
    let dag = dag_or_404(&app, &dag_id).await?;
    let progress = match q.backfill.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => {
            let id: i64 = text
                .parse()
                .map_err(|_| ApiError::field("backfill", "backfill must be a backfill id"))?;
            let p = api::backfill_progress(&app, id).await?;
            if p.dag_id != dag_id {
                return Err(
                    ApiError::not_found(format!("DAG '{dag_id}' has no backfill {id}")).into(),
                );
            }
            Some(p)
        }
        None => None,
    };
    let form = BackfillForm {
        rerun: "none".into(),
        max_active_runs: dag.spec.max_active_runs.to_string(),
        ..BackfillForm::default()
    };
    render(
        &app,
        "backfill.html",
        context! {
            me => me(&user), dag => dag_header(&app, &dag).await?, tab => "backfill",
            form => form, preview => None::<Value>, error => None::<String>,
            progress => progress,
        },
    )
}

pub async fn backfill(
    State(app): State<Arc<App>>,
    user: User,
    Path(dag_id): Path<String>,
    Form(form): Form<BackfillForm>,
) -> PageResult {
    user.require(Role::Op)?;
    user.check_csrf(&form.csrf)?;
    let dag = dag_or_404(&app, &dag_id).await?;
    let max_active_runs = match form.max_active_runs.trim() {
        "" => Ok(None),
        t => t.parse::<u32>().map(Some).map_err(|_| {
            ApiError::field("max_active_runs", "max_active_runs must be a whole number")
        }),
    };
    let result = match max_active_runs {
        Ok(max_active_runs) => {
            let request = BackfillRequestBody {
                start: form.start.clone(),
                end: form.end.clone(),
                rerun: Some(if form.rerun.is_empty() {
                    "none".into()
                } else {
                    form.rerun.clone()
                }),
                max_active_runs,
                dry_run: form.action != "start",
            };
            api::backfill(&app, &dag, &request).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(BackfillOutcome::Started { id, .. }) => Ok(Redirect::to(&format!(
            "/dags/{}/backfill?backfill={id}",
            segment(&dag_id)
        ))
        .into_response()),
        Ok(BackfillOutcome::Preview(preview)) => render(
            &app,
            "backfill.html",
            context! {
                me => me(&user), dag => dag_header(&app, &dag).await?, tab => "backfill",
                form => form, preview => preview, error => None::<String>, progress => None::<Value>,
            },
        ),
        Err(e) if e.status.is_client_error() => render_status(
            &app,
            e.status,
            "backfill.html",
            context! {
                me => me(&user), dag => dag_header(&app, &dag).await?, tab => "backfill",
                form => form, preview => None::<Value>, error => e.error, progress => None::<Value>,
            },
        ),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------
// A run, a task try

pub async fn run(
    State(app): State<Arc<App>>,
    user: User,
    Path((dag_id, run_id)): Path<(String, String)>,
) -> PageResult {
    user.require(Role::Viewer)?;
    let dag = dag_or_404(&app, &dag_id).await?;
    let run = find_run(&app, &run_id, Some(&dag_id)).await?;
    let view = service::run_view(&app.store, &run).await?;
    render(
        &app,
        "run.html",
        context! {
            me => me(&user), dag => dag_header(&app, &dag).await?, tab => "runs",
            run => view, active => !run.state.is_finished(),
            conf => serde_json::to_string_pretty(&run.conf).unwrap_or_default(),
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct TryQuery {
    #[serde(rename = "try")]
    try_number: Option<String>,
}

/// Strings known to be secret, masked in what a page shows.
fn mask(app: &App, text: String) -> String {
    app.config
        .secrets
        .iter()
        .filter(|s| s.len() >= 4)
        .fold(text, |t, s| t.replace(s.as_str(), "***"))
}

pub async fn task_try(
    State(app): State<Arc<App>>,
    user: User,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    Query(q): Query<TryQuery>,
) -> PageResult {
    user.require(Role::Viewer)?;
    let dag = dag_or_404(&app, &dag_id).await?;
    let (ti, try_number, log_path) = super::logs::locate(
        &app,
        Some(&dag_id),
        &run_id,
        &task_id,
        q.try_number.as_deref(),
    )
    .await?;
    let run = find_run(&app, &run_id, Some(&dag_id)).await?;
    let tries = app.store.tries(ti.id).await?;
    let this_try = tries.iter().find(|t| t.try_number == try_number);
    let task = dag.spec.task(&task_id);
    // What the try ran with: the rendered request the executor was given.
    let try_dir = app
        .config
        .home
        .try_dir(&dag_id, &run.run_id, &task_id, try_number);
    let rendered = tokio::fs::read_to_string(try_dir.join("spec.json"))
        .await
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .map(|v| {
            let shown = json!({
                "argv": v.get("argv"),
                "operator": v.get("operator"),
                "timeout_ms": v.get("timeout"),
            });
            mask(
                &app,
                serde_json::to_string_pretty(&shown).unwrap_or_default(),
            )
        });
    let declared = task.map(|t| serde_json::to_string_pretty(&t.options).unwrap_or_default());
    // Artifacts this task read and wrote in this run.
    let executions = app.store.executions_of_run(&dag_id, &run.run_id).await?;
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    for e in executions
        .iter()
        .filter(|e| e.task_id == task_id && e.try_number == try_number)
    {
        for (role, a) in app.store.execution_inputs(e.id).await? {
            inputs.push(
                json!({"role": role, "id": a.id, "kind": a.kind, "name": a.name,
                "uri": a.uri, "task_id": a.task_id}),
            );
        }
        for a in app.store.execution_outputs(e.id).await? {
            outputs.push(json!({"id": a.id, "kind": a.kind, "name": a.name, "uri": a.uri}));
        }
    }
    let (log, truncated) = super::logs::tail(&log_path, 256 * 1024).await;
    let active = ti.try_number == try_number && ti.state.is_active();
    let ti_view = json!({
        "task_id": ti.task_id, "state": ti.state.to_string(), "try_number": ti.try_number,
        "max_tries": ti.max_tries, "operator": task.map(|t| t.operator.clone()),
        "start": this_try.and_then(|t| t.start_at).or(ti.start_at).map(crate::time),
        "end": this_try.and_then(|t| t.end_at).or(ti.end_at).map(crate::time),
        "duration_ms": ti.duration_ms, "exit_code": ti.exit_code, "error": ti.error,
        "hostname": ti.hostname,
        "output": ti.output.as_ref().map(|o| serde_json::to_string_pretty(o).unwrap_or_default()),
        "metrics": ti.metrics,
    });
    render(
        &app,
        "task.html",
        context! {
            me => me(&user), dag => dag_header(&app, &dag).await?, tab => "runs",
            run => run_brief(&run), ti => ti_view, try_number => try_number,
            tries => (1..=ti.try_number.max(1)).collect::<Vec<u32>>(),
            rendered => rendered, declared => declared, inputs => inputs, outputs => outputs,
            log => mask(&app, log), log_truncated => truncated, active => active,
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct ClearForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    downstream: String,
}

pub async fn clear_task(
    State(app): State<Arc<App>>,
    user: User,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    Form(form): Form<ClearForm>,
) -> PageResult {
    user.require(Role::Op)?;
    user.check_csrf(&form.csrf)?;
    check("task_id", &task_id)?;
    let run = find_run(&app, &run_id, Some(&dag_id)).await?;
    let downstream = matches!(form.downstream.as_str(), "on" | "true" | "1" | "yes");
    api::clear(&app, &run, std::slice::from_ref(&task_id), downstream).await?;
    Ok(Redirect::to(&task_url(&dag_id, &run.run_id, &task_id)).into_response())
}

fn task_url(dag_id: &str, run_id: &str, task_id: &str) -> String {
    format!(
        "/dags/{}/runs/{}/tasks/{}",
        segment(dag_id),
        segment(run_id),
        segment(task_id)
    )
}

#[derive(Debug, Deserialize)]
pub struct MarkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    state: String,
}

pub async fn mark_task(
    State(app): State<Arc<App>>,
    user: User,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    Form(form): Form<MarkForm>,
) -> PageResult {
    user.require(Role::Op)?;
    user.check_csrf(&form.csrf)?;
    let run = find_run(&app, &run_id, Some(&dag_id)).await?;
    api::mark(&app, &run, &task_id, &form.state).await?;
    Ok(Redirect::to(&task_url(&dag_id, &run.run_id, &task_id)).into_response())
}

// ---------------------------------------------------------------------------------------
// Models

pub async fn models(State(app): State<Arc<App>>, user: User) -> PageResult {
    user.require(Role::Viewer)?;
    let models = app.store.models().await?;
    let items: Vec<crate::lineage::ModelListItem> = models
        .iter()
        .map(crate::lineage::ModelListItem::from)
        .collect();
    render(
        &app,
        "models.html",
        context! { me => me(&user), models => items },
    )
}

#[derive(Debug, Deserialize)]
pub struct ModelQuery {
    version: Option<String>,
}

pub async fn model(
    State(app): State<Arc<App>>,
    user: User,
    Path(name): Path<String>,
    Query(q): Query<ModelQuery>,
) -> PageResult {
    user.require(Role::Viewer)?;
    let detail = api::model_detail(&app, &name).await?;
    let selected: ModelVersionView = match q.version.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => {
            let v: i64 = text
                .parse()
                .map_err(|_| ApiError::field("version", "version must be a number"))?;
            detail
                .versions
                .iter()
                .find(|m| m.version == v)
                .cloned()
                .ok_or_else(|| ApiError::not_found(format!("model '{name}' has no version {v}")))?
        }
        None => ModelVersionView::from(
            &current_version(&app.store, &name)
                .await
                .map_err(ApiError::from)?,
        ),
    };
    let production = detail
        .versions
        .iter()
        .find(|v| v.aliases.iter().any(|a| a == PRODUCTION))
        .map(|v| v.version);
    let history = app.store.alias_history(&name, PRODUCTION).await?;
    let chart = metrics_chart(&detail.versions)?;
    let lineage_svg = lineage_graph(&app, &selected).await?;
    render(
        &app,
        "model.html",
        context! {
            me => me(&user), name => name, versions => detail.versions, production => production,
            selected => selected,
            history => history.iter().map(crate::lineage::AliasChangeView::from).collect::<Vec<_>>(),
            chart => minijinja::Value::from_safe_string(chart),
            lineage => minijinja::Value::from_safe_string(lineage_svg),
        },
    )
}

/// Every numeric metric across versions, oldest version first.
fn metrics_chart(versions: &[ModelVersionView]) -> Result<String, PageError> {
    let mut ordered: Vec<&ModelVersionView> = versions.iter().collect();
    ordered.sort_by_key(|v| v.version);
    let mut names = BTreeSet::new();
    for v in &ordered {
        for (k, value) in &v.metrics {
            if value.is_number() {
                names.insert(k.clone());
            }
        }
    }
    let series = names
        .iter()
        .map(|metric| cambium_svg::Series {
            name: metric.clone(),
            points: ordered
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    v.metrics
                        .get(metric)
                        .and_then(Value::as_f64)
                        .map(|y| (i as f64, y))
                })
                .collect(),
        })
        .collect();
    cambium_svg::line_chart_svg(&cambium_svg::LineChart {
        title: Some("Metrics across versions".to_string()),
        x_labels: ordered.iter().map(|v| format!("v{}", v.version)).collect(),
        y_desc: Some("value".to_string()),
        series,
        ..cambium_svg::LineChart::default()
    })
    .map_err(|e| PageError(ApiError::internal(e)))
}

/// At most this many nodes in a lineage graph.
const LINEAGE_NODES: usize = 80;

/// The version's lineage as a graph: data → components → model → deployments.
async fn lineage_graph(app: &App, v: &ModelVersionView) -> Result<String, PageError> {
    let mut nodes: Vec<cambium_svg::Node> = Vec::new();
    let mut edges: Vec<cambium_svg::Edge> = Vec::new();
    let mut seen_artifacts: BTreeSet<i64> = BTreeSet::new();
    let mut seen_executions: BTreeSet<i64> = BTreeSet::new();
    let mut queue = vec![v.model_artifact_id];
    while let Some(id) = queue.pop() {
        if !seen_artifacts.insert(id) || nodes.len() >= LINEAGE_NODES {
            continue;
        }
        let Some(a) = app.store.artifact(id).await? else {
            continue;
        };
        nodes.push(cambium_svg::Node {
            id: format!("a{}", a.id),
            label: format!("{} {}", a.kind, a.name),
            kind: "artifact".to_string(),
            state: None,
            href: None,
            tooltip: Some(format!("artifact {} · {} · {}", a.id, a.kind, a.uri)),
        });
        let exec_id = a.execution_id;
        edges.push(cambium_svg::Edge {
            from: format!("e{exec_id}"),
            to: format!("a{}", a.id),
        });
        if !seen_executions.insert(exec_id) {
            continue;
        }
        if let Some(e) = app.store.execution(exec_id).await? {
            nodes.push(cambium_svg::Node {
                id: format!("e{}", e.id),
                label: format!("{} ({})", e.task_id, e.operator),
                kind: "execution".to_string(),
                state: None,
                href: Some(format!(
                    "/dags/{}/runs/{}/tasks/{}?try={}",
                    segment(&e.dag_id),
                    segment(&e.run_id),
                    segment(&e.task_id),
                    e.try_number
                )),
                tooltip: Some(format!("{} of run {}", e.task_id, e.run_id)),
            });
        } else {
            nodes.push(cambium_svg::Node {
                id: format!("e{exec_id}"),
                label: format!("execution {exec_id}"),
                kind: "execution".to_string(),
                state: None,
                href: None,
                tooltip: None,
            });
        }
        for (role, input) in app.store.execution_inputs(exec_id).await? {
            let _ = role;
            edges.push(cambium_svg::Edge {
                from: format!("a{}", input.id),
                to: format!("e{exec_id}"),
            });
            queue.push(input.id);
        }
    }
    // The model version itself and where it is deployed.
    let model_node = format!("m{}", v.version);
    nodes.push(cambium_svg::Node {
        id: model_node.clone(),
        label: format!("{} v{}", v.name, v.version),
        kind: "model".to_string(),
        state: None,
        href: None,
        tooltip: Some(format!("registered {}", v.created)),
    });
    edges.push(cambium_svg::Edge {
        from: format!("a{}", v.model_artifact_id),
        to: model_node.clone(),
    });
    if !v.aliases.is_empty() {
        nodes.push(cambium_svg::Node {
            id: "deployment".to_string(),
            label: v.aliases.join(", "),
            kind: "deployment".to_string(),
            state: None,
            href: None,
            tooltip: Some(format!("aliases pointing at v{}", v.version)),
        });
        edges.push(cambium_svg::Edge {
            from: model_node,
            to: "deployment".to_string(),
        });
    }
    // Edges to nodes cut off by the limit are dropped.
    let ids: BTreeSet<String> = nodes.iter().map(|n| n.id.clone()).collect();
    edges.retain(|e| ids.contains(&e.from) && ids.contains(&e.to));
    let mut unique = BTreeSet::new();
    edges.retain(|e| unique.insert((e.from.clone(), e.to.clone())));
    cambium_svg::graph_svg(
        &cambium_svg::Graph { nodes, edges },
        &cambium_svg::GraphStyle::default(),
    )
    .map_err(|e| PageError(ApiError::internal(e)))
}

#[derive(Debug, Deserialize)]
pub struct PromoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
}

pub async fn promote(
    State(app): State<Arc<App>>,
    user: User,
    Path(name): Path<String>,
    Form(form): Form<PromoteForm>,
) -> PageResult {
    user.require(Role::Op)?;
    user.check_csrf(&form.csrf)?;
    let version: i64 = form
        .version
        .trim()
        .parse()
        .map_err(|_| ApiError::field("version", "version must be a number"))?;
    api::promote(&app, &name, version).await?;
    Ok(Redirect::to(&format!("/models/{}", segment(&name))).into_response())
}

pub async fn rollback(
    State(app): State<Arc<App>>,
    user: User,
    Path(name): Path<String>,
    Form(form): Form<super::auth::CsrfForm>,
) -> PageResult {
    user.require(Role::Op)?;
    user.check_csrf(&form.csrf)?;
    api::rollback(&app, &name).await?;
    Ok(Redirect::to(&format!("/models/{}", segment(&name))).into_response())
}

// ---------------------------------------------------------------------------------------
// Assets

pub async fn assets(State(app): State<Arc<App>>, user: User, RawQuery(_q): RawQuery) -> PageResult {
    user.require(Role::Viewer)?;
    let dags = app.active_dags().await?;
    let summaries = app.store.asset_summaries().await?;
    let views = crate::assets::asset_views(&dags, &summaries);
    let events: Vec<crate::assets::AssetEventView> = app
        .store
        .asset_events(None, 100)
        .await?
        .iter()
        .map(crate::assets::AssetEventView::from)
        .collect();
    render(
        &app,
        "assets.html",
        context! { me => me(&user), assets => views, events => events },
    )
}

#[derive(Debug, Deserialize)]
pub struct EmitForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    extra: String,
}

pub async fn emit_asset(
    State(app): State<Arc<App>>,
    user: User,
    Path(name): Path<String>,
    Form(form): Form<EmitForm>,
) -> PageResult {
    user.require(Role::Op)?;
    user.check_csrf(&form.csrf)?;
    let extra: Map<String, Value> =
        service::parse_conf("extra", &form.extra).map_err(|m| ApiError::field("extra", m))?;
    api::emit_asset(&app, &name, extra).await?;
    Ok(Redirect::to("/assets").into_response())
}

// ---------------------------------------------------------------------------------------
// Users (admin only)

#[derive(Debug, Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

async fn users_page(
    app: &App,
    user: &User,
    error: Option<String>,
    saved: Option<String>,
    name: &str,
) -> PageResult {
    let users: Vec<minijinja::Value> = app
        .store
        .users()
        .await?
        .iter()
        .map(|u| {
            let view = crate::UserView::from(u);
            context! { path => segment(&view.name), name => view.name, role => view.role,
            created => view.created }
        })
        .collect();
    let mut response = render(
        app,
        "users.html",
        context! {
            me => me(user), users => users, error => error, saved => saved, name => name,
            roles => Role::ALL.map(Role::as_str),
        },
    )?;
    if error.is_some() {
        *response.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

pub async fn users(State(app): State<Arc<App>>, user: User) -> PageResult {
    user.require(Role::Admin)?;
    users_page(&app, &user, None, None, "").await
}

/// The error's message, for showing on the form again (our own failures stay errors).
fn form_error(e: ApiError) -> Result<String, PageError> {
    if e.status.is_client_error() {
        Ok(e.error)
    } else {
        Err(PageError(e))
    }
}

pub async fn create_user(
    State(app): State<Arc<App>>,
    user: User,
    Form(form): Form<UserForm>,
) -> PageResult {
    user.require(Role::Admin)?;
    user.check_csrf(&form.csrf)?;
    let name = form.name.clone();
    let request = api::NewUserRequest {
        name: form.name,
        role: form.role,
        password: form.password,
    };
    match api::create_user(&app, request).await {
        Ok(created) => users_page(&app, &user, None, Some(created.name), "").await,
        Err(e) => users_page(&app, &user, Some(form_error(e)?), None, &name).await,
    }
}

pub async fn update_user(
    State(app): State<Arc<App>>,
    user: User,
    Path(name): Path<String>,
    Form(form): Form<UserForm>,
) -> PageResult {
    user.require(Role::Admin)?;
    user.check_csrf(&form.csrf)?;
    let request = api::PatchUserRequest {
        role: Some(form.role).filter(|r| !r.is_empty()),
        password: Some(form.password).filter(|p| !p.is_empty()),
    };
    match api::update_user(&app, &name, request).await {
        Ok(updated) => users_page(&app, &user, None, Some(updated.name), "").await,
        Err(e) => users_page(&app, &user, Some(form_error(e)?), None, "").await,
    }
}

pub async fn delete_user(
    State(app): State<Arc<App>>,
    user: User,
    Path(name): Path<String>,
    Form(form): Form<super::auth::CsrfForm>,
) -> PageResult {
    user.require(Role::Admin)?;
    user.check_csrf(&form.csrf)?;
    match api::delete_user(&app, &user, &name).await {
        Ok(()) => Ok(Redirect::to("/users").into_response()),
        Err(e) => users_page(&app, &user, Some(form_error(e)?), None, "").await,
    }
}
