//! The operator registry: every operator's name and the options it takes, the options every
//! task takes, and the DAG options — the schemas the DAG loader validates against. Also the
//! two helpers validation needs: a type check for an option value and a "did you mean"
//! suggestion for a misspelt name.

use serde_json::Value;

/// The type an option's value must have, as written in a DAG file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionType {
    /// A string.
    String,
    /// A whole number.
    Int,
    /// A number, whole or not.
    Float,
    /// `true` or `false`.
    Bool,
    /// A duration string such as `"30s"` or `"1h30m"`.
    Duration,
    /// A string, or an array of strings (e.g. `cmd`).
    StringOrArray,
    /// An array of strings.
    StringArray,
    /// A map with any values.
    Map,
    /// A map whose values are all strings (e.g. `env`).
    StringMap,
    /// An array with any items.
    Array,
    /// Any value.
    Any,
}

impl OptionType {
    /// How the type is described to a person ("a string", "a duration such as \"30s\"").
    pub fn describe(self) -> &'static str {
        match self {
            OptionType::String => "a string",
            OptionType::Int => "a whole number",
            OptionType::Float => "a number",
            OptionType::Bool => "true or false",
            OptionType::Duration => "a duration such as \"30s\", \"5m\" or \"2h\"",
            OptionType::StringOrArray => "a string or an array of strings",
            OptionType::StringArray => "an array of strings",
            OptionType::Map => "a map (#{ ... })",
            OptionType::StringMap => "a map of strings (#{ NAME: \"value\" })",
            OptionType::Array => "an array ([ ... ])",
            OptionType::Any => "any value",
        }
    }
}

/// One option an operator, a task or a DAG takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    pub name: &'static str,
    pub ty: OptionType,
    /// A task or DAG without this option is an import error.
    pub required: bool,
    /// String values are minijinja templates rendered when the task runs.
    pub templated: bool,
    pub doc: &'static str,
}

/// An operator: its name (the method on the DAG object) and the options it takes besides the
/// options every task takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperatorSpec {
    pub name: &'static str,
    pub doc: &'static str,
    pub options: &'static [OptionSpec],
}

impl OperatorSpec {
    /// The option with this name, if the operator takes it.
    pub fn option(&self, name: &str) -> Option<&'static OptionSpec> {
        self.options.iter().find(|o| o.name == name)
    }
}

const fn opt(
    name: &'static str,
    ty: OptionType,
    required: bool,
    templated: bool,
    doc: &'static str,
) -> OptionSpec {
    OptionSpec {
        name,
        ty,
        required,
        templated,
        doc,
    }
}

static COMMAND_OPTIONS: [OptionSpec; 2] = [
    opt(
        "cmd",
        OptionType::StringOrArray,
        true,
        true,
        "the command: a string runs with `sh -c`, an array of strings runs as argv",
    ),
    opt(
        "cwd",
        OptionType::String,
        false,
        true,
        "working directory of the process",
    ),
];

static COMMAND: OperatorSpec = OperatorSpec {
    name: "command",
    doc: "runs a shell command or an argv as a process",
    options: &COMMAND_OPTIONS,
};

static COMMON_TASK_OPTIONS: [OptionSpec; 17] = [
    opt(
        "retries",
        OptionType::Int,
        false,
        false,
        "further tries after a failed one (default 0)",
    ),
    opt(
        "retry_delay",
        OptionType::Duration,
        false,
        false,
        "delay before a retry (default \"30s\")",
    ),
    opt(
        "retry_backoff",
        OptionType::String,
        false,
        false,
        "\"fixed\" (default) or \"exponential\" (delay doubles each try, with jitter)",
    ),
    opt(
        "max_retry_delay",
        OptionType::Duration,
        false,
        false,
        "upper bound of the retry delay (default \"1h\")",
    ),
    opt(
        "timeout",
        OptionType::Duration,
        false,
        false,
        "a try running longer is killed and counts as failed",
    ),
    opt(
        "trigger_rule",
        OptionType::String,
        false,
        false,
        "when the task may run given its upstream tasks' states (default \"all_success\")",
    ),
    opt(
        "depends_on_past",
        OptionType::Bool,
        false,
        false,
        "wait for this task's success in the previous run",
    ),
    opt(
        "executor",
        OptionType::String,
        false,
        false,
        "\"local\" (default), \"container\" or \"kubernetes\"",
    ),
    opt(
        "image",
        OptionType::String,
        false,
        false,
        "container image (container/Kubernetes executors)",
    ),
    opt(
        "resources",
        OptionType::Map,
        false,
        false,
        "container resources: #{ cpu: \"2\", memory: \"4Gi\", gpu: 1 }",
    ),
    opt(
        "pull_policy",
        OptionType::String,
        false,
        false,
        "container image pull policy",
    ),
    opt(
        "pool",
        OptionType::String,
        false,
        false,
        "slots are shared per pool (default \"default\")",
    ),
    opt(
        "priority",
        OptionType::Int,
        false,
        false,
        "higher priority runs first (default 0)",
    ),
    opt(
        "env",
        OptionType::StringMap,
        false,
        true,
        "extra environment for the task's process",
    ),
    opt(
        "outlets",
        OptionType::StringArray,
        false,
        false,
        "asset names this task updates on success",
    ),
    opt(
        "cache",
        OptionType::Bool,
        false,
        false,
        "reuse the outputs of an earlier successful try with identical inputs",
    ),
    opt(
        "doc",
        OptionType::String,
        false,
        false,
        "documentation shown in the UI",
    ),
];

static DAG_OPTIONS: [OptionSpec; 17] = [
    opt(
        "schedule",
        OptionType::String,
        false,
        false,
        "cron (5 or 6 fields), a preset (@daily, ...), \"@every 15m\", or () for manual DAGs",
    ),
    opt(
        "timezone",
        OptionType::String,
        false,
        false,
        "IANA time zone the schedule is evaluated in (default \"UTC\")",
    ),
    opt(
        "start_date",
        OptionType::String,
        false,
        false,
        "\"YYYY-MM-DD\" or RFC 3339; required with a schedule",
    ),
    opt(
        "end_date",
        OptionType::String,
        false,
        false,
        "\"YYYY-MM-DD\" or RFC 3339",
    ),
    opt(
        "catchup",
        OptionType::Bool,
        false,
        false,
        "create runs for every missed interval (default false)",
    ),
    opt(
        "max_active_runs",
        OptionType::Int,
        false,
        false,
        "runs of this DAG at once (default 16)",
    ),
    opt(
        "max_active_tasks",
        OptionType::Int,
        false,
        false,
        "running tasks of this DAG across its runs (default 16)",
    ),
    opt(
        "params",
        OptionType::Map,
        false,
        false,
        "defaults a run's conf overrides key by key",
    ),
    opt(
        "default_args",
        OptionType::Map,
        false,
        false,
        "defaults for the options every task takes",
    ),
    opt(
        "triggers",
        OptionType::Array,
        false,
        false,
        "data-arrival triggers: on_object(...), on_asset(...)",
    ),
    opt(
        "on_failure",
        OptionType::Map,
        false,
        false,
        "alert when a run fails",
    ),
    opt(
        "on_retry",
        OptionType::Map,
        false,
        false,
        "alert when a task is retried",
    ),
    opt(
        "on_success",
        OptionType::Map,
        false,
        false,
        "alert when a run succeeds",
    ),
    opt(
        "sla",
        OptionType::Duration,
        false,
        false,
        "alert when a run has not finished this long after its scheduled time",
    ),
    opt(
        "tags",
        OptionType::StringArray,
        false,
        false,
        "shown in the UI and CLI",
    ),
    opt(
        "description",
        OptionType::String,
        false,
        false,
        "shown in the UI and CLI",
    ),
    opt(
        "owner",
        OptionType::String,
        false,
        false,
        "shown in the UI and CLI",
    ),
];

/// Every registered operator.
pub fn operators() -> impl Iterator<Item = &'static OperatorSpec> + Clone {
    std::iter::once(&COMMAND).chain(crate::catalog::CATALOG.iter())
}

/// The operator with this name.
pub fn operator(name: &str) -> Option<&'static OperatorSpec> {
    operators().find(|o| o.name == name)
}

/// The options every task takes (the "Options every task takes" table of `dag-files.md`).
pub fn common_task_options() -> &'static [OptionSpec] {
    &COMMON_TASK_OPTIONS
}

/// The options `dag(id, opts)` takes (the "DAG options" table of `dag-files.md`).
pub fn dag_options() -> &'static [OptionSpec] {
    &DAG_OPTIONS
}

/// The candidate closest to `name`, if it is close enough to be a likely misspelling
/// (case-insensitive Damerau–Levenshtein distance, at most about a third of the length).
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted = name.to_lowercase();
    let limit = match wanted.chars().count() {
        0 => return None,
        1..=3 => 1,
        4..=6 => 2,
        n => n / 3,
    };
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let d = strsim::damerau_levenshtein(&wanted, &c.to_lowercase());
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Checks that `value` has type `ty`. The error says what was expected and what was given,
/// e.g. `expected a whole number, got a string ("two")`.
pub fn check_type(ty: OptionType, value: &Value) -> Result<(), String> {
    let ok = match ty {
        OptionType::String => value.is_string(),
        OptionType::Int => value.is_i64() || value.is_u64(),
        OptionType::Float => value.is_number(),
        OptionType::Bool => value.is_boolean(),
        OptionType::Duration => match value.as_str() {
            Some(text) => {
                return cambium_dag::parse_duration(text)
                    .map(|_| ())
                    .map_err(|e| format!("expected {}: {e}", ty.describe()))
            }
            None => false,
        },
        OptionType::StringOrArray => {
            value.is_string()
                || value
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string))
        }
        OptionType::StringArray => value
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string)),
        OptionType::Map => value.is_object(),
        OptionType::StringMap => value
            .as_object()
            .is_some_and(|m| m.values().all(Value::is_string)),
        OptionType::Array => value.is_array(),
        OptionType::Any => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected {}, got {}",
            ty.describe(),
            describe_value(value)
        ))
    }
}

/// A short description of a value for error messages ("a string (\"two\")", "an array with a
/// number in it").
pub fn describe_value(value: &Value) -> String {
    match value {
        Value::Null => "() (nothing)".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) if n.is_f64() => format!("a decimal number ({n})"),
        Value::Number(n) => format!("a whole number ({n})"),
        Value::String(s) => {
            let shown: String = s.chars().take(40).collect();
            let more = if shown.len() < s.len() { "…" } else { "" };
            format!("a string (\"{shown}{more}\")")
        }
        Value::Array(items) => match items.iter().find(|v| !v.is_string()) {
            Some(odd) => format!("an array containing {}", describe_value(odd)),
            None => "an array".into(),
        },
        Value::Object(map) => match map.iter().find(|(_, v)| !v.is_string()) {
            Some((k, odd)) => format!("a map whose '{k}' is {}", describe_value(odd)),
            None => "a map".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn command_is_registered_with_its_options() {
        let cmd = operator("command").expect("command operator");
        let names: Vec<&str> = cmd.options.iter().map(|o| o.name).collect();
        assert_eq!(names, ["cmd", "cwd"]);
        assert!(cmd.option("cmd").is_some_and(|o| o.required && o.templated));
        assert_eq!(
            cmd.option("cmd").map(|o| o.ty),
            Some(OptionType::StringOrArray)
        );
        assert!(operator("comand").is_none());
        assert_eq!(operators().count(), 16);
        assert!(operators().all(|o| o.options.iter().all(|x| !x.doc.is_empty())));
    }

    #[test]
    fn tables_match_the_contract() {
        let common: Vec<&str> = common_task_options().iter().map(|o| o.name).collect();
        for name in [
            "retries",
            "retry_delay",
            "retry_backoff",
            "max_retry_delay",
            "timeout",
            "trigger_rule",
            "depends_on_past",
            "executor",
            "image",
            "resources",
            "pull_policy",
            "pool",
            "priority",
            "env",
            "outlets",
            "cache",
            "doc",
        ] {
            assert!(common.contains(&name), "{name} missing");
        }
        let env = common_task_options()
            .iter()
            .find(|o| o.name == "env")
            .expect("env");
        assert!(env.templated && env.ty == OptionType::StringMap);
        let dag: Vec<&str> = dag_options().iter().map(|o| o.name).collect();
        assert!(dag.contains(&"default_args") && dag.contains(&"sla") && dag.contains(&"owner"));
        assert!(dag_options().iter().all(|o| !o.required));
    }

    #[test]
    fn closest_suggests_only_near_names() {
        let names = common_task_options().iter().map(|o| o.name);
        assert_eq!(closest("retires", names.clone()), Some("retries"));
        assert_eq!(closest("Retry_Delay", names.clone()), Some("retry_delay"));
        assert_eq!(closest("timout", names.clone()), Some("timeout"));
        assert_eq!(closest("banana", names.clone()), None);
        assert_eq!(closest("", names), None);
        assert_eq!(closest("comand", ["command", "query"]), Some("command"));
        assert_eq!(closest("x", ["cmd"]), None);
    }

    #[test]
    fn check_type_accepts_and_explains() {
        assert!(check_type(OptionType::Int, &json!(3)).is_ok());
        let err = check_type(OptionType::Int, &json!("two")).expect_err("string is not int");
        assert_eq!(err, "expected a whole number, got a string (\"two\")");
        assert!(check_type(OptionType::Int, &json!(1.5)).is_err());
        assert!(check_type(OptionType::Float, &json!(1)).is_ok());
        assert!(check_type(OptionType::Bool, &json!("true")).is_err());
        assert!(check_type(OptionType::Duration, &json!("5m")).is_ok());
        let err = check_type(OptionType::Duration, &json!("5 minutes")).expect_err("bad unit");
        assert!(err.contains("unknown unit"), "{err}");
        assert!(check_type(OptionType::Duration, &json!(5)).is_err());
        assert!(check_type(OptionType::StringOrArray, &json!("echo")).is_ok());
        assert!(check_type(OptionType::StringOrArray, &json!(["sh", "-c"])).is_ok());
        let err = check_type(OptionType::StringOrArray, &json!(["sh", 1])).expect_err("mixed");
        assert!(
            err.contains("an array containing a whole number (1)"),
            "{err}"
        );
        assert!(check_type(OptionType::StringArray, &json!("x")).is_err());
        assert!(check_type(OptionType::StringMap, &json!({"A": "1"})).is_ok());
        let err = check_type(OptionType::StringMap, &json!({"A": 1})).expect_err("int value");
        assert!(err.contains("'A'"), "{err}");
        assert!(check_type(OptionType::Map, &json!([])).is_err());
        assert!(check_type(OptionType::Array, &json!([1, "a"])).is_ok());
        assert!(check_type(OptionType::Any, &Value::Null).is_ok());
        assert!(check_type(OptionType::String, &Value::Null).is_err());
    }
}
