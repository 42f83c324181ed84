//! Task logs: the whole text of a try (streamed, never read into memory whole), its last
//! lines (`?tail=N`), or (`?follow=1`) a Server-Sent Events stream that sends what the log
//! has and then what is appended, until the try ends. The task page reads logs through the
//! same [`LogReader`].

use super::api::{find_run, ApiResult};
use super::auth::User;
use super::error::ApiError;
use super::ids::check;
use super::App;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use cambium_auth::Role;
use cambium_store::TaskInstance;
use serde::Deserialize;
use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LogQuery {
    /// Which try (default the latest).
    #[serde(rename = "try")]
    #[param(value_type = Option<u64>, minimum = 1)]
    pub try_number: Option<String>,
    /// `true` (or `1`, `yes`) streams the log as Server-Sent Events until the try ends.
    #[param(value_type = Option<bool>)]
    pub follow: Option<String>,
    /// Only the last N lines (1 to 1000000); with `follow=1`, the stream starts there.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1000000)]
    pub tail: Option<String>,
    /// The DAG, when several DAGs have a run with this id.
    pub dag_id: Option<String>,
}

/// The task instance and the log file of the try asked for.
pub async fn locate(
    app: &App,
    dag_id: Option<&str>,
    run_id: &str,
    task_id: &str,
    try_text: Option<&str>,
) -> ApiResult<(TaskInstance, u32, PathBuf)> {
    check("task_id", task_id)?;
    let run = find_run(app, run_id, dag_id).await?;
    let tis = app.store.task_instances(run.id).await?;
    let Some(ti) = tis.into_iter().find(|t| t.task_id == task_id) else {
        return Err(ApiError::not_found(format!(
            "run '{run_id}' of DAG '{}' has no task '{task_id}'",
            run.dag_id
        )));
    };
    let latest = ti.try_number.max(1);
    let try_number = match try_text.map(str::trim).filter(|s| !s.is_empty()) {
        None => latest,
        Some(text) => match text.parse::<u64>() {
            Ok(n) if n >= 1 && n <= u64::from(latest) => n as u32,
            // A try that has not happened (yet) is unknown, like any other id.
            Ok(n) if n > u64::from(latest) => {
                return Err(ApiError::not_found(format!(
                    "'{task_id}' has no try {n}; its tries so far are 1 to {latest}"
                ))
                .with_detail(serde_json::json!({"field": "try"})))
            }
            Err(_) if text.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(ApiError::not_found(format!(
                    "'{task_id}' has no try {text}; its tries so far are 1 to {latest}"
                ))
                .with_detail(serde_json::json!({"field": "try"})))
            }
            _ => {
                return Err(ApiError::field(
                    "try",
                    format!(
                        "try must be a number from 1 to {latest} (the tries of '{task_id}' so far)"
                    ),
                ))
            }
        },
    };
    let path = app
        .config
        .home
        .log_path(&run.dag_id, &run.run_id, task_id, try_number);
    Ok((ti, try_number, path))
}

/// How much of a log one read takes: a chunk of the HTTP body or one SSE event.
const CHUNK: u64 = 64 * 1024;

/// The most lines `?tail=` may ask for.
pub const MAX_TAIL_LINES: u64 = 1_000_000;

/// The length of the longest prefix of `buf` that does not end inside a UTF-8 sequence.
fn utf8_prefix(buf: &[u8]) -> usize {
    // A sequence is at most 4 bytes: look for the start of the last one.
    for back in 1..=buf.len().min(4) {
        let b = buf[buf.len() - back];
        if b & 0b1100_0000 == 0b1000_0000 {
            continue; // a continuation byte
        }
        let needed = match b {
            0x00..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => 1, // not UTF-8 at all: lossy later, never waited for
        };
        return if needed > back {
            buf.len() - back
        } else {
            buf.len()
        };
    }
    buf.len()
}

/// The one way logs are read, by the API (plain and SSE) and by the task page: chunks of
/// at most [`CHUNK`] bytes from an offset, ending at a line end when a chunk is full and
/// never inside a UTF-8 character. Memory use is one chunk, whatever the log's size.
pub struct LogReader {
    file: tokio::fs::File,
    offset: u64,
}

impl LogReader {
    /// The log at `path`, read from byte `offset`.
    pub async fn open(path: &std::path::Path, offset: u64) -> std::io::Result<LogReader> {
        let file = tokio::fs::File::open(path).await?;
        Ok(LogReader { file, offset })
    }

    /// Where the next chunk starts.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The log's current length.
    pub async fn size(&self) -> std::io::Result<u64> {
        Ok(self.file.metadata().await?.len())
    }

    /// The next chunk of at most `max` bytes, `None` at the end of what is written so far
    /// (a log still being written may grow: ask again later).
    pub async fn next_chunk(&mut self, max: u64) -> std::io::Result<Option<String>> {
        self.file.seek(SeekFrom::Start(self.offset)).await?;
        let mut buf = Vec::with_capacity(max.min(CHUNK) as usize);
        (&mut self.file).take(max).read_to_end(&mut buf).await?;
        if buf.is_empty() {
            return Ok(None);
        }
        // A full chunk ends at its last line end, so lines are not split, unless one line is
        // longer than a whole chunk; never inside a character.
        let mut cut = if buf.len() as u64 == max {
            buf.iter()
                .rposition(|b| *b == b'\n')
                .map_or_else(|| utf8_prefix(&buf), |i| i + 1)
        } else {
            utf8_prefix(&buf)
        };
        if cut == 0 {
            cut = buf.len(); // bytes that will never become a character
        }
        buf.truncate(cut);
        self.offset += cut as u64;
        Ok(Some(match String::from_utf8(buf) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }))
    }

    /// The offset where the last `n` lines start (a final line end does not start a line),
    /// found by reading backwards a chunk at a time.
    pub async fn start_of_last_lines(&mut self, n: u64) -> std::io::Result<u64> {
        let len = self.size().await?;
        let mut end = len;
        let mut seen = 0;
        let mut buf = vec![0u8; CHUNK as usize];
        // The log's last byte, if a line end, ends the last line rather than starting one.
        let mut skip_last = true;
        while end > 0 {
            let start = end.saturating_sub(CHUNK);
            let part = &mut buf[..(end - start) as usize];
            self.file.seek(SeekFrom::Start(start)).await?;
            self.file.read_exact(part).await?;
            for (i, b) in part.iter().enumerate().rev() {
                let at = start + i as u64;
                if skip_last && at + 1 == len {
                    skip_last = false;
                    continue;
                }
                if *b == b'\n' {
                    seen += 1;
                    if seen == n {
                        return Ok(at + 1);
                    }
                }
            }
            skip_last = false;
            end = start;
        }
        Ok(0)
    }

    /// Everything from the offset on as a stream of text chunks: an HTTP body that never
    /// holds more than a chunk of the log.
    pub fn into_stream(
        self,
    ) -> impl futures_util::Stream<Item = std::io::Result<axum::body::Bytes>> + Send {
        futures_util::stream::try_unfold(self, |mut reader| async move {
            Ok(reader
                .next_chunk(CHUNK)
                .await?
                .map(|text| (axum::body::Bytes::from(text), reader)))
        })
    }
}

/// The end of a log for a page: at most `max` bytes, starting at a line; and whether
/// earlier lines were left out.
pub async fn tail(path: &std::path::Path, max: u64) -> (String, bool) {
    let Ok(mut reader) = LogReader::open(path, 0).await else {
        return (String::new(), false);
    };
    let len = reader.size().await.unwrap_or(0);
    let start = len.saturating_sub(max);
    reader.offset = start;
    let mut text = String::new();
    while (text.len() as u64) < max {
        match reader
            .next_chunk((max - text.len() as u64).min(CHUNK))
            .await
        {
            Ok(Some(chunk)) => text.push_str(&chunk),
            _ => break,
        }
    }
    if start > 0 {
        // The first line is most likely cut: start at the next one.
        if let Some(i) = text.find('\n') {
            text.drain(..=i);
        }
    }
    (text, start > 0)
}

/// `?tail=` as a number of lines, or a 400 that says what fits.
fn tail_lines(text: Option<&str>) -> ApiResult<Option<u64>> {
    match text.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(t) => match t.parse::<u64>() {
            Ok(n) if (1..=MAX_TAIL_LINES).contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::field(
                "tail",
                format!("tail must be a number of lines from 1 to {MAX_TAIL_LINES}"),
            )),
        },
    }
}

#[utoipa::path(get, path = "/api/v1/runs/{run_id}/tasks/{task_id}/logs", tag = "runs",
    params(("run_id" = String, Path), ("task_id" = String, Path), LogQuery),
    responses((status = 200, description = "The log text (the last `tail` lines with tail=N), or with follow=true a Server-Sent Events stream (`log` events, then one `end` event with the try's state)",
               content((String = "text/plain"), (String = "text/event-stream"))),
              (status = 400, description = "A bad try, follow or tail", body = crate::web::openapi::ErrorBody),
              (status = 404, description = "No such run, task or try, or no log yet", body = crate::web::openapi::ErrorBody),
              (status = 409, description = "Several DAGs have a run with this id; add dag_id", body = crate::web::openapi::ErrorBody)))]
pub async fn api_logs(
    State(app): State<Arc<App>>,
    user: User,
    Path((run_id, task_id)): Path<(String, String)>,
    q: Result<Query<LogQuery>, QueryRejection>,
) -> ApiResult<Response> {
    user.require(Role::Viewer)?;
    let Query(q) = q.map_err(ApiError::from)?;
    let (ti, try_number, path) = locate(
        &app,
        q.dag_id.as_deref(),
        &run_id,
        &task_id,
        q.try_number.as_deref(),
    )
    .await?;
    let follow = match q.follow.as_deref() {
        None | Some("0" | "false" | "no") => false,
        Some("1" | "true" | "yes") => true,
        Some(other) => {
            return Err(ApiError::field(
                "follow",
                format!("follow '{other}' is not true or false"),
            ))
        }
    };
    let tail = tail_lines(q.tail.as_deref())?;
    let mut reader = match LogReader::open(&path, 0).await {
        Ok(reader) => Some(reader),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(ApiError::internal(e)),
    };
    if let (Some(n), Some(r)) = (tail, reader.as_mut()) {
        r.offset = r.start_of_last_lines(n).await.map_err(ApiError::internal)?;
    }
    if follow {
        let offset = reader.as_ref().map_or(0, LogReader::offset);
        return Ok(follow_stream(app, ti.id, try_number, path, offset).into_response());
    }
    let Some(reader) = reader else {
        return Err(ApiError::not_found(format!(
            "there is no log for try {try_number} of '{task_id}' yet"
        )));
    };
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        axum::body::Body::from_stream(reader.into_stream()),
    )
        .into_response())
}

struct Follow {
    app: Arc<App>,
    ti_id: i64,
    try_number: u32,
    path: PathBuf,
    /// Opened once the log exists (a queued try has none yet).
    reader: Option<LogReader>,
    offset: u64,
    done: bool,
}

impl Follow {
    /// The next chunk of the log, if it has grown.
    async fn next_text(&mut self) -> Option<String> {
        if self.reader.is_none() {
            self.reader = LogReader::open(&self.path, self.offset).await.ok();
        }
        let text = self.reader.as_mut()?.next_chunk(CHUNK).await.ok()??;
        Some(text)
    }
}

/// An SSE stream of a log from `offset`: `log` events with chunks of text (whole lines),
/// then one `end` event with the try's final state.
fn follow_stream(
    app: Arc<App>,
    ti_id: i64,
    try_number: u32,
    path: PathBuf,
    offset: u64,
) -> Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>> {
    let start = Follow {
        app,
        ti_id,
        try_number,
        path,
        reader: None,
        offset,
        done: false,
    };
    let log_event = |text: String| {
        Event::default()
            .event("log")
            .data(text.trim_end_matches('\n'))
    };
    let stream = futures_util::stream::unfold(start, move |mut f| async move {
        if f.done {
            return None;
        }
        loop {
            if let Some(text) = f.next_text().await {
                return Some((Ok(log_event(text)), f));
            }
            let ti = f.app.store.task_instance(f.ti_id).await.ok().flatten();
            let active = ti
                .as_ref()
                .is_some_and(|t| t.try_number == f.try_number && t.state.is_active());
            if !active {
                // One last read: the try may have written its last lines as it ended.
                if let Some(text) = f.next_text().await {
                    return Some((Ok(log_event(text)), f));
                }
                f.done = true;
                let state = ti.map_or_else(|| "unknown".to_string(), |t| t.state.to_string());
                return Some((Ok(Event::default().event("end").data(state)), f));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn last_lines(text: &[u8], n: u64) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("1.log");
        std::fs::write(&path, text).expect("write");
        let mut reader = LogReader::open(&path, 0).await.expect("open");
        reader.offset = reader.start_of_last_lines(n).await.expect("tail");
        let mut out = String::new();
        while let Some(chunk) = reader.next_chunk(7).await.expect("chunk") {
            out.push_str(&chunk);
        }
        out
    }

    #[tokio::test]
    async fn the_last_lines_are_found_from_the_end() {
        assert_eq!(last_lines(b"a\nb\nc\nd\n", 2).await, "c\nd\n");
        assert_eq!(last_lines(b"a\nb\nc\nd", 2).await, "c\nd");
        assert_eq!(last_lines(b"a\nb\n", 5).await, "a\nb\n");
        assert_eq!(last_lines(b"", 3).await, "");
        assert_eq!(last_lines(b"\n\n\n", 1).await, "\n");
        // Across chunk boundaries of the backwards scan.
        let big: String = (0..30_000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(
            last_lines(big.as_bytes(), 3).await,
            "line 29997\nline 29998\nline 29999\n"
        );
        assert_eq!(last_lines(big.as_bytes(), 30_000).await, big);
    }

    #[tokio::test]
    async fn chunks_never_split_a_character() {
        // Chunks of 7 bytes over 2-byte characters: a cut inside one waits for the rest.
        let text = "ééééééééé\nünï\n";
        assert_eq!(last_lines(text.as_bytes(), 10).await, text);
        assert_eq!(utf8_prefix("aé".as_bytes()), 3);
        assert_eq!(utf8_prefix(&"aé".as_bytes()[..2]), 1);
        assert_eq!(utf8_prefix(&"a€".as_bytes()[..3]), 1);
        assert_eq!(utf8_prefix(b"a\xff"), 2);
    }

    #[tokio::test]
    async fn a_page_gets_the_end_of_a_long_log_from_a_line_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("1.log");
        let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, &text).expect("write");
        let (end, cut) = tail(&path, 100).await;
        assert!(cut);
        assert!(end.starts_with("line "), "{end}");
        assert!(end.ends_with("line 999\n"), "{end}");
        assert!(end.len() <= 100);
        let (all, cut) = tail(&path, 1 << 20).await;
        assert!(!cut);
        assert_eq!(all, text);
        assert_eq!(
            tail(&dir.path().join("none.log"), 100).await,
            (String::new(), false)
        );
    }

    #[test]
    fn tail_must_be_a_count_of_lines() {
        assert_eq!(tail_lines(None).ok(), Some(None));
        assert_eq!(tail_lines(Some("3")).ok(), Some(Some(3)));
        for bad in ["0", "-1", "x", "1000001", "1.5"] {
            let e = tail_lines(Some(bad)).expect_err(bad);
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}
