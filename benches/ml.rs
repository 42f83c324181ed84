//! Benchmarks of the continuous-training components, run on demand (`cargo bench --bench
//! ml`), not in CI's pass/fail. Prints a Markdown table for docs/benchmarks.md.
//!
//! - statistics: `statistics_gen`'s computation on 100,000 rows × 12 columns (10 numeric,
//!   2 categorical), median of 5
//! - split: the reproducible hash split of the same table by one key column, median of 5
//! - example: the whole `wine_quality_ct` example DAG through `cambium dags test` on a fresh
//!   home (seed, query, export, split, statistics, schema, validate, transform, 4 tune
//!   trials, train, evaluate, deploy), median of 3 first runs
//!
//! `CAMBIUM_BENCH=statistics,example` runs a subset.

use cambium_ml::{compute_statistics, split_table, Column, Field, Splitter, Table};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cambium");

/// A deterministic table: xorshift numbers, some missing values, two categorical columns.
fn table(rows: usize) -> Table {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut fields = Vec::new();
    fields.push(Field {
        name: "id".into(),
        data: Column::Int((0..rows as i64).map(Some).collect()),
    });
    for c in 0..9 {
        let values = (0..rows)
            .map(|i| (i % 97 != c).then(|| next() * (c as f64 + 1.0) * 10.0))
            .collect();
        fields.push(Field {
            name: format!("x{c}"),
            data: Column::Float(values),
        });
    }
    for c in 0..2 {
        let values = (0..rows)
            .map(|_| Some(format!("cat{}", (next() * (5.0 + 20.0 * c as f64)) as u32)))
            .collect();
        fields.push(Field {
            name: format!("s{c}"),
            data: Column::Str(values),
        });
    }
    Table::new(fields).expect("table")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(n: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..n)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

fn bench_example() -> Duration {
    let dags = Path::new(env!("CARGO_MANIFEST_DIR")).join("dags");
    median(
        (0..3)
            .map(|_| {
                let dir = tempfile::tempdir().expect("tempdir");
                // The first batch arrives (not timed), then one whole run trains on it.
                let seeded = Command::new(BIN)
                    .arg("--home")
                    .arg(dir.path().join("home"))
                    .args(["examples", "wine-warehouse", "--through", "1"])
                    .stdin(Stdio::null())
                    .output()
                    .expect("seed the warehouse");
                assert!(
                    seeded.status.success(),
                    "{}",
                    String::from_utf8_lossy(&seeded.stderr)
                );
                let t = Instant::now();
                let out = Command::new(BIN)
                    .arg("--home")
                    .arg(dir.path().join("home"))
                    .arg("--dags")
                    .arg(&dags)
                    .args(["dags", "test", "wine_quality_ct"])
                    .env("CAMBIUM_LOG", "warn")
                    .stdin(Stdio::null())
                    .output()
                    .expect("run cambium");
                let took = t.elapsed();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stdout)
                );
                took
            })
            .collect(),
    )
}

fn main() {
    let only = std::env::var("CAMBIUM_BENCH").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|s| s == name);
    let mut rows: Vec<(String, String)> = Vec::new();
    if wanted("statistics") || wanted("split") {
        let t = table(100_000);
        if wanted("statistics") {
            let d = time(5, || compute_statistics(&t));
            rows.push((
                "statistics, 100k rows × 12 columns (target < 2 s)".into(),
                format!("{:.0} ms", d.as_secs_f64() * 1e3),
            ));
        }
        if wanted("split") {
            let s = Splitter::new(&[("train".into(), 8), ("eval".into(), 2)]).expect("splits");
            let keys = ["id".to_string()];
            let d = time(5, || split_table(&t, &keys, &s).expect("split"));
            rows.push((
                "hash split 8:2 by one key, 100k rows".into(),
                format!("{:.0} ms", d.as_secs_f64() * 1e3),
            ));
        }
    }
    if wanted("example") {
        let d = bench_example();
        rows.push((
            "example DAG wine_quality_ct, fresh home (target < 30 s)".into(),
            format!("{:.2} s", d.as_secs_f64()),
        ));
    }
    println!("| benchmark | result |\n|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
}
