//! Records to feed the store.

use cambium_dag::{DagSpec, ImportError, RunType, TaskOptions, TaskSpec};
use cambium_store::{NewArtifact, NewExecution, NewRun, TaskSeed};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

/// A time `secs` after 2026-01-01, with microseconds (what the store keeps).
pub fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(1_767_225_600_000_000 + secs * 1_000_000 + 123_456)
        .expect("valid time")
}

pub fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

pub fn dag(dag_id: &str, file: &str, tasks: &[&str]) -> DagSpec {
    DagSpec {
        dag_id: dag_id.into(),
        file: file.into(),
        schedule: Some("*/10 * * * *".into()),
        timezone: "Europe/Berlin".into(),
        start_date: Some(t(0)),
        end_date: None,
        catchup: false,
        max_active_runs: 1,
        max_active_tasks: 16,
        params: obj(json!({"lr": 0.1, "name": "x"})),
        triggers: vec![],
        on_failure: None,
        on_retry: None,
        on_success: None,
        sla: Some(std::time::Duration::from_secs(60)),
        tags: vec!["demo".into()],
        description: Some("a DAG".into()),
        owner: None,
        tasks: tasks
            .iter()
            .map(|id| TaskSpec {
                task_id: (*id).into(),
                operator: "command".into(),
                options: obj(json!({"command": "echo {{ ds }}"})),
                common: TaskOptions::default(),
            })
            .collect(),
        edges: tasks
            .windows(2)
            .map(|w| (w[0].to_string(), w[1].to_string()))
            .collect(),
        // Fields added to the spec later keep their defaults.
        ..DagSpec::new(dag_id, file)
    }
}

pub fn import_error(file: &str, line: u32, column: u32, message: &str) -> ImportError {
    ImportError {
        file: file.into(),
        line,
        column,
        message: message.into(),
    }
}

pub fn new_run(dag_id: &str, run_id: &str, run_type: RunType, logical_secs: i64) -> NewRun {
    NewRun {
        dag_id: dag_id.into(),
        run_id: run_id.into(),
        run_type,
        logical_date: t(logical_secs),
        data_interval_start: t(logical_secs),
        data_interval_end: t(logical_secs + 600),
        run_after: t(logical_secs + 600),
        conf: obj(json!({"epochs": 3, "nested": {"a": [1, 2, null]}})),
        backfill_id: None,
        created_at: t(logical_secs + 601),
    }
}

pub fn seeds(task_ids: &[&str]) -> Vec<TaskSeed> {
    task_ids
        .iter()
        .enumerate()
        .map(|(i, id)| TaskSeed {
            task_id: (*id).into(),
            pool: if i % 2 == 0 { "default" } else { "gpu" }.into(),
            priority: i32::try_from(i).expect("small") - 1,
            max_tries: 3,
        })
        .collect()
}

/// An execution of `operator` by task `task_id` of run `run_id` of DAG `d`, try 1, that ran
/// from `t(secs)` to `t(secs + 5)`.
pub fn execution(run_id: &str, task_id: &str, operator: &str, secs: i64) -> NewExecution {
    NewExecution {
        dag_id: "d".into(),
        run_id: run_id.into(),
        task_id: task_id.into(),
        try_number: 1,
        operator: operator.into(),
        operator_version: "0.1.0".into(),
        options: json!({"input": "split", "splits": {"train": 8, "eval": 2}, "seed": null}),
        cache_key: format!("key-{run_id}-{task_id}"),
        cached_from: None,
        started: t(secs),
        ended: t(secs + 5),
    }
}

/// An output artifact whose URI and fingerprint follow from its kind and name.
pub fn artifact(kind: &str, name: &str) -> NewArtifact {
    NewArtifact {
        kind: kind.into(),
        name: name.into(),
        uri: format!("file:///artifacts/{kind}/{name}"),
        fingerprint: format!("sha256:{kind}-{name}"),
        properties: json!({"rows": 120, "split": name, "columns": ["a", "b"]}),
    }
}
