//! The web UI and API with years of history, run on demand (`cargo bench --bench ui`), not
//! in CI's pass/fail. Fills a fresh SQLite store with 1,000 DAGs and 100,000 task tries —
//! one DAG of 50 tasks with 100 runs (the grid of the target), 999 DAGs of 5 tasks with 19
//! runs each — then times requests through the real router (sign-in by bearer token, page
//! rendering, JSON encoding; no network), median of 20 after 3 warm-ups. Prints a Markdown
//! table for docs/benchmarks.md.
//!
//! With `CAMBIUM_BENCH_POSTGRES_URL` (an admin URL, like `CAMBIUM_TEST_POSTGRES_URL`) the
//! same is done a second time on a fresh Postgres database, dropped afterwards.
//!
//! Targets (issue 4): the DAG list page and a DAG's grid (100 runs × 50 tasks) under 200 ms
//! on the server; API lists under 50 ms.

use axum::body::Body;
use axum::http::Request;
use cambium_dag::{DagSpec, RunType, TaskOptions, TaskSpec};
use cambium_store::{NewRun, Store, TaskSeed};
use chrono::{Duration as Days, TimeZone, Utc};
use std::time::{Duration, Instant};
use tower::ServiceExt;

const DAGS: usize = 1000;
const BIG_TASKS: usize = 50;
const BIG_RUNS: usize = 100;
const SMALL_TASKS: usize = 5;
const SMALL_RUNS: usize = 19;

fn spec(dag_id: &str, tasks: usize) -> DagSpec {
    let mut spec = DagSpec::new(dag_id, &format!("{dag_id}.rhai"));
    spec.schedule = Some("0 * * * *".into());
    spec.tags = vec!["bench".into(), format!("team{}", dag_id.len() % 7)];
    spec.description = Some(format!("Benchmark DAG {dag_id}"));
    for t in 0..tasks {
        spec.tasks.push(TaskSpec {
            task_id: format!("task_{t:02}"),
            operator: "command".into(),
            options: serde_json::json!({"cmd": format!("echo {t}")})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            common: TaskOptions::default(),
        });
        if t > 0 {
            spec.edges
                .push((format!("task_{:02}", t - 1), format!("task_{t:02}")));
        }
    }
    spec
}

async fn fill(store: &Store, url: &str) -> usize {
    let now = Utc::now();
    let mut files = Vec::new();
    for i in 0..DAGS {
        let id = if i == 0 {
            "big".to_string()
        } else {
            format!("dag_{i:04}")
        };
        let tasks = if i == 0 { BIG_TASKS } else { SMALL_TASKS };
        files.push((
            format!("{id}.rhai"),
            format!("hash{i}"),
            vec![spec(&id, tasks)],
            vec![],
        ));
    }
    store
        .sync_dag_files(&files, false, now)
        .await
        .expect("dags");
    let start = Utc
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .expect("date");
    let mut tries = 0;
    for (file, _, specs, _) in &files {
        let _ = file;
        let spec = &specs[0];
        let runs = if spec.dag_id == "big" {
            BIG_RUNS
        } else {
            SMALL_RUNS
        };
        let seeds: Vec<TaskSeed> = spec
            .tasks
            .iter()
            .map(|t| TaskSeed {
                task_id: t.task_id.clone(),
                pool: "default_pool".into(),
                priority: 1,
                max_tries: 1,
            })
            .collect();
        for r in 0..runs {
            let logical = start + Days::hours(r as i64);
            let run = NewRun {
                dag_id: spec.dag_id.clone(),
                run_id: format!("scheduled__{}", logical.to_rfc3339()),
                run_type: RunType::Scheduled,
                logical_date: logical,
                data_interval_start: logical,
                data_interval_end: logical + Days::hours(1),
                run_after: logical + Days::hours(1),
                conf: Default::default(),
                backfill_id: None,
                created_at: now,
            };
            store.create_run(&run, &seeds).await.expect("run");
            tries += seeds.len();
        }
    }
    // Every run ended and every task tried once, most of them successfully.
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .expect("store connection");
    sqlx::query(
        "UPDATE task_instances SET state = CASE WHEN id % 37 = 0 THEN 'failed' ELSE 'success' END, \
         try_number = 1, start_at = 1700000000000000, end_at = 1700000000000000 + (id % 90) * 1000000, \
         duration_ms = (id % 90) * 1000",
    )
    .execute(&mut conn)
    .await
    .expect("tries");
    sqlx::query("UPDATE dag_runs SET state = 'success', start_at = 1700000000000000, end_at = 1700000100000000")
        .execute(&mut conn)
        .await
        .expect("runs");
    // What autovacuum would have done by now on a live server: planner statistics.
    if url.starts_with("postgres") {
        sqlx::query("ANALYZE")
            .execute(&mut conn)
            .await
            .expect("analyze");
    }
    tries
}

async fn time(app: &axum::Router, token: &str, path: &str) -> (Duration, usize) {
    let mut samples = Vec::new();
    let mut bytes = 0;
    for i in 0..23 {
        let request = Request::builder()
            .uri(path)
            .header("Authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        let t = Instant::now();
        let response = app.clone().oneshot(request).await.expect("response");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let elapsed = t.elapsed();
        bytes = body.len();
        if i >= 3 {
            samples.push(elapsed);
        }
    }
    samples.sort();
    (samples[samples.len() / 2], bytes)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("cambium.db").display());
        println!("SQLite:\n");
        bench(&url, dir.path()).await;
        let Some(admin) = std::env::var("CAMBIUM_BENCH_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            eprintln!("(set CAMBIUM_BENCH_POSTGRES_URL to measure on Postgres too)");
            return;
        };
        let name = format!("cambium_bench_{}", std::process::id());
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("connect to CAMBIUM_BENCH_POSTGRES_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create database");
        let (base, _) = admin.rsplit_once('/').expect("postgres://host/db");
        let url = format!("{base}/{name}");
        println!("\nPostgres:\n");
        // As a task, so the database is dropped even when a request fails.
        let home = dir.path().to_path_buf();
        let outcome = tokio::spawn(async move { bench(&url, &home).await }).await;
        let _ = sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
        outcome.expect("Postgres bench");
    });
}

async fn bench(url: &str, home: &std::path::Path) {
    let store = Store::connect(url).await.expect("store");
    store.migrate().await.expect("migrate");
    let t = Instant::now();
    let tries = fill(&store, url).await;
    eprintln!(
        "filled {DAGS} DAGs and {tries} task tries in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let hash = cambium_auth::hash_password("bench-password").expect("hash");
    let user = store
        .create_user("bench", "admin", &hash, Utc::now())
        .await
        .expect("user");
    let token = cambium_auth::new_secret();
    store
        .create_api_token(
            user.id,
            &cambium_auth::secret_hash(&token),
            Utc::now(),
            Utc::now() + chrono::TimeDelta::days(1),
        )
        .await
        .expect("token");
    // Where the time goes: the store reads behind the pages, alone.
    let parts = store.clone();
    let big_runs = parts
        .list_runs(&cambium_store::RunFilter {
            dag_id: Some("big".into()),
            limit: Some(100),
            ..Default::default()
        })
        .await
        .expect("runs");
    let pks: Vec<i64> = big_runs.iter().map(|r| r.id).collect();
    let mut parts_table = Vec::new();
    let t = Instant::now();
    let dags = parts.list_dags().await.expect("dags");
    parts_table.push(("store: list_dags (1,000 specs)", t.elapsed()));
    let t = Instant::now();
    let _ = parts.dag_heads().await.expect("heads");
    parts_table.push(("store: dag_heads (1,000 DAGs)", t.elapsed()));
    let t = Instant::now();
    let _ = parts.latest_scheduled_intervals().await.expect("intervals");
    parts_table.push(("store: latest_scheduled_intervals", t.elapsed()));
    let t = Instant::now();
    let _ = parts.recent_runs_by_dag(10).await.expect("recent");
    parts_table.push(("store: recent_runs_by_dag(10)", t.elapsed()));
    let t = Instant::now();
    let _ = cambium_ui::service::dag_list(&parts, &dags, Utc::now())
        .await
        .expect("list");
    parts_table.push((
        "service: dag_list (incl. intervals, next runs)",
        t.elapsed(),
    ));
    let t = Instant::now();
    let tis = parts.task_instances_of_runs(&pks).await.expect("tis");
    parts_table.push((
        "store: task_instances_of_runs (100 runs, 5,000 rows)",
        t.elapsed(),
    ));
    eprintln!("{} task instances", tis.len());
    let t = Instant::now();
    let summaries = parts.task_summaries_of_runs(&pks).await.expect("summaries");
    parts_table.push((
        "store: task_summaries_of_runs (100 runs, 5,000 rows, 9 columns)",
        t.elapsed(),
    ));
    let t = Instant::now();
    let views = cambium_ui::service::run_views(&parts, &big_runs)
        .await
        .expect("views");
    parts_table.push(("service: run_views (100 runs)", t.elapsed()));
    let t = Instant::now();
    let json = serde_json::to_vec(&views).expect("json");
    parts_table.push(("serde_json: 100 run views", t.elapsed()));
    eprintln!(
        "{} summaries, {} KB of JSON",
        summaries.len(),
        json.len() / 1024
    );
    for (name, d) in parts_table {
        eprintln!("{name}: {:.1} ms", d.as_secs_f64() * 1000.0);
    }
    let home = cambium_scheduler::Home::new(home);
    let app = cambium_ui::web::App::new(store, cambium_ui::web::WebConfig::new(home)).expect("app");
    let router = cambium_ui::web::router(app);
    println!("| request | median | body | target |");
    println!("|---|---|---|---|");
    for (name, path, target) in [
        ("DAG list page (1,000 DAGs)", "/", 200),
        ("grid page, 100 runs × 50 tasks", "/dags/big?runs=100", 200),
        ("GET /api/v1/dags (1,000 DAGs)", "/api/v1/dags", 50),
        (
            "GET /api/v1/dags/big/runs?limit=100",
            "/api/v1/dags/big/runs?limit=100",
            50,
        ),
        (
            "GET /api/v1/dags/dag_0500/runs",
            "/api/v1/dags/dag_0500/runs",
            50,
        ),
        ("runs page with duration chart", "/dags/big/runs", 200),
        ("graph page, 50 tasks", "/dags/big/graph", 200),
    ] {
        let (median, bytes) = time(&router, &token, path).await;
        println!(
            "| {name} | {:.1} ms | {} KB | < {target} ms{} |",
            median.as_secs_f64() * 1000.0,
            bytes / 1024,
            if median.as_millis() < target {
                ""
            } else {
                " (missed)"
            }
        );
    }
}
