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

/// How many significant digits a metric shows in a page's tables.
const METRIC_DIGITS: i32 = 4;

/// A number with [`METRIC_DIGITS`] significant digits, trailing zeros dropped: `0.7640` as
/// `0.764`, `1234.5678` as `1235`, `0.000012345` as `1.235e-5`.
fn significant(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return x.to_string();
    }
    let exp = x.abs().log10().floor() as i32;
    let trim = |t: String| {
        if t.contains('.') {
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            t
        }
    };
    if (-4..6).contains(&exp) {
        let decimals = (METRIC_DIGITS - 1 - exp).max(0) as usize;
        trim(format!("{x:.decimals$}"))
    } else {
        let text = format!("{x:.prec$e}", prec = (METRIC_DIGITS - 1) as usize);
        match text.split_once('e') {
            Some((mantissa, e)) => format!("{}e{e}", trim(mantissa.to_string())),
            None => text,
        }
    }
}

/// A metric value as a page's table shows it: floats with 4 significant digits (the API and
/// the CLI's JSON keep full precision), anything else as it is.
fn metric(v: Value) -> Value {
    match serde_json::to_value(&v) {
        Ok(serde_json::Value::Number(n)) if n.is_f64() => {
            Value::from(n.as_f64().map(significant).unwrap_or_else(|| n.to_string()))
        }
        _ => v,
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
        env.add_filter("metric", metric);
        env.add_filter("pretty", |v: Value| -> String {
            serde_json::to_value(&v)
                .ok()
                .and_then(|j| serde_json::to_string_pretty(&j).ok())
                .unwrap_or_default()
        });
        // JSON as text (autoescaped like any text), unlike `tojson`, which writes `<` as
        // `\u003c` for embedding in scripts and so shows escapes to the reader.
        env.add_filter("compact_json", |v: Value| -> String {
            serde_json::to_value(&v)
                .ok()
                .and_then(|j| serde_json::to_string(&j).ok())
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
    fn metrics_show_four_significant_digits() {
        assert_eq!(significant(0.7639751552795031), "0.764");
        assert_eq!(significant(0.76405), "0.7641");
        assert_eq!(significant(12.345678), "12.35");
        assert_eq!(significant(1234.5678), "1235");
        assert_eq!(significant(-0.5), "-0.5");
        assert_eq!(significant(9.99999), "10");
        assert_eq!(significant(0.000012346), "1.235e-5");
        assert_eq!(significant(123456789.0), "1.235e8");
        assert_eq!(significant(0.0), "0");
        assert_eq!(metric(Value::from(0.7639751552795031)).to_string(), "0.764");
        assert_eq!(metric(Value::from(120)).to_string(), "120");
        assert_eq!(metric(Value::from("n/a")).to_string(), "n/a");
    }

    /// Every filter a template uses exists (some of minijinja's, like `tojson`, only with a
    /// cargo feature): an unknown one is only found when a page renders it, as a 500.
    #[test]
    fn every_filter_the_templates_use_exists() {
        let templates = Templates::new().expect("templates");
        let mut names = std::collections::BTreeSet::new();
        for (_, source) in TEMPLATES {
            for block in source.split("{{").skip(1).chain(source.split("{%").skip(1)) {
                let inner = block.split(['}', '%']).next().unwrap_or("");
                for after in inner.split('|').skip(1) {
                    let name: String = after
                        .trim_start()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        names.insert(name);
                    }
                }
            }
        }
        assert!(
            names.contains("compact_json") && names.contains("seg"),
            "{names:?}"
        );
        for name in names {
            let source = format!("{{{{ 1|{name} }}}}");
            let outcome = templates.env.render_str(&source, minijinja::context! {});
            if let Err(e) = outcome {
                assert_ne!(
                    e.kind(),
                    minijinja::ErrorKind::UnknownFilter,
                    "the templates use |{name}, which this build of minijinja lacks: {e}"
                );
            }
        }
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(Some(12)), "12 ms");
        assert_eq!(duration(Some(1500)), "1.5 s");
        assert_eq!(duration(Some(125_000)), "2m 5s");
        assert_eq!(duration(None), "-");
    }
}
