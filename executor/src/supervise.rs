//! The try supervisor (`cambium task supervise <try_dir>`): runs one try's process in its own
//! process group, pumps its stdout and stderr into the log, enforces its timeout, forwards
//! SIGTERM/SIGINT to it, and writes `result.json`. It starts once per try and sits on the
//! hot path, so it runs on one thread: a `poll(2)` loop over the two output pipes and a
//! signalfd for the stop signals and SIGCHLD, with the timeouts as poll's timeout.
//!
//! In standby mode ([`run_standby`], `--standby`) the executor starts the supervisor ahead
//! of time and hands it the try folder later as one line on its stdin, which takes the
//! supervisor's own start-up off the critical path of a chain of tries.

use crate::files::{self, ProcessId, TryResult};
use crate::log::{LineBuffer, LogSink};
use crate::{TryRequest, TrySecrets};
use chrono::Utc;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{killpg, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::{access, AccessFlags, Pid};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, ErrorKind, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The task's `PATH` when the supervisor has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// How long a stopped task gets between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(3);
/// How often (in milliseconds) the exit of a task whose output pipes are closed is checked
/// besides SIGCHLD.
const REAP_CHECK_MS: u16 = 100;

/// Runs the try described by `<try_dir>/spec.json` (a serialized [`TryRequest`]); returns
/// the process exit code the supervisor itself should exit with (0 when it recorded a
/// result). Meant to be the only thread of its process: it blocks SIGTERM, SIGINT and
/// SIGCHLD on the calling thread and reads them from a signalfd.
pub fn run(try_dir: &Path) -> i32 {
    let secrets = if std::env::var_os(crate::SECRETS_ON_STDIN).is_some() {
        let mut line = Vec::new();
        match std::io::stdin().lock().read_until(b'\n', &mut line) {
            Ok(_) => parse_secrets(&line),
            Err(e) => Err(format!("could not read the try's secrets from stdin: {e}")),
        }
    } else {
        Ok(TrySecrets::default())
    };
    run_with(try_dir, secrets)
}

/// The [`TrySecrets`] of a line (empty at EOF); the error never quotes the line.
fn parse_secrets(line: &[u8]) -> Result<TrySecrets, String> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    if line.is_empty() {
        return Ok(TrySecrets::default());
    }
    serde_json::from_slice(line).map_err(|e| {
        format!(
            "the try's secrets line is not valid (line {}, column {})",
            e.line(),
            e.column()
        )
    })
}

/// [`run`] with the try's secrets already read.
fn run_with(try_dir: &Path, secrets: Result<TrySecrets, String>) -> i32 {
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

    // Block the stop signals and SIGCHLD before anything else, so they queue up for the
    // signalfd (the task's process gets an empty signal mask from std's spawn).
    let mut watched = SigSet::empty();
    watched.add(Signal::SIGTERM);
    watched.add(Signal::SIGINT);
    watched.add(Signal::SIGCHLD);
    let signals = match watched.thread_block().and_then(|()| {
        SignalFd::with_flags(&watched, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
    }) {
        Ok(signals) => signals,
        Err(e) => {
            let error = format!("could not watch the try's signals: {}", e.desc());
            return finish(try_dir, failed(None, error), None);
        }
    };

    match files::claim_pid(try_dir, &ProcessId::current().to_file_text()) {
        Ok(true) => {}
        Ok(false) => {
            // Another scheduler released this try (its scheduler died before we started)
            // or another supervisor runs it: it is not ours to run or to record.
            eprintln!(
                "cambium task supervise: {} is taken by another process; not running it",
                try_dir.display()
            );
            return 3;
        }
        Err(e) => {
            let error = format!("could not write the try's pid file: {e}");
            return finish(try_dir, failed(None, error), None);
        }
    }
    let secrets = match secrets {
        Ok(secrets) => secrets,
        Err(error) => return finish(try_dir, failed(None, error), None),
    };
    let log = match LogSink::open(&request.log_path, &secrets.secrets) {
        Ok(log) => log,
        Err(e) => {
            let error = format!(
                "could not open the try's log file {}: {e}",
                request.log_path.display()
            );
            return finish(try_dir, failed(None, error), None);
        }
    };
    let result = supervise(&request, &secrets.env, try_dir, &log, &signals);
    finish(try_dir, result, Some(&log))
}

/// The argument that starts a supervisor in standby mode (see [`run_standby`]).
pub const STANDBY_ARG: &str = "--standby";

/// Standby mode: waits for one line on stdin naming a try folder and a second one with the
/// try's [`TrySecrets`] (EOF instead means none), then runs that try exactly like [`run`]
/// and returns its exit code. EOF before a whole first line or an empty line (the scheduler
/// went away or is shutting down) returns 0 without doing anything.
pub fn run_standby() -> i32 {
    let mut stdin = std::io::stdin().lock();
    let mut line = Vec::new();
    if let Err(e) = stdin.read_until(b'\n', &mut line) {
        eprintln!("cambium task supervise: could not read the try folder from stdin: {e}");
        return 1;
    }
    match standby_try_dir(line) {
        Some(try_dir) => {
            let mut line = Vec::new();
            let secrets = match stdin.read_until(b'\n', &mut line) {
                Ok(_) => parse_secrets(&line),
                Err(e) => Err(format!("could not read the try's secrets from stdin: {e}")),
            };
            drop(stdin);
            run_with(&try_dir, secrets)
        }
        None => 0,
    }
}

/// The try folder named by a standby's input line, which must end with a newline; `None`
/// for EOF before a whole line or an empty line.
fn standby_try_dir(mut line: Vec<u8>) -> Option<PathBuf> {
    if line.pop() != Some(b'\n') || line.is_empty() {
        return None;
    }
    Some(PathBuf::from(OsString::from_vec(line)))
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
    secret_env: &BTreeMap<String, String>,
    try_dir: &Path,
    log: &LogSink,
    signals: &SignalFd,
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

    let mut command = match resolve_program(program, &request.env) {
        Some(path) => {
            let mut command = Command::new(path);
            command.arg0(program);
            command
        }
        None => Command::new(program),
    };
    // The task's environment is built, not inherited: a few of the supervisor's own
    // variables, then what the request gives it.
    command.env_clear();
    for name in crate::BASE_ENV {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    if std::env::var_os("PATH").is_none() {
        command.env("PATH", DEFAULT_PATH);
    }
    command
        .args(&request.argv[1..])
        .envs(&request.env)
        .envs(secret_env)
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
    let _ = std::fs::write(
        files::path(try_dir, files::CHILD_PID),
        format!("{}\n", child.id()),
    );

    let mut streams: Vec<Stream> = Vec::with_capacity(2);
    if let Some(stdout) = child.stdout.take() {
        streams.push(Stream::new(OwnedFd::from(stdout)));
    }
    if let Some(stderr) = child.stderr.take() {
        streams.push(Stream::new(OwnedFd::from(stderr)));
    }
    let mut watch = Watch {
        group: Pid::from_raw(child.id() as i32),
        deadline: request.timeout.map(|t| Instant::now() + t),
        timed_out: false,
        killed: false,
        kill_at: None,
        status: None,
        error: None,
    };
    let mut buf = vec![0u8; 16 * 1024];
    while watch.status.is_none() || !streams.is_empty() {
        let ready = {
            let mut fds = Vec::with_capacity(1 + streams.len());
            fds.push(PollFd::new(signals.as_fd(), PollFlags::POLLIN));
            fds.extend(
                streams
                    .iter()
                    .map(|s| PollFd::new(s.file.as_fd(), PollFlags::POLLIN)),
            );
            let mut timeout = watch.poll_timeout();
            if streams.is_empty() {
                // Only the exit is awaited: SIGCHLD wakes us, but should another thread of
                // this process take it, look again every so often all the same.
                let check = PollTimeout::from(REAP_CHECK_MS);
                if timeout.is_none() || timeout > check {
                    timeout = check;
                }
            }
            match poll(&mut fds, timeout) {
                Ok(_) => fds
                    .iter()
                    .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()))
                    .collect::<Vec<bool>>(),
                Err(Errno::EINTR) => continue,
                Err(e) => {
                    // Cannot watch any more: stop the task rather than leave it unattended.
                    watch
                        .error
                        .get_or_insert(format!("could not watch the task's process: {}", e.desc()));
                    let _ = killpg(watch.group, Signal::SIGKILL);
                    watch.status = Some(child.wait());
                    break;
                }
            }
        };
        // The output first, so it is in the log before any message about stopping.
        for i in (0..streams.len()).rev() {
            if !ready[i + 1] {
                continue;
            }
            match streams[i].file.read(&mut buf) {
                Ok(0) => streams.swap_remove(i).lines.finish(log),
                Ok(n) => streams[i].lines.feed(log, &buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::Interrupted | ErrorKind::WouldBlock) => {}
                Err(_) => streams.swap_remove(i).lines.finish(log),
            }
        }
        if ready[0] {
            while let Ok(Some(info)) = signals.read_signal() {
                match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGCHLD) => watch.reap(&mut child),
                    Ok(signal) => watch.stop_requested(signal, log),
                    Err(_) => {}
                }
            }
        }
        if streams.is_empty() {
            watch.reap(&mut child);
        }
        watch.check_deadlines(request.timeout, log);
    }

    let Watch {
        timed_out,
        killed,
        status,
        mut error,
        ..
    } = watch;
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

/// One of the task's output pipes and its unfinished line.
struct Stream {
    file: File,
    lines: LineBuffer,
}

impl Stream {
    fn new(fd: OwnedFd) -> Stream {
        Stream {
            file: File::from(fd),
            lines: LineBuffer::default(),
        }
    }
}

/// The state of a running try: its timeout, whether it is being stopped, how it ended.
struct Watch {
    /// The task's process group (its id is the task's pid).
    group: Pid,
    deadline: Option<Instant>,
    timed_out: bool,
    killed: bool,
    /// When the group gets SIGKILL after SIGTERM.
    kill_at: Option<Instant>,
    status: Option<std::io::Result<ExitStatus>>,
    error: Option<String>,
}

impl Watch {
    /// How long poll may sleep: until the next deadline (rounded up to whole
    /// milliseconds, so it does not wake just before it), or for ever.
    fn poll_timeout(&self) -> PollTimeout {
        let next = [
            self.deadline.filter(|_| !self.timed_out && !self.killed),
            self.kill_at,
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(at) => {
                let millis = at
                    .saturating_duration_since(Instant::now())
                    .as_nanos()
                    .div_ceil(1_000_000);
                PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX)
            }
            None => PollTimeout::NONE,
        }
    }

    /// After a SIGCHLD: collects the task's exit status if it has ended.
    fn reap(&mut self, child: &mut Child) {
        if self.status.is_some() {
            return;
        }
        match child.try_wait() {
            Ok(None) => {}
            Ok(Some(status)) => {
                self.status = Some(Ok(status));
                if self.timed_out || self.killed {
                    // The task is being stopped: take whatever is left of its group too.
                    let _ = killpg(self.group, Signal::SIGKILL);
                }
            }
            Err(e) => self.status = Some(Err(e)),
        }
    }

    /// The supervisor got SIGTERM or SIGINT: SIGTERM the group (SIGKILL a second time).
    fn stop_requested(&mut self, signal: Signal, log: &LogSink) {
        if self.killed || self.timed_out {
            let _ = killpg(self.group, Signal::SIGKILL);
        } else {
            self.killed = true;
            log.message(&format!(
                "the try was asked to stop ({}); stopping the task",
                signal.as_str()
            ));
            self.error = Some("the try was killed".to_string());
            let _ = killpg(self.group, Signal::SIGTERM);
            self.kill_at = Some(Instant::now() + KILL_GRACE);
        }
    }

    /// SIGKILLs the group when its grace ran out; SIGTERMs it when the timeout passed.
    fn check_deadlines(&mut self, timeout: Option<Duration>, log: &LogSink) {
        let now = Instant::now();
        if self.kill_at.is_some_and(|at| at <= now) {
            let _ = killpg(self.group, Signal::SIGKILL);
            self.kill_at = None;
        } else if !self.timed_out && !self.killed && self.deadline.is_some_and(|at| at <= now) {
            self.timed_out = true;
            let text = format!(
                "the try timed out after {}",
                cambium_dag::duration::format_duration(timeout.unwrap_or_default())
            );
            log.message(&format!("{text}; stopping the task"));
            self.error = Some(text);
            let _ = killpg(self.group, Signal::SIGTERM);
            self.kill_at = Some(now + KILL_GRACE);
        }
    }
}

/// The file to execute for `program`: the first executable file of that name in the task's
/// `PATH` (the request's own when it sets one), found with one cheap check per folder
/// instead of one failed `execve` each. `None` (a name with a slash, no `PATH`, a relative
/// `PATH` entry, nothing found) leaves the search, and its error, to `Command` as before.
fn resolve_program(program: &str, env: &BTreeMap<String, String>) -> Option<PathBuf> {
    if program.is_empty() || program.contains('/') {
        return None;
    }
    let path = match env.get("PATH") {
        Some(path) => OsString::from(path),
        None => std::env::var_os("PATH")?,
    };
    for dir in std::env::split_paths(&path) {
        if !dir.is_absolute() {
            return None;
        }
        let candidate = dir.join(program);
        if access(&candidate, AccessFlags::X_OK).is_ok() && candidate.is_file() {
            return Some(candidate);
        }
    }
    None
}

/// An IO error's reason without Rust's ` (os error 2)` suffix.
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, "#!/bin/sh\nexit 0\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    #[test]
    fn a_standby_line_names_the_try_folder_only_when_whole_and_not_empty() {
        assert_eq!(
            standby_try_dir(b"/tmp/a b/try\n".to_vec()),
            Some(PathBuf::from("/tmp/a b/try"))
        );
        assert_eq!(standby_try_dir(Vec::new()), None);
        assert_eq!(standby_try_dir(b"\n".to_vec()), None);
        // Cut off before its newline: the scheduler died while writing.
        assert_eq!(standby_try_dir(b"/tmp/partial".to_vec()), None);
    }

    #[test]
    fn programs_are_found_in_the_tasks_path() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        // Not executable, a folder, then the real one.
        script(a.path(), "tool", 0o644);
        std::fs::create_dir(a.path().join("dir-tool")).expect("mkdir");
        let tool = script(b.path(), "tool", 0o755);
        std::fs::create_dir(b.path().join("dir-tool")).expect("mkdir");
        let path = format!("{}:{}", a.path().display(), b.path().display());
        let env = BTreeMap::from([("PATH".to_string(), path.clone())]);
        assert_eq!(resolve_program("tool", &env), Some(tool));
        assert_eq!(resolve_program("dir-tool", &env), None);
        assert_eq!(resolve_program("missing", &env), None);
        assert_eq!(resolve_program("./tool", &env), None);
        assert_eq!(resolve_program("", &env), None);
        // A relative entry leaves the search to `Command`, which knows the task's cwd.
        let relative = BTreeMap::from([("PATH".to_string(), format!("bin:{path}"))]);
        assert_eq!(resolve_program("tool", &relative), None);
    }

    fn request(dir: &Path, argv: &[&str], timeout: Option<Duration>) -> TryRequest {
        TryRequest {
            key: crate::TryKey {
                ti_id: 1,
                try_number: 1,
            },
            dag_id: "d".into(),
            run_id: "r".into(),
            task_id: "t".into(),
            argv: argv.iter().map(|a| a.to_string()).collect(),
            cwd: None,
            env: BTreeMap::new(),
            timeout,
            secrets: vec![],
            secret_env: Default::default(),
            try_dir: dir.to_path_buf(),
            log_path: dir.join("try.log"),
            operator: None,
        }
    }

    fn run_request(request: &TryRequest) -> (i32, TryResult, String) {
        let spec = serde_json::to_vec(request).expect("spec");
        std::fs::write(request.try_dir.join(files::SPEC), spec).expect("write spec");
        let code = run(&request.try_dir);
        let result = std::fs::read(request.try_dir.join(files::RESULT)).expect("result");
        let result: TryResult = serde_json::from_slice(&result).expect("parse result");
        let log = std::fs::read_to_string(&request.log_path).unwrap_or_default();
        (code, result, log)
    }

    #[test]
    fn a_task_found_in_path_runs_with_its_own_argv0() {
        let dir = tempfile::tempdir().expect("tempdir");
        let request = request(
            dir.path(),
            &["sh", "-c", "echo \"$0\" out; echo err >&2"],
            None,
        );
        let (code, result, log) = run_request(&request);
        assert_eq!(code, 0);
        assert_eq!(result.exit_code, Some(0), "{result:?}");
        assert!(log.contains("] sh out\n"), "{log}");
        assert!(log.contains("] err\n"), "{log}");
        assert!(dir.path().join(files::PID).exists());
        assert!(dir.path().join(files::CHILD_PID).exists());
    }

    #[test]
    fn the_timeout_fires_when_the_task_closed_its_output_but_runs_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let request = request(
            dir.path(),
            &["sh", "-c", "exec >/dev/null 2>&1; sleep 30"],
            Some(Duration::from_millis(300)),
        );
        let started = Instant::now();
        let (code, result, log) = run_request(&request);
        assert_eq!(code, 0);
        assert!(started.elapsed() < Duration::from_secs(3), "{result:?}");
        assert!(result.timed_out, "{result:?}");
        assert_eq!(result.signal, Some(15), "{result:?}");
        assert!(log.contains("the try timed out after"), "{log}");
    }

    #[test]
    fn a_quick_exit_with_closed_output_is_noticed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let request = request(
            dir.path(),
            &["sh", "-c", "exec >/dev/null 2>&1; sleep 0.2; exit 3"],
            None,
        );
        let (_, result, _) = run_request(&request);
        assert_eq!(result.exit_code, Some(3), "{result:?}");
        assert!(!result.timed_out);
    }
}
