//! `cambium tasks test | clear | mark | logs`.

use crate::cli::TasksCommand;
use crate::commands::runs::find_run;
use crate::context::{parse_time, Ctx};
use crate::error::{CliError, CmdResult};
use cambium_dag::{RunState, RunType, TaskState};
use cambium_executor::local::LocalExecutor;
use cambium_executor::{Executor, TryEvent};
use cambium_scheduler::engine::ExitMeaning;
use cambium_scheduler::request::build_request;
use cambium_scheduler::runs::timetable_of;
use cambium_store::{RunRecord, TaskInstance};
use chrono::Utc;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

pub async fn run(ctx: Ctx, command: TasksCommand) -> CmdResult<i32> {
    match command {
        TasksCommand::Test {
            dag_id,
            task_id,
            logical_date,
        } => test(&ctx, &dag_id, &task_id, logical_date.as_deref()).await,
        TasksCommand::Clear {
            dag_id,
            run_id,
            tasks,
            downstream,
        } => clear(&ctx, &dag_id, &run_id, tasks, downstream).await,
        TasksCommand::Mark {
            dag_id,
            run_id,
            task_id,
            state,
        } => mark(&ctx, &dag_id, &run_id, &task_id, &state).await,
        TasksCommand::Logs {
            dag_id,
            run_id,
            task_id,
            try_number,
            follow,
        } => logs(&ctx, &dag_id, &run_id, &task_id, try_number, follow).await,
    }
}

fn unknown_task(dag_id: &str, task_id: &str, known: &[String]) -> CliError {
    cambium_scheduler::runs::RunError::UnknownTask {
        dag_id: dag_id.to_string(),
        task_id: task_id.to_string(),
        known: known.to_vec(),
    }
    .into()
}

/// Runs one task now in this process's supervision, printing its log; records nothing in
/// the store (as Airflow's `tasks test`). Upstream outputs are not available.
async fn test(
    ctx: &Ctx,
    dag_id: &str,
    task_id: &str,
    logical_date: Option<&str>,
) -> CmdResult<i32> {
    let dag = ctx.dag(dag_id).await?;
    let spec = &dag.spec;
    let Some(task) = spec.task(task_id) else {
        let known: Vec<String> = spec.tasks.iter().map(|t| t.task_id.clone()).collect();
        return Err(unknown_task(dag_id, task_id, &known));
    };
    let now = Utc::now();
    let logical = logical_date
        .map(|t| parse_time("--logical-date", t, spec))
        .transpose()?
        .unwrap_or(now);
    let interval = timetable_of(spec)?.manual_interval(logical);
    let run = RunRecord {
        id: 0,
        dag_id: dag_id.to_string(),
        run_id: cambium_scheduler::time::run_id("tasktest", now),
        run_type: RunType::Manual,
        state: RunState::Running,
        logical_date: logical,
        data_interval_start: interval.start,
        data_interval_end: interval.end,
        run_after: now,
        conf: Default::default(),
        backfill_id: None,
        created_at: now,
        start_at: Some(now),
        end_at: None,
        version: 0,
    };
    let ti = TaskInstance {
        state: TaskState::Queued,
        try_number: 1,
        pool: task.common.pool.clone(),
        priority: task.common.priority,
        queued_at: Some(now),
        ..TaskInstance::unstarted(dag_id, &run.run_id, task_id)
    };
    let request = build_request(
        &ctx.home,
        spec,
        task,
        &run,
        &ti,
        Default::default(),
        &ctx.secrets(),
        &crate::commands::serve::operator_runtime(ctx)?,
    )
    .map_err(CliError::failed)?;
    let log_path = request.log_path.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let executor = LocalExecutor::new(crate::commands::serve::supervisor_command()?, 1, tx);
    executor
        .submit(request)
        .map_err(|e| CliError::failed(e.to_string()))?;
    let mut offset = 0u64;
    let outcome = loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(TryEvent::Finished { outcome, .. }) => break outcome,
                Some(_) => {}
                None => return Err(CliError::failed("the executor stopped unexpectedly")),
            },
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                offset = print_from(&log_path, offset);
            }
        }
    };
    print_from(&log_path, offset);
    // The same reading of the exit as the scheduler's: 98 is a sensor whose condition does
    // not hold yet, which a scheduler would poke again (no failure, no retry used).
    let meaning = ExitMeaning::of(&outcome);
    let (state, note) = match meaning {
        ExitMeaning::Success => ("success", None),
        ExitMeaning::Skipped => ("skipped", None),
        ExitMeaning::Reschedule { after_ms } => (
            "up_for_retry",
            Some(format!(
                "the sensor's condition does not hold yet; a scheduler would poke again in {}",
                cambium_dag::duration::format_duration(Duration::from_millis(
                    u64::try_from(after_ms).unwrap_or(0)
                ))
            )),
        ),
        ExitMeaning::Failure => ("failed", None),
    };
    let poke_after_ms = match meaning {
        ExitMeaning::Reschedule { after_ms } => Some(after_ms),
        _ => None,
    };
    if ctx.json() {
        ctx.print_json(&serde_json::json!({
            "dag_id": dag_id, "task_id": task_id, "state": state,
            "exit_code": outcome.exit_code, "output": outcome.output,
            "metrics": outcome.metrics, "error": outcome.error,
            "poke_after_ms": poke_after_ms,
        }))?;
    } else {
        eprintln!(
            "task {task_id} of {dag_id}: {state}{}",
            outcome
                .error
                .as_deref()
                .or(note.as_deref())
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
    }
    Ok(if meaning == ExitMeaning::Failure {
        1
    } else {
        0
    })
}

/// Prints a file from `offset` on; returns the new offset.
fn print_from(path: &Path, offset: u64) -> u64 {
    let Ok(mut file) = std::fs::File::open(path) else {
        return offset;
    };
    if file.seek(SeekFrom::Start(offset)).is_err() {
        return offset;
    }
    let mut buf = Vec::new();
    if file.read_to_end(&mut buf).is_err() {
        return offset;
    }
    crate::out::bytes(&buf);
    offset + buf.len() as u64
}

async fn clear(
    ctx: &Ctx,
    dag_id: &str,
    run_id: &str,
    tasks: Vec<String>,
    downstream: bool,
) -> CmdResult<i32> {
    let dag = ctx.dag(dag_id).await?;
    let run = find_run(&ctx.store, run_id, Some(dag_id)).await?;
    let cambium_scheduler::runs::Cleared {
        tasks: selected,
        count: cleared,
    } = cambium_scheduler::runs::clear_run_tasks(&ctx.store, &dag.spec, run.id, &tasks, downstream)
        .await?;
    if ctx.json() {
        ctx.print_json(&serde_json::json!({
            "dag_id": dag_id, "run_id": run.run_id, "cleared": cleared, "tasks": selected,
        }))?;
    } else {
        outln!(
            "cleared {cleared} task instance(s) of run {}: {}; a running scheduler runs them again",
            run.run_id,
            selected.join(", ")
        );
    }
    Ok(0)
}

/// Sets a task instance of a run to `success` or `failed` without running it; prints the
/// run as `runs show` does. A run that had ended takes the state its tasks now give it.
async fn mark(ctx: &Ctx, dag_id: &str, run_id: &str, task_id: &str, state: &str) -> CmdResult<i32> {
    let state: TaskState = match state {
        "success" => TaskState::Success,
        "failed" => TaskState::Failed,
        other => {
            return Err(CliError::usage(format!(
                "--state '{other}' cannot be set by hand; use --state success or --state failed"
            )))
        }
    };
    let run = find_run(&ctx.store, run_id, Some(dag_id)).await?;
    let tis = ctx.store.task_instances(run.id).await?;
    let Some(ti) = tis.iter().find(|t| t.task_id == task_id) else {
        let known: Vec<String> = tis.iter().map(|t| t.task_id.clone()).collect();
        return Err(unknown_task(dag_id, task_id, &known));
    };
    let was = ti.state;
    ctx.store
        .mark_task_instance(ti.id, state, Utc::now())
        .await?;
    let run = find_run(&ctx.store, &run.run_id, Some(dag_id)).await?;
    let view = crate::commands::runs::load_run_view(&ctx.store, &run).await?;
    if ctx.json() {
        ctx.print_json(&view)?;
    } else {
        outln!(
            "marked task '{task_id}' of run {} {state} (was {was}); the run is {}",
            run.run_id,
            run.state
        );
    }
    Ok(0)
}

async fn logs(
    ctx: &Ctx,
    dag_id: &str,
    run_id: &str,
    task_id: &str,
    try_number: Option<u32>,
    follow: bool,
) -> CmdResult<i32> {
    let run = find_run(&ctx.store, run_id, Some(dag_id)).await?;
    let tis = ctx.store.task_instances(run.id).await?;
    let Some(ti) = tis.iter().find(|t| t.task_id == task_id) else {
        let known: Vec<String> = tis.iter().map(|t| t.task_id.clone()).collect();
        return Err(unknown_task(dag_id, task_id, &known));
    };
    let try_number = try_number.unwrap_or(ti.try_number);
    if try_number == 0 || try_number > ti.try_number.max(1) {
        return Err(CliError::usage(format!(
            "task '{task_id}' of run {run_id} has {} tr{}; pass --try between 1 and {}",
            ti.try_number,
            if ti.try_number == 1 { "y" } else { "ies" },
            ti.try_number.max(1)
        )));
    }
    let path = ctx.home.log_path(dag_id, &run.run_id, task_id, try_number);
    if !follow {
        if !path.exists() {
            return Err(CliError::usage(format!(
                "no log for try {try_number} of '{task_id}' yet ({})",
                path.display()
            )));
        }
        print_from(&path, 0);
        return Ok(0);
    }
    let mut offset = 0;
    loop {
        offset = print_from(&path, offset);
        let current = ctx.store.task_instance(ti.id).await?;
        let running = current
            .as_ref()
            .is_some_and(|t| t.try_number == try_number && t.state.is_active());
        if !running {
            print_from(&path, offset);
            return Ok(0);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
