//! One installation with one of everything a page can show, made with the real CLI: the
//! repository's DAGs (two trainings of `wine_quality_ct`: model versions with metrics and
//! params, `production`, lineage, artifacts), a DAG of our own whose run has a task that
//! succeeded with output, metrics and an asset event, a task that failed twice (a retry), a
//! task that never ran (upstream failed), asset events from a task and from the CLI, a file
//! that fails to import, a second user; and a queued run. User data carries markup, which
//! every page must show as text.

use super::{wait_for, Env, Proc, Standalone};
use std::path::Path;
use std::time::Duration;

/// Markup that would set `window.__pwned` if a page rendered it as HTML.
pub const DESCRIPTION: &str = "<script>window.__pwned=1</script> every kind of data";
pub const TAG: &str = "<b>tag</b>";
pub const LOGGED: &str = "<script>window.__pwned=2</script>";
pub const OUTPUT_NOTE: &str = "<u>output</u>";
pub const EXTRA_NOTE: &str = "<script>window.__pwned=3</script>";
pub const BAD_DAG_ID: &str = "<i>bad</i>";
pub const USER: &str = "ann <em>x";
pub const USER_PASSWORD: &str = "ann-long-password-1";
/// The metric `ok` writes, in full precision.
pub const ACCURACY: f64 = 0.763_975_155_279_503_1;
/// A second DAG of tasks, one for each task state (see `forge_states`).
pub const STATES: &[&str] = &[
    "none",
    "scheduled",
    "queued",
    "running",
    "success",
    "failed",
    "up_for_retry",
    "upstream_failed",
    "skipped",
];

/// What the fixture made: ids for the pages' URLs.
pub struct Everything {
    /// The failed run of `everything` (`dags test`).
    pub run_id: String,
    /// A queued run of `everything` (triggered, no scheduler).
    pub queued_run_id: String,
    /// A run of `states`, all tasks `none` until forged.
    pub states_run_id: String,
    /// A run of `wine_quality_ct`.
    pub wine_run_id: String,
}

fn everything_dag() -> String {
    let ok_cmd = format!(
        "echo {logged}; printf '%s' {output} > \"$CAMBIUM_OUTPUT\"; printf '%s' {metrics} > \"$CAMBIUM_METRICS\"",
        logged = shell(LOGGED),
        output = shell(&serde_json::json!({"rows": 3, "note": OUTPUT_NOTE}).to_string()),
        metrics = shell(&serde_json::json!({"accuracy": ACCURACY, "epochs": 12}).to_string()),
    );
    let states = STATES
        .iter()
        .map(|s| format!("s.command(\"s_{s}\", #{{ cmd: \"true\" }});\n"))
        .collect::<String>();
    format!(
        "let d = dag(\"everything\", #{{\n\
             description: {description},\n\
             tags: [{tag}, \"plain\"],\n\
             owner: \"<em>owner</em>\",\n\
             params: #{{ note: \"<i>param</i>\" }},\n\
         }});\n\
         let ok = d.command(\"ok\", #{{ cmd: [\"sh\", \"-c\", {ok_cmd}], outlets: [\"ev.asset\"] }});\n\
         let flaky = d.command(\"flaky\", #{{ cmd: \"echo failing; exit 3\", retries: 1, retry_delay: \"1s\" }});\n\
         let after = d.command(\"after\", #{{ cmd: \"true\" }});\n\
         ok >> flaky >> after;\n\
         let s = dag(\"states\", #{{}});\n\
         {states}\
         let c = dag(\"consumer\", #{{ triggers: [on_asset(\"ev.asset\")] }});\n\
         c.command(\"c\", #{{ cmd: \"true\" }});\n",
        description = json(DESCRIPTION),
        tag = json(TAG),
        ok_cmd = json(&ok_cmd),
    )
}

fn json(s: &str) -> String {
    serde_json::to_string(s).expect("json string")
}

/// `s` as one single-quoted shell word.
fn shell(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn ok(env: &Env, args: &[&str]) -> String {
    let out = env.run(args);
    assert!(
        out.status.success(),
        "cambium {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Env {
    /// Fills this (fresh) installation with one of everything; see the module docs.
    pub fn one_of_everything(&self) -> Everything {
        // The repository's DAGs, copied so that our own go beside them.
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("dags");
        for entry in std::fs::read_dir(&repo).expect("repo dags") {
            let path = entry.expect("entry").path();
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                if path.is_file() {
                    std::fs::copy(&path, self.dags.join(name)).expect("copy dag");
                }
            }
        }
        self.write_dag("everything.rhai", &everything_dag());
        self.write_dag(
            "broken.rhai",
            &format!("let d = dag({}, #{{}});\n", json(BAD_DAG_ID)),
        );
        self.train_two_wine_versions();
        for dag in [
            "wine_quality_ct",
            "retrain_shell",
            "fan_out",
            "hello",
            "consumer",
        ] {
            ok(self, &["dags", "pause", dag]);
        }

        // ok succeeds (output, metrics, an asset event), flaky fails twice, after never runs.
        let run = self.json(&["dags", "test", "everything"], 1);
        assert_eq!(run["state"], "failed", "{run}");
        let run_id = run["run_id"].as_str().expect("run id").to_string();
        let flaky = super::task(&run, "flaky");
        assert_eq!(flaky["state"], "failed", "{run}");
        assert_eq!(flaky["try_number"], 2, "a retry: {run}");
        assert_eq!(super::task(&run, "after")["state"], "upstream_failed");

        ok(
            self,
            &[
                "assets",
                "emit",
                "ev.asset",
                "--extra",
                &serde_json::json!({ "note": EXTRA_NOTE }).to_string(),
            ],
        );
        let queued_run_id = self.trigger(&["everything"]);
        let states_run_id = self.trigger(&["states"]);

        self.create_user(USER, "admin", USER_PASSWORD);

        let errors = self.json(&["dags", "errors"], 0);
        assert!(
            errors.to_string().contains("broken.rhai"),
            "broken.rhai fails to import: {errors}"
        );
        let wine = self.json(&["runs", "list", "wine_quality_ct"], 0);
        let wine_run_id = wine
            .as_array()
            .and_then(|runs| runs.first())
            .and_then(|r| r["run_id"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("a wine run: {wine}"));
        Everything {
            run_id,
            queued_run_id,
            states_run_id,
            wine_run_id,
        }
    }
}

/// The page URLs of the installation, each with what it must show.
pub fn page_urls(e: &Everything) -> Vec<String> {
    let run = seg(&e.run_id);
    let mut urls: Vec<String> = [
        "/",
        "/?q=every",
        "/dags/everything",
        "/dags/everything/graph",
        "/dags/everything/code",
        "/dags/everything/runs",
        "/dags/everything/trigger",
        "/dags/everything/backfill",
        "/dags/states",
        "/dags/states/graph",
        "/dags/wine_quality_ct",
        "/dags/wine_quality_ct/graph",
        "/dags/wine_quality_ct/runs",
        "/models",
        "/models/wine_quality",
        "/models/wine_quality?version=1",
        "/assets",
        "/import-errors",
        "/users",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    urls.extend([
        format!("/dags/everything/graph?run_id={run}"),
        format!("/dags/everything/runs/{run}"),
        format!("/dags/everything/runs/{run}/tasks/ok"),
        format!("/dags/everything/runs/{run}/tasks/flaky?try=1"),
        format!("/dags/everything/runs/{run}/tasks/flaky?try=2"),
        format!("/dags/everything/runs/{run}/tasks/after"),
        format!("/dags/everything/runs/{}", seg(&e.queued_run_id)),
        format!("/dags/everything/runs/{}/tasks/ok", seg(&e.queued_run_id)),
        format!("/dags/states/runs/{}", seg(&e.states_run_id)),
        format!("/dags/wine_quality_ct/runs/{}", seg(&e.wine_run_id)),
        format!(
            "/dags/wine_quality_ct/runs/{}/tasks/train",
            seg(&e.wine_run_id)
        ),
    ]);
    urls
}

/// A URL path segment: everything but unreserved characters percent-encoded.
pub fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `text` HTML-escaped as the pages escape it (minijinja's rules).
pub fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

/// Forges what a live installation has at some moment and a test cannot hold still: the
/// `states` run running, with a task in every state. Only without a scheduler.
pub async fn forge_states(env: &Env, run_id: &str) {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", env.home.join("cambium.db").display());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .expect("database");
    sqlx::query(
        "UPDATE task_instances SET state = substr(task_id, 3), \
         try_number = CASE WHEN task_id IN ('s_none', 's_scheduled') THEN 0 ELSE 1 END \
         WHERE dag_id = 'states' AND run_id = ?",
    )
    .bind(run_id)
    .execute(&mut conn)
    .await
    .expect("task states");
    sqlx::query("UPDATE dag_runs SET state = 'running' WHERE dag_id = 'states' AND run_id = ?")
        .bind(run_id)
        .execute(&mut conn)
        .await
        .expect("run state");
}

impl Env {
    /// Starts `cambium webserver --port 0` (no scheduler: what the store holds stays as it
    /// is) and waits until it serves. No first admin is made when users exist.
    pub fn webserver(&self) -> Standalone {
        let log = self.dir.path().join("webserver.log");
        let file = std::fs::File::create(&log).expect("webserver log");
        let err = file.try_clone().expect("clone log");
        let child = self
            .command(&["webserver", "--port", "0"])
            .env("CAMBIUM_LOG", "info")
            .stdout(file)
            .stderr(err)
            .spawn()
            .expect("start webserver");
        let proc = Proc { child, log };
        let url = wait_for(Duration::from_secs(60), || {
            let text = proc.log_text();
            Some(
                text.split("web UI and API on ")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .trim_end_matches(['/', ';'])
                    .to_string(),
            )
        });
        let Some(url) = url else {
            panic!("webserver did not start:\n{}", proc.log_text());
        };
        Standalone {
            proc,
            url,
            admin_password: String::new(),
        }
    }
}
