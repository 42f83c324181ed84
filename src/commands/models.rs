//! `cambium models list | show | promote | rollback`: the model registry.

use crate::cli::ModelsCommand;
use crate::context::Ctx;
use crate::error::{CliError, CmdResult};
use crate::table;
use cambium_ui::lineage::{
    model_version, AliasChangeView, LineageError, ModelDetail, ModelListItem, PRODUCTION,
};
use serde_json::{Map, Value};

pub async fn run(ctx: Ctx, command: ModelsCommand) -> CmdResult<i32> {
    match command {
        ModelsCommand::List => list(&ctx).await,
        ModelsCommand::Show { name } => show(&ctx, &name).await,
        ModelsCommand::Promote {
            name,
            model_version,
        } => promote(&ctx, &name, model_version).await,
        ModelsCommand::Rollback { name } => rollback(&ctx, &name).await,
        ModelsCommand::Predict {
            name,
            model_version,
        } => crate::commands::predict::run(&ctx, &name, model_version).await,
        // `models predict` dispatches here (its own change).
    }
}

/// The hint for an unknown model.
fn unknown_model(name: &str) -> CliError {
    CliError::usage(format!(
        "there is no model named '{name}' in the registry; `cambium models list` shows the registered models"
    ))
}

/// Registry and lineage errors as one line that says what to do; exit 2.
pub fn registry_error(e: LineageError) -> CliError {
    match e {
        LineageError::UnknownModel(name) => unknown_model(&name),
        LineageError::UnknownVersion { name, version } => CliError::usage(format!(
            "model '{name}' has no version {version}; `cambium models show {name}` lists its versions"
        )),
        LineageError::UnknownArtifact(id) => CliError::usage(format!(
            "there is no artifact with id {id}; pass a model name, NAME:VERSION or the id of a recorded artifact"
        )),
        LineageError::BadTarget(text) => CliError::usage(format!(
            "'{text}' is not a model name, NAME:VERSION or an artifact id; `cambium models list` shows the registered models"
        )),
        LineageError::Store(e) => store_error(e),
    }
}

/// Store errors of registry writes, with what to do next.
fn store_error(e: cambium_store::Error) -> CliError {
    use cambium_store::Error;
    match e {
        Error::UnknownModel(name) => unknown_model(&name),
        Error::UnknownVersion { name, version } => {
            registry_error(LineageError::UnknownVersion { name, version })
        }
        Error::UnknownAlias { name, alias } => CliError::usage(format!(
            "model '{name}' has no '{alias}' version to roll back; point it at one with `cambium models promote {name} VERSION`"
        )),
        Error::NoRollback { name, alias } => CliError::usage(format!(
            "cannot roll back '{alias}' of model '{name}': there is no earlier version; `cambium models promote {name} VERSION` points it at another"
        )),
        other => other.into(),
    }
}

/// `k=v, ...` of a JSON object, for tables.
pub fn compact(map: &Map<String, Value>) -> String {
    if map.is_empty() {
        return "-".to_string();
    }
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn list(ctx: &Ctx) -> CmdResult<i32> {
    let models = ctx.store.models().await?;
    let items: Vec<ModelListItem> = models.iter().map(ModelListItem::from).collect();
    if ctx.json() {
        ctx.print_json(&items)?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|m| {
            vec![
                m.name.clone(),
                m.latest_version.to_string(),
                table::opt(&m.production_version),
                m.versions.to_string(),
                m.updated.clone(),
            ]
        })
        .collect();
    table::print(
        &["name", "latest", "production", "versions", "updated"],
        &rows,
    );
    Ok(0)
}

async fn show(ctx: &Ctx, name: &str) -> CmdResult<i32> {
    let versions = ctx.store.model_versions(name).await?;
    if versions.is_empty() {
        return Err(unknown_model(name));
    }
    let detail = ModelDetail::load(&ctx.store, name, &versions).await?;
    if ctx.json() {
        ctx.print_json(&detail)?;
        return Ok(0);
    }
    let production = detail
        .versions
        .iter()
        .find(|v| v.aliases.iter().any(|a| a == PRODUCTION))
        .map_or_else(|| "none".to_string(), |v| v.version.to_string());
    outln!(
        "{name}: {} version(s), production: {production}",
        detail.versions.len()
    );
    outln!();
    let rows: Vec<Vec<String>> = detail
        .versions
        .iter()
        .map(|v| {
            vec![
                v.version.to_string(),
                if v.aliases.is_empty() {
                    "-".to_string()
                } else {
                    v.aliases.join(",")
                },
                compact(&v.metrics),
                compact(&v.params),
                v.run_id.clone(),
                v.created.clone(),
                v.artifact_uri.clone(),
            ]
        })
        .collect();
    table::print(
        &[
            "version",
            "aliases",
            "metrics",
            "params",
            "run_id",
            "created",
            "artifact_uri",
        ],
        &rows,
    );
    Ok(0)
}

fn print_change(ctx: &Ctx, change: &AliasChangeView, verb: &str) -> CmdResult<i32> {
    if ctx.json() {
        ctx.print_json(change)?;
        return Ok(0);
    }
    let from = change
        .from
        .map_or_else(|| "none".to_string(), |v| format!("version {v}"));
    outln!(
        "{}: {} {verb} from {from} to version {}",
        change.name,
        change.alias,
        change.to
    );
    Ok(0)
}

async fn promote(ctx: &Ctx, name: &str, version: i64) -> CmdResult<i32> {
    // Tell an unknown model from an unknown version before writing.
    model_version(&ctx.store, name, version)
        .await
        .map_err(registry_error)?;
    let change = ctx
        .store
        .set_alias(name, PRODUCTION, version, "promote")
        .await
        .map_err(store_error)?;
    print_change(ctx, &AliasChangeView::from(&change), "moved")
}

async fn rollback(ctx: &Ctx, name: &str) -> CmdResult<i32> {
    let change = ctx
        .store
        .rollback_alias(name, PRODUCTION, "rollback")
        .await
        .map_err(store_error)?;
    print_change(ctx, &AliasChangeView::from(&change), "rolled back")
}
