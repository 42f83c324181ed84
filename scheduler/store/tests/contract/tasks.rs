//! Task instances: the compare-and-set batch writer, tries, counts, clearing, claims.

use crate::fixtures::{new_run, obj, seeds, t};
use crate::harness::Db;
use cambium_dag::{RunState, RunType, TaskState};
use cambium_store::{Batch, RunRecord, Store, TaskInstance, TaskSummary, TryRecord};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

contract!(
    apply_round_trips_every_field,
    apply_is_compare_and_set,
    tries_are_upserted,
    active_counts_and_instances,
    clear_tasks_resets_finished_tasks,
    take_over_moves_a_claim,
    racing_cas_has_exactly_one_winner,
    summaries_match_the_full_rows,
    run_writes_are_compare_and_set_on_the_version,
    clear_and_mark_fail_writes_planned_before_them,
);

async fn run_with(store: &Store, run_id: &str, tasks: &[&str]) -> (RunRecord, Vec<TaskInstance>) {
    let run = store
        .create_run(&new_run("d", run_id, RunType::Manual, 0), &seeds(tasks))
        .await
        .expect("create")
        .expect("new");
    let tis = store.task_instances(run.id).await.expect("tis");
    (run, tis)
}

/// Moves task instances to `state` (from their current state) in one batch.
async fn move_to(store: &Store, tis: &[&TaskInstance], state: TaskState) -> Vec<TaskInstance> {
    let batch = Batch {
        task_instances: tis
            .iter()
            .map(|ti| {
                (
                    ti.state,
                    TaskInstance {
                        state,
                        ..(*ti).clone()
                    },
                )
            })
            .collect(),
        ..Batch::default()
    };
    let applied = store.apply(&batch).await.expect("apply");
    assert!(applied.iter().all(|a| *a), "{applied:?}");
    batch.task_instances.into_iter().map(|(_, ti)| ti).collect()
}

async fn apply_round_trips_every_field(db: Db) {
    let store = db.store().await;
    let (run, tis) = run_with(&store, "r", &["a", "b"]).await;
    let full = TaskInstance {
        state: TaskState::Failed,
        try_number: 2,
        max_tries: 5,
        pool: "gpu".into(),
        priority: -7,
        queued_at: Some(t(1)),
        start_at: Some(t(2)),
        end_at: Some(t(3)),
        duration_ms: Some(1_000),
        next_retry_at: Some(t(60)),
        output: Some(json!({"rows": 12, "path": "s3://b/k", "ok": true, "x": null, "l": [1.5]})),
        metrics: obj(json!({"accuracy": 0.91, "loss": [0.5, 0.25]})),
        claimed_by: Some("sched-1".into()),
        hostname: Some("host-a".into()),
        pid: Some(4_294_967_296),
        exit_code: Some(-9),
        error: Some("timed out after 30s; killed".into()),
        ..tis[0].clone()
    };
    let mut run_after = run.clone();
    run_after.state = RunState::Running;
    run_after.start_at = Some(t(2));
    let applied = store
        .apply(&Batch {
            task_instances: vec![(TaskState::None, full.clone())],
            runs: vec![run_after.clone()],
            tries: vec![],
        })
        .await
        .expect("apply");
    assert_eq!(applied, [true]);
    assert_eq!(
        store.task_instance(full.id).await.expect("ti"),
        Some(full.clone())
    );
    // A run write bumps the run's version (compare-and-set for later writers).
    assert_eq!(
        store.get_run_by_pk(run.id).await.expect("run"),
        Some(RunRecord {
            version: run_after.version + 1,
            ..run_after.clone()
        })
    );
    // The other task is untouched.
    assert_eq!(
        store.task_instance(tis[1].id).await.expect("ti").as_ref(),
        Some(&tis[1])
    );

    // And back to empty values: every optional column can be cleared, a JSON null output
    // is kept apart from no output.
    let empty = TaskInstance {
        state: TaskState::UpForRetry,
        queued_at: None,
        start_at: None,
        end_at: None,
        duration_ms: None,
        next_retry_at: None,
        output: Some(json!(null)),
        metrics: serde_json::Map::new(),
        claimed_by: None,
        hostname: None,
        pid: None,
        exit_code: None,
        error: None,
        ..full.clone()
    };
    let mut run_done = run_after.clone();
    run_done.version = run_after.version + 1;
    run_done.state = RunState::Failed;
    run_done.end_at = Some(t(9));
    let applied = store
        .apply(&Batch {
            task_instances: vec![(TaskState::Failed, empty.clone())],
            runs: vec![run_done.clone()],
            tries: vec![],
        })
        .await
        .expect("apply");
    assert_eq!(applied, [true]);
    let got = store
        .task_instance(full.id)
        .await
        .expect("ti")
        .expect("exists");
    assert_eq!(got.output, Some(json!(null)));
    assert_eq!(got, empty);
    assert_eq!(
        store.get_run_by_pk(run.id).await.expect("run"),
        Some(RunRecord {
            version: run_done.version + 1,
            ..run_done
        })
    );

    let no_output = TaskInstance {
        output: None,
        ..empty.clone()
    };
    store
        .apply(&Batch {
            task_instances: vec![(TaskState::UpForRetry, no_output.clone())],
            ..Batch::default()
        })
        .await
        .expect("apply");
    assert_eq!(
        store.task_instance(full.id).await.expect("ti"),
        Some(no_output)
    );
    assert_eq!(
        store.apply(&Batch::default()).await.expect("empty batch"),
        Vec::<bool>::new()
    );
}

async fn apply_is_compare_and_set(db: Db) {
    let store = db.store().await;
    let (_, tis) = run_with(&store, "r", &["a", "b", "c"]).await;
    let scheduled = move_to(&store, &[&tis[0], &tis[1], &tis[2]], TaskState::Scheduled).await;

    // a: correct expectation; b: stale (someone else already moved it); c: correct.
    let batch = Batch {
        task_instances: vec![
            (
                TaskState::Scheduled,
                TaskInstance {
                    state: TaskState::Queued,
                    ..scheduled[2].clone()
                },
            ),
            (
                TaskState::None,
                TaskInstance {
                    state: TaskState::Queued,
                    ..scheduled[1].clone()
                },
            ),
            (
                TaskState::Scheduled,
                TaskInstance {
                    state: TaskState::Queued,
                    ..scheduled[0].clone()
                },
            ),
        ],
        ..Batch::default()
    };
    assert_eq!(
        store.apply(&batch).await.expect("apply"),
        [true, false, true]
    );
    let states: Vec<TaskState> = store
        .task_instances(tis[0].run_pk)
        .await
        .expect("tis")
        .into_iter()
        .map(|ti| ti.state)
        .collect();
    assert_eq!(
        states,
        [TaskState::Queued, TaskState::Scheduled, TaskState::Queued]
    );
    // Applying the same batch again: nothing matches any more.
    assert_eq!(
        store.apply(&batch).await.expect("apply"),
        [false, false, false]
    );
    // An unknown row never applies.
    let ghost = TaskInstance {
        id: -5,
        ..scheduled[0].clone()
    };
    let batch = Batch {
        task_instances: vec![(TaskState::Scheduled, ghost)],
        ..Batch::default()
    };
    assert_eq!(store.apply(&batch).await.expect("apply"), [false]);
}

async fn tries_are_upserted(db: Db) {
    let store = db.store().await;
    let (_, tis) = run_with(&store, "r", &["a", "b"]).await;
    let id = tis[0].id;
    let first = TryRecord {
        ti_id: id,
        try_number: 1,
        state: TaskState::Running,
        start_at: Some(t(1)),
        end_at: None,
        exit_code: None,
        hostname: Some("h".into()),
        error: None,
    };
    let second = TryRecord {
        try_number: 2,
        state: TaskState::Running,
        start_at: Some(t(10)),
        ..first.clone()
    };
    store
        .apply(&Batch {
            tries: vec![second.clone(), first.clone()],
            ..Batch::default()
        })
        .await
        .expect("apply");
    assert_eq!(
        store.tries(id).await.expect("tries"),
        vec![first.clone(), second.clone()]
    );

    let first_done = TryRecord {
        state: TaskState::Failed,
        end_at: Some(t(5)),
        exit_code: Some(1),
        hostname: None,
        error: Some("exit code 1".into()),
        ..first
    };
    store
        .apply(&Batch {
            tries: vec![first_done.clone()],
            ..Batch::default()
        })
        .await
        .expect("apply");
    assert_eq!(
        store.tries(id).await.expect("tries"),
        vec![first_done, second]
    );
    assert!(store.tries(tis[1].id).await.expect("tries").is_empty());
}

async fn active_counts_and_instances(db: Db) {
    let store = db.store().await;
    // seeds alternate pools: a default, b gpu, c default, d gpu.
    let (_, tis) = run_with(&store, "r1", &["a", "b", "c", "d"]).await;
    let other = store
        .create_run(&new_run("e", "r1", RunType::Manual, 0), &seeds(&["a"]))
        .await
        .expect("create")
        .expect("new");
    let other_tis = store.task_instances(other.id).await.expect("tis");
    assert_eq!(
        store.active_counts().await.expect("counts"),
        Default::default()
    );

    move_to(
        &store,
        &[&tis[0], &tis[1], &other_tis[0]],
        TaskState::Queued,
    )
    .await;
    move_to(&store, &[&tis[2]], TaskState::Running).await;
    move_to(&store, &[&tis[3]], TaskState::Success).await;

    let counts = store.active_counts().await.expect("counts");
    assert_eq!(
        counts.by_pool,
        HashMap::from([("default".to_string(), 3), ("gpu".to_string(), 1)])
    );
    assert_eq!(
        counts.by_dag,
        HashMap::from([("d".to_string(), 3), ("e".to_string(), 1)])
    );
    let active: Vec<(String, String)> = store
        .active_task_instances()
        .await
        .expect("active")
        .into_iter()
        .map(|ti| (ti.dag_id, ti.task_id))
        .collect();
    let pair = |d: &str, t: &str| (d.to_string(), t.to_string());
    assert_eq!(
        active,
        [
            pair("d", "a"),
            pair("d", "b"),
            pair("d", "c"),
            pair("e", "a")
        ]
    );
}

async fn clear_tasks_resets_finished_tasks(db: Db) {
    let store = db.store().await;
    let (run, tis) = run_with(&store, "r", &["a", "b", "c"]).await;
    let finished = |ti: &TaskInstance, state: TaskState| TaskInstance {
        state,
        try_number: 2,
        queued_at: Some(t(1)),
        start_at: Some(t(2)),
        end_at: Some(t(3)),
        duration_ms: Some(1000),
        next_retry_at: Some(t(4)),
        output: Some(json!({"k": 1})),
        metrics: obj(json!({"m": 1})),
        claimed_by: Some("s".into()),
        hostname: Some("h".into()),
        pid: Some(9),
        exit_code: Some(1),
        error: Some("boom".into()),
        ..ti.clone()
    };
    let batch = Batch {
        task_instances: vec![
            (TaskState::None, finished(&tis[0], TaskState::Failed)),
            (TaskState::None, finished(&tis[1], TaskState::Success)),
            (TaskState::None, finished(&tis[2], TaskState::Running)),
        ],
        runs: vec![RunRecord {
            state: RunState::Failed,
            start_at: Some(t(1)),
            end_at: Some(t(9)),
            ..run.clone()
        }],
        tries: vec![],
    };
    assert_eq!(
        store.apply(&batch).await.expect("apply"),
        [true, true, true]
    );

    let retries = HashMap::from([("a".to_string(), 2)]);
    let ids: Vec<String> = ["a", "b", "c", "missing"].map(String::from).to_vec();
    let cleared = store
        .clear_tasks(run.id, &ids, &retries)
        .await
        .expect("clear");
    assert_eq!(cleared, 2, "the running task is left alone");

    let after = store.task_instances(run.id).await.expect("tis");
    for (ti, max_tries) in [(&after[0], 5), (&after[1], 3)] {
        assert_eq!(ti.state, TaskState::None);
        assert_eq!(ti.try_number, 2, "the try count is history");
        assert_eq!(ti.max_tries, max_tries);
        assert_eq!((ti.queued_at, ti.start_at, ti.end_at), (None, None, None));
        assert_eq!((ti.duration_ms, ti.next_retry_at), (None, None));
        assert_eq!(ti.output, None);
        assert!(ti.metrics.is_empty());
        assert_eq!(ti.error, None);
        assert_eq!(
            (ti.claimed_by.as_deref(), ti.pid, ti.exit_code),
            (None, None, None)
        );
    }
    assert_eq!(after[2], batch.task_instances[2].1);
    let run_now = store
        .get_run_by_pk(run.id)
        .await
        .expect("run")
        .expect("exists");
    assert_eq!(run_now.state, RunState::Queued);
    assert_eq!(run_now.end_at, None);
    assert_eq!(run_now.start_at, Some(t(1)));

    // Nothing to clear: the run stays as it is.
    let mut finished_run = run_now.clone();
    finished_run.state = RunState::Success;
    finished_run.end_at = Some(t(20));
    store
        .apply(&Batch {
            runs: vec![finished_run.clone()],
            ..Batch::default()
        })
        .await
        .expect("apply");
    let only_running = vec!["c".to_string()];
    assert_eq!(
        store
            .clear_tasks(run.id, &only_running, &HashMap::new())
            .await
            .expect("clear"),
        0
    );
    assert_eq!(
        store
            .clear_tasks(run.id, &[], &HashMap::new())
            .await
            .expect("clear"),
        0
    );
    assert_eq!(
        store.get_run_by_pk(run.id).await.expect("run"),
        Some(RunRecord {
            version: finished_run.version + 1,
            ..finished_run
        })
    );
}

async fn take_over_moves_a_claim(db: Db) {
    let store = db.store().await;
    let (_, tis) = run_with(&store, "r", &["a"]).await;
    let id = tis[0].id;
    assert!(!store
        .take_over(id, Some("s1"), "s2")
        .await
        .expect("take over"));
    assert!(store
        .take_over(id, None, "s1")
        .await
        .expect("claim unclaimed"));
    assert!(!store
        .take_over(id, None, "s3")
        .await
        .expect("already claimed"));
    assert!(!store
        .take_over(id, Some("s2"), "s3")
        .await
        .expect("wrong holder"));
    assert!(store
        .take_over(id, Some("s1"), "s2")
        .await
        .expect("take over"));
    let ti = store.task_instance(id).await.expect("ti").expect("exists");
    assert_eq!(ti.claimed_by.as_deref(), Some("s2"));
    assert_eq!(ti.state, tis[0].state, "only the claim moves");
    assert!(!store.take_over(-1, None, "s1").await.expect("unknown"));
}

async fn racing_cas_has_exactly_one_winner(db: Db) {
    // Two stores, as two scheduler processes sharing one database.
    let one = db.store().await;
    let two = db.store().await;
    for round in 0..10 {
        let (_, tis) = run_with(&one, &format!("race{round}"), &["a"]).await;
        let scheduled = move_to(&one, &[&tis[0]], TaskState::Scheduled)
            .await
            .remove(0);
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let mut handles = Vec::new();
        for (who, store) in [("one", one.clone()), ("two", two.clone())] {
            let barrier = barrier.clone();
            let queued = TaskInstance {
                state: TaskState::Queued,
                claimed_by: Some(who.to_string()),
                ..scheduled.clone()
            };
            handles.push(tokio::spawn(async move {
                barrier.wait().await;
                let batch = Batch {
                    task_instances: vec![(TaskState::Scheduled, queued)],
                    ..Batch::default()
                };
                store.apply(&batch).await.expect("apply")[0]
            }));
        }
        let mut wins = Vec::new();
        for handle in handles {
            wins.push(handle.await.expect("task"));
        }
        assert_eq!(
            wins.iter().filter(|w| **w).count(),
            1,
            "round {round}: {wins:?}"
        );
        let winner = if wins[0] { "one" } else { "two" };
        let ti = one
            .task_instance(scheduled.id)
            .await
            .expect("ti")
            .expect("exists");
        assert_eq!(ti.state, TaskState::Queued);
        assert_eq!(ti.claimed_by.as_deref(), Some(winner));
    }
    two.close().await;
    one.close().await;
}

/// The run lists' nine-column read (folded per run by the database) says what the full rows
/// say: every field, JSON null output apart from none, declaration order, runs in key order.
async fn summaries_match_the_full_rows(db: Db) {
    let store = db.store().await;
    let (first, tis) = run_with(&store, "r1", &["z_last_declared_first", "b", "a"]).await;
    let (second, _) = run_with(&store, "r2", &["only"]).await;
    let (empty_run, _) = run_with(&store, "r3", &[]).await;
    let full = TaskInstance {
        state: TaskState::Failed,
        try_number: 2,
        start_at: Some(t(2)),
        end_at: Some(t(3)),
        duration_ms: Some(1_000),
        output: Some(json!({"rows": 12, "path": "s3://b/k", "q": "it's \"quoted\"", "l": [1.5]})),
        metrics: obj(json!({"accuracy": 0.91, "loss": [0.5, 0.25]})),
        ..tis[0].clone()
    };
    let null_output = TaskInstance {
        state: TaskState::Success,
        try_number: 1,
        output: Some(json!(null)),
        ..tis[1].clone()
    };
    store
        .apply(&Batch {
            task_instances: vec![
                (TaskState::None, full.clone()),
                (TaskState::None, null_output.clone()),
            ],
            ..Batch::default()
        })
        .await
        .expect("apply");
    let pks = [second.id, empty_run.id, first.id, second.id];
    let expected: Vec<TaskSummary> = store
        .task_instances_of_runs(&pks)
        .await
        .expect("tis")
        .iter()
        .map(TaskSummary::from)
        .collect();
    let got = store.task_summaries_of_runs(&pks).await.expect("summaries");
    assert_eq!(got, expected);
    assert_eq!(got.len(), 4);
    assert_eq!(got[0].task_id, "z_last_declared_first");
    assert_eq!(got[0].output, full.output);
    assert_eq!(got[0].metrics, full.metrics);
    assert_eq!(got[1].output, Some(json!(null)));
    assert_eq!(got[2].output, None);
    assert_eq!(got[3].run_pk, second.id);
    // The grid's cells are the same tasks, five columns.
    let mut cells = store.task_cells_of_runs(&pks[..3]).await.expect("cells");
    cells.sort_by_key(|c| c.run_pk);
    assert_eq!(
        cells
            .iter()
            .map(|c| (
                c.run_pk,
                c.task_id.clone(),
                c.state.clone(),
                c.try_number,
                c.duration_ms
            ))
            .collect::<Vec<_>>(),
        expected
            .iter()
            .map(|s| (
                s.run_pk,
                s.task_id.clone(),
                s.state.to_string(),
                s.try_number,
                s.duration_ms
            ))
            .collect::<Vec<_>>()
    );
    assert!(store
        .task_summaries_of_runs(&[])
        .await
        .expect("none")
        .is_empty());
}

async fn run_writes_are_compare_and_set_on_the_version(db: Db) {
    let store = db.store().await;
    let (run, _) = run_with(&store, "r", &["a"]).await;
    assert_eq!(run.version, 0);
    let running = RunRecord {
        state: RunState::Running,
        start_at: Some(t(1)),
        ..run.clone()
    };
    let batch = Batch {
        runs: vec![running.clone()],
        ..Batch::default()
    };
    let applied = store.apply_guarded(&batch, &[]).await.expect("apply");
    assert_eq!(applied.runs, [true]);
    let stored = store
        .get_run_by_pk(run.id)
        .await
        .expect("read")
        .expect("run");
    assert_eq!((stored.state, stored.version), (RunState::Running, 1));

    // The same write from the older view does not apply.
    let stale = RunRecord {
        state: RunState::Success,
        end_at: Some(t(2)),
        ..running
    };
    let applied = store
        .apply_guarded(
            &Batch {
                runs: vec![stale],
                ..Batch::default()
            },
            &[],
        )
        .await
        .expect("apply");
    assert_eq!(applied.runs, [false]);
    let stored = store
        .get_run_by_pk(run.id)
        .await
        .expect("read")
        .expect("run");
    assert_eq!((stored.state, stored.version), (RunState::Running, 1));
}

async fn clear_and_mark_fail_writes_planned_before_them(db: Db) {
    let store = db.store().await;
    let (run, tis) = run_with(&store, "r", &["a", "b", "c"]).await;
    move_to(&store, &[&tis[0]], TaskState::Success).await;
    let seen = store
        .get_run_by_pk(run.id)
        .await
        .expect("read")
        .expect("run");

    // A clear of `a` after the scheduler read the run (at `seen.version`)...
    let cleared = store
        .clear_tasks(run.id, &["a".to_string()], &HashMap::new())
        .await
        .expect("clear");
    assert_eq!(cleared, 1);
    // ...fails the claim of `b` planned from that view and the run's end, while a try's
    // end (not planned from the view) still applies.
    let claim_b = TaskInstance {
        state: TaskState::Queued,
        try_number: 1,
        ..tis[1].clone()
    };
    let end_c = TaskInstance {
        state: TaskState::Failed,
        ..tis[2].clone()
    };
    let batch = Batch {
        task_instances: vec![(TaskState::None, claim_b), (TaskState::None, end_c)],
        runs: vec![RunRecord {
            state: RunState::Success,
            end_at: Some(t(5)),
            ..seen.clone()
        }],
        tries: vec![],
    };
    let applied = store
        .apply_guarded(&batch, &[(0, seen.version)])
        .await
        .expect("apply");
    assert_eq!(applied.task_instances, [false, true]);
    assert_eq!(applied.runs, [false]);
    let stored = store
        .get_run_by_pk(run.id)
        .await
        .expect("read")
        .expect("run");
    assert_eq!(stored.state, RunState::Queued, "the clear stands");
    let now = store.task_instances(run.id).await.expect("tis");
    assert_eq!(
        (now[0].state, now[1].state, now[2].state),
        (TaskState::None, TaskState::None, TaskState::Failed)
    );

    // Planned from the current version, the claim applies; a mark then bumps the version
    // again and fails the next planned write.
    let claim_b = TaskInstance {
        state: TaskState::Queued,
        try_number: 1,
        ..now[1].clone()
    };
    let applied = store
        .apply_guarded(
            &Batch {
                task_instances: vec![(TaskState::None, claim_b)],
                ..Batch::default()
            },
            &[(0, stored.version)],
        )
        .await
        .expect("apply");
    assert_eq!(applied.task_instances, [true]);
    store
        .mark_task_instance(now[0].id, TaskState::Success, t(6))
        .await
        .expect("mark");
    let marked = store
        .get_run_by_pk(run.id)
        .await
        .expect("read")
        .expect("run");
    assert!(marked.version > stored.version);
    let skip_a = TaskInstance {
        state: TaskState::Skipped,
        ..now[0].clone()
    };
    let applied = store
        .apply_guarded(
            &Batch {
                task_instances: vec![(TaskState::Success, skip_a)],
                ..Batch::default()
            },
            &[(0, stored.version)],
        )
        .await
        .expect("apply");
    assert_eq!(applied.task_instances, [false]);
}
