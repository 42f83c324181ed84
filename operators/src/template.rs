//! Templates in task options: minijinja with Airflow's variables (`ds`, `ts`, `params`,
//! `outputs`, …) and macros (`macros.ds_add`, `macros.ds_format`). An undefined variable is
//! an error, never an empty string; nothing is HTML-escaped (options are shell commands).
//! Values rendered into a shell command line go through the `shell_quote` filter
//! (`{{ params.path | shell_quote }}`), which makes them one literal word for `sh`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use serde_json::Map;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

/// What a template can see when a task's options are rendered for one try.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateContext {
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    pub try_number: u32,
    pub logical_date: DateTime<Utc>,
    pub data_interval_start: DateTime<Utc>,
    pub data_interval_end: DateTime<Utc>,
    /// The DAG's IANA time zone name (e.g. `Europe/Berlin`).
    pub timezone: String,
    /// The DAG's params overridden by the run's conf (the caller merges them).
    pub params: Map<String, serde_json::Value>,
    /// The run's conf as given when it was triggered.
    pub conf: Map<String, serde_json::Value>,
    /// Upstream task id -> that task's JSON output.
    pub outputs: Map<String, serde_json::Value>,
}

/// A template that could not be rendered, naming the option it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The option's path, e.g. `cmd`, `env.FOO` or `cmd[2]`.
    pub option: String,
    /// What went wrong, with the template line (e.g. `undefined value 'foo' (line 1)`).
    pub message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.option.is_empty() {
            write!(f, "template error: {}", self.message)
        } else {
            write!(
                f,
                "template error in option '{}': {}",
                self.option, self.message
            )
        }
    }
}

impl std::error::Error for TemplateError {}

/// Renders one template string. Its errors name no option (`option` is empty); use
/// [`render_value`] to have them name the option path.
pub fn render_str(text: &str, ctx: &TemplateContext) -> Result<String, TemplateError> {
    if !is_template(text) {
        return Ok(text.to_string());
    }
    let values = context_value(ctx);
    render_with(text, &values).map_err(|message| TemplateError {
        option: String::new(),
        message,
    })
}

/// Renders every string inside `value` (through maps and arrays), leaving other values as
/// they are. `path` is the option's name; errors name the nested path (`env.FOO`, `cmd[2]`).
pub fn render_value(
    value: &serde_json::Value,
    ctx: &TemplateContext,
    path: &str,
) -> Result<serde_json::Value, TemplateError> {
    if !contains_template(value) {
        return Ok(value.clone());
    }
    let values = context_value(ctx);
    render_value_with(value, &values, path)
}

fn render_value_with(
    value: &serde_json::Value,
    values: &Value,
    path: &str,
) -> Result<serde_json::Value, TemplateError> {
    use serde_json::Value as J;
    Ok(match value {
        J::String(text) => {
            J::String(render_with(text, values).map_err(|message| TemplateError {
                option: path.to_string(),
                message,
            })?)
        }
        J::Array(items) => J::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| render_value_with(item, values, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, item) in map {
                let item_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                out.insert(key.clone(), render_value_with(item, values, &item_path)?);
            }
            J::Object(out)
        }
        other => other.clone(),
    })
}

/// True when `text` contains template syntax; plain strings are returned untouched.
fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

fn contains_template(value: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match value {
        J::String(text) => is_template(text),
        J::Array(items) => items.iter().any(contains_template),
        J::Object(map) => map.values().any(contains_template),
        _ => false,
    }
}

/// The instructions one rendering may execute (a template of a real DAG needs a few hundred;
/// this is tens of milliseconds of work). Found while fuzzing: two nested `range` loops kept
/// the scheduler busy for hours.
pub const TEMPLATE_FUEL: u64 = 500_000;

/// The longest text one template may render to (also the option's length on a command line).
pub const MAX_RENDERED_BYTES: usize = 1 << 20;

/// An `io::Write` that refuses to grow past [`MAX_RENDERED_BYTES`].
struct Bounded(Vec<u8>);

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_RENDERED_BYTES {
            return Err(std::io::Error::other("too long"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The shared environment: strict undefined, no auto-escaping, `macros` as a global.
fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_keep_trailing_newline(true);
        // Rendering happens inside the scheduler: a template must not be able to stall it.
        env.set_fuel(Some(TEMPLATE_FUEL));
        let mut macros = BTreeMap::new();
        macros.insert("ds_add", Value::from_function(ds_add));
        macros.insert("ds_format", Value::from_function(ds_format));
        env.add_global("macros", Value::from(macros));
        env.add_filter("shell_quote", shell_quote_filter);
        env
    })
}

/// `text` as one word for a POSIX shell: inside single quotes, each `'` written as `'\''`.
/// Nothing inside single quotes is special to `sh` (no `$`, backquote, `;` or newline).
pub fn shell_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// The `shell_quote` filter: the value's text (a number as written, a string as is),
/// quoted by [`shell_quote`].
fn shell_quote_filter(value: Value) -> String {
    shell_quote(&value.to_string())
}

fn rfc3339(date: &DateTime<Utc>) -> String {
    date.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// The template variables for one try.
fn context_value(ctx: &TemplateContext) -> Value {
    let mut vars: BTreeMap<&str, Value> = BTreeMap::new();
    vars.insert(
        "ds",
        Value::from(ctx.logical_date.format("%Y-%m-%d").to_string()),
    );
    vars.insert(
        "ds_nodash",
        Value::from(ctx.logical_date.format("%Y%m%d").to_string()),
    );
    vars.insert("ts", Value::from(rfc3339(&ctx.logical_date)));
    vars.insert("logical_date", Value::from(rfc3339(&ctx.logical_date)));
    vars.insert(
        "data_interval_start",
        Value::from(rfc3339(&ctx.data_interval_start)),
    );
    vars.insert(
        "data_interval_end",
        Value::from(rfc3339(&ctx.data_interval_end)),
    );
    vars.insert("run_id", Value::from(ctx.run_id.as_str()));
    vars.insert("dag_id", Value::from(ctx.dag_id.as_str()));
    vars.insert("task_id", Value::from(ctx.task_id.as_str()));
    vars.insert("try_number", Value::from(ctx.try_number));
    vars.insert("params", Value::from_serialize(&ctx.params));
    vars.insert("conf", Value::from_serialize(&ctx.conf));
    vars.insert("outputs", Value::from_serialize(&ctx.outputs));
    Value::from(vars)
}

/// Renders `text`; on failure returns the message part of a [`TemplateError`].
fn render_with(text: &str, values: &Value) -> Result<String, String> {
    if !is_template(text) {
        return Ok(text.to_string());
    }
    let env = environment();
    let mut out = Bounded(Vec::new());
    let rendered = env
        .template_from_str(text)
        .and_then(|template| template.render_captured_to(values, &mut out).map(|_| ()));
    rendered.map_err(|err| {
        let line = err
            .line()
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default();
        if err.kind() == ErrorKind::UndefinedError {
            if let Some(name) = first_undefined(env, text, values) {
                return format!("undefined value '{name}'{line}");
            }
        }
        match err.kind() {
            ErrorKind::OutOfFuel => {
                return format!(
                    "the template does too much work (more than {TEMPLATE_FUEL} steps){line}: \
                     loop over less, or compute the value in a task and use its output"
                )
            }
            ErrorKind::WriteFailure => {
                return format!(
                    "the template renders to more than {} MiB{line}: pass large values \
                     through files, not options",
                    MAX_RENDERED_BYTES >> 20
                )
            }
            _ => {}
        }
        match err.detail() {
            Some(detail) => format!("{}: {detail}{line}", err.kind()),
            None => format!("{}{line}", err.kind()),
        }
    })?;
    String::from_utf8(out.0).map_err(|_| "the template rendered text that is not UTF-8".into())
}

/// Finds the first variable path in `text` (e.g. `foo` or `params.missing`) that the
/// context does not define, to name it in the error.
fn first_undefined(env: &Environment<'static>, text: &str, values: &Value) -> Option<String> {
    let template = env.template_from_str(text).ok()?;
    let mut names: Vec<String> = template.undeclared_variables(true).into_iter().collect();
    names.sort();
    for name in names {
        let mut parts = name.split('.');
        let first = parts.next()?;
        let mut current = match values.get_attr(first) {
            Ok(v) if !v.is_undefined() => v,
            _ => match env.globals().find(|(k, _)| *k == first) {
                Some((_, v)) => v.clone(),
                None => return Some(first.to_string()),
            },
        };
        let mut walked = first.to_string();
        for part in parts {
            walked.push('.');
            walked.push_str(part);
            match current.get_attr(part) {
                Ok(v) if !v.is_undefined() => current = v,
                _ => return Some(walked),
            }
        }
    }
    None
}

fn invalid(message: String) -> minijinja::Error {
    minijinja::Error::new(ErrorKind::InvalidOperation, message)
}

fn parse_ds(ds: &str, function: &str) -> Result<NaiveDate, minijinja::Error> {
    NaiveDate::parse_from_str(ds, "%Y-%m-%d").map_err(|_| {
        invalid(format!(
            "{function}: '{ds}' is not a date in the form YYYY-MM-DD"
        ))
    })
}

/// `macros.ds_add(ds, days)`: the `YYYY-MM-DD` date `days` days after (or before) `ds`.
fn ds_add(ds: String, days: i64) -> Result<String, minijinja::Error> {
    let date = parse_ds(&ds, "macros.ds_add")?;
    let shifted = chrono::Duration::try_days(days)
        .and_then(|d| date.checked_add_signed(d))
        .ok_or_else(|| {
            invalid(format!(
                "macros.ds_add: {ds} plus {days} days is out of range"
            ))
        })?;
    Ok(shifted.format("%Y-%m-%d").to_string())
}

/// `macros.ds_format(ds, input_format, output_format)`: reformats a date string using
/// strftime formats, as Airflow's macro of the same name.
fn ds_format(
    ds: String,
    input_format: String,
    output_format: String,
) -> Result<String, minijinja::Error> {
    let parsed = NaiveDateTime::parse_from_str(&ds, &input_format)
        .or_else(|_| {
            NaiveDate::parse_from_str(&ds, &input_format).map(|d| d.and_time(Default::default()))
        })
        .map_err(|e| {
            invalid(format!(
                "macros.ds_format: '{ds}' does not match the format '{input_format}' ({e})"
            ))
        })?;
    let mut out = String::new();
    write!(out, "{}", parsed.format(&output_format)).map_err(|_| {
        invalid(format!(
            "macros.ds_format: '{output_format}' is not a valid strftime format"
        ))
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn ctx() -> TemplateContext {
        let obj = |v: serde_json::Value| v.as_object().cloned().expect("object");
        TemplateContext {
            dag_id: "wine".into(),
            run_id: "scheduled__2026-11-21T00:00:00+00:00".into(),
            task_id: "train".into(),
            try_number: 2,
            logical_date: Utc
                .with_ymd_and_hms(2026, 11, 21, 0, 0, 0)
                .single()
                .expect("date"),
            data_interval_start: Utc
                .with_ymd_and_hms(2026, 11, 21, 0, 0, 0)
                .single()
                .expect("date"),
            data_interval_end: Utc
                .with_ymd_and_hms(2026, 11, 22, 0, 0, 0)
                .single()
                .expect("date"),
            timezone: "UTC".into(),
            params: obj(json!({"alpha": 0.5, "name": "x"})),
            conf: obj(json!({"full": true})),
            outputs: obj(json!({"tune": {"best": {"alpha": 0.1}}, "list": [1, 2]})),
        }
    }

    #[test]
    fn renders_dates_and_ids() {
        let c = ctx();
        assert_eq!(render_str("{{ ds }}", &c).expect("ok"), "2026-11-21");
        assert_eq!(render_str("{{ ds_nodash }}", &c).expect("ok"), "20261121");
        assert_eq!(
            render_str("{{ ts }}", &c).expect("ok"),
            "2026-11-21T00:00:00+00:00"
        );
        assert_eq!(
            render_str(
                "{{ logical_date }} {{ data_interval_start }} {{ data_interval_end }}",
                &c
            )
            .expect("ok"),
            "2026-11-21T00:00:00+00:00 2026-11-21T00:00:00+00:00 2026-11-22T00:00:00+00:00"
        );
        assert_eq!(
            render_str(
                "{{ dag_id }}/{{ task_id }}/{{ try_number }}/{{ run_id }}",
                &c
            )
            .expect("ok"),
            "wine/train/2/scheduled__2026-11-21T00:00:00+00:00"
        );
    }

    #[test]
    fn renders_params_conf_outputs() {
        let c = ctx();
        // Booleans render as in Jinja (and Airflow): `True`.
        assert_eq!(
            render_str("--alpha {{ params.alpha }} {{ conf.full }}", &c).expect("ok"),
            "--alpha 0.5 True"
        );
        assert_eq!(
            render_str("{{ outputs.tune.best.alpha }}", &c).expect("ok"),
            "0.1"
        );
        assert_eq!(render_str("{{ outputs.list[1] }}", &c).expect("ok"), "2");
    }

    #[test]
    fn macros_work() {
        let c = ctx();
        assert_eq!(
            render_str("{{ macros.ds_add(ds, -7) }}", &c).expect("ok"),
            "2026-11-14"
        );
        assert_eq!(
            render_str("{{ macros.ds_add(ds, 10) }}", &c).expect("ok"),
            "2026-12-01"
        );
        assert_eq!(
            render_str("{{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%Y') }}", &c).expect("ok"),
            "21/11/2026"
        );
        assert_eq!(
            render_str(
                "{{ macros.ds_format('2026-11-21 13:05', '%Y-%m-%d %H:%M', '%H%M') }}",
                &c
            )
            .expect("ok"),
            "1305"
        );
        let err = render_str("{{ macros.ds_add('nope', 1) }}", &c).expect_err("bad date");
        assert!(err.message.contains("not a date"), "{err}");
        let err = render_str("{{ macros.ds_format(ds, '%Y', '%Y') }}", &c).expect_err("bad fmt");
        assert!(err.message.contains("does not match"), "{err}");
        let err =
            render_str("{{ macros.ds_format(ds, '%Y-%m-%d', '%Q') }}", &c).expect_err("bad out");
        assert!(err.message.contains("not a valid strftime"), "{err}");
    }

    #[test]
    fn undefined_is_an_error_naming_the_variable() {
        let c = ctx();
        let err = render_value(&json!("echo {{ foo }}"), &c, "cmd").expect_err("undefined");
        assert_eq!(
            err.to_string(),
            "template error in option 'cmd': undefined value 'foo' (line 1)"
        );
        let err = render_value(&json!("a\n{{ params.missing }}"), &c, "cmd").expect_err("undef");
        assert_eq!(
            err.to_string(),
            "template error in option 'cmd': undefined value 'params.missing' (line 2)"
        );
        let err = render_str("{{ outputs.nope.x }}", &c).expect_err("undefined");
        assert_eq!(err.message, "undefined value 'outputs.nope' (line 1)");
    }

    #[test]
    fn syntax_errors_are_reported() {
        let err = render_str("{{ ds ", &ctx()).expect_err("syntax");
        assert!(err.message.starts_with("syntax error"), "{err}");
        assert!(err.message.ends_with("(line 1)"), "{err}");
    }

    #[test]
    fn render_value_walks_maps_and_arrays_and_names_paths() {
        let c = ctx();
        let value =
            json!({"cmd": ["echo", "{{ ds }}", 3], "env": {"FOO": "{{ task_id }}"}, "n": 1});
        let out = render_value(&value, &c, "").expect("ok");
        assert_eq!(
            out,
            json!({"cmd": ["echo", "2026-11-21", 3], "env": {"FOO": "train"}, "n": 1})
        );
        let err = render_value(&json!({"FOO": "{{ nope }}"}), &c, "env").expect_err("err");
        assert_eq!(err.option, "env.FOO");
        let err = render_value(&json!(["a", "b", "{{ nope }}"]), &c, "cmd").expect_err("err");
        assert_eq!(err.option, "cmd[2]");
    }

    #[test]
    fn plain_strings_are_untouched_and_nothing_is_escaped() {
        let c = ctx();
        assert_eq!(
            render_str("echo '<a>' & \"b\" {x} % }}", &c).expect("ok"),
            "echo '<a>' & \"b\" {x} % }}"
        );
        assert_eq!(
            render_str("echo {{ '<&>' }}\n", &c).expect("ok"),
            "echo <&>\n"
        );
    }

    #[test]
    fn shell_quote_makes_one_literal_word() {
        assert_eq!(shell_quote("plain"), "'plain'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        let mut c = ctx();
        c.params.insert(
            "evil".into(),
            serde_json::json!("0.5' ; id > /tmp/x; # $(id) `id`\nid"),
        );
        c.params.insert("n".into(), serde_json::json!(0.25));
        let out = render_str(
            "echo {{ params.evil | shell_quote }} {{ params.n | shell_quote }}",
            &c,
        )
        .expect("renders");
        assert_eq!(
            out,
            "echo '0.5'\\'' ; id > /tmp/x; # $(id) `id`\nid' '0.25'"
        );
        // sh itself sees exactly one argument with the original text.
        let printed = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", shell_quote("a'b; $(id) \"c\"\n")))
            .output()
            .expect("sh runs");
        assert_eq!(
            String::from_utf8_lossy(&printed.stdout),
            "a'b; $(id) \"c\"\n"
        );
    }

    #[test]
    fn statements_and_filters_work() {
        let c = ctx();
        assert_eq!(
            render_str("{% for i in outputs.list %}{{ i }},{% endfor %}", &c).expect("ok"),
            "1,2,"
        );
        assert_eq!(
            render_str("{{ params.name | upper }}", &c).expect("ok"),
            "X"
        );
    }

    /// Found while writing the `template` fuzz target (`fuzz/`): nested loops rendered for
    /// hours in the scheduler. Now a template runs out of fuel and says so.
    #[test]
    fn a_template_that_works_too_long_is_an_error() {
        let c = ctx();
        let started = std::time::Instant::now();
        let err = render_str(
            "{% for a in range(20000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}",
            &c,
        )
        .expect_err("too much work");
        assert!(err.message.contains("too much work"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // A real template's loop is far below the bound.
        let list = "{% for i in range(2000) %}{{ i }},{% endfor %}";
        assert!(render_str(list, &c).is_ok());
    }

    #[test]
    fn a_template_that_renders_too_much_is_an_error() {
        let c = ctx();
        let err = render_str("{% for a in range(20) %}{{ 'x' * 100000 }}{% endfor %}", &c)
            .expect_err("2 MB");
        assert!(err.message.contains("more than 1 MiB"), "{err}");
        let just_under = render_str("{% for a in range(10) %}{{ 'x' * 100000 }}{% endfor %}", &c)
            .expect("1,000,000 bytes");
        assert_eq!(just_under.len(), 1_000_000);
    }
}
