//! Whole-system benchmarks of Cambium, run on demand (`cargo bench --bench system`), not in
//! CI's pass/fail. Each starts the real release binary on a fresh home and prints a
//! Markdown table of figures to paste into docs/benchmarks.md.
//!
//! - chain: N no-op tasks (`["true"]`) in a chain through a running scheduler, first task
//!   start to last task end, against a shell loop spawning `/bin/true` N times (ratio)
//! - fan-out: 1,000 no-op tasks under one root, tasks per second
//! - parse: `cambium dags list` on a fresh home over 1,000 DAG files of 20 tasks
//! - idle: a scheduler over 1,000 scheduled DAGs with nothing due: CPU % and RSS
//! - pickup: time from `dags trigger` returning to the run's first task starting
//!
//! `CAMBIUM_BENCH=chain,parse` runs a subset.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cambium");

struct Home {
    _dir: tempfile::TempDir,
    home: PathBuf,
    dags: PathBuf,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        let dags = dir.path().join("dags");
        std::fs::create_dir_all(&dags).expect("dags");
        Home {
            _dir: dir,
            home,
            dags,
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--home")
            .arg(&self.home)
            .arg("--dags")
            .arg(&self.dags)
            .args(args);
        c.env("CAMBIUM_LOG", "warn").stdin(Stdio::null());
        c
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        let out = self.cmd(&all).output().expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    }

    fn scheduler(&self) -> Guard {
        let child = self
            .cmd(&["scheduler"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("scheduler");
        // Wait until it has imported the folder and registered.
        std::thread::sleep(Duration::from_millis(800));
        Guard(child)
    }
}

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ts(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .expect("timestamp")
}

/// First task start to last task end of a finished run, in ms.
fn span_ms(run: &Value) -> f64 {
    let tasks = run["tasks"].as_array().expect("tasks");
    let first = tasks.iter().map(|t| ts(&t["start"])).min().expect("start");
    let last = tasks.iter().map(|t| ts(&t["end"])).max().expect("end");
    (last - first).num_microseconds().unwrap_or(0) as f64 / 1000.0
}

fn chain_dag(n: usize) -> String {
    let mut s = format!("let d = dag(\"chain{n}\", #{{ max_active_tasks: 64 }});\nlet ts = [];\n");
    s.push_str(&format!(
        "for i in 0..{n} {{ ts.push(d.command(`t${{i}}`, #{{ cmd: [\"true\"] }})); }}\nd.chain(ts);\n"
    ));
    s
}

fn shell_loop_ms(n: usize) -> f64 {
    let started = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "i=0; while [ $i -lt {n} ]; do /bin/true; i=$((i+1)); done"
        ))
        .status()
        .expect("sh");
    assert!(status.success());
    started.elapsed().as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn bench_chain(rows: &mut Vec<(String, String)>) {
    let h = Home::new();
    for n in [40, 100] {
        std::fs::write(h.dags.join(format!("chain{n}.rhai")), chain_dag(n)).expect("write");
    }
    let _s = h.scheduler();
    for n in [40usize, 100] {
        let spans: Vec<f64> = (0..9)
            .map(|_| span_ms(&h.json(&["dags", "trigger", &format!("chain{n}"), "--wait"])))
            .collect();
        let best = spans.iter().cloned().fold(f64::INFINITY, f64::min);
        let loop_ms = median((0..9).map(|_| shell_loop_ms(n)).collect());
        let span = median(spans);
        rows.push((
            format!("{n}-task chain of `true`, first start to last end (9 runs)"),
            format!(
                "median {span:.1} ms (best {best:.1} ms); shell loop {loop_ms:.1} ms; ratio {:.2}x (best {:.2}x)",
                span / loop_ms,
                best / loop_ms
            ),
        ));
    }
}

fn bench_fan_out(rows: &mut Vec<(String, String)>) {
    let h = Home::new();
    let n = 1000;
    std::fs::write(
        h.dags.join("wide.rhai"),
        format!(
            "let d = dag(\"wide\", #{{ max_active_tasks: 10000 }});\nlet root = d.command(\"root\", #{{ cmd: [\"true\"] }});\nfor i in 0..{n} {{ root >> d.command(`t${{i}}`, #{{ cmd: [\"true\"] }}); }}\n"
        ),
    )
    .expect("write");
    std::fs::write(h.home.join("cambium.toml"), "").ok();
    let _s = h.scheduler();
    let run = h.json(&["dags", "trigger", "wide", "--wait"]);
    let span = span_ms(&run);
    rows.push((
        format!("{n}-wide fan-out of `true` (parallelism 32)"),
        format!(
            "{span:.0} ms, {:.0} tasks/s",
            (n as f64 + 1.0) / (span / 1000.0)
        ),
    ));
}

fn write_many(dir: &Path, files: usize, tasks: usize, schedule: bool) {
    // Scheduled DAGs start tomorrow, so nothing is due while the scheduler is measured idle.
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d");
    for f in 0..files {
        let mut s = if schedule {
            format!("let d = dag(\"dag_{f}\", #{{ schedule: \"0 3 * * *\", start_date: \"{tomorrow}\", catchup: false }});\n")
        } else {
            format!("let d = dag(\"dag_{f}\", #{{}});\n")
        };
        s.push_str("let prev = d.command(\"t0\", #{ cmd: \"echo {{ ds }}\" });\n");
        for t in 1..tasks {
            s.push_str(&format!(
                "let t{t} = d.command(\"t{t}\", #{{ cmd: [\"true\"], retries: 1 }});\nprev >> t{t};\n"
            ));
        }
        std::fs::write(dir.join(format!("dag_{f}.rhai")), s).expect("write");
    }
}

fn bench_parse(rows: &mut Vec<(String, String)>) {
    let h = Home::new();
    write_many(&h.dags, 1000, 20, false);
    let started = Instant::now();
    let out = h.cmd(&["dags", "list"]).output().expect("list");
    let cold = started.elapsed();
    assert!(out.status.success());
    let started = Instant::now();
    let out = h.cmd(&["dags", "list"]).output().expect("list");
    let warm = started.elapsed();
    assert!(out.status.success());
    rows.push((
        "`dags list` over 1,000 files x 20 tasks".into(),
        format!(
            "cold (fresh home) {} ms; warm (cache by hash) {} ms",
            cold.as_millis(),
            warm.as_millis()
        ),
    ));
}

fn proc_cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
    let stime: u64 = fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    utime + stime
}

fn proc_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn bench_idle(rows: &mut Vec<(String, String)>) {
    let h = Home::new();
    write_many(&h.dags, 1000, 20, true);
    let s = h.scheduler();
    let pid = s.0.id();
    // Let it import the folder, then measure a quiet window.
    std::thread::sleep(Duration::from_secs(10));
    let ticks_per_s = 100.0;
    let before = proc_cpu_ticks(pid);
    let window = Duration::from_secs(20);
    std::thread::sleep(window);
    let used = proc_cpu_ticks(pid) - before;
    let cpu = used as f64 / ticks_per_s / window.as_secs_f64() * 100.0;
    rows.push((
        "idle scheduler over 1,000 scheduled DAGs (20 s window)".into(),
        format!("{cpu:.2} % of a core, RSS {:.0} MB", proc_rss_mb(pid)),
    ));
}

fn bench_pickup(rows: &mut Vec<(String, String)>) {
    let h = Home::new();
    std::fs::write(
        h.dags.join("one.rhai"),
        "let d = dag(\"one\", #{});\nd.command(\"a\", #{ cmd: [\"true\"] });\n",
    )
    .expect("write");
    let _s = h.scheduler();
    let mut lat = Vec::new();
    for _ in 0..10 {
        let out = h
            .cmd(&["dags", "trigger", "one"])
            .output()
            .expect("trigger");
        let returned = chrono::Utc::now();
        let run_id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let run = loop {
            let r = h.json(&["runs", "show", &run_id]);
            if r["state"] == "success" {
                break r;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let start = ts(&run["tasks"][0]["start"]);
        lat.push((start - returned).num_microseconds().unwrap_or(0) as f64 / 1000.0);
    }
    rows.push((
        "manual run picked up by a running scheduler (trigger returned -> first task started, median of 10)".into(),
        format!("{:.0} ms (max {:.0} ms)", median(lat.clone()), lat.iter().cloned().fold(0.0, f64::max)),
    ));
}

fn main() {
    let only = std::env::var("CAMBIUM_BENCH").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|s| s == name);
    let mut rows = Vec::new();
    if wanted("chain") {
        bench_chain(&mut rows);
    }
    if wanted("fanout") {
        bench_fan_out(&mut rows);
    }
    if wanted("parse") {
        bench_parse(&mut rows);
    }
    if wanted("pickup") {
        bench_pickup(&mut rows);
    }
    if wanted("idle") {
        bench_idle(&mut rows);
    }
    println!("| benchmark | result |\n|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
}
