//! A user's API tokens: `GET /api/v1/users/{name}/tokens` lists them (never their secrets),
//! `DELETE /api/v1/users/{name}/tokens/{id}` revokes one. Admins manage everyone's tokens;
//! any user may list and revoke their own.

use super::api::{user_or_404, ApiResult};
use super::auth::User;
use super::error::ApiError;
use super::openapi::ErrorBody;
use super::App;
use crate::TokenView;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use cambium_auth::Role;
use chrono::Utc;
use std::sync::Arc;

/// The named user, when the caller may manage that user's tokens: an admin, or the user.
async fn owner(app: &App, caller: &User, name: &str) -> ApiResult<cambium_store::UserRecord> {
    if caller.name != name {
        caller.require(Role::Admin)?;
    }
    user_or_404(app, name).await
}

#[utoipa::path(get, path = "/api/v1/users/{name}/tokens", tag = "users",
    description = "The user's API tokens, oldest first, expired ones included until revoked; never a token's secret. Admins see anyone's, other users their own.",
    params(("name" = String, Path, description = "The user's name")),
    responses(
        (status = 200, body = [TokenView]),
        (status = 400, description = "The name is not a usable user name", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Another user's tokens, and not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody)))]
pub async fn list_tokens(
    State(app): State<Arc<App>>,
    user: User,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<TokenView>>> {
    let owner = owner(&app, &user, &name).await?;
    let now = Utc::now();
    let tokens = app.store.api_tokens_of(owner.id).await?;
    Ok(Json(
        tokens.iter().map(|t| TokenView::new(t, now)).collect(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/users/{name}/tokens/{id}", tag = "users",
    description = "Revokes the token at once: it signs no one in any more. Admins revoke anyone's, other users their own.",
    params(("name" = String, Path, description = "The user's name"),
           ("id" = i64, Path, description = "The token's id, as listed")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "The name or id is not usable", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Another user's token, and not an admin", body = ErrorBody),
        (status = 404, description = "No such user, or the user has no token with this id", body = ErrorBody)))]
pub async fn revoke_token(
    State(app): State<Arc<App>>,
    user: User,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let owner = owner(&app, &user, &name).await?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::field("id", format!("token id '{id}' is not a number")))?;
    let no_token = || {
        ApiError::not_found(format!(
            "'{name}' has no API token {id}; GET /api/v1/users/{name}/tokens lists them"
        ))
    };
    match app.store.api_token(id).await? {
        Some(token) if token.user_id == owner.id => {}
        _ => return Err(no_token()),
    }
    if !app.store.delete_api_token(id).await? {
        return Err(no_token());
    }
    Ok(StatusCode::NO_CONTENT)
}
