//! ML lineage: executions, their input and output artifacts, the cache, baselines.

use crate::fixtures::{artifact, execution, t};
use crate::harness::Db;
use cambium_store::{ArtifactRecord, Error, ExecutionRecord, NewArtifact, NewExecution, Store};
use serde_json::json;

contract!(
    record_execution_round_trips,
    inputs_link_executions_both_ways,
    record_execution_is_all_or_nothing,
    runs_list_their_executions_and_artifacts,
    cached_execution_is_the_latest_with_its_key,
    previous_artifact_skips_the_given_run,
);

/// Records `e` reading `inputs` (`(role, artifact id)`) and writing one artifact per
/// `(kind, name)`.
async fn produce(
    store: &Store,
    e: &NewExecution,
    inputs: &[(&str, i64)],
    outputs: &[(&str, &str)],
) -> (ExecutionRecord, Vec<ArtifactRecord>) {
    let inputs: Vec<(String, i64)> = inputs.iter().map(|(r, id)| (r.to_string(), *id)).collect();
    let outputs: Vec<_> = outputs.iter().map(|(k, n)| artifact(k, n)).collect();
    store
        .record_execution(e, &inputs, &outputs)
        .await
        .expect("record")
}

async fn record_execution_round_trips(db: Db) {
    let store = db.store().await;
    let new = NewExecution {
        try_number: 3,
        cached_from: None,
        ..execution("r1", "split", "example_gen", 10)
    };
    let (exec, outs) = produce(
        &store,
        &new,
        &[],
        &[("Examples", "train"), ("Examples", "eval")],
    )
    .await;
    assert!(exec.id > 0);
    let expected = ExecutionRecord {
        id: exec.id,
        dag_id: "d".into(),
        run_id: "r1".into(),
        task_id: "split".into(),
        try_number: 3,
        operator: "example_gen".into(),
        operator_version: "0.1.0".into(),
        options: json!({"input": "split", "splits": {"train": 8, "eval": 2}, "seed": null}),
        cache_key: "key-r1-split".into(),
        cached_from: None,
        started: t(10),
        ended: t(15),
    };
    assert_eq!(exec, expected);
    assert_eq!(outs.len(), 2);
    assert_ne!(outs[0].id, outs[1].id);
    let train = &outs[0];
    assert_eq!(
        (train.kind.as_str(), train.name.as_str(), train.uri.as_str()),
        ("Examples", "train", "file:///artifacts/Examples/train")
    );
    assert_eq!(train.fingerprint, "sha256:Examples-train");
    assert_eq!(
        train.properties,
        json!({"rows": 120, "split": "train", "columns": ["a", "b"]})
    );
    assert_eq!(
        (
            train.execution_id,
            train.dag_id.as_str(),
            train.run_id.as_str(),
            train.task_id.as_str(),
            train.try_number,
            train.created
        ),
        (exec.id, "d", "r1", "split", 3, t(15))
    );

    assert_eq!(
        store.execution(exec.id).await.expect("read"),
        Some(exec.clone())
    );
    for out in &outs {
        assert_eq!(
            store.artifact(out.id).await.expect("read").as_ref(),
            Some(out)
        );
    }
    assert_eq!(
        store.execution_outputs(exec.id).await.expect("outputs"),
        outs
    );
    assert!(store
        .execution_inputs(exec.id)
        .await
        .expect("inputs")
        .is_empty());
    assert_eq!(store.execution(exec.id + 100).await.expect("read"), None);
    assert_eq!(store.artifact(outs[1].id + 100).await.expect("read"), None);
    assert!(store
        .execution_outputs(exec.id + 100)
        .await
        .expect("outputs")
        .is_empty());

    // An execution that wrote nothing is recorded too.
    let (quiet, none) = produce(&store, &execution("r1", "check", "branch", 20), &[], &[]).await;
    assert!(none.is_empty());
    assert_ne!(quiet.id, exec.id);
    assert!(store
        .execution_outputs(quiet.id)
        .await
        .expect("outputs")
        .is_empty());
}

async fn inputs_link_executions_both_ways(db: Db) {
    let store = db.store().await;
    let (_, split) = produce(
        &store,
        &execution("r1", "split", "example_gen", 0),
        &[],
        &[("Examples", "train"), ("Examples", "eval")],
    )
    .await;
    let (train, eval) = (&split[0], &split[1]);
    let (stats, stats_out) = produce(
        &store,
        &execution("r1", "stats", "statistics_gen", 10),
        &[("examples", eval.id), ("examples", train.id)],
        &[("Statistics", "statistics")],
    )
    .await;
    let (trainer, _) = produce(
        &store,
        &execution("r1", "train", "train", 20),
        &[("train", train.id), ("statistics", stats_out[0].id)],
        &[("Model", "model")],
    )
    .await;

    // Inputs come back in the order given, each with its role.
    assert_eq!(
        store.execution_inputs(stats.id).await.expect("inputs"),
        vec![
            ("examples".to_string(), eval.clone()),
            ("examples".to_string(), train.clone())
        ]
    );
    assert_eq!(
        store.execution_inputs(trainer.id).await.expect("inputs"),
        vec![
            ("train".to_string(), train.clone()),
            ("statistics".to_string(), stats_out[0].clone())
        ]
    );
    assert_eq!(
        store
            .executions_consuming(train.id)
            .await
            .expect("consumers"),
        vec![
            ("examples".to_string(), stats.clone()),
            ("train".to_string(), trainer.clone())
        ]
    );
    assert_eq!(
        store
            .executions_consuming(eval.id)
            .await
            .expect("consumers"),
        vec![("examples".to_string(), stats.clone())]
    );
    assert!(store
        .executions_consuming(stats_out[0].id + 100)
        .await
        .expect("consumers")
        .is_empty());
}

async fn record_execution_is_all_or_nothing(db: Db) {
    let store = db.store().await;
    let (_, split) = produce(
        &store,
        &execution("r0", "split", "example_gen", 0),
        &[],
        &[("Examples", "train")],
    )
    .await;
    let missing = split[0].id + 1_000;

    // The outputs are written before the inputs: a missing input is a foreign-key failure
    // after rows were already inserted, and must take all of them back.
    let inputs = vec![
        ("examples".to_string(), split[0].id),
        ("schema".to_string(), missing),
    ];
    let outputs = vec![
        artifact("Statistics", "statistics"),
        artifact("Schema", "schema"),
    ];
    let err = store
        .record_execution(
            &execution("r1", "stats", "statistics_gen", 10),
            &inputs,
            &outputs,
        )
        .await
        .expect_err("missing input");
    assert!(
        matches!(err, Error::UnknownArtifact(id) if id == missing),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert!(err.to_string().contains(&missing.to_string()), "{err}");
    assert!(store
        .executions_of_run("d", "r1")
        .await
        .expect("list")
        .is_empty());
    assert!(store
        .artifacts_of_run("d", "r1")
        .await
        .expect("list")
        .is_empty());
    assert!(store
        .executions_consuming(split[0].id)
        .await
        .expect("consumers")
        .is_empty());

    // A cached execution must point at an execution that exists.
    let cached = NewExecution {
        cached_from: Some(9_999),
        ..execution("r1", "stats", "statistics_gen", 10)
    };
    let err = store
        .record_execution(&cached, &[], &outputs)
        .await
        .expect_err("missing cached_from");
    assert!(matches!(err, Error::UnknownExecution(9_999)), "{err}");
    assert!(store
        .artifacts_of_run("d", "r1")
        .await
        .expect("list")
        .is_empty());

    // The same execution with good inputs is recorded whole.
    let (exec, outs) = store
        .record_execution(
            &execution("r1", "stats", "statistics_gen", 10),
            &inputs[..1],
            &outputs,
        )
        .await
        .expect("record");
    assert_eq!(
        store.executions_of_run("d", "r1").await.expect("list"),
        vec![exec]
    );
    assert_eq!(store.artifacts_of_run("d", "r1").await.expect("list"), outs);
}

async fn runs_list_their_executions_and_artifacts(db: Db) {
    let store = db.store().await;
    let (a, a_out) = produce(
        &store,
        &execution("r1", "split", "example_gen", 0),
        &[],
        &[("Examples", "train"), ("Examples", "eval")],
    )
    .await;
    let (b, b_out) = produce(
        &store,
        &execution("r1", "stats", "statistics_gen", 10),
        &[("examples", a_out[0].id)],
        &[("Statistics", "statistics")],
    )
    .await;
    // Another run of the same DAG, and a run with the same id in another DAG.
    produce(
        &store,
        &execution("r2", "split", "example_gen", 100),
        &[],
        &[("Examples", "train")],
    )
    .await;
    let other_dag = NewExecution {
        dag_id: "other".into(),
        ..execution("r1", "split", "example_gen", 200)
    };
    let (_, other_out) = produce(&store, &other_dag, &[], &[("Examples", "train")]).await;
    assert_eq!(other_out[0].dag_id, "other");

    assert_eq!(
        store.executions_of_run("d", "r1").await.expect("list"),
        vec![a, b]
    );
    let mut expected = a_out.clone();
    expected.extend(b_out);
    assert_eq!(
        store.artifacts_of_run("d", "r1").await.expect("list"),
        expected
    );
    assert_eq!(
        store
            .executions_of_run("d", "r2")
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(store
        .executions_of_run("d", "r3")
        .await
        .expect("list")
        .is_empty());
    assert!(store
        .artifacts_of_run("nope", "r1")
        .await
        .expect("list")
        .is_empty());
}

async fn cached_execution_is_the_latest_with_its_key(db: Db) {
    let store = db.store().await;
    assert!(store
        .find_cached_execution("transform", "0.1.0", "k")
        .await
        .expect("find")
        .is_none());
    let keyed = |run_id: &str, secs| NewExecution {
        cache_key: "k".into(),
        ..execution(run_id, "transform", "transform", secs)
    };
    let (first, _) = produce(&store, &keyed("r1", 0), &[], &[("TransformGraph", "graph")]).await;
    let (second, second_out) = produce(
        &store,
        &keyed("r2", 100),
        &[],
        &[("Examples", "train"), ("TransformGraph", "graph")],
    )
    .await;
    // The same key under another operator version, and another key: not hits.
    let newer_code = NewExecution {
        operator_version: "0.2.0".into(),
        ..keyed("r3", 200)
    };
    produce(&store, &newer_code, &[], &[("TransformGraph", "graph")]).await;
    produce(
        &store,
        &execution("r4", "transform", "transform", 300),
        &[],
        &[("TransformGraph", "graph")],
    )
    .await;

    let hit = store
        .find_cached_execution("transform", "0.1.0", "k")
        .await
        .expect("find")
        .expect("hit");
    assert_eq!(hit, (second.clone(), second_out.clone()));
    assert_ne!(hit.0.id, first.id);
    assert!(store
        .find_cached_execution("transform", "0.3.0", "k")
        .await
        .expect("find")
        .is_none());
    assert!(store
        .find_cached_execution("train", "0.1.0", "k")
        .await
        .expect("find")
        .is_none());

    // An execution that reused the hit records where its outputs came from.
    let reuse = NewExecution {
        cached_from: Some(second.id),
        ..keyed("r5", 400)
    };
    let reuse_out: Vec<_> = second_out
        .iter()
        .map(|a| NewArtifact {
            kind: a.kind.clone(),
            name: a.name.clone(),
            uri: a.uri.clone(),
            fingerprint: a.fingerprint.clone(),
            properties: a.properties.clone(),
        })
        .collect();
    let (reused, _) = store
        .record_execution(&reuse, &[], &reuse_out)
        .await
        .expect("record");
    assert_eq!(reused.cached_from, Some(second.id));
    assert_eq!(
        store
            .execution(reused.id)
            .await
            .expect("read")
            .expect("exists")
            .cached_from,
        Some(second.id)
    );
}

async fn previous_artifact_skips_the_given_run(db: Db) {
    let store = db.store().await;
    let stats = |run_id: &str, secs| execution(run_id, "stats", "statistics_gen", secs);
    let (_, r1) = produce(
        &store,
        &stats("r1", 0),
        &[],
        &[("Statistics", "statistics"), ("Statistics", "eval")],
    )
    .await;
    let (_, r2) = produce(
        &store,
        &stats("r2", 100),
        &[],
        &[("Statistics", "statistics")],
    )
    .await;
    // Same kind and name from another task and from another DAG: never a baseline here.
    produce(
        &store,
        &execution("r3", "other_stats", "statistics_gen", 200),
        &[],
        &[("Statistics", "statistics")],
    )
    .await;
    let other_dag = NewExecution {
        dag_id: "other".into(),
        ..stats("r4", 300)
    };
    produce(&store, &other_dag, &[], &[("Statistics", "statistics")]).await;

    let previous = |before: &'static str, name: &'static str| {
        let store = store.clone();
        async move {
            store
                .previous_artifact("d", "stats", "Statistics", name, before)
                .await
                .expect("previous")
        }
    };
    assert_eq!(previous("r3", "statistics").await, Some(r2[0].clone()));
    assert_eq!(previous("r2", "statistics").await, Some(r1[0].clone()));
    assert_eq!(previous("r2", "eval").await, Some(r1[1].clone()));
    assert_eq!(previous("r1", "eval").await, None);
    assert_eq!(
        store
            .previous_artifact("d", "stats", "Schema", "statistics", "r3")
            .await
            .expect("previous"),
        None
    );
    assert_eq!(
        store
            .previous_artifact("d", "nope", "Statistics", "statistics", "r3")
            .await
            .expect("previous"),
        None
    );
}
