//! Turns a task instance of a run into the executor's `TryRequest`: renders the task's
//! templated options, builds the process and the task protocol's environment. A task's
//! environment is built here, never inherited: a `command` gets the `CAMBIUM_*` protocol
//! variables and its own `env`; a built-in operator also gets the database URL and the
//! connections it names, through `secret_env`, which is never written to disk. A `command`
//! runs its own process; every built-in operator runs as `cambium task operator <try_dir>`,
//! which reads the operator's [`Invocation`] back from the try's `spec.json`, so a crashing
//! operator never takes the scheduler down.

use crate::paths::Home;
use cambium_dag::{DagSpec, TaskSpec};
use cambium_executor::{TryKey, TryRequest};
use cambium_operators::invocation::Invocation;
use cambium_operators::registry::operator;
use cambium_operators::template::{render_str, render_value, TemplateContext};
use cambium_store::{RunRecord, TaskInstance};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A run's `params`: the DAG's defaults overridden key by key by the run's `conf`.
pub fn merged_params(spec: &DagSpec, conf: &Map<String, Value>) -> Map<String, Value> {
    let mut params = spec.params.clone();
    for (k, v) in conf {
        params.insert(k.clone(), v.clone());
    }
    params
}

/// The template context of one try.
pub fn template_context(
    spec: &DagSpec,
    run: &RunRecord,
    task_id: &str,
    try_number: u32,
    outputs: Map<String, Value>,
) -> TemplateContext {
    TemplateContext {
        dag_id: spec.dag_id.clone(),
        run_id: run.run_id.clone(),
        task_id: task_id.to_string(),
        try_number,
        logical_date: run.logical_date,
        data_interval_start: run.data_interval_start,
        data_interval_end: run.data_interval_end,
        timezone: spec.timezone.clone(),
        params: merged_params(spec, &run.conf),
        conf: run.conf.clone(),
        outputs,
    }
}

/// How built-in operators' task processes are started, and what they are told.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorRuntime {
    /// The `cambium` binary (`<program> task operator <try_dir>`); also `CAMBIUM_BIN` in
    /// every task's environment.
    pub program: PathBuf,
    /// Given to built-in operators' processes: `CAMBIUM_HOME`, `CAMBIUM_DAGS_FOLDER`;
    /// written into the try's `spec.json`, so never a secret.
    pub env: BTreeMap<String, String>,
    /// Also given to built-in operators' processes but never written to disk:
    /// `CAMBIUM_DATABASE_URL`, the object stores' cloud credentials.
    pub secret_env: BTreeMap<String, String>,
    /// Connection name -> URL: a built-in operator's process gets the ones it names, as
    /// `CAMBIUM_CONN_<NAME>` (never written to disk).
    pub connections: BTreeMap<String, String>,
}

/// Renders the options an operator marks as templates; the others stay as declared.
fn render_options(task: &TaskSpec, ctx: &TemplateContext) -> Result<Map<String, Value>, String> {
    let schema_name = if task.operator == "tune_trial" {
        "tune"
    } else {
        task.operator.as_str()
    };
    let spec = operator(schema_name);
    let mut out = Map::new();
    for (key, value) in &task.options {
        let templated = spec
            .and_then(|s| s.option(key))
            .is_some_and(|o| o.templated);
        let value = if templated {
            render_value(value, ctx, key).map_err(|e| e.to_string())?
        } else {
            value.clone()
        };
        out.insert(key.clone(), value);
    }
    Ok(out)
}

/// Builds the request for the current try of `ti` (`ti.try_number`). `outputs` maps upstream task ids to
/// their outputs. An error is a sentence for the try's log (a bad template, a bad option).
#[allow(clippy::too_many_arguments)] // each is a separate input the engine and `tasks test` hold
pub fn build_request(
    home: &Home,
    spec: &DagSpec,
    task: &TaskSpec,
    run: &RunRecord,
    ti: &TaskInstance,
    outputs: Map<String, Value>,
    secrets: &[String],
    runtime: &OperatorRuntime,
) -> Result<TryRequest, String> {
    let try_number = ti.try_number;
    // A manual run's conf was checked when the run was created; checked again in case the
    // DAG changed since. (An asset-triggered run's conf is the event, made by Cambium.)
    if run.run_type == cambium_dag::RunType::Manual {
        spec.check_conf(&run.conf)
            .map_err(|e| format!("the run's conf does not fit the DAG's params: {e}"))?;
    }
    let ctx = template_context(spec, run, &task.task_id, try_number, outputs.clone());
    let try_dir = home.try_dir(&spec.dag_id, &run.run_id, &task.task_id, try_number);
    let log_path = home.log_path(&spec.dag_id, &run.run_id, &task.task_id, try_number);

    let mut env = BTreeMap::new();
    let mut secret_env = BTreeMap::new();
    let mut invocation = None;
    let (argv, cwd) = match task.operator.as_str() {
        "command" => {
            let rendered = render_value(&Value::Object(task.options.clone()), &ctx, "")
                .map_err(|e| e.to_string())?;
            let Value::Object(options) = rendered else {
                return Err("task options must be a map".into());
            };
            cambium_operators::command::command_argv(&options)?
        }
        name => {
            let options = render_options(task, &ctx)?;
            let call = Invocation {
                operator: name.to_string(),
                options,
                upstream: outputs,
                dag_id: spec.dag_id.clone(),
                dag_file: spec.file.clone(),
                run_id: run.run_id.clone(),
                task_id: task.task_id.clone(),
                try_number,
                logical_date: run.logical_date,
                params: ctx.params.clone(),
                cache: task.common.cache,
            };
            for name in call.connections() {
                if let Some(url) = runtime.connections.get(&name) {
                    secret_env.insert(format!("CAMBIUM_CONN_{}", name.to_uppercase()), url.clone());
                }
            }
            invocation = Some(serde_json::to_value(&call).map_err(|e| e.to_string())?);
            env.extend(runtime.env.clone());
            secret_env.extend(runtime.secret_env.clone());
            let argv = vec![
                runtime.program.display().to_string(),
                "task".to_string(),
                "operator".to_string(),
                try_dir.display().to_string(),
            ];
            (argv, None)
        }
    };

    for (k, v) in &task.common.env {
        let value = render_str(v, &ctx).map_err(|e| format!("option 'env.{k}': {e}"))?;
        env.insert(k.clone(), value);
    }
    if !runtime.program.as_os_str().is_empty() {
        env.insert("CAMBIUM_BIN".into(), runtime.program.display().to_string());
    }
    // Every task can find its home (e.g. to call `$CAMBIUM_BIN` with the same home).
    if let Some(home) = runtime.env.get("CAMBIUM_HOME") {
        env.entry("CAMBIUM_HOME".into())
            .or_insert_with(|| home.clone());
    }
    env.insert("CAMBIUM_DAG_ID".into(), spec.dag_id.clone());
    env.insert("CAMBIUM_RUN_ID".into(), run.run_id.clone());
    env.insert("CAMBIUM_TASK_ID".into(), task.task_id.clone());
    env.insert("CAMBIUM_TRY_NUMBER".into(), try_number.to_string());
    env.insert(
        "CAMBIUM_LOGICAL_DATE".into(),
        crate::time::rfc3339(run.logical_date),
    );
    env.insert(
        "CAMBIUM_OUTPUT".into(),
        try_dir.join("output.json").display().to_string(),
    );
    env.insert(
        "CAMBIUM_METRICS".into(),
        try_dir.join("metrics.json").display().to_string(),
    );

    Ok(TryRequest {
        key: TryKey {
            ti_id: ti.id,
            try_number,
        },
        dag_id: spec.dag_id.clone(),
        run_id: run.run_id.clone(),
        task_id: task.task_id.clone(),
        argv,
        cwd: cwd.map(PathBuf::from),
        env,
        secret_env,
        timeout: task.common.timeout,
        secrets: secrets.to_vec(),
        try_dir,
        log_path,
        operator: invocation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cambium_dag::{RunState, RunType, TaskOptions};
    use cambium_store::TaskInstance;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn task(id: &str, operator: &str, options: Value) -> TaskSpec {
        TaskSpec {
            task_id: id.into(),
            operator: operator.into(),
            options: options.as_object().cloned().unwrap_or_default(),
            common: TaskOptions::default(),
        }
    }

    fn run(conf: Value) -> RunRecord {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 20, 0, 0, 0)
            .single()
            .expect("date");
        RunRecord {
            id: 1,
            dag_id: "d".into(),
            run_id: "manual__x".into(),
            run_type: RunType::Manual,
            state: RunState::Running,
            logical_date: at,
            data_interval_start: at,
            data_interval_end: at,
            run_after: at,
            conf: conf.as_object().cloned().unwrap_or_default(),
            backfill_id: None,
            created_at: at,
            start_at: None,
            end_at: None,
            version: 0,
        }
    }

    fn runtime() -> OperatorRuntime {
        OperatorRuntime {
            program: PathBuf::from("/bin/cambium"),
            env: BTreeMap::from([("CAMBIUM_HOME".to_string(), "/h".to_string())]),
            secret_env: BTreeMap::from([(
                "CAMBIUM_DATABASE_URL".to_string(),
                "postgres://c:dbpw@db/c".to_string(),
            )]),
            connections: BTreeMap::from([
                (
                    "warehouse".to_string(),
                    "postgres://w:whpw@wh/dw".to_string(),
                ),
                ("crm".to_string(), "postgres://c:crmpw@crm/c".to_string()),
            ]),
        }
    }

    fn request(spec: &DagSpec, t: &TaskSpec, conf: Value) -> Result<TryRequest, String> {
        let r = run(conf);
        let ti = TaskInstance {
            try_number: 1,
            ..TaskInstance::unstarted("d", &r.run_id, &t.task_id)
        };
        build_request(
            &Home::new("/h"),
            spec,
            t,
            &r,
            &ti,
            Map::new(),
            &[],
            &runtime(),
        )
    }

    #[test]
    fn a_command_gets_no_secret_and_an_operator_only_its_connection() {
        let mut spec = DagSpec::new("d", "d.rhai");
        let cmd = task("c", "command", json!({"cmd": "true"}));
        let query = task(
            "q",
            "query",
            json!({"conn": "warehouse", "sql": "select 1"}),
        );
        spec.tasks = vec![cmd.clone(), query.clone()];

        let req = request(&spec, &cmd, json!({})).expect("builds");
        assert!(req.secret_env.is_empty(), "{:?}", req.secret_env);
        let written = serde_json::to_string(&req).expect("json");
        for secret in ["dbpw", "whpw", "crmpw"] {
            assert!(!written.contains(secret), "{written}");
        }
        assert_eq!(req.env["CAMBIUM_HOME"], "/h");
        assert_eq!(req.env["CAMBIUM_TASK_ID"], "c");

        let req = request(&spec, &query, json!({})).expect("builds");
        assert_eq!(
            req.secret_env["CAMBIUM_DATABASE_URL"],
            "postgres://c:dbpw@db/c"
        );
        assert_eq!(
            req.secret_env["CAMBIUM_CONN_WAREHOUSE"],
            "postgres://w:whpw@wh/dw"
        );
        assert!(!req.secret_env.contains_key("CAMBIUM_CONN_CRM"));
        let written = serde_json::to_string(&req).expect("json");
        for secret in ["dbpw", "whpw", "crmpw"] {
            assert!(
                !written.contains(secret),
                "spec.json would hold {secret}: {written}"
            );
        }
    }

    #[test]
    fn a_conf_that_does_not_fit_the_params_fails_the_try() {
        let mut spec = DagSpec::new("d", "d.rhai");
        spec.params.insert("n".into(), json!(1));
        let cmd = task("c", "command", json!({"cmd": "echo {{ params.n }}"}));
        spec.tasks = vec![cmd.clone()];
        let req = request(&spec, &cmd, json!({"n": 5})).expect("builds");
        assert_eq!(req.argv, ["sh", "-c", "echo 5"]);
        let e = request(&spec, &cmd, json!({"n": "1; id"})).expect_err("refused");
        assert!(e.contains("'n'"), "{e}");
    }
}
