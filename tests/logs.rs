//! The log API against a real `cambium webserver`: a 50 MB log is streamed, not read into
//! the server's memory; `?tail=N` gives the last N lines; a bad `tail` is a 400 naming it.

mod common;

use common::Env;
use serde_json::Value;
use std::io::{BufWriter, Read, Write};
use std::time::Duration;

const DAG: &str = r#"
let d = dag("talk", #{});
d.command("say", #{ cmd: "echo first; echo second" });
"#;

/// The line `i` of the big log.
fn line(i: usize) -> String {
    format!("line {i:08} of the big log\n")
}

/// The server's peak resident memory (`VmHWM`), in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in {status}"))
}

fn viewer_token(env: &Env) -> String {
    let mut child = env
        .command(&[
            "users",
            "create",
            "reader",
            "--role",
            "viewer",
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("users create");
    writeln!(child.stdin.take().expect("stdin"), "reader-long-password-1").expect("password");
    let out = child.wait_with_output().expect("users create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.json(&["users", "token", "reader"], 0)["token"]
        .as_str()
        .expect("token")
        .to_string()
}

#[test]
fn a_big_log_is_streamed_and_tail_gives_the_last_lines() {
    let env = Env::new();
    env.write_dag("talk.rhai", DAG);
    let run = env.json(&["dags", "test", "talk"], 0);
    let run_id = run["run_id"].as_str().expect("run id").to_string();
    let token = viewer_token(&env);

    // The try's log, replaced by 50 MB of numbered lines.
    let log = cambium_scheduler::Home::new(&env.home).log_path("talk", &run_id, "say", 1);
    assert!(log.is_file(), "the try wrote {}", log.display());
    let lines = 50 * 1024 * 1024 / line(0).len();
    {
        let mut out = BufWriter::new(std::fs::File::create(&log).expect("log"));
        for i in 0..lines {
            out.write_all(line(i).as_bytes()).expect("write");
        }
        out.flush().expect("flush");
    }
    let size = std::fs::metadata(&log).expect("log size").len();
    assert!(size >= 50 * 1000 * 1000, "{size}");

    let server = env.webserver();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let base = format!(
        "{}/api/v1/runs/{}/tasks/say/logs",
        server.url,
        common::everything::seg(&run_id)
    );
    let get = |query: &str| {
        agent
            .get(format!("{base}?{query}"))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap_or_else(|e| panic!("GET logs?{query}: {e}"))
    };

    // ?tail=3: the last three lines, exactly.
    let mut reply = get("tail=3");
    assert_eq!(reply.status(), 200);
    let text = reply.body_mut().read_to_string().expect("tail body");
    assert_eq!(
        text,
        format!("{}{}{}", line(lines - 3), line(lines - 2), line(lines - 1))
    );

    // A bad tail is a 400 naming the field.
    for bad in ["0", "x", "-2", "99999999"] {
        let mut reply = get(&format!("tail={bad}"));
        assert_eq!(reply.status(), 400, "tail={bad}");
        let body: Value = serde_json::from_str(&reply.body_mut().read_to_string().expect("body"))
            .expect("JSON error");
        assert_eq!(body["detail"]["field"], "tail", "{body}");
    }

    // The whole log: every byte arrives, and the server's peak memory barely moves.
    let pid = server.proc.child.id();
    let before = peak_rss_kb(pid);
    let mut reply = get("try=1");
    assert_eq!(reply.status(), 200);
    let mut reader = reply.body_mut().as_reader();
    let mut buf = vec![0u8; 1 << 16];
    let mut received = 0u64;
    let mut last = Vec::new();
    loop {
        let n = reader.read(&mut buf).expect("read the log");
        if n == 0 {
            break;
        }
        received += n as u64;
        last.extend_from_slice(&buf[..n]);
        if last.len() > 4096 {
            last.drain(..last.len() - 4096);
        }
    }
    assert_eq!(received, size, "the whole log");
    assert!(String::from_utf8_lossy(&last).ends_with(&line(lines - 1)));
    let after = peak_rss_kb(pid);
    let grown_mb = after.saturating_sub(before) / 1024;
    assert!(
        grown_mb < 16,
        "serving a {} MB log grew the server's peak memory by {grown_mb} MB ({before} kB → {after} kB)",
        size / (1024 * 1024)
    );
}
