//! Validation of what a file declared: every DAG and task option against the registry's
//! schemas (unknown names with suggestions, types, ranges, required options), schedules,
//! time zones and dates through the timetable, ids, duplicate tasks, cycles, and features
//! this version does not have yet. Produces a `DagSpec` or all the problems found.

use crate::api::RawDag;
use crate::source::{Pos, SourceIndex};
use cambium_dag::{
    params, parse_duration, DagGraph, DagSpec, ImportError, ParamSpec, RetryBackoff, TaskOptions,
    TaskSpec, TriggerRule,
};
use cambium_operators::registry::{
    check_type, closest, common_task_options, dag_options, operator, operators, OptionSpec,
};
use serde_json::{Map, Value};

/// Collects the errors of one DAG.
struct Report<'a> {
    file: &'a str,
    src: &'a SourceIndex<'a>,
    errors: Vec<ImportError>,
}

impl Report<'_> {
    fn add(&mut self, pos: Pos, message: String) {
        self.errors.push(ImportError {
            file: self.file.to_string(),
            line: pos.line,
            column: pos.column,
            message,
        });
    }
}

/// Checks a DAG or task id against `[A-Za-z0-9_.-]{1,250}`.
pub fn check_id(kind: &str, id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err(format!("a {kind} id cannot be empty"));
    }
    if id.chars().count() > 250 {
        return Err(format!("{kind} id '{id}' is longer than 250 characters"));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "{kind} id '{id}' contains '{bad}'; ids may only use letters, digits, '_', '.' and '-'"
        ));
    }
    Ok(())
}

/// The strings of a JSON array (others are left out; a non-array is empty).
fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn find<'a>(table: &'a [OptionSpec], name: &str) -> Option<&'a OptionSpec> {
    table.iter().find(|o| o.name == name)
}

fn not_available(key: &str, who: &str) -> String {
    format!("option '{key}' of {who} is not available yet in this version of Cambium; remove it")
}

fn int_in<T: TryFrom<i64>>(value: &Value, min: i64, key: &str, who: &str) -> Result<T, String> {
    let n = value.as_i64().unwrap_or(i64::MAX);
    if n < min {
        return Err(format!(
            "option '{key}' of {who} must be {min} or more, got {n}"
        ));
    }
    T::try_from(n).map_err(|_| format!("option '{key}' of {who} is too large ({n})"))
}

/// Applies one of the options every task takes (already type-checked) to `opts`.
fn apply_common(opts: &mut TaskOptions, key: &str, value: &Value, who: &str) -> Result<(), String> {
    let text = value.as_str().unwrap_or_default();
    let duration = || parse_duration(text).map_err(|e| format!("option '{key}' of {who}: {e}"));
    match key {
        "retries" => opts.retries = int_in(value, 0, key, who)?,
        "retry_delay" => opts.retry_delay = duration()?,
        "max_retry_delay" => opts.max_retry_delay = duration()?,
        "timeout" => opts.timeout = Some(duration()?),
        "retry_backoff" => {
            opts.retry_backoff = text
                .parse::<RetryBackoff>()
                .map_err(|e| format!("option '{key}' of {who}: {e}"))?
        }
        "trigger_rule" => {
            opts.trigger_rule = text.parse::<TriggerRule>().map_err(|e| {
                let hint = closest(text, TriggerRule::NAMES.iter().copied())
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default();
                format!("option '{key}' of {who}: {e}{hint}")
            })?
        }
        "depends_on_past" => opts.depends_on_past = value.as_bool().unwrap_or_default(),
        "executor" => {
            return match text {
                "local" => Ok(()),
                "container" | "kubernetes" => Err(format!(
                    "executor '{text}' of {who} is not available yet in this version of Cambium; use \"local\" or remove the option"
                )),
                other => Err(format!(
                    "option 'executor' of {who}: '{other}' is not an executor; use \"local\", \"container\" or \"kubernetes\""
                )),
            }
        }
        "image" | "resources" | "pull_policy" => return Err(not_available(key, who)),
        "outlets" => {
            let names: Vec<String> = strings(value);
            if names.iter().any(|n| n.trim().is_empty()) {
                return Err(format!(
                    "option 'outlets' of {who}: an asset name cannot be empty"
                ));
            }
            let mut unique: Vec<String> = Vec::with_capacity(names.len());
            for name in names {
                if !unique.contains(&name) {
                    unique.push(name);
                }
            }
            opts.outlets = unique;
        }
        "cache" => opts.cache = value.as_bool().unwrap_or_default(),
        "pool" => opts.pool = text.to_string(),
        "priority" => opts.priority = int_in(value, i64::from(i32::MIN), key, who)?,
        "env" => {
            opts.env = value
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default()
        }
        "doc" => opts.doc = Some(text.to_string()),
        _ => {}
    }
    Ok(())
}

/// Applies a DAG's `params`: plain defaults, and full declarations
/// (`#{ default: 3, type: "integer", min: 1, max: 10 }`) split into default and spec.
fn apply_params(spec: &mut DagSpec, given: &Map<String, Value>, who: &str) -> Result<(), String> {
    for (name, value) in given {
        match value.as_object().filter(|_| params::is_declaration(value)) {
            Some(decl) => {
                let (default, param) = ParamSpec::declared(decl)
                    .map_err(|e| format!("param '{name}' of {who}: {e}"))?;
                spec.params.insert(name.clone(), default);
                spec.param_specs.insert(name.clone(), param);
            }
            None => {
                spec.params.insert(name.clone(), value.clone());
            }
        }
    }
    Ok(())
}

/// Checks a DAG's `triggers`: `on_asset(name)` entries with a name; `on_object(...)` is
/// not available yet.
fn check_triggers(triggers: &[Value], who: &str) -> Result<(), String> {
    for (i, trigger) in triggers.iter().enumerate() {
        let kind = trigger.get("type").and_then(Value::as_str);
        match kind {
            Some("asset") => {
                let name = trigger.get("name").and_then(Value::as_str).unwrap_or("");
                if name.trim().is_empty() {
                    return Err(format!(
                        "option 'triggers' of {who}: on_asset(...) needs an asset name, e.g. on_asset(\"warehouse.wine_daily\")"
                    ));
                }
            }
            Some("object") => {
                return Err(format!(
                    "option 'triggers' of {who}: on_object(...) is not available yet in this version of Cambium; use on_asset(...) or remove it"
                ))
            }
            _ => {
                return Err(format!(
                    "option 'triggers' of {who}: entry {} is not a trigger; use on_asset(\"NAME\")",
                    i + 1
                ))
            }
        }
    }
    Ok(())
}

fn unknown_option(key: &str, who: &str, known: &[&str]) -> String {
    match closest(key, known.iter().copied()) {
        Some(s) => format!("unknown option '{key}' for {who} (did you mean '{s}'?)"),
        None => format!(
            "unknown option '{key}' for {who}; it takes: {}",
            known.join(", ")
        ),
    }
}

/// Validates one declared DAG into a `DagSpec`, or returns every problem found in it.
pub fn validate_dag(
    raw: &RawDag,
    file: &str,
    src: &SourceIndex,
) -> Result<DagSpec, Vec<ImportError>> {
    let mut r = Report {
        file,
        src,
        errors: Vec::new(),
    };
    let who = format!("DAG '{}'", raw.id);
    if let Err(e) = check_id("DAG", &raw.id) {
        r.add(raw.pos, e);
    }
    let mut spec = DagSpec::new(&raw.id, file);
    let dag_names: Vec<&str> = dag_options().iter().map(|o| o.name).collect();
    let mut dates: Vec<(&str, &str)> = Vec::new();
    let mut default_args: Option<&Map<String, Value>> = None;
    for (key, value) in &raw.opts {
        let at = src.key_pos(raw.pos, &[key]);
        let Some(option) = find(dag_options(), key) else {
            r.add(at, unknown_option(key, &who, &dag_names));
            continue;
        };
        if value.is_null() {
            continue;
        }
        if let Err(e) = check_type(option.ty, value) {
            r.add(at, format!("option '{key}' of {who}: {e}"));
            continue;
        }
        let text = value.as_str().unwrap_or_default();
        let result: Result<(), String> = match key.as_str() {
            "schedule" => {
                spec.schedule = Some(text.to_string());
                Ok(())
            }
            "timezone" => {
                spec.timezone = text.to_string();
                Ok(())
            }
            "start_date" | "end_date" => {
                dates.push((option.name, text));
                Ok(())
            }
            "catchup" => {
                spec.catchup = value.as_bool().unwrap_or_default();
                Ok(())
            }
            "max_active_runs" => int_in(value, 1, key, &who).map(|n| spec.max_active_runs = n),
            "max_active_tasks" => int_in(value, 1, key, &who).map(|n| spec.max_active_tasks = n),
            "params" => value
                .as_object()
                .map_or(Ok(()), |params| apply_params(&mut spec, params, &who)),
            "default_args" => {
                default_args = value.as_object();
                Ok(())
            }
            "triggers" => {
                spec.triggers = value.as_array().cloned().unwrap_or_default();
                check_triggers(&spec.triggers, &who)
            }
            "on_failure" | "on_retry" | "on_success" => {
                let slot = match key.as_str() {
                    "on_failure" => &mut spec.on_failure,
                    "on_retry" => &mut spec.on_retry,
                    _ => &mut spec.on_success,
                };
                *slot = Some(value.clone());
                Err(not_available(key, &who))
            }
            "sla" => {
                spec.sla = parse_duration(text).ok();
                Err(not_available(key, &who))
            }
            "tags" => {
                spec.tags = strings(value);
                Ok(())
            }
            "description" => {
                spec.description = Some(text.to_string());
                Ok(())
            }
            "owner" => {
                spec.owner = Some(text.to_string());
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            r.add(at, e);
        }
    }

    check_time(&mut r, raw, &mut spec, &dates, &who);

    // default_args: the options every task takes, applied before each task's own.
    let mut base = TaskOptions::default();
    let common_names: Vec<&str> = common_task_options().iter().map(|o| o.name).collect();
    let args_who = format!("default_args of {who}");
    for (key, value) in default_args.into_iter().flatten() {
        let at = src.key_pos(raw.pos, &["default_args", key]);
        let Some(option) = find(common_task_options(), key) else {
            r.add(at, unknown_option(key, &args_who, &common_names));
            continue;
        };
        if value.is_null() {
            continue;
        }
        let checked = check_type(option.ty, value)
            .map_err(|e| format!("option '{key}' of {args_who}: {e}"))
            .and_then(|()| apply_common(&mut base, key, value, &args_who));
        if let Err(e) = checked {
            r.add(at, e);
        }
    }

    for task in &raw.tasks {
        if let Some(t) = validate_task(&mut r, task, &base) {
            spec.tasks.push(t);
        }
    }
    check_edges(&mut r, raw, &mut spec);
    if r.errors.is_empty() {
        let mut problems = crate::expand::add_reference_edges(&mut spec);
        problems.extend(crate::expand::expand_tunes(&mut spec));
        for p in problems {
            let pos = raw
                .tasks
                .iter()
                .find(|t| t.id == p.task_id)
                .map_or(raw.pos, |t| {
                    let path: Vec<&str> = p.path.iter().map(String::as_str).collect();
                    src.key_pos(t.pos, &path)
                });
            r.add(pos, p.message);
        }
        if r.errors.is_empty() {
            check_implied_cycles(&mut r, raw, &spec);
        }
    }

    if r.errors.is_empty() {
        Ok(spec)
    } else {
        Err(r.errors)
    }
}

/// Time zone, schedule and dates, all through the timetable crate.
fn check_time(r: &mut Report, raw: &RawDag, spec: &mut DagSpec, dates: &[(&str, &str)], who: &str) {
    let tz = match cambium_timetable::parse_timezone(&spec.timezone) {
        Ok(tz) => tz,
        Err(e) => {
            let at = r.src.key_pos(raw.pos, &["timezone"]);
            r.add(at, format!("option 'timezone' of {who}: {e}"));
            chrono_tz::Tz::UTC
        }
    };
    if let Some(schedule) = &spec.schedule {
        if let Err(e) = cambium_timetable::Timetable::parse(Some(schedule), tz.name()) {
            let at = r.src.key_pos(raw.pos, &["schedule"]);
            r.add(at, format!("option 'schedule' of {who}: {e}"));
        }
    }
    for (key, text) in dates {
        let at = r.src.key_pos(raw.pos, &[key]);
        match cambium_timetable::parse_date(text, tz) {
            Ok(t) if *key == "start_date" => spec.start_date = Some(t),
            Ok(t) => spec.end_date = Some(t),
            Err(e) => r.add(at, format!("option '{key}' of {who}: {e}")),
        }
    }
    let has_start = dates.iter().any(|(k, _)| *k == "start_date");
    if spec.schedule.is_some() && !has_start {
        let at = r.src.key_pos(raw.pos, &["schedule"]);
        r.add(
            at,
            format!("{who} has a schedule but no start_date; add start_date: \"YYYY-MM-DD\""),
        );
    }
    if let (Some(start), Some(end)) = (spec.start_date, spec.end_date) {
        if end < start {
            let at = r.src.key_pos(raw.pos, &["end_date"]);
            r.add(
                at,
                format!("option 'end_date' of {who} is before its start_date"),
            );
        }
    }
}

fn validate_task(
    r: &mut Report,
    task: &crate::api::RawTask,
    base: &TaskOptions,
) -> Option<TaskSpec> {
    let who = format!("task '{}'", task.id);
    let before = r.errors.len();
    if let Err(e) = check_id("task", &task.id) {
        r.add(task.pos, e);
    }
    let op = operator(&task.operator);
    if op.is_none() {
        let message = match closest(&task.operator, operators().map(|o| o.name)) {
            Some(s) => format!(
                "unknown operator '{}' for {who} (did you mean '{s}'?)",
                task.operator
            ),
            None => format!(
                "unknown operator '{}' for {who}; known operators: {}",
                task.operator,
                operators().map(|o| o.name).collect::<Vec<_>>().join(", ")
            ),
        };
        r.add(task.pos, message);
    }
    if cambium_operators::catalog::NOT_YET.contains(&task.operator.as_str()) {
        r.add(
            task.pos,
            format!(
                "operator '{}' of {who} is not available yet in this version of Cambium; remove the task",
                task.operator
            ),
        );
    }
    let mut known: Vec<&str> = op
        .map(|o| o.options.iter().map(|x| x.name).collect())
        .unwrap_or_default();
    known.extend(common_task_options().iter().map(|o| o.name));
    let mut common = base.clone();
    let mut options = Map::new();
    for (key, value) in &task.opts {
        let at = r.src.key_pos(task.pos, &[key]);
        let own = op.and_then(|o| o.option(key));
        let shared = find(common_task_options(), key);
        let Some(option) = own.or(shared) else {
            if op.is_some() {
                r.add(at, unknown_option(key, &who, &known));
            }
            continue;
        };
        if value.is_null() {
            continue;
        }
        if let Err(e) = check_type(option.ty, value) {
            r.add(at, format!("option '{key}' of {who}: {e}"));
            continue;
        }
        if own.is_some() {
            options.insert(key.clone(), value.clone());
        } else if let Err(e) = apply_common(&mut common, key, value, &who) {
            r.add(at, e);
        }
    }
    for required in op.iter().flat_map(|o| o.options).filter(|o| o.required) {
        if !options.contains_key(required.name) {
            r.add(
                task.pos,
                format!(
                    "{who} is missing the required option '{}' ({})",
                    required.name, required.doc
                ),
            );
        }
    }
    if common.cache && task.operator == "command" {
        r.add(
            r.src.key_pos(task.pos, &["cache"]),
            format!("option 'cache' of {who}: a command's outputs cannot be reused; cache works for the built-in operators"),
        );
    }
    (r.errors.len() == before).then(|| TaskSpec {
        task_id: task.id.clone(),
        operator: task.operator.clone(),
        options,
        common,
    })
}

/// After the implied edges: a reference against the declared dependencies closes a cycle.
fn check_implied_cycles(r: &mut Report, raw: &RawDag, spec: &DagSpec) {
    let ids: Vec<String> = spec.tasks.iter().map(|t| t.task_id.clone()).collect();
    if let Ok(graph) = DagGraph::new(&ids, &spec.edges) {
        for cycle in graph.cycles() {
            r.add(
                raw.pos,
                format!("{cycle} (an option naming an upstream task implies a dependency)"),
            );
        }
    }
}

/// Deduplicates the edges and reports cycles at the dependency that closes each one.
fn check_edges(r: &mut Report, raw: &RawDag, spec: &mut DagSpec) {
    let name = |i: usize| raw.tasks.get(i).map(|t| t.id.clone()).unwrap_or_default();
    for e in &raw.edges {
        let edge = (name(e.up), name(e.down));
        if !spec.edges.contains(&edge) {
            spec.edges.push(edge);
        }
    }
    let ids: Vec<String> = raw.tasks.iter().map(|t| t.id.clone()).collect();
    let graph = match DagGraph::new(&ids, &spec.edges) {
        Ok(g) => g,
        Err(e) => {
            r.add(raw.pos, e.to_string());
            return;
        }
    };
    for cycle in graph.cycles() {
        let cambium_dag::GraphError::Cycle { path } = &cycle else {
            continue;
        };
        let pos = raw
            .edges
            .iter()
            .rev()
            .find(|e| {
                path.windows(2)
                    .any(|w| w[0] == name(e.up) && w[1] == name(e.down))
            })
            .map_or(raw.pos, |e| e.pos);
        r.add(pos, cycle.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_pattern() {
        assert!(check_id("task", "train.v2-final_1").is_ok());
        assert!(check_id("task", "").is_err());
        assert!(check_id("task", "a b").unwrap_err().contains("' '"));
        assert!(check_id("DAG", &"x".repeat(251)).is_err());
        assert!(check_id("DAG", &"x".repeat(250)).is_ok());
    }
}
