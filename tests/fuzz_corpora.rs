//! The CI smoke run of the fuzz targets: every file of each committed corpus under
//! `fuzz/corpus/<target>/` goes through the same function `cargo fuzz run <target>` calls
//! (`fuzz/src/lib.rs`, included here), on the stable toolchain and without libFuzzer. Any
//! panic or a failed property is a failure naming the file; so is an input slower than the
//! bound (the loader's 2 s wall-clock budget plus slack, or a few seconds for the others).

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod targets;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Feeds every file of `target`'s corpus to `run`; fails naming each file that panicked or
/// took longer than `bound`.
fn replay(target: &str, run: fn(&[u8]), bound: Duration) {
    let files = corpus(target);
    assert!(
        files.len() >= 10,
        "the {target} corpus has only {} files",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let data = std::fs::read(file).expect("read corpus file");
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(|| run(&data));
        let took = started.elapsed();
        if outcome.is_err() {
            failures.push(format!("{}: panicked", file.display()));
        } else if took > bound {
            failures.push(format!(
                "{}: took {took:?} (bound {bound:?})",
                file.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {target} inputs failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn loader_corpus_replays_cleanly() {
    // The file's own budget is 2 s; an unoptimised test build on a busy CI machine gets slack.
    replay("loader", targets::loader, Duration::from_secs(6));
}

#[test]
fn timetable_corpus_replays_cleanly() {
    replay("timetable", targets::timetable, Duration::from_secs(5));
}

#[test]
fn dates_corpus_replays_cleanly() {
    replay("dates", targets::dates, Duration::from_secs(2));
}

#[test]
fn template_corpus_replays_cleanly() {
    replay("template", targets::template, Duration::from_secs(2));
}
