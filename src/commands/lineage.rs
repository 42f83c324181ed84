//! `cambium lineage TARGET`: what produced an artifact or a model version, from what, with
//! which params. The walk lives in `cambium_ui::lineage`; this only prints it.

use crate::commands::models::{compact, registry_error};
use crate::context::Ctx;
use crate::error::CmdResult;
use crate::table;
use cambium_ui::lineage::{lineage, Lineage, UpstreamArtifact};
use serde_json::Value;

pub async fn run(ctx: Ctx, target: &str) -> CmdResult<i32> {
    let found = lineage(&ctx.store, target).await.map_err(registry_error)?;
    if ctx.json() {
        ctx.print_json(&found)?;
    } else {
        print_text(&found);
    }
    Ok(0)
}

fn artifact_line(u: &UpstreamArtifact) -> Vec<String> {
    let a = &u.artifact;
    vec![
        u.depth.to_string(),
        u.role.clone(),
        a.id.to_string(),
        a.kind.clone(),
        a.name.clone(),
        a.task_id.clone(),
        a.uri.clone(),
        a.fingerprint.clone(),
    ]
}

const ARTIFACT_HEADERS: [&str; 8] = [
    "depth",
    "role",
    "id",
    "kind",
    "name",
    "task",
    "uri",
    "fingerprint",
];

fn print_text(l: &Lineage) {
    let a = &l.artifact;
    match &l.model {
        Some(m) => {
            let aliases = if m.aliases.is_empty() {
                String::new()
            } else {
                format!(" ({})", m.aliases.join(", "))
            };
            outln!(
                "lineage of {}: model {} version {}{aliases}",
                l.target,
                m.name,
                m.version
            );
        }
        None => outln!("lineage of {}", l.target),
    }
    outln!(
        "artifact:        #{} {} '{}' {} ({})",
        a.id,
        a.kind,
        a.name,
        a.uri,
        a.fingerprint
    );
    match &l.produced_by {
        Some(e) => outln!(
            "produced by:     task {} try {} ({} {}), {} .. {}",
            e.task_id,
            e.try_number,
            e.operator,
            e.operator_version,
            e.started,
            e.ended
        ),
        None => outln!("produced by:     unknown (its execution is not recorded)"),
    }
    outln!("run:             {} / {}", l.run.dag_id, l.run.run_id);
    if let Some(code) = &l.code {
        let file = code
            .dag_file
            .as_ref()
            .map_or_else(String::new, |f| format!(", DAG file {f}"));
        outln!(
            "code:            operator {} {}{file}",
            code.operator,
            code.operator_version
        );
    }
    outln!("hyperparameters: {}", compact(&l.hyperparameters));
    if let Some(m) = &l.model {
        outln!("metrics:         {}", compact(&m.metrics));
    }

    outln!();
    if l.trained_on.is_empty() {
        outln!("trained on: no Dataset or Examples upstream");
    } else {
        outln!("trained on:");
        let rows: Vec<Vec<String>> = l.trained_on.iter().map(artifact_line).collect();
        table::print(&ARTIFACT_HEADERS, &rows);
    }

    outln!();
    if l.pushes.is_empty() {
        outln!("pushes: none");
    } else {
        outln!("pushes:");
        for p in &l.pushes {
            let what = match (&p.name, p.version) {
                (Some(n), Some(v)) => format!("{n} version {v}"),
                (None, Some(v)) => format!("version {v}"),
                _ => "the model".to_string(),
            };
            let by = p
                .run_id
                .as_ref()
                .map_or_else(String::new, |r| format!(" by run {r}"));
            let target = p
                .target
                .as_ref()
                .map_or_else(String::new, |t| format!(" to {t}"));
            let alias = match (&p.alias, &p.reason) {
                (Some(a), Some(r)) => format!(" [{a}: {r}]"),
                (Some(a), None) => format!(" [{a}]"),
                _ => String::new(),
            };
            outln!("  {} {what}{target}{by}{alias}", p.at);
        }
    }

    outln!();
    if l.validation.is_empty() {
        outln!("validation: nothing recorded in this run");
    } else {
        outln!("validation:");
        for v in &l.validation {
            let verdict = if v.passed {
                "passed".to_string()
            } else if v.count == 1 {
                "1 anomaly".to_string()
            } else {
                format!("{} anomalies", v.count)
            };
            outln!("  task {} (#{}): {verdict}", v.task_id, v.artifact_id);
            for anomaly in &v.anomalies {
                let field = |k: &str| match anomaly.get(k) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => "-".to_string(),
                    Some(other) => other.to_string(),
                };
                outln!(
                    "    {} {}: {}",
                    field("feature"),
                    field("kind"),
                    field("description")
                );
            }
        }
    }

    outln!();
    if l.upstream.is_empty() {
        outln!("upstream: nothing (the artifact has no recorded inputs)");
    } else {
        outln!("upstream:");
        let rows: Vec<Vec<String>> = l.upstream.iter().map(artifact_line).collect();
        table::print(&ARTIFACT_HEADERS, &rows);
    }
    if l.truncated {
        outln!("(the walk stopped early: the lineage is deeper or wider than shown)");
    }
}
