//! `cambium examples wine-warehouse` against a fresh home: the batches it writes, that a
//! second call inserts nothing, the drift and the missing values it plants, and bad URLs.

mod common;
use common::Env;
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};
use std::path::Path;

/// Runs SQL queries on the SQLite file at `path` (each returns one row of f64/i64 values).
fn query_f64(path: &Path, sql: &str) -> Vec<f64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let options = SqliteConnectOptions::new().filename(path).read_only(true);
        let mut conn = SqliteConnection::connect_with(&options)
            .await
            .expect("open the warehouse");
        let row = sqlx::query(sql)
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let values = (0..row.len())
            .map(|i| {
                row.try_get::<f64, _>(i)
                    .or_else(|_| row.try_get::<i64, _>(i).map(|v| v as f64))
                    .unwrap_or_else(|e| panic!("{sql}, column {i}: {e}"))
            })
            .collect();
        conn.close().await.expect("close");
        values
    })
}

#[test]
fn wine_warehouse_lands_batches_in_order_through_n() {
    let env = Env::new();
    let empty = env.json(&["examples", "wine-warehouse", "--through", "0"], 0);
    assert_eq!(empty["batches"], json!({"1": 0, "2": 0, "3": 0, "4": 0}));
    assert_eq!(empty["inserted"], json!([]));
    let one = env.json(&["examples", "wine-warehouse", "--through", "1"], 0);
    assert_eq!(one["inserted"], json!([1]));
    assert_eq!(one["batches"], json!({"1": 1000, "2": 0, "3": 0, "4": 0}));
    let three = env.json(&["examples", "wine-warehouse", "--through", "3"], 0);
    assert_eq!(three["inserted"], json!([2, 3]), "{three}");
    let out = env.run(&["examples", "wine-warehouse", "--through", "5"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--through"), "{err}");
}

#[test]
fn wine_warehouse_seeds_four_batches_once() {
    let env = Env::new();
    let first = env.json(&["examples", "wine-warehouse"], 0);
    let counts = json!({"1": 1000, "2": 599, "3": 600, "4": 300});
    assert_eq!(first["table"], "wine_quality");
    assert_eq!(first["batches"], counts);
    assert_eq!(first["inserted"], json!([1, 2, 3, 4]));
    let url = first["url"].as_str().expect("url");
    assert!(
        url.starts_with("sqlite://") && url.ends_with("/warehouse.db"),
        "{url}"
    );
    let db = env.home.join("warehouse.db");
    assert!(
        db.is_file(),
        "the default warehouse {} exists",
        db.display()
    );

    // Idempotent: the same counts, nothing inserted.
    let second = env.json(&["examples", "wine-warehouse"], 0);
    assert_eq!(second["batches"], counts);
    assert_eq!(second["inserted"], json!([]));
    assert_eq!(second["url"], first["url"]);

    let totals = query_f64(
        &db,
        "SELECT COUNT(*), COUNT(DISTINCT wine_id), MIN(wine_id), MAX(wine_id) \
         FROM wine_quality WHERE batch IN (1, 2)",
    );
    assert_eq!(totals, [1599.0, 1599.0, 1.0, 1599.0]);
    let quality = query_f64(&db, "SELECT MIN(quality), MAX(quality) FROM wine_quality");
    assert_eq!(quality, [3.0, 8.0]);

    // Batch 3 copies batch-1 rows (wine_id + 10000) with the deliberate shift.
    let drift = query_f64(
        &db,
        "SELECT COUNT(*), AVG(d.alcohol), AVG(t.alcohol), \
                MAX(ABS(d.sulphates - 2 * t.sulphates)), \
                MAX(ABS(d.volatile_acidity - 2 * t.volatile_acidity)), \
                SUM(d.fixed_acidity <> t.fixed_acidity OR d.quality <> t.quality) \
         FROM wine_quality d JOIN wine_quality t ON d.wine_id = t.wine_id + 10000 \
         WHERE d.batch = 3 AND t.batch = 1",
    );
    assert_eq!(drift[0], 600.0, "every batch-3 row copies a batch-1 row");
    assert!(
        (drift[1] - (drift[2] + 3.0)).abs() < 1e-9,
        "batch 3 mean alcohol {} = batch-1 rows' mean {} + 3",
        drift[1],
        drift[2]
    );
    assert!(drift[3] < 1e-12 && drift[4] < 1e-12, "{drift:?}");
    assert_eq!(drift[5], 0.0, "the other columns are copied unchanged");
    let batch3_mean = query_f64(&db, "SELECT AVG(alcohol) FROM wine_quality WHERE batch = 3");
    assert!((batch3_mean[0] - drift[1]).abs() < 1e-9);

    // Batch 4: alcohol missing in every row, the rest present.
    let broken = query_f64(
        &db,
        "SELECT COUNT(*), COUNT(alcohol), COUNT(sulphates), COUNT(quality) \
         FROM wine_quality WHERE batch = 4",
    );
    assert_eq!(broken, [300.0, 0.0, 300.0, 300.0]);
}

#[test]
fn wine_warehouse_takes_a_url_and_creates_its_folder() {
    let env = Env::new();
    let path = env.dir.path().join("nested/deeper/wh.db");
    let url = format!("sqlite://{}", path.display());
    let out = env.run(&["examples", "wine-warehouse", "--url", &url]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("inserted batches 1, 2, 3, 4"), "{text}");
    assert!(text.contains("1000") && text.contains("599"), "{text}");
    assert!(path.is_file());
    assert!(!env.home.join("warehouse.db").exists());

    let again = env.run(&["examples", "wine-warehouse", "--url", &url]);
    assert_eq!(again.status.code(), Some(0));
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.contains("nothing inserted"), "{text}");
}

#[test]
fn wine_warehouse_rejects_a_url_that_is_not_sqlite() {
    let env = Env::new();
    let out = env.run(&[
        "examples",
        "wine-warehouse",
        "--url",
        "postgres://user:hunter2@localhost/wh",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SQLite"), "{err}");
    assert!(!err.contains("hunter2"), "the password is masked: {err}");
}

#[test]
fn wine_warehouse_uses_the_configured_warehouse_connection() {
    let env = Env::new();
    let path = env.dir.path().join("configured.db");
    let out = env
        .command(&["--output", "json", "examples", "wine-warehouse"])
        .env(
            "CAMBIUM_CONN_WAREHOUSE",
            format!("sqlite://{}", path.display()),
        )
        .output()
        .expect("run cambium");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(summary["inserted"], json!([1, 2, 3, 4]));
    assert!(path.is_file());
    assert!(!env.home.join("warehouse.db").exists());
}

#[test]
fn concurrent_calls_insert_every_batch_once() {
    let env = Env::new();
    let children: Vec<_> = (0..3)
        .map(|_| {
            env.command(&["--output", "json", "examples", "wine-warehouse"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start cambium")
        })
        .collect();
    let mut inserted = Vec::new();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(
            summary["batches"],
            json!({"1": 1000, "2": 599, "3": 600, "4": 300})
        );
        for b in summary["inserted"].as_array().expect("inserted") {
            inserted.push(b.as_i64().expect("batch number"));
        }
    }
    inserted.sort_unstable();
    assert_eq!(inserted, [1, 2, 3, 4]);
}
