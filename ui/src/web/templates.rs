//! The pages' templates (minijinja, HTML auto-escaping on: every value a page shows is
//! escaped unless a template marks trusted markup — our own SVG — as `safe`), compiled into
//! the binary.

use super::error::ApiError;
use axum::response::Html;
use minijinja::{Environment, Value};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What a path segment keeps unencoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A value as one URL path segment (or query value).
pub fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("dags.html", include_str!("../../templates/dags.html")),
    (
        "dag_base.html",
        include_str!("../../templates/dag_base.html"),
    ),
    ("grid.html", include_str!("../../templates/grid.html")),
    ("graph.html", include_str!("../../templates/graph.html")),
    ("code.html", include_str!("../../templates/code.html")),
    ("runs.html", include_str!("../../templates/runs.html")),
    ("run.html", include_str!("../../templates/run.html")),
    ("trigger.html", include_str!("../../templates/trigger.html")),
    (
        "backfill.html",
        include_str!("../../templates/backfill.html"),
    ),
    ("task.html", include_str!("../../templates/task.html")),
    ("models.html", include_str!("../../templates/models.html")),
    ("model.html", include_str!("../../templates/model.html")),
    ("assets.html", include_str!("../../templates/assets.html")),
    ("users.html", include_str!("../../templates/users.html")),
    (
        "import_errors.html",
        include_str!("../../templates/import_errors.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
];

pub struct Templates {
    env: Environment<'static>,
}

fn duration(ms: Option<i64>) -> String {
    match ms {
        None => "-".to_string(),
        Some(ms) if ms < 1000 => format!("{ms} ms"),
        Some(ms) if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        Some(ms) if ms < 3_600_000 => format!("{}m {}s", ms / 60_000, (ms % 60_000) / 1000),
        Some(ms) => format!("{}h {}m", ms / 3_600_000, (ms % 3_600_000) / 60_000),
    }
}

/// `2026-11-22T09:00:00+00:00` as `2026-11-22 09:00`.
fn short_time(t: Option<String>) -> String {
    match t {
        None => "-".to_string(),
        Some(t) => {
            let s = t.replace('T', " ");
            s.get(..16).map_or(s.clone(), str::to_string)
        }
    }
}

impl Templates {
    pub fn new() -> Result<Self, String> {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| format!("template {name}: {e}"))?;
        }
        env.add_filter("seg", |s: String| segment(&s));
        env.add_filter("duration", duration);
        env.add_filter("short_time", short_time);
        env.add_filter("pretty", |v: Value| -> String {
            serde_json::to_value(&v)
                .ok()
                .and_then(|j| serde_json::to_string_pretty(&j).ok())
                .unwrap_or_default()
        });
        Ok(Templates { env })
    }

    pub fn render(&self, name: &str, ctx: Value) -> Result<Html<String>, ApiError> {
        let template = self.env.get_template(name).map_err(ApiError::internal)?;
        template
            .render(ctx)
            .map(Html)
            .map_err(|e| ApiError::internal(format!("rendering {name}: {e:#}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(
            segment("manual__2026-11-22T09:00:00+00:00"),
            "manual__2026-11-22T09%3A00%3A00%2B00%3A00"
        );
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(Some(12)), "12 ms");
        assert_eq!(duration(Some(1500)), "1.5 s");
        assert_eq!(duration(Some(125_000)), "2m 5s");
        assert_eq!(duration(None), "-");
    }
}
