//! DAG files that try to make the loader allocate gigabytes become import errors naming the
//! memory limit, and the process's peak memory (VmHWM) stays bounded while they are loaded.
//! One test in its own binary, so the peak is this test's alone.

use cambium_loader::{load_source, Limits};
use std::time::Duration;

/// The peak resident set size of this process so far, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a number of kB");
    kb * 1024
}

/// A ~0.5 MB string built by doubling, as the attacks start.
const BIG: &str = "let s = \"x\";\nwhile s.len() < 500000 { s += s; }\n";

#[test]
fn memory_bombs_are_import_errors_and_memory_stays_bounded() {
    // Time is not what stops them here: only the memory limit (and the operation count).
    let limits = Limits {
        wall_time: Duration::from_secs(30),
        ..Limits::default()
    };
    let bombs = [
        (
            "2,000 strings of 0.5 MB in a map",
            format!("{BIG}let m = #{{}};\nfor i in 0..2000 {{ m[\"k\" + i] = s + i; }}\ndag(\"x\");\n"),
        ),
        (
            "2,000 strings of 0.5 MB in an array",
            format!("{BIG}let a = [];\na.pad(2000, ());\nfor i in 0..2000 {{ a[i] = s + i; }}\ndag(\"x\");\n"),
        ),
        (
            "an array of 0.5 MB strings growing by push",
            format!("{BIG}let a = [];\nfor i in 0..2000 {{ a.push(s + i); }}\ndag(\"x\");\n"),
        ),
        (
            "nested maps of strings",
            format!("{BIG}let m = #{{}};\nfor i in 0..2000 {{ m[\"k\" + i] = #{{ v: s + i }}; }}\ndag(\"x\");\n"),
        ),
        (
            "2,000 tasks with a 0.5 MB command each",
            format!("{BIG}let d = dag(\"x\", #{{}});\nfor i in 0..2000 {{ d.command(\"t\" + i, #{{ cmd: s + i }}); }}\n"),
        ),
        (
            "a string doubling forever",
            "let s = \"x\";\nloop { s += s; }\n".to_string(),
        ),
        (
            "copies of a big map",
            format!("{BIG}let m = #{{}};\nfor i in 0..60 {{ m[\"k\" + i] = s + i; }}\nlet all = [];\nall.pad(1000, ());\nfor i in 0..1000 {{ all[i] = m; }}\ndag(\"x\");\n"),
        ),
    ];
    let before = peak_rss();
    for (what, source) in &bombs {
        let loaded = load_source("bomb.rhai", source, &limits);
        assert!(loaded.dags.is_empty(), "{what}: loaded {:?}", loaded.dags);
        assert_eq!(loaded.errors.len(), 1, "{what}: {:?}", loaded.errors);
        let message = &loaded.errors[0].message;
        assert!(
            message.contains("MiB of memory") || message.contains("grew beyond the limit"),
            "{what}: {message}"
        );
        let grown = peak_rss().saturating_sub(before);
        assert!(
            grown < 160 << 20,
            "{what}: the peak grew by {} MiB",
            grown >> 20
        );
    }
    // The first bomb, the one of the report, is stopped by the memory limit and says so.
    let loaded = load_source("bomb.rhai", &bombs[0].1, &limits);
    assert!(
        loaded.errors[0]
            .message
            .contains("more than 32 MiB of memory"),
        "{:?}",
        loaded.errors
    );

    // A DAG file of ordinary size still loads under the limit.
    let fine = "let d = dag(\"fine\", #{});\nfor i in 0..200 { d.command(\"t\" + i, #{ cmd: \"echo \" + i }); }\n";
    let loaded = load_source("fine.rhai", fine, &limits);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    assert_eq!(loaded.dags[0].tasks.len(), 200);
}
