//! The model registry: versions, aliases, promotion, rollback, concurrent registration.

use crate::fixtures::{artifact, execution, obj};
use crate::harness::Db;
use cambium_store::{Error, ModelVersion, NewModelVersion, Store};
use chrono::Utc;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

contract!(
    versions_are_numbered_and_read_back,
    set_alias_promotes_known_versions,
    rollback_walks_back_twice,
    rollback_with_nothing_earlier_fails,
    unknown_artifacts_register_nothing,
    concurrent_registrations_get_distinct_versions,
);

/// Records a train and a deploy execution of `run_id`; returns the Model and PushedModel
/// artifact ids.
async fn trained(store: &Store, run_id: &str) -> (i64, i64) {
    let (_, model) = store
        .record_execution(
            &execution(run_id, "train", "train", 0),
            &[],
            &[artifact("Model", "model")],
        )
        .await
        .expect("record train");
    let (_, pushed) = store
        .record_execution(
            &execution(run_id, "deploy", "deploy", 10),
            &[("model".to_string(), model[0].id)],
            &[artifact("PushedModel", "pushed")],
        )
        .await
        .expect("record deploy");
    (model[0].id, pushed[0].id)
}

fn version_of(name: &str, run_id: &str, model: i64, pushed: Option<i64>) -> NewModelVersion {
    NewModelVersion {
        name: name.into(),
        model_artifact_id: model,
        pushed_artifact_id: pushed,
        artifact_uri: format!("file:///models/{name}/{run_id}"),
        transform_uri: Some(format!("file:///transforms/{run_id}")),
        metrics: obj(json!({"accuracy": 0.91, "per_slice": {"red": 0.9}})),
        params: obj(json!({"lr": 0.1, "depth": 4})),
        dag_id: "d".into(),
        run_id: run_id.into(),
        task_id: "deploy".into(),
    }
}

/// Registers a version of `name` for `run_id`, moving `aliases` to it.
async fn register(store: &Store, name: &str, run_id: &str, aliases: &[&str]) -> ModelVersion {
    let (model, pushed) = trained(store, run_id).await;
    store
        .register_model_version(
            &version_of(name, run_id, model, Some(pushed)),
            aliases,
            &format!("deploy run {run_id}"),
        )
        .await
        .expect("register")
}

async fn production(store: &Store, name: &str) -> Option<i64> {
    store
        .alias_version(name, "production")
        .await
        .expect("alias")
        .map(|v| v.version)
}

async fn versions_are_numbered_and_read_back(db: Db) {
    let store = db.store().await;
    assert!(store.models().await.expect("models").is_empty());
    let before = Utc::now();
    let (model, pushed) = trained(&store, "r1").await;
    let v1 = store
        .register_model_version(
            &version_of("wine", "r1", model, Some(pushed)),
            &["production", "latest", "production"],
            "deploy run r1",
        )
        .await
        .expect("register");
    assert_eq!(v1.version, 1);
    assert_eq!(
        v1.aliases,
        vec!["latest".to_string(), "production".to_string()]
    );
    assert_eq!(
        (v1.model_artifact_id, v1.pushed_artifact_id),
        (model, Some(pushed))
    );
    assert_eq!(v1.artifact_uri, "file:///models/wine/r1");
    assert_eq!(v1.transform_uri.as_deref(), Some("file:///transforms/r1"));
    assert_eq!(
        v1.metrics,
        obj(json!({"accuracy": 0.91, "per_slice": {"red": 0.9}}))
    );
    assert_eq!(v1.params, obj(json!({"lr": 0.1, "depth": 4})));
    assert_eq!(
        (v1.dag_id.as_str(), v1.run_id.as_str(), v1.task_id.as_str()),
        ("d", "r1", "deploy")
    );
    assert!(v1.created >= before - chrono::Duration::milliseconds(1) && v1.created <= Utc::now());
    assert_eq!(
        store.model_version("wine", 1).await.expect("read"),
        Some(v1.clone())
    );

    // A version without a pushed artifact or transform, moving only `production`.
    let (model2, _) = trained(&store, "r2").await;
    let v2 = store
        .register_model_version(
            &NewModelVersion {
                pushed_artifact_id: None,
                transform_uri: None,
                ..version_of("wine", "r2", model2, None)
            },
            &["production"],
            "deploy run r2",
        )
        .await
        .expect("register");
    assert_eq!(
        (v2.version, v2.aliases.clone()),
        (2, vec!["production".to_string()])
    );
    assert_eq!(
        (v2.pushed_artifact_id, v2.transform_uri.clone()),
        (None, None)
    );
    let other = register(&store, "beer", "r3", &[]).await;
    assert_eq!((other.version, other.aliases.len()), (1, 0));

    let v1_now = ModelVersion {
        aliases: vec!["latest".into()],
        ..v1.clone()
    };
    assert_eq!(
        store.model_versions("wine").await.expect("versions"),
        vec![v2.clone(), v1_now.clone()]
    );
    assert_eq!(
        store.model_version("wine", 1).await.expect("read"),
        Some(v1_now.clone())
    );
    assert_eq!(store.model_version("wine", 3).await.expect("read"), None);
    assert_eq!(
        store
            .alias_version("wine", "production")
            .await
            .expect("alias"),
        Some(v2.clone())
    );
    assert_eq!(
        store.alias_version("wine", "latest").await.expect("alias"),
        Some(v1_now)
    );
    assert_eq!(
        store.alias_version("wine", "staging").await.expect("alias"),
        None
    );
    assert!(store
        .model_versions("nope")
        .await
        .expect("versions")
        .is_empty());
    assert_eq!(
        store
            .alias_version("nope", "production")
            .await
            .expect("alias"),
        None
    );

    let models = store.models().await.expect("models");
    assert_eq!(
        models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        vec!["beer", "wine"]
    );
    let wine = &models[1];
    assert_eq!((wine.latest_version, wine.versions), (2, 2));
    assert_eq!(
        wine.aliases,
        BTreeMap::from([("latest".to_string(), 1), ("production".to_string(), 2)])
    );
    assert_eq!(wine.updated, v2.created);
    assert!(models[0].aliases.is_empty());

    let history = store
        .alias_history("wine", "production")
        .await
        .expect("history");
    assert_eq!(
        history
            .iter()
            .map(|c| (c.version, c.previous, c.reason.as_str()))
            .collect::<Vec<_>>(),
        vec![(2, Some(1), "deploy run r2"), (1, None, "deploy run r1")]
    );
    assert_eq!(history[0].at, v2.created);
    assert_eq!(
        (history[0].name.as_str(), history[0].alias.as_str()),
        ("wine", "production")
    );
    assert!(store
        .alias_history("wine", "staging")
        .await
        .expect("history")
        .is_empty());
}

async fn set_alias_promotes_known_versions(db: Db) {
    let store = db.store().await;
    register(&store, "wine", "r1", &["production"]).await;
    register(&store, "wine", "r2", &[]).await;
    let change = store
        .set_alias("wine", "production", 2, "promote")
        .await
        .expect("promote");
    assert_eq!(
        (
            change.name.as_str(),
            change.alias.as_str(),
            change.version,
            change.previous
        ),
        ("wine", "production", 2, Some(1))
    );
    assert_eq!(change.reason, "promote");
    assert_eq!(production(&store, "wine").await, Some(2));
    // A new alias has no previous version.
    let staging = store
        .set_alias("wine", "staging", 1, "promote")
        .await
        .expect("new alias");
    assert_eq!((staging.version, staging.previous), (1, None));
    assert_eq!(
        store
            .model_version("wine", 1)
            .await
            .expect("read")
            .expect("v1")
            .aliases,
        vec!["staging".to_string()]
    );

    let err = store
        .set_alias("wine", "production", 3, "promote")
        .await
        .expect_err("unknown version");
    assert!(
        matches!(&err, Error::UnknownVersion { name, version: 3 } if name == "wine"),
        "{err}"
    );
    assert!(err.to_string().contains("no version 3"), "{err}");
    let err = store
        .set_alias("nope", "production", 1, "promote")
        .await
        .expect_err("unknown model");
    assert!(
        matches!(&err, Error::UnknownModel(name) if name == "nope"),
        "{err}"
    );
    assert_eq!(production(&store, "wine").await, Some(2));
    let history = store
        .alias_history("wine", "production")
        .await
        .expect("history");
    assert_eq!(
        history
            .iter()
            .map(|c| c.reason.as_str())
            .collect::<Vec<_>>(),
        vec!["promote", "deploy run r1"]
    );
}

async fn rollback_walks_back_twice(db: Db) {
    let store = db.store().await;
    for run in ["r1", "r2", "r3"] {
        register(&store, "wine", run, &["production"]).await;
    }
    assert_eq!(production(&store, "wine").await, Some(3));

    let first = store
        .rollback_alias("wine", "production", "rollback")
        .await
        .expect("rollback");
    assert_eq!((first.version, first.previous), (2, Some(3)));
    assert_eq!(production(&store, "wine").await, Some(2));
    // Back again goes to 1, not forward to the 3 that was just undone.
    let second = store
        .rollback_alias("wine", "production", "rollback")
        .await
        .expect("rollback again");
    assert_eq!((second.version, second.previous), (1, Some(2)));
    assert_eq!(production(&store, "wine").await, Some(1));
    let err = store
        .rollback_alias("wine", "production", "rollback")
        .await
        .expect_err("nothing before 1");
    assert!(matches!(err, Error::NoRollback { .. }), "{err}");
    assert_eq!(production(&store, "wine").await, Some(1));

    // A promotion after rollbacks is what the next rollback undoes.
    store
        .set_alias("wine", "production", 3, "promote")
        .await
        .expect("promote");
    let undone = store
        .rollback_alias("wine", "production", "rollback")
        .await
        .expect("rollback the promotion");
    assert_eq!((undone.version, undone.previous), (1, Some(3)));

    let history = store
        .alias_history("wine", "production")
        .await
        .expect("history");
    assert_eq!(
        history
            .iter()
            .map(|c| (c.version, c.previous, c.reason.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (1, Some(3), "rollback"),
            (3, Some(1), "promote"),
            (1, Some(2), "rollback"),
            (2, Some(3), "rollback"),
            (3, Some(2), "deploy run r3"),
            (2, Some(1), "deploy run r2"),
            (1, None, "deploy run r1"),
        ]
    );
    // Each alias has its own history.
    assert!(store
        .alias_history("wine", "staging")
        .await
        .expect("history")
        .is_empty());
}

async fn rollback_with_nothing_earlier_fails(db: Db) {
    let store = db.store().await;
    register(&store, "wine", "r1", &["production"]).await;
    let err = store
        .rollback_alias("wine", "production", "rollback")
        .await
        .expect_err("only one version");
    assert!(
        matches!(&err, Error::NoRollback { name, alias } if name == "wine" && alias == "production"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("no earlier version to roll back to"),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert_eq!(production(&store, "wine").await, Some(1));
    assert_eq!(
        store
            .alias_history("wine", "production")
            .await
            .expect("history")
            .len(),
        1
    );

    // Re-pointing an alias at its own version is not a step to roll back through.
    store
        .set_alias("wine", "production", 1, "promote")
        .await
        .expect("same version");
    let err = store
        .rollback_alias("wine", "production", "rollback")
        .await
        .expect_err("still nothing earlier");
    assert!(matches!(err, Error::NoRollback { .. }), "{err}");

    let err = store
        .rollback_alias("wine", "staging", "rollback")
        .await
        .expect_err("alias never set");
    assert!(matches!(err, Error::UnknownAlias { .. }), "{err}");
    let err = store
        .rollback_alias("nope", "production", "rollback")
        .await
        .expect_err("unknown model");
    assert!(matches!(err, Error::UnknownModel(_)), "{err}");
}

async fn unknown_artifacts_register_nothing(db: Db) {
    let store = db.store().await;
    let (model, pushed) = trained(&store, "r1").await;
    let err = store
        .register_model_version(
            &version_of("wine", "r1", model + 100, None),
            &["production"],
            "x",
        )
        .await
        .expect_err("unknown model artifact");
    assert!(
        matches!(err, Error::UnknownArtifact(id) if id == model + 100),
        "{err}"
    );
    let err = store
        .register_model_version(
            &version_of("wine", "r1", model, Some(pushed + 100)),
            &["production"],
            "x",
        )
        .await
        .expect_err("unknown pushed artifact");
    assert!(
        matches!(err, Error::UnknownArtifact(id) if id == pushed + 100),
        "{err}"
    );
    assert!(store.models().await.expect("models").is_empty());
    assert!(store
        .alias_history("wine", "production")
        .await
        .expect("history")
        .is_empty());
    // The failed attempts took no version number.
    let v = store
        .register_model_version(&version_of("wine", "r1", model, Some(pushed)), &[], "x")
        .await
        .expect("register");
    assert_eq!(v.version, 1);
}

async fn concurrent_registrations_get_distinct_versions(db: Db) {
    // Two stores, as two scheduler processes sharing one database.
    let one = db.store().await;
    let two = db.store().await;
    let (model, pushed) = trained(&one, "r0").await;
    const PER_STORE: usize = 4;
    let barrier = Arc::new(tokio::sync::Barrier::new(2 * PER_STORE));
    let mut handles = Vec::new();
    for (who, store) in [("one", one.clone()), ("two", two.clone())] {
        for i in 0..PER_STORE {
            let barrier = barrier.clone();
            let store = store.clone();
            let new = version_of("wine", &format!("{who}-{i}"), model, Some(pushed));
            handles.push(tokio::spawn(async move {
                barrier.wait().await;
                store
                    .register_model_version(&new, &["production"], &format!("deploy run {who}-{i}"))
                    .await
                    .expect("register")
                    .version
            }));
        }
    }
    let mut versions = BTreeSet::new();
    for handle in handles {
        assert!(versions.insert(handle.await.expect("task")), "{versions:?}");
    }
    let n = i64::try_from(2 * PER_STORE).expect("small");
    assert_eq!(versions, (1..=n).collect::<BTreeSet<_>>());
    assert_eq!(
        one.model_versions("wine").await.expect("versions").len(),
        2 * PER_STORE
    );
    let summary = &two.models().await.expect("models")[0];
    assert_eq!((summary.latest_version, summary.versions), (n, n));

    // The alias moves were serialized with the registrations: each change's previous
    // version is the one before it, ending at the newest version.
    let history = one
        .alias_history("wine", "production")
        .await
        .expect("history");
    assert_eq!(history.len(), 2 * PER_STORE);
    assert_eq!(history[0].version, n);
    for pair in history.windows(2) {
        assert_eq!(pair[0].previous, Some(pair[1].version), "{history:?}");
        assert_eq!(pair[0].version, pair[1].version + 1, "{history:?}");
    }
    assert_eq!(history[history.len() - 1].previous, None);
    assert_eq!(production(&one, "wine").await, Some(n));
    two.close().await;
    one.close().await;
}
