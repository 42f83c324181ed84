//! `cambium schema freeze DAG RUN_ID TASK`: prints the Schema artifact a `schema_gen` task
//! wrote in a run (its latest successful try) as pretty JSON, ready to be saved beside the
//! DAG files, curated by hand and named as `schema_file`. This is how an inferred schema
//! becomes a curated one.

use crate::context::Ctx;
use crate::error::{CliError, CmdResult};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Prints the schema a schema_gen task inferred in a run as JSON (usable as
    /// `schema_file`): cambium schema freeze DAG RUN_ID TASK > dags/my.schema.json
    Freeze {
        /// The DAG's id.
        dag_id: String,
        /// The run's id (`cambium runs list DAG` shows them).
        run_id: String,
        /// The schema_gen task's id.
        task_id: String,
    },
}

pub async fn run(ctx: Ctx, command: SchemaCommand) -> CmdResult<i32> {
    match command {
        SchemaCommand::Freeze {
            dag_id,
            run_id,
            task_id,
        } => freeze(&ctx, &dag_id, &run_id, &task_id).await,
    }
}

async fn freeze(ctx: &Ctx, dag_id: &str, run_id: &str, task_id: &str) -> CmdResult<i32> {
    let Some(run) = ctx.store.get_run(dag_id, run_id).await? else {
        return Err(CliError::usage(format!(
            "DAG '{dag_id}' has no run '{run_id}'; `cambium runs list {dag_id}` shows its runs"
        )));
    };
    let tasks = ctx.store.task_instances(run.id).await?;
    if !tasks.iter().any(|t| t.task_id == task_id) {
        let names: Vec<&str> = tasks.iter().map(|t| t.task_id.as_str()).collect();
        return Err(CliError::usage(format!(
            "run '{run_id}' of DAG '{dag_id}' has no task '{task_id}' (its tasks: {})",
            names.join(", ")
        )));
    }
    // schema_gen records its Schema only when its try succeeds; the newest is the latest
    // successful try's.
    let Some(artifact) = ctx
        .store
        .artifacts_of_run(dag_id, run_id)
        .await?
        .into_iter()
        .filter(|a| a.task_id == task_id && a.kind == "Schema")
        .max_by_key(|a| (a.try_number, a.id))
    else {
        return Err(CliError::usage(format!(
            "task '{task_id}' of run '{run_id}' has no Schema output: it is not a schema_gen task, \
             or no try of it has succeeded (`cambium runs show {dag_id} {run_id}` shows its state)"
        )));
    };
    let schema: cambium_ml::Schema =
        cambium_runtime::artifacts::read_json(&artifact.uri, "the schema")
            .await
            .map_err(|e| CliError::failed(e.to_string()))?;
    let text = serde_json::to_string_pretty(&schema)
        .map_err(|e| CliError::failed(format!("cannot print the schema: {e}")))?;
    outln!("{text}");
    Ok(0)
}
