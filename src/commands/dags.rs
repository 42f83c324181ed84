//! `cambium dags ...`.

use crate::cli::DagsCommand;
use crate::commands::runs::{load_run_view, load_run_views, wait_for_runs};
use crate::commands::serve::{build_engine, shutdown_signal};
use crate::context::{parse_conf, parse_time, Ctx};
use crate::error::{CliError, CmdResult};
use crate::table;
use cambium_scheduler::runs::{
    create_manual_run, plan_backfill, start_backfill, BackfillRequest, Rerun,
};
use cambium_scheduler::Mode;
use cambium_store::RunRecord;
use cambium_ui::{time, BackfillView, DagDetail, ImportErrorView, NextRunView, RunView};
use chrono::Utc;

pub async fn run(ctx: Ctx, command: DagsCommand) -> CmdResult<i32> {
    match command {
        DagsCommand::List => list(&ctx).await,
        DagsCommand::Errors => errors(&ctx).await,
        DagsCommand::Show { dag_id, dot } => show(&ctx, &dag_id, dot).await,
        DagsCommand::NextRuns { dag_id, n } => next_runs(&ctx, &dag_id, n).await,
        DagsCommand::Trigger {
            dag_id,
            conf,
            logical_date,
            wait,
        } => {
            trigger(
                &ctx,
                &dag_id,
                conf.as_deref(),
                logical_date.as_deref(),
                wait,
            )
            .await
        }
        DagsCommand::Test {
            dag_id,
            conf,
            logical_date,
        } => test(&ctx, &dag_id, conf.as_deref(), logical_date.as_deref()).await,
        DagsCommand::Backfill {
            dag_id,
            start,
            end,
            rerun,
            max_active_runs,
            wait,
            dry_run,
        } => {
            backfill(
                &ctx,
                &dag_id,
                &start,
                &end,
                &rerun,
                max_active_runs,
                wait,
                dry_run,
            )
            .await
        }
        DagsCommand::Pause { dag_id } => pause(&ctx, &dag_id, true).await,
        DagsCommand::Unpause { dag_id } => pause(&ctx, &dag_id, false).await,
    }
}

async fn list(ctx: &Ctx) -> CmdResult<i32> {
    ctx.sync_dags().await?;
    let dags = ctx.store.list_dags().await?;
    let items = cambium_ui::service::dag_list(&ctx.store, &dags, Utc::now()).await?;
    let errors = ctx.store.list_import_errors().await?;
    if ctx.json() {
        ctx.print_json(&items)?;
    } else {
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|d| {
                vec![
                    d.dag_id.clone(),
                    d.file.clone(),
                    table::opt(&d.schedule),
                    d.timezone.clone(),
                    if d.paused { "yes".into() } else { "no".into() },
                    table::opt(&d.next_run),
                    d.tasks.to_string(),
                    d.tags.join(","),
                ]
            })
            .collect();
        table::print(
            // `next_run` is when the next scheduled run is created (its run-after time, the end
            // of its data interval), not its logical date: the column says so. The JSON field
            // keeps its name.
            &[
                "dag_id",
                "file",
                "schedule",
                "timezone",
                "paused",
                "next_run_after",
                "tasks",
                "tags",
            ],
            &rows,
        );
    }
    if !errors.is_empty() {
        let files: std::collections::BTreeSet<&str> =
            errors.iter().map(|e| e.file.as_str()).collect();
        eprintln!(
            "{} DAG file(s) failed to import; `cambium dags errors` shows why",
            files.len()
        );
    }
    Ok(0)
}

async fn errors(ctx: &Ctx) -> CmdResult<i32> {
    ctx.sync_dags().await?;
    let errors: Vec<ImportErrorView> = ctx
        .store
        .list_import_errors()
        .await?
        .iter()
        .map(ImportErrorView::from)
        .collect();
    if ctx.json() {
        ctx.print_json(&errors)?;
    } else if errors.is_empty() {
        outln!("no import errors");
    } else {
        for e in &errors {
            outln!("{}:{}:{}: {}", e.file, e.line, e.column, e.message);
        }
    }
    Ok(0)
}

async fn show(ctx: &Ctx, dag_id: &str, dot: bool) -> CmdResult<i32> {
    let dag = ctx.dag(dag_id).await?;
    if dot {
        crate::out::bytes(DagDetail::dot(&dag.spec).as_bytes());
        return Ok(0);
    }
    let detail = DagDetail::new(&dag.spec, dag.paused);
    if ctx.json() {
        ctx.print_json(&detail)?;
    } else {
        print_dag_detail(&detail, &dag.spec);
    }
    Ok(0)
}

/// `dags show` for people: the DAG's settings, one row per task with the options every task
/// takes (retries, retry_delay, timeout, trigger_rule, pool) and its operator's own options,
/// then the params a run's conf may override.
fn print_dag_detail(detail: &DagDetail, spec: &cambium_dag::DagSpec) {
    outln!("dag_id:          {}", detail.dag_id);
    outln!("file:            {}", detail.file);
    outln!("schedule:        {}", table::opt(&detail.schedule));
    outln!("timezone:        {}", detail.timezone);
    outln!("catchup:         {}", spec.catchup);
    outln!("max_active_runs: {}", spec.max_active_runs);
    outln!("paused:          {}", detail.paused);
    if let Some(owner) = &detail.owner {
        outln!("owner:           {owner}");
    }
    if !detail.tags.is_empty() {
        outln!("tags:            {}", detail.tags.join(", "));
    }
    if let Some(d) = &detail.description {
        outln!("about:           {d}");
    }
    outln!();
    let rows: Vec<Vec<String>> = spec
        .tasks
        .iter()
        .map(|t| {
            let c = &t.common;
            vec![
                t.task_id.clone(),
                t.operator.clone(),
                or_dash(spec.upstream_of(&t.task_id).collect::<Vec<_>>().join(",")),
                c.retries.to_string(),
                cambium_dag::format_duration(c.retry_delay),
                c.timeout.map_or("-".into(), cambium_dag::format_duration),
                json_text(&serde_json::to_value(c.trigger_rule).unwrap_or_default()),
                c.pool.clone(),
                serde_json::to_string(&t.options).unwrap_or_default(),
            ]
        })
        .collect();
    table::print(
        &[
            "task_id",
            "operator",
            "upstream",
            "retries",
            "retry_delay",
            "timeout",
            "trigger_rule",
            "pool",
            "options",
        ],
        &rows,
    );
    outln!();
    if detail.params.is_empty() {
        outln!("params: none");
    } else {
        outln!("params (defaults; a run's --conf overrides them by name):");
        let rows: Vec<Vec<String>> = detail
            .params
            .iter()
            .map(|(name, value)| vec![name.clone(), json_text(value)])
            .collect();
        table::print(&["param", "default"], &rows);
    }
}

/// A JSON value as a cell: strings without quotes, the rest as JSON.
fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn or_dash(text: String) -> String {
    if text.is_empty() {
        "-".into()
    } else {
        text
    }
}

async fn next_runs(ctx: &Ctx, dag_id: &str, n: usize) -> CmdResult<i32> {
    let dag = ctx.dag(dag_id).await?;
    let runs: Vec<NextRunView> =
        cambium_ui::service::next_runs(&ctx.store, &dag.spec, n, Utc::now()).await?;
    if ctx.json() {
        ctx.print_json(&runs)?;
    } else if runs.is_empty() {
        outln!("DAG '{dag_id}' has no upcoming scheduled runs");
    } else {
        let rows: Vec<Vec<String>> = runs
            .iter()
            .map(|r| {
                vec![
                    r.logical_date.clone(),
                    r.data_interval_start.clone(),
                    r.data_interval_end.clone(),
                    r.run_after.clone(),
                ]
            })
            .collect();
        table::print(
            &[
                "logical_date",
                "data_interval_start",
                "data_interval_end",
                "run_after",
            ],
            &rows,
        );
    }
    Ok(0)
}

async fn trigger(
    ctx: &Ctx,
    dag_id: &str,
    conf: Option<&str>,
    logical_date: Option<&str>,
    wait: bool,
) -> CmdResult<i32> {
    let conf = parse_conf(conf)?;
    let dag = ctx.dag(dag_id).await?;
    let logical = logical_date
        .map(|t| parse_time("--logical-date", t, &dag.spec))
        .transpose()?;
    let run = create_manual_run(&ctx.store, &dag.spec, conf, logical, Utc::now(), false).await?;
    if !scheduler_alive(ctx).await? {
        eprintln!(
            "note: no scheduler is running against this database; the run starts when one does (`cambium scheduler`), or use `cambium dags test`"
        );
    }
    if !wait {
        if ctx.json() {
            ctx.print_json(&load_run_view(&ctx.store, &run).await?)?;
        } else {
            outln!("{}", run.run_id);
        }
        return Ok(0);
    }
    let done = wait_for_runs(ctx, std::slice::from_ref(&run), false).await?;
    print_runs_result(ctx, &done).await
}

/// Prints finished runs (one: as a run; several: a list) and returns 1 if any failed.
async fn print_runs_result(ctx: &Ctx, runs: &[RunRecord]) -> CmdResult<i32> {
    let views = load_run_views(&ctx.store, runs).await?;
    if ctx.json() {
        if let [one] = views.as_slice() {
            ctx.print_json(one)?;
        } else {
            ctx.print_json(&views)?;
        }
    } else {
        for view in &views {
            print_run_table(view);
        }
    }
    Ok(exit_for(runs))
}

fn exit_for(runs: &[RunRecord]) -> i32 {
    if runs
        .iter()
        .any(|r| r.state == cambium_dag::RunState::Failed)
    {
        1
    } else {
        0
    }
}

/// A run as a short human report.
pub fn print_run_table(view: &RunView) {
    outln!(
        "run {} of {}: {} ({}, logical date {})",
        view.run_id,
        view.dag_id,
        view.state,
        crate::commands::runs::table_run_type(view),
        view.logical_date
    );
    let rows: Vec<Vec<String>> = view
        .tasks
        .iter()
        .map(|t| {
            vec![
                t.task_id.clone(),
                t.state.clone(),
                t.try_number.to_string(),
                t.duration_ms.map_or("-".into(), |d| format!("{d} ms")),
            ]
        })
        .collect();
    table::print(&["task_id", "state", "try", "duration"], &rows);
}

async fn scheduler_alive(ctx: &Ctx) -> CmdResult<bool> {
    let now = Utc::now();
    let dead_after = chrono::Duration::from_std(ctx.config.scheduler.scheduler_dead_after())
        .unwrap_or_else(|_| chrono::Duration::seconds(30));
    Ok(ctx
        .store
        .schedulers()
        .await?
        .iter()
        .any(|s| s.heartbeat_at + dead_after > now))
}

async fn test(
    ctx: &Ctx,
    dag_id: &str,
    conf: Option<&str>,
    logical_date: Option<&str>,
) -> CmdResult<i32> {
    let conf = parse_conf(conf)?;
    let dag = ctx.dag(dag_id).await?;
    let logical = logical_date
        .map(|t| parse_time("--logical-date", t, &dag.spec))
        .transpose()?;
    let run = create_manual_run(&ctx.store, &dag.spec, conf, logical, Utc::now(), true).await?;
    let engine = build_engine(ctx, Mode::SingleRun { run_pk: run.id }).await?;
    let finished = engine.run(None, shutdown_signal()).await?;
    let Some(finished) = finished else {
        return Err(CliError::failed(format!(
            "interrupted; run {} of {dag_id} was left unfinished",
            run.run_id
        )));
    };
    let mut view = load_run_view(&ctx.store, &finished).await?;
    in_run_order(&mut view, &dag.spec);
    if ctx.json() {
        ctx.print_json(&view)?;
    } else {
        print_run_table(&view);
        for t in view.tasks.iter().filter(|t| t.state == "failed") {
            let log = ctx
                .home
                .log_path(dag_id, &finished.run_id, &t.task_id, t.try_number);
            if let Ok(text) = std::fs::read_to_string(&log) {
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(20)..];
                eprintln!("--- last lines of {} (try {}) ---", t.task_id, t.try_number);
                for line in tail {
                    eprintln!("{line}");
                }
            }
        }
    }
    Ok(exit_for(std::slice::from_ref(&finished)))
}

/// Sorts a run's tasks in the order they can run: upstream before downstream, ties in the
/// order the DAG file declares them (a tune task's trials, declared by the loader, come
/// right before the tune task that collects them, not after the last task).
fn in_run_order(view: &mut RunView, spec: &cambium_dag::DagSpec) {
    let index: std::collections::HashMap<&str, usize> = spec
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.task_id.as_str(), i))
        .collect();
    let mut waiting: Vec<usize> = vec![0; spec.tasks.len()];
    for (_, down) in &spec.edges {
        if let Some(&d) = index.get(down.as_str()) {
            waiting[d] += 1;
        }
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..spec.tasks.len()).filter(|&i| waiting[i] == 0).collect();
    let mut rank = std::collections::HashMap::new();
    while let Some(i) = ready.pop_first() {
        rank.insert(spec.tasks[i].task_id.as_str(), rank.len());
        for (up, down) in &spec.edges {
            if up == &spec.tasks[i].task_id {
                if let Some(&d) = index.get(down.as_str()) {
                    waiting[d] -= 1;
                    if waiting[d] == 0 {
                        ready.insert(d);
                    }
                }
            }
        }
    }
    // Tasks not in the spec (a DAG changed since the run) keep their place at the end.
    view.tasks
        .sort_by_key(|t| rank.get(t.task_id.as_str()).copied().unwrap_or(usize::MAX));
}

#[allow(clippy::too_many_arguments)]
async fn backfill(
    ctx: &Ctx,
    dag_id: &str,
    start: &str,
    end: &str,
    rerun: &str,
    max_active_runs: Option<u32>,
    wait: bool,
    dry_run: bool,
) -> CmdResult<i32> {
    let dag = ctx.dag(dag_id).await?;
    let start = parse_time("--start", start, &dag.spec)?;
    let end = parse_time("--end", end, &dag.spec)?;
    let rerun: Rerun = rerun.parse().map_err(CliError::usage)?;
    let plan = plan_backfill(&ctx.store, &dag.spec, start, end, rerun).await?;
    if dry_run {
        if ctx.json() {
            ctx.print_json(&cambium_ui::service::BackfillPreview::new(dag_id, &plan))?;
        } else {
            let rows: Vec<Vec<String>> = plan
                .iter()
                .map(|p| {
                    vec![
                        time(p.info.logical_date),
                        p.action.to_string(),
                        p.existing
                            .as_ref()
                            .map_or("-".into(), |r| format!("{} ({})", r.run_id, r.state)),
                    ]
                })
                .collect();
            table::print(&["logical_date", "action", "existing run"], &rows);
            outln!("dry run: {} interval(s); nothing was changed", plan.len());
        }
        return Ok(0);
    }
    let max_active = max_active_runs.unwrap_or(dag.spec.max_active_runs);
    let (backfill, runs) = start_backfill(
        &ctx.store,
        &dag.spec,
        &plan,
        BackfillRequest {
            start,
            end,
            rerun,
            max_active_runs: max_active,
        },
        Utc::now(),
    )
    .await?;
    if !scheduler_alive(ctx).await? {
        eprintln!("note: no scheduler is running against this database; the backfill runs when one does (`cambium scheduler`)");
    }
    if !wait {
        if ctx.json() {
            let views = load_run_views(&ctx.store, &runs).await?;
            ctx.print_json(&BackfillView {
                dag_id: dag_id.to_string(),
                runs: views,
            })?;
        } else {
            outln!(
                "backfill {} of {dag_id}: {} run(s)",
                backfill.id,
                runs.len()
            );
        }
        return Ok(0);
    }
    let done = wait_for_runs(ctx, &runs, true).await?;
    let views = load_run_views(&ctx.store, &done).await?;
    if ctx.json() {
        ctx.print_json(&BackfillView {
            dag_id: dag_id.to_string(),
            runs: views,
        })?;
    } else {
        let rows: Vec<Vec<String>> = views
            .iter()
            .map(|v| vec![v.logical_date.clone(), v.run_id.clone(), v.state.clone()])
            .collect();
        table::print(&["logical_date", "run_id", "state"], &rows);
    }
    Ok(exit_for(&done))
}

async fn pause(ctx: &Ctx, dag_id: &str, paused: bool) -> CmdResult<i32> {
    ctx.dag(dag_id).await?;
    if !ctx.store.set_paused(dag_id, paused).await? {
        return Err(crate::context::unknown_dag(dag_id));
    }
    if ctx.json() {
        ctx.print_json(&serde_json::json!({"dag_id": dag_id, "paused": paused}))?;
    } else {
        outln!("{dag_id} is {}", if paused { "paused" } else { "unpaused" });
    }
    Ok(0)
}
