//! Queries on real databases: SQLite always, Postgres when `CAMBIUM_TEST_POSTGRES_URL` is
//! set (CI sets it; `pg_ctlcluster 15 main start` locally), MySQL (MariaDB, which `.ci/run`
//! installs and starts) when `CAMBIUM_TEST_MYSQL_URL` is set.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::collections::BTreeMap;

use cambium_data::{
    query_first_value, query_is_truthy, query_to, read_table, Format, Stores, TableWriter,
};
use cambium_ml::table::{Column, ColumnType, Table};
use serde_json::json;

fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("warehouse.db").display())
}

async fn seed_sqlite(url: &str) {
    for sql in [
        "CREATE TABLE wine (id INTEGER PRIMARY KEY, grape TEXT, quality INTEGER, alcohol REAL)",
        "INSERT INTO wine (grape, quality, alcohol) VALUES \
         ('merlot', 5, 12.5), ('riesling', 7, NULL), (NULL, 6, 11.0), ('o''neil \"x\", ü', 4, 9.5)",
    ] {
        query_to(url, sql, &[], |_| Ok(()), 100).await.unwrap();
    }
}

async fn collect(
    url: &str,
    sql: &str,
    binds: &[serde_json::Value],
    batch: usize,
) -> (Vec<Table>, cambium_data::QuerySummary) {
    let mut out = Vec::new();
    let summary = query_to(
        url,
        sql,
        binds,
        |t| {
            out.push(t);
            Ok(())
        },
        batch,
    )
    .await
    .unwrap();
    (out, summary)
}

#[tokio::test]
async fn sqlite_query_with_binds_into_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    seed_sqlite(&url).await;
    let stores = Stores::new(BTreeMap::new(), dir.path().join("artifacts")).unwrap();
    let loc = stores.artifacts().unwrap();

    let mut writer = TableWriter::new(Format::Parquet, &dir.path().join("scratch")).unwrap();
    // A bind that would be an injection if spliced.
    let summary = query_to(
        &url,
        "SELECT id, grape, quality, alcohol FROM wine WHERE quality >= ? AND (grape IS NULL OR grape <> ?) ORDER BY id",
        &[json!(5), json!("x' OR '1'='1")],
        |t| writer.write(&t),
        2,
    )
    .await
    .unwrap();
    assert_eq!(summary.rows, 3);
    assert_eq!(
        summary.columns,
        [
            ("id".to_string(), ColumnType::Int),
            ("grape".to_string(), ColumnType::Str),
            ("quality".to_string(), ColumnType::Int),
            ("alcohol".to_string(), ColumnType::Float),
        ]
    );
    let written = writer.finish(&loc, "query/wine.parquet").await.unwrap();
    assert_eq!(written.rows, 3);
    let t = read_table(&written.uri, Format::Parquet).await.unwrap();
    assert_eq!(
        t.column("id"),
        Some(&Column::Int(vec![Some(1), Some(2), Some(3)]))
    );
    assert_eq!(
        t.column("grape"),
        Some(&Column::Str(vec![
            Some("merlot".into()),
            Some("riesling".into()),
            None
        ]))
    );
    assert_eq!(
        t.column("alcohol"),
        Some(&Column::Float(vec![Some(12.5), None, Some(11.0)]))
    );

    // Quotes and unicode come back as stored.
    let (batches, _) = collect(
        &url,
        "SELECT grape FROM wine WHERE quality = ?",
        &[json!(4)],
        10,
    )
    .await;
    assert_eq!(
        batches[0].column("grape"),
        Some(&Column::Str(vec![Some("o'neil \"x\", ü".into())]))
    );
}

#[tokio::test]
async fn sqlite_types_from_values_and_nulls_first() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    // Expression columns have no declared type; the first 3 rows of `late` are NULL, more
    // than one batch of 2.
    let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 7) \
               SELECT i, i * 0.5 AS half, CASE WHEN i > 3 THEN 'v' || i END AS late, \
               NULL AS never, ? AS flag, ? AS nil FROM n";
    let (batches, summary) = collect(&url, sql, &[json!(true), json!(null)], 2).await;
    assert_eq!(summary.rows, 7);
    assert_eq!(
        batches.iter().map(Table::rows).collect::<Vec<_>>(),
        [2, 2, 2, 1]
    );
    let mut all = Table::default();
    for b in batches {
        all.append(b).unwrap();
    }
    assert_eq!(
        all.column("half"),
        Some(&Column::Float(
            (1..=7).map(|i| Some(i as f64 * 0.5)).collect()
        ))
    );
    assert_eq!(
        all.column("late"),
        Some(&Column::Str(
            (1..=7).map(|i| (i > 3).then(|| format!("v{i}"))).collect()
        ))
    );
    assert_eq!(all.column("never"), Some(&Column::Str(vec![None; 7])));
    // SQLite has no booleans: a bound true comes back as the integer 1.
    assert_eq!(all.column("flag"), Some(&Column::Int(vec![Some(1); 7])));
}

#[tokio::test]
async fn sqlite_errors_say_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    seed_sqlite(&url).await;
    let err = query_to(&url, "SELEC 1", &[], |_| Ok(()), 10)
        .await
        .unwrap_err();
    assert!(matches!(err, cambium_data::Error::Query { .. }), "{err}");
    assert!(err.to_string().contains("syntax error"), "{err}");
    assert!(!err.is_retryable());

    let missing = format!("sqlite://{}", dir.path().join("nope/none.db").display());
    let err = query_to(&missing, "SELECT 1", &[], |_| Ok(()), 10)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("could not connect to sqlite://"),
        "{err}"
    );
    assert!(err.is_retryable());

    // A value that changes type after the first batch names the column and row.
    let sql = "SELECT CASE WHEN id < 3 THEN id ELSE 'text' END AS v FROM wine ORDER BY id";
    let err = query_to(&url, sql, &[], |_| Ok(()), 2)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("column 'v'") && err.contains("row 3 holds a string"),
        "{err}"
    );

    let err = query_to(&url, "SELECT x'00ff' AS b", &[], |_| Ok(()), 2)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("column 'b'") && err.contains("hex(x)"),
        "{err}"
    );

    // The sink's error stops the query and comes back as it was.
    let err = query_to(
        &url,
        "SELECT id FROM wine",
        &[],
        |_| Err(cambium_data::Error::UnknownFormat("sink".into())),
        1,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("'sink'"), "{err}");
}

#[tokio::test]
async fn empty_results_and_sensor_helpers() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    seed_sqlite(&url).await;
    let (batches, summary) = collect(
        &url,
        "SELECT id, grape FROM wine WHERE quality > ?",
        &[json!(100)],
        10,
    )
    .await;
    assert!(batches.is_empty());
    assert_eq!(summary.rows, 0);
    assert_eq!(
        summary.columns,
        [
            ("id".to_string(), ColumnType::Int),
            ("grape".to_string(), ColumnType::Str)
        ]
    );
    assert_eq!(
        query_first_value(
            &url,
            "SELECT count(*) FROM wine WHERE quality > ?",
            &[json!(5)]
        )
        .await
        .unwrap(),
        Some(json!(2))
    );
    assert!(query_is_truthy(&url, "SELECT count(*) FROM wine", &[])
        .await
        .unwrap());
    assert!(
        !query_is_truthy(&url, "SELECT count(*) FROM wine WHERE id < 0", &[])
            .await
            .unwrap()
    );
    assert!(
        !query_is_truthy(&url, "SELECT id FROM wine WHERE id < 0", &[])
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn mysql_urls_are_recognised_and_connection_errors_are_masked() {
    // Port 1 on loopback refuses the connection at once.
    let url = "mysql://app:hunter2@127.0.0.1:1/warehouse";
    let err = query_to(url, "SELECT 1", &[], |_| Ok(()), 10)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("could not connect to mysql://app:***@127.0.0.1:1/warehouse"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    assert!(err.is_retryable());
    let err = query_to("mssql://sa:pw@h/db", "SELECT 1", &[], |_| Ok(()), 10)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("unsupported scheme 'mssql'"),
        "{err}"
    );
}

#[tokio::test]
async fn postgres_query_types_binds_and_errors() {
    let Some(url) = cambium_testkit::postgres_admin_url() else {
        return;
    };
    let sql = "SELECT g AS id, g::float8 / 4 AS quarter, g % 2 = 0 AS even, \
               CASE WHEN g > 2 THEN 'n' || g END AS label, NULL::int4 AS nothing, $2::text AS tag \
               FROM generate_series(1, $1::int8) AS g";
    let (batches, summary) = collect(&url, sql, &[json!(5), json!("ünï 'q'")], 2).await;
    assert_eq!(summary.rows, 5);
    assert_eq!(
        summary.columns,
        [
            ("id".to_string(), ColumnType::Int),
            ("quarter".to_string(), ColumnType::Float),
            ("even".to_string(), ColumnType::Bool),
            ("label".to_string(), ColumnType::Str),
            ("nothing".to_string(), ColumnType::Int),
            ("tag".to_string(), ColumnType::Str),
        ]
    );
    let mut all = Table::default();
    for b in batches {
        all.append(b).unwrap();
    }
    assert_eq!(
        all.column("even"),
        Some(&Column::Bool((1..=5).map(|g| Some(g % 2 == 0)).collect()))
    );
    assert_eq!(all.column("nothing"), Some(&Column::Int(vec![None; 5])));
    assert_eq!(
        all.column("tag"),
        Some(&Column::Str(vec![Some("ünï 'q'".into()); 5]))
    );

    let err = query_to(&url, "SELECT 1.5::numeric AS n", &[], |_| Ok(()), 2)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("NUMERIC") || err.contains("Numeric"), "{err}");
    assert!(err.contains("cast the column"), "{err}");
    let err = query_to(&url, "SELECT * FROM no_such_table", &[], |_| Ok(()), 2)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("query failed on postgres://") && text.contains("no_such_table"),
        "{text}"
    );
    assert!(text.contains(":***@") || !url.contains('@'), "{text}");
    assert!(!err.is_retryable());
    let bad = url.replacen("postgres:postgres@", "postgres:wrong-secret@", 1);
    if bad != url {
        let err = query_to(&bad, "SELECT 1", &[], |_| Ok(()), 2)
            .await
            .unwrap_err()
            .to_string();
        assert!(!err.contains("wrong-secret"), "{err}");
    }
}

/// A real MySQL-protocol server (MariaDB, which `.ci/run` installs and starts) when
/// `CAMBIUM_TEST_MYSQL_URL` is set; skipped with a message otherwise.
#[tokio::test]
async fn mysql_query_with_binds_streams_typed_batches() {
    let Some(url) = cambium_testkit::service_url("CAMBIUM_TEST_MYSQL_URL") else {
        return;
    };
    let sql = "SELECT CAST(n AS SIGNED) AS id, CAST(n / 4 AS DOUBLE) AS quarter, \
               CASE WHEN n > 2 THEN CONCAT('n', n) END AS label, CAST(? AS CHAR) AS tag \
               FROM (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5) AS g \
               WHERE n <= ? ORDER BY n";
    let (batches, summary) = collect(&url, sql, &[json!("x 'q'"), json!(4)], 3).await;
    assert_eq!(summary.rows, 4);
    let names: Vec<&str> = summary.columns.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["id", "quarter", "label", "tag"]);
    assert_eq!(summary.columns[0].1, ColumnType::Int);
    assert_eq!(summary.columns[1].1, ColumnType::Float);
    let mut all = Table::default();
    for b in batches {
        all.append(b).unwrap();
    }
    assert_eq!(
        all.column("id"),
        Some(&Column::Int((1..=4).map(Some).collect()))
    );
    assert_eq!(
        all.column("label"),
        Some(&Column::Str(vec![
            None,
            None,
            Some("n3".into()),
            Some("n4".into())
        ]))
    );
    assert_eq!(
        all.column("tag"),
        Some(&Column::Str(vec![Some("x 'q'".into()); 4]))
    );
    let err = query_to(&url, "SELECT * FROM no_such_table", &[], |_| Ok(()), 2)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no_such_table"), "{err}");
    assert!(!err.contains(":cambium@"), "the password is masked: {err}");
}
