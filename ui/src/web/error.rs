//! Errors as the contract shapes them: `{"error": "...", "detail": ...}` with a fitting
//! status (400 bad input, 401 not signed in, 403 role too low, 404 unknown, 409 conflict).
//! A failure of ours is a 500 that says to look at the server log, where the cause is.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: String,
    pub detail: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            detail: Value::Null,
        }
    }

    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }

    /// 400 about one field of the request.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message).with_detail(json!({ "field": field }))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    pub fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "not signed in: send `Authorization: Bearer <token>` (`cambium users token NAME`) or sign in at /login",
        )
    }

    pub fn forbidden(needed: cambium_auth::Role, have: cambium_auth::Role) -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            format!("this needs the {needed} role; you are {have}"),
        )
        .with_detail(json!({ "needed": needed.as_str(), "role": have.as_str() }))
    }

    /// Our own failure: logged in full, answered without internals.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!("request failed: {cause}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; the server log says why",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": self.error, "detail": self.detail })),
        )
            .into_response()
    }
}

impl From<cambium_store::Error> for ApiError {
    fn from(e: cambium_store::Error) -> Self {
        use cambium_store::Error;
        match e {
            Error::UnknownModel(name) => {
                ApiError::not_found(format!("there is no model named '{name}' in the registry"))
            }
            Error::UnknownVersion { name, version } => {
                ApiError::not_found(format!("model '{name}' has no version {version}"))
            }
            Error::UnknownAlias { name, alias } => ApiError::conflict(format!(
                "model '{name}' has no '{alias}' version to roll back; promote one first"
            )),
            Error::NoRollback { name, alias } => ApiError::conflict(format!(
                "cannot roll back '{alias}' of model '{name}': there is no earlier version"
            )),
            Error::UserExists(name) => ApiError::conflict(format!(
                "there is already a user named '{name}'; PATCH /api/v1/users/{name} changes it"
            )),
            Error::UnknownUser(name) => ApiError::not_found(format!(
                "there is no user named '{name}'; GET /api/v1/users lists them"
            )),
            other => ApiError::internal(other),
        }
    }
}

impl From<cambium_scheduler::runs::RunError> for ApiError {
    fn from(e: cambium_scheduler::runs::RunError) -> Self {
        match e {
            cambium_scheduler::runs::RunError::Store(e) => e.into(),
            cambium_scheduler::runs::RunError::Invalid(message) => ApiError::bad_request(message),
            e @ cambium_scheduler::runs::RunError::RunExists { .. } => {
                ApiError::conflict(e.to_string())
            }
            // The run has no such task: an unknown thing, as in the task's own routes.
            e @ cambium_scheduler::runs::RunError::UnknownTask { .. } => {
                ApiError::not_found(e.to_string()).with_detail(json!({ "field": "tasks" }))
            }
        }
    }
}

impl From<crate::lineage::LineageError> for ApiError {
    fn from(e: crate::lineage::LineageError) -> Self {
        use crate::lineage::LineageError;
        match e {
            LineageError::Store(e) => e.into(),
            LineageError::BadTarget(t) => {
                ApiError::field("artifact_id", format!("'{t}' is not an artifact id"))
            }
            other => ApiError::not_found(other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        // serde's message names the field and the position ("missing field `start` at ...").
        let message = match &e {
            JsonRejection::MissingJsonContentType(_) => {
                "send the body as JSON with `Content-Type: application/json`".to_string()
            }
            other => format!(
                "the body is not the JSON this route takes: {}",
                other.body_text()
            ),
        };
        let field = field_of(&message);
        ApiError::bad_request(message).with_detail(json!({ "field": field }))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        let message = format!("bad query string: {}", e.body_text());
        let field = field_of(&message);
        ApiError::bad_request(message).with_detail(json!({ "field": field }))
    }
}

/// The field serde names in its message (`missing field `x``, `x: invalid type`).
fn field_of(message: &str) -> Value {
    if let Some(rest) = message.split("field `").nth(1) {
        if let Some(name) = rest.split('`').next() {
            return Value::String(name.to_string());
        }
    }
    // `...: conf: invalid type: ...`: the first part without spaces is the field's path.
    let parts: Vec<&str> = message.split(": ").collect();
    if let Some(path) = parts
        .iter()
        .take(parts.len().saturating_sub(1))
        .find(|p| !p.is_empty() && !p.contains(char::is_whitespace))
    {
        return Value::String(path.to_string());
    }
    Value::Null
}

/// Every body the API takes is a JSON object; serde would also read a struct from an array
/// (`[null, null]`), which no client means. Refused with a 400 before it reaches a handler.
pub async fn json_objects_only(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let json_body = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !json_body {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // The same limit as axum's JSON extractor.
    let Ok(bytes) = axum::body::to_bytes(body, 2 * 1024 * 1024).await else {
        return ApiError::bad_request("the body is larger than 2 MiB or was cut off")
            .with_detail(json!({ "field": null }))
            .into_response();
    };
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return ApiError::bad_request("the body must be a JSON object, not an array")
            .with_detail(json!({ "field": null }))
            .into_response();
    }
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

/// Headers every response gets: no sniffing, no framing, scripts and styles only from
/// this server.
pub async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_named() {
        assert_eq!(
            field_of("Failed to deserialize the JSON body into the target type: missing field `start` at line 1 column 2"),
            json!("start")
        );
        assert_eq!(
            field_of("Failed to deserialize the JSON body into the target type: conf: invalid type: integer `3`, expected a map at line 1 column 10"),
            json!("conf")
        );
    }
}
