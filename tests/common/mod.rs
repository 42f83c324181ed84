//! Helpers for end-to-end tests: a fresh home and DAGs folder per test, the real `cambium`
//! binary, schedulers that are always stopped, and fresh Postgres databases.
#![allow(dead_code)]

pub mod everything;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_cambium");

/// One isolated Cambium installation: home, DAGs folder, database URL.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub dags: PathBuf,
    pub database_url: Option<String>,
    _pg: Option<PgDatabase>,
}

impl Env {
    /// SQLite in a fresh home.
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        let dags = dir.path().join("dags");
        std::fs::create_dir_all(&dags).expect("dags dir");
        Env {
            dir,
            home,
            dags,
            database_url: None,
            _pg: None,
        }
    }

    /// A fresh Postgres database, or `None` (with a visible message) when no server is
    /// configured outside CI. In CI (`CI` set) a missing server fails the test.
    pub fn postgres() -> Option<Env> {
        let db = PgDatabase::create()?;
        let mut env = Env::new();
        env.database_url = Some(db.url.clone());
        env._pg = Some(db);
        Some(env)
    }

    /// The repository's own `dags/` folder instead of an empty one.
    pub fn with_repo_dags(mut self) -> Env {
        self.dags = Path::new(env!("CARGO_MANIFEST_DIR")).join("dags");
        self
    }

    pub fn write_dag(&self, name: &str, text: &str) {
        let path = self.dags.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("dag subdir");
        }
        std::fs::write(path, text).expect("write dag");
    }

    /// `users create NAME --role ROLE --password-stdin` with `password` piped in; panics
    /// with the CLI's message if it fails.
    pub fn create_user(&self, name: &str, role: &str, password: &str) {
        use std::io::Write;
        let mut child = self
            .command(&["users", "create", name, "--role", role, "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("users create");
        {
            let mut stdin = child.stdin.take().expect("stdin");
            writeln!(stdin, "{password}").expect("password");
        }
        let out = child.wait_with_output().expect("users create");
        assert!(
            out.status.success(),
            "users create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A new user with `role` (password `<name>-secret-password`) and an API token for it.
    pub fn token_for(&self, name: &str, role: &str) -> String {
        self.create_user(name, role, &format!("{name}-secret-password"));
        let v = self.json(&["users", "token", name], 0);
        v["token"].as_str().expect("token").to_string()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        self.command_with_dags(&self.dags, args)
    }

    /// `cambium ARGS` with another DAGs folder than this environment's.
    pub fn command_with_dags(&self, dags: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--home")
            .arg(&self.home)
            .arg("--dags")
            .arg(dags)
            .args(args)
            .env_remove("CAMBIUM_HOME")
            .env_remove("CAMBIUM_DAGS_FOLDER")
            .env_remove("CAMBIUM_DATABASE_URL")
            .env("CAMBIUM_LOG", "warn")
            .stdin(Stdio::null());
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
        cmd
    }

    /// Runs `cambium ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run cambium")
    }

    /// Runs `cambium --output json ARGS`, asserting the exit code, and parses stdout.
    pub fn json(&self, args: &[&str], code: i32) -> Value {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(
            out.status.code(),
            Some(code),
            "cambium {args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "cambium {args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Runs `cambium dags trigger ARGS` (without waiting), asserting success; returns the
    /// run id it prints.
    pub fn trigger(&self, args: &[&str]) -> String {
        let mut all = vec!["dags", "trigger"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(
            out.status.code(),
            Some(0),
            "cambium {all:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Starts `cambium scheduler` in the background; stopped when the guard drops.
    pub fn scheduler(&self) -> Proc {
        let log = self.dir.path().join(format!("scheduler-{}.log", unique()));
        let file = std::fs::File::create(&log).expect("scheduler log");
        let err = file.try_clone().expect("clone log");
        let child = self
            .command(&["scheduler"])
            .env("CAMBIUM_LOG", "info")
            .stdout(file)
            .stderr(err)
            .spawn()
            .expect("start scheduler");
        Proc { child, log }
    }
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// A background process that is killed when dropped (also when a test fails).
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    /// `kill -9`, as a crash would.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill9();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `check` until it returns Some or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A Postgres database created for one test and dropped after it.
pub struct PgDatabase {
    pub url: String,
    admin: String,
    name: String,
}

impl PgDatabase {
    pub fn create() -> Option<PgDatabase> {
        let admin = cambium_testkit::postgres_admin_url()?;
        let name = format!("cambium_e2e_{}", unique() % 1_000_000_000_000);
        psql(&admin, &format!("CREATE DATABASE {name}"));
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Some(PgDatabase {
            url: format!("{base}/{name}"),
            admin,
            name,
        })
    }
}

impl PgDatabase {
    /// Ends every connection to this database, as a server restart would.
    pub fn terminate_connections(&self) {
        psql(
            &self.admin,
            &format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
                self.name
            ),
        );
    }
}

impl Env {
    /// The Postgres database behind this environment, if any.
    pub fn pg(&self) -> Option<&PgDatabase> {
        self._pg.as_ref()
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| {
            psql(
                &self.admin,
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            )
        });
    }
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .arg(url)
        .arg("-q")
        .arg("-c")
        .arg(sql)
        .output()
        .expect("psql (install the postgresql client)");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The task entries of a run view, by id.
pub fn task<'a>(run: &'a Value, task_id: &str) -> &'a Value {
    run["tasks"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["task_id"] == task_id))
        .unwrap_or_else(|| panic!("no task {task_id} in {run}"))
}

/// The keys of a JSON object, sorted.
pub fn sorted_keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    keys
}

/// A running `cambium standalone` on a free port with a fresh home; stopped on drop.
pub struct Standalone {
    pub proc: Proc,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub url: String,
    /// The generated password of `admin`, as the first start printed it.
    pub admin_password: String,
}

impl Env {
    /// Starts `cambium standalone --port 0` and waits until it serves (its log names the
    /// URL and the first start's admin password).
    pub fn standalone(&self) -> Standalone {
        let log = self.dir.path().join(format!("standalone-{}.log", unique()));
        let file = std::fs::File::create(&log).expect("standalone log");
        let err = file.try_clone().expect("clone log");
        let child = self
            .command(&["standalone", "--port", "0"])
            .env("CAMBIUM_LOG", "info")
            .stdout(file)
            .stderr(err)
            .spawn()
            .expect("start standalone");
        let proc = Proc { child, log };
        let found = wait_for(Duration::from_secs(60), || {
            let text = proc.log_text();
            let url = text
                .split("web UI and API on ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .trim_end_matches(['/', ';'])
                .to_string();
            let password = text
                .split("created the first user: admin, password ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or_default()
                .to_string();
            // Serving: the scheduler banner comes after the listener is bound.
            text.contains("cambium scheduler:")
                .then_some((url, password))
        });
        let Some((url, admin_password)) = found else {
            panic!("standalone did not start:\n{}", proc.log_text());
        };
        Standalone {
            proc,
            url,
            admin_password,
        }
    }
}

impl Env {
    /// The version of a registered model that the `production` alias points at.
    pub fn production(&self, model: &str) -> Option<i64> {
        let show = self.json(&["models", "show", model], 0);
        show["versions"]
            .as_array()
            .expect("versions")
            .iter()
            .find(|v| {
                v["aliases"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == "production"))
            })
            .and_then(|v| v["version"].as_i64())
    }

    /// The continuous-training example twice on the repo's DAGs, as in the tour: batch 1
    /// arrives, version 1; batch 2 arrives, version 2 on it, which takes production.
    pub fn train_two_wine_versions(&self) {
        for through in ["1", "2"] {
            self.json(&["examples", "wine-warehouse", "--through", through], 0);
            let run = self.json(&["dags", "test", "wine_quality_ct"], 0);
            assert_eq!(run["state"], "success", "{run}");
        }
        assert_eq!(self.production("wine_quality"), Some(2));
    }
}
