//! The `email` operator against a real SMTP server on loopback (Python's standard-library
//! `smtpd` debugging server, which prints every message it receives), through a real run:
//! a failing task makes the `one_failed` email task send its mail.

mod common;
use common::{task, wait_for, Env};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The SMTP server, killed when dropped.
struct Smtp {
    child: std::process::Child,
    port: u16,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn smtp_server() -> Option<Smtp> {
    let has_smtpd = Command::new("python3")
        .args(["-W", "ignore", "-c", "import smtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_smtpd {
        cambium_testkit::skip("python3 with the smtpd module is not available");
        return None;
    }
    let port = free_port();
    let child = Command::new("python3")
        .args([
            "-W",
            "ignore",
            "-u",
            "-m",
            "smtpd",
            "-n",
            "-c",
            "DebuggingServer",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start smtpd");
    let up = wait_for(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    assert!(up.is_some(), "the SMTP server did not start");
    Some(Smtp { child, port })
}

#[test]
fn a_failed_task_sends_mail_through_smtp() {
    let Some(mut smtp) = smtp_server() else {
        return;
    };
    let env = Env::new();
    env.write_dag(
        "mail.rhai",
        r#"let d = dag("mail", #{});
let work = d.command("work", #{ cmd: "exit 3" });
let tell = d.email("tell", #{
    to: ["ml-team@example.com", "oncall@example.com"],
    subject: "{{ dag_id }}: run {{ run_id }} failed",
    body: "task work failed; see `cambium tasks logs`",
    trigger_rule: "one_failed",
});
work >> tell;
"#,
    );
    let run = env
        .command(&["--output", "json", "dags", "test", "mail"])
        .env(
            "CAMBIUM_CONN_SMTP",
            format!("smtp://127.0.0.1:{}?from=cambium@example.com", smtp.port),
        )
        .output()
        .expect("run");
    let run: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(task(&run, "work")["state"], "failed", "{run}");
    assert_eq!(task(&run, "tell")["state"], "success", "{run}");
    assert_eq!(task(&run, "tell")["output"]["to"][1], "oncall@example.com");

    // The server printed the message.
    let mut stdout = smtp.child.stdout.take().expect("stdout");
    let _ = smtp.child.kill();
    let mut text = String::new();
    let _ = stdout.read_to_string(&mut text);
    assert!(text.contains("Subject: mail: run test__"), "{text}");
    assert!(text.contains("ml-team@example.com"), "{text}");
    assert!(text.contains("task work failed"), "{text}");
}

#[test]
fn a_missing_smtp_connection_names_what_to_set() {
    let env = Env::new();
    env.write_dag(
        "mail.rhai",
        "let d = dag(\"nomail\", #{});\nd.email(\"tell\", #{ to: \"a@example.com\", subject: \"x\" });\n",
    );
    let run = env.json(&["dags", "test", "nomail"], 1);
    let run_id = run["run_id"].as_str().expect("run id");
    let log = env.run(&["tasks", "logs", "nomail", run_id, "tell"]);
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("CAMBIUM_CONN_SMTP"), "{log}");
}
