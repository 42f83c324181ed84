//! The try supervisor (`cambium task supervise <try_dir>`): runs one try's process in its own
//! process group, pumps its stdout and stderr into the log, enforces its timeout, forwards
//! SIGTERM/SIGINT to it, and writes `result.json`. Plain std threads, no async runtime: it
//! starts once per try and sits on the hot path.

use crate::files::{self, ProcessId, TryResult};
use crate::log::LogSink;
use crate::TryRequest;
use chrono::Utc;
use nix::sys::signal::{killpg, SigSet, Signal};
use nix::unistd::Pid;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How long a stopped task gets between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(3);

/// What the supervisor's threads report to its main loop.
enum Event {
    Exited(std::io::Result<ExitStatus>),
    PumpDone,
    Signal(Signal),
}

/// Runs the try described by `<try_dir>/spec.json` (a serialized [`TryRequest`]); returns
/// the process exit code the supervisor itself should exit with (0 when it recorded a
/// result).
pub fn run(try_dir: &Path) -> i32 {
    let request: TryRequest = match std::fs::read(files::path(try_dir, files::SPEC))
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
    {
        Ok(request) => request,
        Err(e) => {
            let error = format!(
                "could not read the try's spec {}: {e}",
                files::path(try_dir, files::SPEC).display()
            );
            return finish(try_dir, failed(None, error), None);
        }
    };

    // Block the stop signals before any thread starts, so only the signal thread sees them
    // (the task's process gets an empty signal mask from std's spawn).
    let mut stop_signals = SigSet::empty();
    stop_signals.add(Signal::SIGTERM);
    stop_signals.add(Signal::SIGINT);
    let _ = stop_signals.thread_block();

    if let Err(e) = std::fs::write(
        files::path(try_dir, files::PID),
        ProcessId::current().to_file_text(),
    ) {
        let error = format!("could not write the try's pid file: {e}");
        return finish(try_dir, failed(None, error), None);
    }
    let log = match LogSink::open(&request.log_path, &request.secrets) {
        Ok(log) => Arc::new(log),
        Err(e) => {
            let error = format!(
                "could not open the try's log file {}: {e}",
                request.log_path.display()
            );
            return finish(try_dir, failed(None, error), None);
        }
    };
    let result = supervise(&request, try_dir, &log, &stop_signals);
    finish(try_dir, result, Some(&log))
}

/// A result for a try whose process never started.
fn failed(exit_code: Option<i32>, error: String) -> TryResult {
    TryResult {
        exit_code,
        signal: None,
        timed_out: false,
        killed: false,
        started_at: None,
        ended_at: Utc::now(),
        error: Some(error),
    }
}

/// Writes `result.json`; returns the supervisor's exit code.
fn finish(try_dir: &Path, result: TryResult, log: Option<&LogSink>) -> i32 {
    if result.started_at.is_none() {
        if let (Some(log), Some(error)) = (log, &result.error) {
            log.message(error);
        }
    }
    let written = serde_json::to_vec_pretty(&result)
        .map_err(std::io::Error::other)
        .and_then(|bytes| files::write_atomic(try_dir, files::RESULT, &bytes));
    match written {
        Ok(()) if result.started_at.is_some() || result.exit_code.is_some() => 0,
        Ok(()) => 2,
        Err(e) => {
            eprintln!(
                "cambium task supervise: could not write {}: {e}",
                files::path(try_dir, files::RESULT).display()
            );
            1
        }
    }
}

/// Starts the task's process and watches it until it and its output pipes are done.
fn supervise(
    request: &TryRequest,
    try_dir: &Path,
    log: &Arc<LogSink>,
    stop_signals: &SigSet,
) -> TryResult {
    let Some(program) = request.argv.first() else {
        return failed(
            Some(127),
            "could not start the task: its command is empty".into(),
        );
    };
    if let Some(cwd) = &request.cwd {
        if !cwd.is_dir() {
            return failed(
                Some(127),
                format!(
                    "could not start '{program}': the folder '{}' does not exist",
                    cwd.display()
                ),
            );
        }
    }
    let (tx, rx) = mpsc::channel::<Event>();
    {
        let tx = tx.clone();
        let signals = *stop_signals;
        thread::spawn(move || {
            while let Ok(signal) = signals.wait() {
                if tx.send(Event::Signal(signal)).is_err() {
                    break;
                }
            }
        });
    }

    let mut command = Command::new(program);
    command
        .args(&request.argv[1..])
        .envs(&request.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(cwd) = &request.cwd {
        command.current_dir(cwd);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return failed(
                Some(127),
                format!("could not start '{program}': {}", io_reason(&e)),
            )
        }
    };
    let started_at = Some(Utc::now());
    let group = Pid::from_raw(child.id() as i32);
    let _ = std::fs::write(
        files::path(try_dir, files::CHILD_PID),
        format!("{}\n", child.id()),
    );

    let mut pumps = 0;
    if let Some(stdout) = child.stdout.take() {
        pumps += 1;
        spawn_pump(log, stdout, &tx);
    }
    if let Some(stderr) = child.stderr.take() {
        pumps += 1;
        spawn_pump(log, stderr, &tx);
    }
    {
        let tx = tx.clone();
        thread::spawn(move || {
            let _ = tx.send(Event::Exited(child.wait()));
        });
    }
    drop(tx);

    let deadline = request.timeout.map(|t| Instant::now() + t);
    let mut timed_out = false;
    let mut killed = false;
    let mut kill_at: Option<Instant> = None;
    let mut status: Option<std::io::Result<ExitStatus>> = None;
    let mut error = None;
    while status.is_none() || pumps > 0 {
        let next = [deadline.filter(|_| !timed_out && !killed), kill_at]
            .into_iter()
            .flatten()
            .min();
        let event = match next {
            Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(event) => Some(event),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            },
            None => match rx.recv() {
                Ok(event) => Some(event),
                Err(_) => break,
            },
        };
        match event {
            Some(Event::Exited(s)) => {
                status = Some(s);
                if timed_out || killed {
                    // The task is being stopped: take whatever is left of its group too.
                    let _ = killpg(group, Signal::SIGKILL);
                }
            }
            Some(Event::PumpDone) => pumps -= 1,
            Some(Event::Signal(signal)) => {
                if killed || timed_out {
                    let _ = killpg(group, Signal::SIGKILL);
                } else {
                    killed = true;
                    log.message(&format!(
                        "the try was asked to stop ({}); stopping the task",
                        signal.as_str()
                    ));
                    error = Some("the try was killed".to_string());
                    let _ = killpg(group, Signal::SIGTERM);
                    kill_at = Some(Instant::now() + KILL_GRACE);
                }
            }
            None => {
                let now = Instant::now();
                if kill_at.is_some_and(|at| at <= now) {
                    let _ = killpg(group, Signal::SIGKILL);
                    kill_at = None;
                } else if !timed_out && !killed && deadline.is_some_and(|at| at <= now) {
                    timed_out = true;
                    let timeout = request.timeout.unwrap_or_default();
                    let text = format!(
                        "the try timed out after {}",
                        cambium_dag::duration::format_duration(timeout)
                    );
                    log.message(&format!("{text}; stopping the task"));
                    error = Some(text);
                    let _ = killpg(group, Signal::SIGTERM);
                    kill_at = Some(now + KILL_GRACE);
                }
            }
        }
    }
    let (exit_code, signal) = match status {
        Some(Ok(s)) => (s.code(), s.signal()),
        Some(Err(e)) => {
            error.get_or_insert(format!("could not wait for the task's process: {e}"));
            (None, None)
        }
        None => (None, None),
    };
    if let (Some(sig), None) = (signal, &error) {
        let name = Signal::try_from(sig).map(|s| s.as_str()).unwrap_or("?");
        let text = format!("the task's process was killed by signal {sig} ({name})");
        log.message(&text);
        error = Some(text);
    }
    TryResult {
        exit_code,
        signal,
        timed_out,
        killed,
        started_at,
        ended_at: Utc::now(),
        error,
    }
}

fn spawn_pump(
    log: &Arc<LogSink>,
    reader: impl std::io::Read + Send + 'static,
    tx: &mpsc::Sender<Event>,
) {
    let log = Arc::clone(log);
    let tx = tx.clone();
    thread::spawn(move || {
        log.pump(reader);
        let _ = tx.send(Event::PumpDone);
    });
}

/// An IO error's reason without Rust's ` (os error 2)` suffix.
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
