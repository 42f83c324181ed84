//! A soak benchmark, run on demand (`cargo bench --bench soak`), not in CI: the release
//! `cambium standalone` on a fresh home with many DAGs scheduled every minute and a steady
//! API load, for half an hour. It samples the resident memory and open file descriptors of
//! every cambium process every 10 s, and checks at the end that
//!
//! - every run succeeded (the DAGs are paused at the end and in-flight runs waited for);
//! - no API request failed;
//! - memory and descriptors are flat: each long-lived process's mean over the last minute is
//!   less than 10 % above its mean over the minute after the warm-up (5 minutes);
//! - with a retention configured, nothing older than it is left in `tries/` or `logs/`.
//!
//! It prints a Markdown report for docs/benchmarks.md and panics if a check fails.
//!
//! Knobs (environment):
//! - `CAMBIUM_SOAK_MINUTES` (default 30): how long the DAGs run;
//! - `CAMBIUM_SOAK_DAGS` (default 200): how many DAGs, each `* * * * *` with two tiny tasks;
//! - `CAMBIUM_SOAK_RPS` (default 4): API requests per second;
//! - `CAMBIUM_SOAK_CONFIG`: extra TOML for `cambium.toml` (e.g. a try-folder retention);
//! - `CAMBIUM_SOAK_RETENTION_MINUTES`: the retention that config sets; when given, a try
//!   folder or log older than it (plus two minutes for the sweep) fails the run.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

const BIN: &str = env!("CARGO_BIN_EXE_cambium");
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
const PASSWORD: &str = "soak-benchmark-password";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

struct Home {
    dir: tempfile::TempDir,
    home: PathBuf,
    dags: PathBuf,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        let dags = dir.path().join("dags");
        std::fs::create_dir_all(&dags).expect("dags");
        std::fs::create_dir_all(&home).expect("home");
        Home { dir, home, dags }
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

    /// A user with `role` and an API token for it, made with the CLI.
    fn token(&self, name: &str, role: &str) -> String {
        let mut child = self
            .cmd(&["users", "create", name, "--role", role, "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("users create");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .expect("password");
        let out = child.wait_with_output().expect("users create");
        assert!(
            out.status.success(),
            "users create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = self
            .cmd(&["users", "token", name, "--output", "json"])
            .output()
            .expect("users token");
        assert!(out.status.success(), "users token failed");
        let v: Value = serde_json::from_slice(&out.stdout).expect("token json");
        v["token"].as_str().expect("token").to_string()
    }
}

/// The server; SIGTERM then SIGKILL on drop.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn start_server(h: &Home) -> (Server, String) {
    let log = h.dir.path().join("standalone.log");
    let file = std::fs::File::create(&log).expect("log");
    let err = file.try_clone().expect("log");
    let child = h
        .cmd(&["standalone", "--port", "0"])
        .env("CAMBIUM_LOG", "info")
        .stdout(file)
        .stderr(err)
        .spawn()
        .expect("start standalone");
    let server = Server { child, log };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = server.log_text();
        let url = text
            .split("web UI and API on ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .map(|u| u.trim_end_matches(['/', ';']).to_string());
        if let (Some(url), true) = (url, text.contains("cambium scheduler:")) {
            return (server, url);
        }
        assert!(
            Instant::now() < deadline,
            "standalone did not start:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn write_dags(dir: &Path, n: usize) {
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%d");
    for i in 0..n {
        let text = format!(
            "let d = dag(\"soak_{i:03}\", #{{ schedule: \"* * * * *\", start_date: \"{yesterday}\", catchup: false }});\n\
             let a = d.command(\"argv\", #{{ cmd: [\"true\"] }});\n\
             let b = d.command(\"shell\", #{{ cmd: \"echo {{{{ ds }}}} {{{{ run_id }}}}\" }});\n\
             a >> b;\n"
        );
        std::fs::write(dir.join(format!("soak_{i:03}.rhai")), text).expect("write dag");
    }
}

/// An HTTP client that returns every status instead of failing on 4xx/5xx.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// One request; `Err` describes a transport error or a status other than 2xx.
fn request(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: &str,
    body: Option<&str>,
) -> Result<String, String> {
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Authorization", format!("Bearer {token}"));
    let response = match body {
        Some(b) => agent.run(
            req.header("Content-Type", "application/json")
                .body(b.to_string())
                .map_err(|e| e.to_string())?,
        ),
        None => agent.run(req.body(()).map_err(|e| e.to_string())?),
    };
    let mut response = response.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    if (200..300).contains(&status) {
        Ok(text)
    } else {
        Err(format!(
            "{method} {url}: {status} {}",
            text.chars().take(200).collect::<String>()
        ))
    }
}

#[derive(Default)]
struct LoadStats {
    ok: u64,
    failed: Vec<String>,
    latencies_ms: Vec<f64>,
}

/// A steady request loop at `rps` requests per second, cycling through the DAG list (API),
/// a DAG's runs (API), a run's page (HTML), the home page (HTML) and `/api/v1/health`.
fn api_load(
    url: String,
    token: String,
    dags: usize,
    rps: u64,
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<LoadStats>>,
) {
    let agent = agent();
    let period = Duration::from_secs_f64(1.0 / rps.max(1) as f64);
    let mut next = Instant::now();
    let mut i: usize = 0;
    let mut last_run: Option<(String, String)> = None;
    while !stop.load(Ordering::Relaxed) {
        let dag = format!("soak_{:03}", i % dags);
        let target = match i % 5 {
            0 => format!("{url}/api/v1/dags"),
            1 => format!("{url}/api/v1/dags/{dag}/runs?limit=25"),
            2 => match &last_run {
                Some((d, r)) => format!("{url}/dags/{d}/runs/{}", encode(r)),
                None => format!("{url}/api/v1/health"),
            },
            3 => format!("{url}/"),
            _ => format!("{url}/api/v1/health"),
        };
        let started = Instant::now();
        let outcome = request(&agent, "GET", &target, &token, None);
        let took = started.elapsed().as_secs_f64() * 1000.0;
        if i % 5 == 1 {
            if let Ok(text) = &outcome {
                let runs: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                if let Some(run_id) = runs[0]["run_id"].as_str() {
                    last_run = Some((dag.clone(), run_id.to_string()));
                }
            }
        }
        {
            let mut s = stats.lock().unwrap_or_else(|p| p.into_inner());
            s.latencies_ms.push(took);
            match outcome {
                Ok(_) => s.ok += 1,
                Err(e) => s.failed.push(e),
            }
        }
        i += 1;
        next += period;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
}

/// Percent-encodes a run id for a URL path segment.
fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `/proc/PID/status` VmRSS in KiB, or `None` when the process is gone.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn fd_count(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

/// The process's name and parent from `/proc/PID/stat`.
fn name_and_parent(pid: u32) -> Option<(String, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat[open + 1..close].to_string();
    let ppid = stat[close + 1..].split_whitespace().nth(1)?.parse().ok()?;
    Some((name, ppid))
}

/// `root` and every process below it.
fn tree(root: u32) -> Vec<(u32, String)> {
    let mut parent = BTreeMap::new();
    let mut names = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((name, ppid)) = name_and_parent(pid) {
            parent.insert(pid, ppid);
            names.insert(pid, name);
        }
    }
    let mut out = Vec::new();
    for (&pid, name) in &names {
        let mut p = pid;
        let mut depth = 0;
        while p != root && p > 1 && depth < 64 {
            p = parent.get(&p).copied().unwrap_or(1);
            depth += 1;
        }
        if p == root {
            out.push((pid, name.clone()));
        }
    }
    out
}

#[derive(Clone)]
struct Sample {
    at: Duration,
    /// pid -> (name, rss KiB, fds)
    procs: BTreeMap<u32, (String, u64, u64)>,
}

fn sample(root: u32, at: Duration) -> Sample {
    let mut procs = BTreeMap::new();
    for (pid, name) in tree(root) {
        if let (Some(rss), Some(fds)) = (rss_kib(pid), fd_count(pid)) {
            procs.insert(pid, (name, rss, fds));
        }
    }
    Sample { at, procs }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

/// Every file and folder under `root` (recursively), with its age.
fn walk(root: &Path, out: &mut Vec<(PathBuf, Duration, bool)>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .unwrap_or_default();
        out.push((path.clone(), age, meta.is_dir()));
        if meta.is_dir() {
            walk(&path, out);
        }
    }
}

/// The try folders (`tries/<dag>/<run>/<task>/<try>`) and log files under the home.
/// Paths with how long ago they were last changed.
type Aged = Vec<(PathBuf, Duration)>;

fn leftovers(home: &Path) -> (Aged, Aged) {
    let mut tries = Vec::new();
    walk(&home.join("tries"), &mut tries);
    let tries_root = home.join("tries");
    let try_dirs = tries
        .into_iter()
        .filter(|(p, _, dir)| {
            *dir && p
                .strip_prefix(&tries_root)
                .map(|r| r.components().count() == 4)
                .unwrap_or(false)
        })
        .map(|(p, age, _)| (p, age))
        .collect();
    let mut logs = Vec::new();
    walk(&home.join("logs"), &mut logs);
    let log_files = logs
        .into_iter()
        .filter(|(p, _, dir)| !*dir && p.extension().is_some_and(|e| e == "log"))
        .map(|(p, age, _)| (p, age))
        .collect();
    (try_dirs, log_files)
}

fn main() {
    let minutes = env_num("CAMBIUM_SOAK_MINUTES", 30).max(1);
    let dags = env_num("CAMBIUM_SOAK_DAGS", 200).max(1) as usize;
    let rps = env_num("CAMBIUM_SOAK_RPS", 4).max(1);
    let retention = std::env::var("CAMBIUM_SOAK_RETENTION_MINUTES")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let duration = Duration::from_secs(minutes * 60);
    // Growth is measured after a warm-up: 5 minutes, or a third of a shorter soak.
    let warmup = Duration::from_secs((minutes * 60 / 3).min(300));

    let h = Home::new();
    write_dags(&h.dags, dags);
    let extra = std::env::var("CAMBIUM_SOAK_CONFIG").unwrap_or_default();
    std::fs::write(h.home.join("cambium.toml"), &extra).expect("config");
    eprintln!(
        "soak: {dags} DAGs every minute, {rps} API requests/s, {minutes} min, home {}",
        h.home.display()
    );
    let (mut server, url) = start_server(&h);
    let viewer = h.token("soak_viewer", "viewer");
    let op = h.token("soak_op", "op");
    let root = server.child.id();

    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(Mutex::new(LoadStats::default()));
    let load = {
        let (url, stop, stats) = (url.clone(), stop.clone(), stats.clone());
        std::thread::spawn(move || api_load(url, viewer, dags, rps, stop, stats))
    };

    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < duration {
        samples.push(sample(root, started.elapsed()));
        if samples.len() % 6 == 0 {
            let s = samples.last().expect("sample");
            let main = s.procs.get(&root);
            eprintln!(
                "soak: {:>4.1} min  main RSS {} KiB, fds {}, processes {}",
                s.at.as_secs_f64() / 60.0,
                main.map_or(0, |m| m.1),
                main.map_or(0, |m| m.2),
                s.procs.len()
            );
        }
        assert!(
            matches!(server.child.try_wait(), Ok(None)),
            "standalone exited:\n{}",
            server.log_text()
        );
        std::thread::sleep(SAMPLE_EVERY);
    }
    samples.push(sample(root, started.elapsed()));
    stop.store(true, Ordering::Relaxed);
    let _ = load.join();

    // Pause every DAG, then wait for the runs in flight to finish.
    let client = agent();
    for i in 0..dags {
        let id = format!("soak_{i:03}");
        if let Err(e) = request(
            &client,
            "PATCH",
            &format!("{url}/api/v1/dags/{id}"),
            &op,
            Some(r#"{"paused": true}"#),
        ) {
            panic!("pausing {id}: {e}");
        }
    }
    let mut runs_by_state: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_dag = Vec::new();
    let mut not_success = Vec::new();
    let wait_until = Instant::now() + Duration::from_secs(180);
    loop {
        runs_by_state.clear();
        per_dag.clear();
        not_success.clear();
        for i in 0..dags {
            let id = format!("soak_{i:03}");
            let text = request(
                &client,
                "GET",
                &format!("{url}/api/v1/dags/{id}/runs?limit=1000"),
                &op,
                None,
            )
            .unwrap_or_else(|e| panic!("runs of {id}: {e}"));
            let runs: Vec<Value> = serde_json::from_str(&text).expect("runs json");
            per_dag.push(runs.len() as u64);
            for run in &runs {
                let state = run["state"].as_str().unwrap_or("?").to_string();
                if state != "success" {
                    not_success.push(format!("{id} {} {state}", run["run_id"]));
                }
                *runs_by_state.entry(state).or_default() += 1;
            }
        }
        let in_flight = ["queued", "running"]
            .iter()
            .any(|s| runs_by_state.get(*s).copied().unwrap_or(0) > 0);
        if !in_flight || Instant::now() > wait_until {
            break;
        }
        std::thread::sleep(Duration::from_secs(5));
    }
    let (try_dirs, log_files) = leftovers(&h.home);
    server.stop();

    // Growth per long-lived process: mean of the minute after the warm-up vs the last minute.
    let base: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at >= warmup && s.at < warmup + Duration::from_secs(60))
        .collect();
    let last: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at + Duration::from_secs(60) > duration)
        .collect();
    let mut growth_rows = Vec::new();
    let mut growth_failures = Vec::new();
    let pids: Vec<u32> = base
        .first()
        .map(|s| s.procs.keys().copied().collect())
        .unwrap_or_default();
    for pid in pids {
        let present = |set: &[&Sample]| set.iter().all(|s| s.procs.contains_key(&pid));
        if !present(&base) || !present(&last) {
            continue; // a try's process: it ended, as it should
        }
        let series = |set: &[&Sample], f: fn(&(String, u64, u64)) -> u64| {
            mean(
                &set.iter()
                    .map(|s| f(&s.procs[&pid]) as f64)
                    .collect::<Vec<_>>(),
            )
        };
        let name = base[0].procs[&pid].0.clone();
        let (rss0, rss1) = (series(&base, |p| p.1), series(&last, |p| p.1));
        let (fd0, fd1) = (series(&base, |p| p.2), series(&last, |p| p.2));
        let peak_rss = samples
            .iter()
            .filter_map(|s| s.procs.get(&pid).map(|p| p.1))
            .max()
            .unwrap_or(0);
        let peak_fds = samples
            .iter()
            .filter_map(|s| s.procs.get(&pid).map(|p| p.2))
            .max()
            .unwrap_or(0);
        let rss_growth = (rss1 - rss0) / rss0.max(1.0) * 100.0;
        let fd_growth = (fd1 - fd0) / fd0.max(1.0) * 100.0;
        if rss_growth >= 10.0 || fd_growth >= 10.0 {
            growth_failures.push(format!(
                "{name} ({pid}): RSS {rss_growth:+.1} %, fds {fd_growth:+.1} %"
            ));
        }
        growth_rows.push(format!(
            "| `{name}` (pid {pid}) | {:.1} → {:.1} MiB ({rss_growth:+.1} %), peak {:.1} MiB | {fd0:.0} → {fd1:.0} ({fd_growth:+.1} %), peak {peak_fds} |",
            rss0 / 1024.0,
            rss1 / 1024.0,
            peak_rss as f64 / 1024.0
        ));
    }
    let process_counts: Vec<usize> = samples.iter().map(|s| s.procs.len()).collect();
    let stats = stats.lock().unwrap_or_else(|p| p.into_inner());
    let mut lat = stats.latencies_ms.clone();
    let total_runs: u64 = runs_by_state.values().sum();
    let retention_check = match retention {
        None => "not applicable (no retention configured: set CAMBIUM_SOAK_CONFIG and \
                 CAMBIUM_SOAK_RETENTION_MINUTES)"
            .to_string(),
        Some(m) => {
            let limit = Duration::from_secs((m + 2) * 60);
            let old_tries = try_dirs.iter().filter(|(_, a)| *a > limit).count();
            let old_logs = log_files.iter().filter(|(_, a)| *a > limit).count();
            format!(
                "retention {m} min: {old_tries} try folders and {old_logs} logs older than {} min",
                m + 2
            )
        }
    };

    println!("## Soak ({minutes} min, {dags} DAGs every minute, {rps} API requests/s)\n");
    println!("| check | result |\n|---|---|");
    println!(
        "| runs | {total_runs} in total ({}), {} to {} per DAG |",
        runs_by_state
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        per_dag.iter().min().unwrap_or(&0),
        per_dag.iter().max().unwrap_or(&0)
    );
    println!(
        "| API requests | {} ok, {} failed; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms |",
        stats.ok,
        stats.failed.len(),
        percentile(&mut lat, 0.5),
        percentile(&mut lat, 0.99),
        percentile(&mut lat, 1.0)
    );
    println!(
        "| processes under standalone | {} to {} per sample ({} samples every {} s) |",
        process_counts.iter().min().unwrap_or(&0),
        process_counts.iter().max().unwrap_or(&0),
        samples.len(),
        SAMPLE_EVERY.as_secs()
    );
    println!(
        "| left at the end | {} try folders, {} log files |",
        try_dirs.len(),
        log_files.len()
    );
    println!("| retention | {retention_check} |");
    println!(
        "\n| long-lived process | RSS, minute after warm-up ({} s) → last minute | open fds, same |\n|---|---|---|",
        warmup.as_secs()
    );
    for row in &growth_rows {
        println!("{row}");
    }
    println!("\nMain process by minute (RSS MiB / fds):");
    let mut line = String::new();
    for s in samples.iter().step_by(6) {
        if let Some(p) = s.procs.get(&root) {
            line.push_str(&format!(
                " {:.0}m {:.1}/{}",
                s.at.as_secs_f64() / 60.0,
                p.1 as f64 / 1024.0,
                p.2
            ));
        }
    }
    println!("{}", line.trim());

    let mut failures = Vec::new();
    if !not_success.is_empty() {
        failures.push(format!(
            "{} runs did not succeed: {}",
            not_success.len(),
            not_success
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if !stats.failed.is_empty() {
        failures.push(format!(
            "{} API requests failed: {}",
            stats.failed.len(),
            stats
                .failed
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if growth_rows.is_empty() {
        failures.push("no long-lived process was sampled through the whole soak".into());
    }
    failures.extend(growth_failures);
    if let Some(m) = retention {
        let limit = Duration::from_secs((m + 2) * 60);
        if try_dirs.iter().chain(&log_files).any(|(_, a)| *a > limit) {
            failures.push(format!(
                "files older than the retention of {m} min are left"
            ));
        }
    }
    assert!(failures.is_empty(), "soak failed:\n{}", failures.join("\n"));
}
