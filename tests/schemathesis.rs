//! The OpenAPI document is the contract: schemathesis (PyPI) reads the served
//! `/api/v1/openapi.json` of a real `cambium standalone` and sends generated requests to every
//! operation, with every check (`--checks all`): no 5xx, every status and content type
//! documented, every response fitting its schema, schema-valid requests accepted, invalid
//! ones refused, routes needing a token refusing requests without one. Any finding fails.
//!
//! In CI (`CI` set) schemathesis must be installed (`.ci/run` installs the pinned version);
//! elsewhere the test is skipped with a message when it is missing.

mod common;

use common::{wait_for, Env, Standalone};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The version `.ci/run` installs; the one this document was checked with.
const PINNED: &str = "4.32.5";
/// Fixed, so a failure can be replayed with the same requests.
const SEED: &str = "20261203";
/// Generated requests per operation and phase: enough to reach every operation's
/// parameters and bodies, small enough for a couple of minutes on two shared cores.
const MAX_EXAMPLES: &str = "30";

/// `st` (or `schemathesis`) on the PATH; `None` with a message outside CI, a panic in CI.
fn schemathesis() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .flat_map(|dir| [dir.join("st"), dir.join("schemathesis")])
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
    if found.is_none() {
        let how = format!("pip install schemathesis=={PINNED}");
        if std::env::var_os("CI").is_some() {
            panic!("schemathesis is not installed, and CI requires this test: {how}");
        }
        eprintln!("skipping the schemathesis check: schemathesis is not installed ({how})");
    }
    found
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// `METHOD path` with a bearer token and an optional JSON body; the status and JSON answer.
fn call(s: &Standalone, token: &str, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", s.url))
        .header("Authorization", format!("Bearer {token}"));
    let response = match body {
        Some(b) => agent().run(
            req.header("Content-Type", "application/json")
                .body(b.to_string())
                .expect("request"),
        ),
        None => agent().run(req.body(()).expect("request")),
    };
    let mut response = response.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// An admin with a bearer token, made with the CLI. Not `admin`: schemathesis may delete or
/// demote users it finds, and the user it signs in as must outlive that (nobody can delete
/// themselves, and the server keeps at least one admin).
fn admin_token(env: &Env, name: &str) -> String {
    let mut child = env
        .command(&[
            "users",
            "create",
            name,
            "--role",
            "admin",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("users create");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{name}-secret-password").expect("password");
    }
    let out = child.wait_with_output().expect("users create");
    assert!(
        out.status.success(),
        "users create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = env.json(&["users", "token", name, "--output", "json"], 0);
    v["token"].as_str().expect("token").to_string()
}

/// Operations whose refusals depend on more than one field or on stored state, which a
/// JSON schema cannot say: a 400 for a schema-valid request is expected there, and only
/// there (every other check still applies to them).
const CROSS_FIELD_400: &[(&str, &str, &str)] = &[(
    "POST",
    "/api/v1/dags/{dag_id}/backfills",
    "end must not be before start, the DAG must have a schedule, at most 10000 intervals",
)];

/// Ids that exist on the server, offered to schemathesis beside the ones it makes up.
struct Seeds {
    dag_ids: Vec<String>,
    run_ids: Vec<String>,
    task_ids: Vec<String>,
    names: Vec<String>,
    backfill_ids: Vec<i64>,
}

/// schemathesis's configuration: the seeded ids, half the time, for the parameters that
/// name stored things, and the allowance above; nothing else relaxed.
fn config(seeds: &Seeds) -> String {
    let list = |values: &[String]| {
        values
            .iter()
            .map(|v| Value::String(v.clone()).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let numbers = |values: &[i64]| {
        values
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut toml = format!(
        "[dictionaries]\n\
         dag_ids = {{ values = [{}] }}\n\
         run_ids = {{ values = [{}] }}\n\
         task_ids = {{ values = [{}] }}\n\
         names = {{ values = [{}] }}\n\
         backfill_ids = {{ values = [{}] }}\n\n\
         [parameters]\n\
         \"path.dag_id\" = {{ dictionary = \"dag_ids\", probability = 0.5 }}\n\
         \"query.dag_id\" = {{ dictionary = \"dag_ids\", probability = 0.5 }}\n\
         \"path.run_id\" = {{ dictionary = \"run_ids\", probability = 0.5 }}\n\
         \"path.task_id\" = {{ dictionary = \"task_ids\", probability = 0.5 }}\n\
         \"path.name\" = {{ dictionary = \"names\", probability = 0.5 }}\n\
         \"path.id\" = {{ dictionary = \"backfill_ids\", probability = 0.5 }}\n\n",
        list(&seeds.dag_ids),
        list(&seeds.run_ids),
        list(&seeds.task_ids),
        list(&seeds.names),
        numbers(&seeds.backfill_ids),
    );
    for (method, path, why) in CROSS_FIELD_400 {
        toml.push_str(&format!(
            "# {why}\n[[operations]]\ninclude-method = \"{method}\"\ninclude-path = \"{path}\"\nchecks.positive_data_acceptance.expected-statuses = [\"2xx\", \"400\", \"401\", \"403\", \"404\", \"409\"]\n\n"
        ));
    }
    toml
}

/// The failing operations named in schemathesis's report (`_ GET /api/v1/... _` headings).
fn failing_operations(report: &str) -> Vec<String> {
    let mut ops: Vec<String> = report
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let inner = l.strip_prefix('_')?.trim_matches('_').trim();
            let method = inner.split_whitespace().next()?;
            ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
                .contains(&method)
                .then(|| inner.to_string())
        })
        .collect();
    ops.dedup();
    ops
}

#[test]
fn the_openapi_document_matches_the_server() {
    let Some(st) = schemathesis() else { return };
    let env = Env::new();
    let hello = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dags/hello.rhai"),
    )
    .expect("dags/hello.rhai");
    env.write_dag("hello.rhai", &hello);
    let s = env.standalone();
    let token = admin_token(&env, "contract");

    // Something behind every kind of id: a finished run with logs, a backfill, an asset
    // event, so generated requests reach the stored things and not only 404s.
    let (status, run) = call(
        &s,
        &token,
        "POST",
        "/api/v1/dags/hello/runs",
        Some(r#"{"logical_date": "2026-11-22T09:00:00+00:00"}"#),
    );
    assert_eq!(status, 201, "{run}");
    let (status, backfill) = call(
        &s,
        &token,
        "POST",
        "/api/v1/dags/hello/backfills",
        Some(r#"{"start": "2026-11-20T00:00:00+00:00", "end": "2026-11-20T00:10:00+00:00"}"#),
    );
    assert_eq!(status, 201, "{backfill}");
    let (status, event) = call(
        &s,
        &token,
        "POST",
        "/api/v1/assets/contract_asset/events",
        Some(r#"{"extra": {"rows": 3}}"#),
    );
    assert_eq!(status, 201, "{event}");
    // Wait for the seeded runs to end: a followed log of a running try streams until it ends.
    wait_for(Duration::from_secs(90), || {
        let (_, runs) = call(&s, &token, "GET", "/api/v1/dags/hello/runs?limit=100", None);
        let runs = runs.as_array()?.clone();
        runs.iter()
            .all(|r| r["state"] == "success" || r["state"] == "failed")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("the seeded runs did not end:\n{}", s.proc.log_text()));

    let (_, runs) = call(&s, &token, "GET", "/api/v1/dags/hello/runs?limit=100", None);
    let seeds = Seeds {
        dag_ids: vec!["hello".into()],
        run_ids: runs
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["run_id"].as_str().map(String::from))
            .collect(),
        task_ids: vec!["say_hello".into(), "say_bye".into()],
        names: vec!["contract_asset".into(), "admin".into()],
        backfill_ids: backfill["backfill_id"].as_i64().into_iter().collect(),
    };
    let dir = env.dir.path();
    let config_path = dir.join("schemathesis.toml");
    std::fs::write(&config_path, config(&seeds)).expect("schemathesis.toml");

    // schemathesis 4.32.5's coverage phase reports "schema-violating request accepted" for
    // optional numeric or boolean query parameters (`n`, `offset`, `follow`) with a request that
    // does not carry the parameter at all (its own reproduction shows none, and it calls the
    // query parameter a path parameter), which the server rightly answers with the default.
    // Its check of invalid data is therefore left out of the coverage phase only, by running
    // that phase on its own (neither a per-operation nor a per-phase switch in the
    // configuration is honoured there in this version). The fuzzing and stateful phases still
    // send invalid data to every operation and check it is refused, and `tests/api.rs` checks
    // that bad values of these parameters are a 400.
    // The stateful phase has the same fault: following a link it reports `try`/`follow`,
    // `limit` and `n` as mutated while its own reproduction sends none of them. So three
    // runs: the coverage and the stateful phases without that check, and the fuzzing phase
    // with every check (it sends the invalid values for real, and they are refused).
    let runs: [(&str, &[&str]); 3] = [
        (
            "examples,coverage",
            &["--exclude-checks", "negative_data_rejection"],
        ),
        ("fuzzing", &[]),
        ("stateful", &["--exclude-checks", "negative_data_rejection"]),
    ];
    for (phases, extra) in runs {
        let output = Command::new(&st)
            .arg("--config-file")
            .arg(&config_path)
            .arg("run")
            .arg(format!("{}/api/v1/openapi.json", s.url))
            .args(["--url", &s.url])
            .args(["--phases", phases])
            .args(["--checks", "all"])
            .args(extra)
            .args(["--seed", SEED])
            .args(["--max-examples", MAX_EXAMPLES])
            .args(["--workers", "1"])
            .args(["--request-timeout", "20"])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args(["--no-color"])
            .current_dir(dir)
            .output()
            .expect("run schemathesis");
        let report = format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if !output.status.success() {
            let failing = failing_operations(&report);
            panic!(
                "schemathesis found the OpenAPI document and the server disagree (phases {phases}, exit {:?}).\n\
                 Failing operations:\n  {}\n\
                 Replay: st --config-file schemathesis.toml run URL/api/v1/openapi.json --phases {phases} --checks all {} --seed {SEED} --max-examples {MAX_EXAMPLES} -H 'Authorization: Bearer TOKEN'\n\
                 ---- schemathesis report ----\n{report}\n---- server log (tail) ----\n{}",
                output.status.code(),
                failing.join("\n  "),
                extra.join(" "),
                tail(&s.proc.log_text(), 60),
            );
        }
        println!("{report}");
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[test]
fn failing_operations_are_read_from_the_report() {
    let report = "\
=== FAILURES ===\n\
____ POST /api/v1/dags/{dag_id}/runs ____\n\
1. Test Case ID: abc\n\
- Undocumented HTTP status code\n\
______ GET /health ______\n\
=== SUMMARY ===\n";
    assert_eq!(
        failing_operations(report),
        vec!["POST /api/v1/dags/{dag_id}/runs", "GET /health"]
    );
}
