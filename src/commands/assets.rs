//! `cambium assets list | emit`: the assets DAGs update and are triggered by, and posting
//! an asset event by hand.

use crate::cli::AssetsCommand;
use crate::context::Ctx;
use crate::error::{CliError, CmdResult};
use crate::table;
use cambium_ui::assets::{asset_views, AssetEventView};
use chrono::Utc;
use serde_json::{Map, Value};

pub async fn run(ctx: Ctx, command: AssetsCommand) -> CmdResult<i32> {
    match command {
        AssetsCommand::List => list(&ctx).await,
        AssetsCommand::Emit { name, extra } => emit(&ctx, &name, extra.as_deref()).await,
    }
}

/// Parses `--extra`: a JSON object (none is `{}`).
pub fn parse_extra(extra: Option<&str>) -> CmdResult<Map<String, Value>> {
    let Some(text) = extra else {
        return Ok(Map::new());
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(CliError::usage(
            "--extra must be a JSON object, e.g. --extra '{\"rows\": 100}'",
        )),
        Err(e) => Err(CliError::usage(format!(
            "--extra is not valid JSON ({e}); pass a JSON object, e.g. --extra '{{\"rows\": 100}}'"
        ))),
    }
}

async fn list(ctx: &Ctx) -> CmdResult<i32> {
    ctx.sync_dags().await?;
    let dags = ctx.store.list_dags().await?;
    let summaries = ctx.store.asset_summaries().await?;
    let views = asset_views(&dags, &summaries);
    if ctx.json() {
        ctx.print_json(&views)?;
        return Ok(0);
    }
    let dash = |items: Vec<String>| {
        if items.is_empty() {
            "-".to_string()
        } else {
            items.join(", ")
        }
    };
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|a| {
            vec![
                a.name.clone(),
                dash(
                    a.producers
                        .iter()
                        .map(|p| format!("{}.{}", p.dag_id, p.task_id))
                        .collect(),
                ),
                dash(a.consumers.clone()),
                a.events.to_string(),
                table::opt(&a.last_event),
            ]
        })
        .collect();
    table::print(
        &["name", "updated_by", "triggers", "events", "last_event"],
        &rows,
    );
    Ok(0)
}

async fn emit(ctx: &Ctx, name: &str, extra: Option<&str>) -> CmdResult<i32> {
    let extra = parse_extra(extra)?;
    if name.trim().is_empty() {
        return Err(CliError::usage(
            "the asset name cannot be empty; `cambium assets list` shows the assets the DAGs name",
        ));
    }
    // The DAGs an event triggers are those of the folder as it is now.
    ctx.sync_dags().await?;
    let (event, runs) =
        cambium_scheduler::assets::emit(&ctx.store, name, extra, None, Utc::now()).await?;
    let view = AssetEventView::from(&event);
    if ctx.json() {
        ctx.print_json(&serde_json::json!({
            "event": view,
            "runs": runs.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
        }))?;
        return Ok(0);
    }
    outln!(
        "recorded event {} of asset '{}' at {}",
        view.id,
        view.asset,
        view.created
    );
    if runs.is_empty() {
        outln!("no DAG is triggered by it (unpaused DAGs with on_asset(\"{name}\") would be)");
    } else {
        let rows: Vec<Vec<String>> = runs
            .iter()
            .map(|r| vec![r.dag_id.clone(), r.run_id.clone()])
            .collect();
        outln!(
            "created {} run(s); a running scheduler runs them:",
            runs.len()
        );
        table::print(&["dag_id", "run_id"], &rows);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_must_be_an_object() {
        assert!(parse_extra(None).expect("none").is_empty());
        assert_eq!(
            parse_extra(Some(r#"{"rows": 3}"#)).expect("object")["rows"],
            3
        );
        for bad in ["[1]", "3", "\"x\"", "{", "null"] {
            let e = parse_extra(Some(bad)).expect_err(bad);
            assert_eq!(e.code, 2);
            assert!(e.message.contains("JSON object"), "{}", e.message);
        }
    }
}
