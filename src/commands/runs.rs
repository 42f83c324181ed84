//! `cambium runs ...`, and the run views and waiting that other commands share.

use crate::cli::RunsCommand;
use crate::commands::dags::print_run_table;
use crate::context::Ctx;
use crate::error::{CliError, CmdResult};
use crate::table;
use cambium_dag::RunState;
use cambium_store::{RunFilter, RunRecord, Store};
use cambium_ui::RunView;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

pub async fn run(ctx: Ctx, command: RunsCommand) -> CmdResult<i32> {
    match command {
        RunsCommand::List {
            dag_id,
            state,
            limit,
        } => list(&ctx, dag_id, state, limit).await,
        RunsCommand::Show { run_id, dag } => show(&ctx, &run_id, dag.as_deref()).await,
    }
}

/// A run with its task instances, as the JSON views print it.
pub async fn load_run_view(store: &Store, run: &RunRecord) -> CmdResult<RunView> {
    Ok(cambium_ui::service::run_view(store, run).await?)
}

/// Runs with their task instances, in two queries whatever their number.
pub async fn load_run_views(store: &Store, runs: &[RunRecord]) -> CmdResult<Vec<RunView>> {
    Ok(cambium_ui::service::run_views(store, runs).await?)
}

async fn list(
    ctx: &Ctx,
    dag_id: Option<String>,
    state: Option<String>,
    limit: i64,
) -> CmdResult<i32> {
    let states = match state {
        Some(s) => vec![s.parse::<RunState>().map_err(CliError::usage)?],
        None => vec![],
    };
    if let Some(dag) = &dag_id {
        if ctx.store.get_dag(dag).await?.is_none() {
            ctx.dag(dag).await?;
        }
    }
    let runs = ctx
        .store
        .list_runs(&RunFilter {
            dag_id,
            states,
            limit: Some(limit.max(0)),
            ..RunFilter::default()
        })
        .await?;
    let views = load_run_views(&ctx.store, &runs).await?;
    if ctx.json() {
        ctx.print_json(&views)?;
    } else {
        let rows: Vec<Vec<String>> = views
            .iter()
            .map(|v| {
                vec![
                    v.dag_id.clone(),
                    v.run_id.clone(),
                    table_run_type(v),
                    v.state.clone(),
                    v.logical_date.clone(),
                    table::opt(&v.start),
                    table::opt(&v.end),
                ]
            })
            .collect();
        table::print(
            &[
                "dag_id",
                "run_id",
                "run_type",
                "state",
                "logical_date",
                "start",
                "end",
            ],
            &rows,
        );
    }
    Ok(0)
}

/// Finds a run by id, asking for the DAG when the id is ambiguous.
pub async fn find_run(store: &Store, run_id: &str, dag: Option<&str>) -> CmdResult<RunRecord> {
    if let Some(dag) = dag {
        return store.get_run(dag, run_id).await?.ok_or_else(|| {
            CliError::usage(format!(
                "DAG '{dag}' has no run '{run_id}'; `cambium runs list {dag}` shows its runs"
            ))
        });
    }
    let mut found = store.find_runs(run_id).await?;
    match found.len() {
        0 => Err(CliError::usage(format!(
            "no run '{run_id}'; `cambium runs list` shows the runs"
        ))),
        1 => Ok(found.remove(0)),
        _ => Err(CliError::usage(format!(
            "several DAGs have a run '{run_id}' ({}); pass --dag DAG",
            found
                .iter()
                .map(|r| r.dag_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

async fn show(ctx: &Ctx, run_id: &str, dag: Option<&str>) -> CmdResult<i32> {
    let run = find_run(&ctx.store, run_id, dag).await?;
    let view = load_run_view(&ctx.store, &run).await?;
    if ctx.json() {
        ctx.print_json(&view)?;
    } else {
        print_run_table(&view);
    }
    Ok(0)
}

/// Waits until every run has ended; returns them as they ended, in logical-date order.
/// With `progress`, draws a bar with an ETA on a terminal.
pub async fn wait_for_runs(
    ctx: &Ctx,
    runs: &[RunRecord],
    progress: bool,
) -> CmdResult<Vec<RunRecord>> {
    let bar = if progress && std::io::stderr().is_terminal() {
        let bar =
            ProgressBar::with_draw_target(Some(runs.len() as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} runs (ETA {eta}) {msg}",
        ) {
            bar.set_style(style);
        }
        Some(bar)
    } else {
        None
    };
    let mut done: HashMap<i64, RunRecord> = HashMap::new();
    loop {
        for run in runs {
            if done.contains_key(&run.id) {
                continue;
            }
            match ctx.store.get_run_by_pk(run.id).await? {
                Some(now) if now.state.is_finished() => {
                    done.insert(run.id, now);
                }
                Some(_) => {}
                None => {
                    return Err(CliError::usage(format!(
                        "run '{}' of '{}' disappeared from the database",
                        run.run_id, run.dag_id
                    )))
                }
            }
        }
        if let Some(bar) = &bar {
            bar.set_position(done.len() as u64);
            let failed = done
                .values()
                .filter(|r| r.state == RunState::Failed)
                .count();
            if failed > 0 {
                bar.set_message(format!("{failed} failed"));
            }
        }
        if done.len() == runs.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut out: Vec<RunRecord> = done.into_values().collect();
    out.sort_by_key(|r| (r.logical_date, r.id));
    Ok(out)
}

/// The run type a table shows: `test` for a run `cambium dags test` made (its id starts
/// with `test__`; in JSON its `run_type` stays `manual`, one of the documented values).
pub fn table_run_type(v: &RunView) -> String {
    if v.run_type == "manual"
        && v.run_id
            .starts_with(cambium_scheduler::runs::TEST_RUN_PREFIX)
    {
        "test".to_string()
    } else {
        v.run_type.clone()
    }
}
