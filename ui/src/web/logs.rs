//! Task logs: the whole text of a try, or (`?follow=1`) a Server-Sent Events stream that
//! sends what the log has and then what is appended, until the try ends.

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
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LogQuery {
    /// Which try (default the latest).
    #[serde(rename = "try")]
    #[param(value_type = Option<u64>, minimum = 1)]
    pub try_number: Option<String>,
    /// `true` (or `1`, `yes`) streams the log as Server-Sent Events until the try ends.
    #[param(value_type = Option<bool>)]
    pub follow: Option<String>,
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

/// Up to `max` bytes of the file from `offset`, and the new offset.
pub fn read_from(path: &std::path::Path, offset: u64, max: u64) -> (String, u64) {
    let Ok(mut file) = std::fs::File::open(path) else {
        return (String::new(), offset);
    };
    if file.seek(SeekFrom::Start(offset)).is_err() {
        return (String::new(), offset);
    }
    let mut buf = Vec::new();
    let n = file.take(max).read_to_end(&mut buf).unwrap_or(0);
    // Cut at the last newline so a line (and a UTF-8 character) is never split, unless
    // one line is longer than a whole chunk.
    let cut = if n as u64 == max {
        buf.iter().rposition(|b| *b == b'\n').map_or(n, |i| i + 1)
    } else {
        n
    };
    buf.truncate(cut);
    (
        String::from_utf8_lossy(&buf).into_owned(),
        offset + cut as u64,
    )
}

/// The last `max` bytes of a log (pages show the end of long logs).
pub fn tail(path: &std::path::Path, max: u64) -> (String, u64, bool) {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(max);
    let (text, end) = read_from(path, start, max);
    let text = if start > 0 {
        // Drop the partial first line.
        text.split_once('\n')
            .map_or(text.clone(), |(_, rest)| rest.to_string())
    } else {
        text
    };
    (text, end, start > 0)
}

#[utoipa::path(get, path = "/api/v1/runs/{run_id}/tasks/{task_id}/logs", tag = "runs",
    params(("run_id" = String, Path), ("task_id" = String, Path), LogQuery),
    responses((status = 200, description = "The log text, or with follow=true a Server-Sent Events stream (`log` events, then one `end` event with the try's state)",
               content((String = "text/plain"), (String = "text/event-stream"))),
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
    if !follow {
        let text = match tokio::fs::read(&path).await {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ApiError::not_found(format!(
                    "there is no log for try {try_number} of '{task_id}' yet"
                )))
            }
            Err(e) => return Err(ApiError::internal(e)),
        };
        return Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response());
    }
    Ok(follow_stream(app, ti.id, try_number, path, 0).into_response())
}

struct Follow {
    app: Arc<App>,
    ti_id: i64,
    try_number: u32,
    path: PathBuf,
    offset: u64,
    done: bool,
}

/// An SSE stream of a log: `data` events with chunks of text (whole lines), then one
/// `end` event with the try's final state.
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
        offset,
        done: false,
    };
    let stream = futures_util::stream::unfold(start, |mut f| async move {
        if f.done {
            return None;
        }
        loop {
            let (text, next) = read_from(&f.path, f.offset, 64 * 1024);
            if !text.is_empty() {
                f.offset = next;
                let event = Event::default()
                    .event("log")
                    .data(text.trim_end_matches('\n'));
                return Some((Ok(event), f));
            }
            let ti = f.app.store.task_instance(f.ti_id).await.ok().flatten();
            let active = ti
                .as_ref()
                .is_some_and(|t| t.try_number == f.try_number && t.state.is_active());
            if !active {
                // One last read: the try may have written its last lines as it ended.
                let (text, next) = read_from(&f.path, f.offset, 64 * 1024);
                if !text.is_empty() {
                    f.offset = next;
                    return Some((
                        Ok(Event::default()
                            .event("log")
                            .data(text.trim_end_matches('\n'))),
                        f,
                    ));
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
