//! Streaming a 2-million-row query into Parquet stays in bounded memory. In its own test
//! binary, with one test, so nothing else moves this process's peak RSS.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::collections::BTreeMap;

use cambium_data::{query_to, Format, Stores, TableWriter};

/// VmHWM (peak resident set) in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn two_million_rows_stream_into_parquet_in_bounded_memory() {
    const ROWS: u64 = 2_000_000;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let stores = Stores::new(BTreeMap::new(), dir.path().join("artifacts")).unwrap();
    let loc = stores.artifacts().unwrap();
    let before = peak_rss_kib();
    let started = std::time::Instant::now();

    let mut writer = TableWriter::new(Format::Parquet, &dir.path().join("scratch")).unwrap();
    let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) \
               SELECT i AS id, i * 0.25 AS score, 'row-' || i AS label FROM n";
    let summary = query_to(
        &url,
        sql,
        &[serde_json::json!(ROWS)],
        |t| writer.write(&t),
        8192,
    )
    .await
    .unwrap();
    assert_eq!(summary.rows, ROWS);
    let written = writer.finish(&loc, "big/rows.parquet").await.unwrap();
    assert_eq!(written.rows, ROWS);

    let after = peak_rss_kib();
    let growth_mib = (after.saturating_sub(before)) as f64 / 1024.0;
    eprintln!(
        "2M rows -> {} bytes of parquet in {:.1}s; peak RSS {} KiB -> {} KiB (+{growth_mib:.1} MiB)",
        written.bytes,
        started.elapsed().as_secs_f64(),
        before,
        after
    );
    assert!(
        written.bytes > 16 * 1024 * 1024,
        "the upload should go up in parts"
    );
    assert!(growth_mib < 200.0, "peak RSS grew by {growth_mib:.1} MiB");
}
