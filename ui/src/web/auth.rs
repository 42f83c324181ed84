//! Who is asking: a session cookie from the login form (HttpOnly, SameSite=Strict, with a
//! CSRF token every changing form and cookie-authenticated API call must send back) or an
//! API token (`Authorization: Bearer`). Roles viewer < op < admin are checked by each
//! handler with [`User::require`]. Wrong passwords are slowed per user name and per client
//! address, and the answer never says which part was wrong.

use super::error::ApiError;
use super::App;
use axum::extract::{ConnectInfo, FromRequestParts, OriginalUri, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use cambium_auth::Role;
use chrono::Utc;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

pub const SESSION_COOKIE: &str = "cambium_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The session's CSRF token; `None` for API-token requests, which need none.
    pub csrf: Option<String>,
}

impl User {
    /// 403 unless the user's role allows `needed`.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::forbidden(needed, self.role))
        }
    }

    /// For a changing form: its `csrf` field must be this session's token.
    pub fn check_csrf(&self, sent: &str) -> Result<(), ApiError> {
        match &self.csrf {
            None => Ok(()),
            Some(expected) if cambium_auth::constant_time_eq(expected, sent) => Ok(()),
            Some(_) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "the form's CSRF token does not match your session; reload the page and try again",
            )),
        }
    }
}

/// Why a request has no user: a 401 for the API, a trip to the sign-in page for pages.
pub enum AuthRejection {
    Api(ApiError),
    Page { next: String },
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Api(e) => e.into_response(),
            AuthRejection::Page { next } => {
                let target = format!(
                    "/login?next={}",
                    percent_encoding::utf8_percent_encode(
                        &next,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                );
                Redirect::to(&target).into_response()
            }
        }
    }
}

fn original_path(parts: &Parts) -> String {
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |o| &o.0);
    uri.path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string())
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/metrics"
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for c in cookie::Cookie::split_parse(text).flatten() {
            if c.name() == name {
                return Some(c.value().to_string());
            }
        }
    }
    None
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn role_of(record: &cambium_store::UserRecord) -> Role {
    record.role.parse().unwrap_or_else(|_| {
        tracing::warn!(
            "user '{}' has an unknown role '{}' in the store; treating it as viewer",
            record.name,
            record.role
        );
        Role::Viewer
    })
}

/// The user of a request, if signed in (no rejection: the login page uses it).
pub async fn current_user(app: &App, parts: &Parts) -> Result<Option<User>, ApiError> {
    let now = Utc::now();
    if let Some(token) = bearer(&parts.headers) {
        let hash = cambium_auth::secret_hash(token);
        return Ok(app.store.user_by_token(&hash, now).await?.map(|u| User {
            id: u.id,
            name: u.name.clone(),
            role: role_of(&u),
            csrf: None,
        }));
    }
    let Some(secret) = cookie_value(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = cambium_auth::secret_hash(&secret);
    Ok(app.store.session(&hash, now).await?.map(|(u, s)| User {
        id: u.id,
        name: u.name.clone(),
        role: role_of(&u),
        csrf: Some(s.csrf),
    }))
}

impl FromRequestParts<Arc<App>> for User {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let path = original_path(parts);
        let api = is_api(&path);
        let user = match current_user(app, parts).await {
            Ok(user) => user,
            Err(e) => return Err(AuthRejection::Api(e)),
        };
        let Some(user) = user else {
            return Err(if api {
                AuthRejection::Api(ApiError::unauthorized())
            } else {
                AuthRejection::Page { next: path }
            });
        };
        // A cookie-authenticated API call that changes something sends the CSRF token in a
        // header (the pages' scripts do); SameSite=Strict already keeps other sites out.
        if api && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            if let Some(expected) = &user.csrf {
                let sent = parts
                    .headers
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !cambium_auth::constant_time_eq(expected, sent) {
                    return Err(AuthRejection::Api(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "a signed-in browser must send the page's CSRF token in the X-CSRF-Token header; API clients use a bearer token",
                    )));
                }
            }
        }
        Ok(user)
    }
}

/// The client's address, when the server knows it.
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// Where to go after signing in: only paths of this site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn login_page(
    State(app): State<Arc<App>>,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Result<Html<String>, ApiError> {
    app.templates.render(
        "login.html",
        minijinja::context! { next => safe_next(q.next.as_deref()), error => None::<String> },
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn login(
    State(app): State<Arc<App>>,
    ClientIp(ip): ClientIp,
    Form(form): Form<LoginForm>,
) -> Response {
    match login_inner(&app, ip, form).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn login_inner(app: &App, ip: Option<IpAddr>, form: LoginForm) -> Result<Response, ApiError> {
    let next = safe_next(form.next.as_deref());
    let keys = [
        format!("user:{}", form.username),
        format!(
            "ip:{}",
            ip.map_or_else(|| "unknown".to_string(), |i| i.to_string())
        ),
    ];
    let now = Instant::now();
    let wait = {
        let throttle = app
            .throttle
            .lock()
            .map_err(|_| ApiError::internal("the login throttle lock is poisoned"))?;
        keys.iter()
            .filter_map(|k| throttle.check(k, now).err())
            .max()
    };
    if let Some(wait) = wait {
        let page = app.templates.render(
            "login.html",
            minijinja::context! {
                next => next,
                error => format!("Too many failed sign-ins; try again in {} s.", wait.as_secs().max(1)),
            },
        )?;
        let mut response = (StatusCode::TOO_MANY_REQUESTS, page).into_response();
        if let Ok(v) = header::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(response);
    }
    let record = app.store.user_by_name(&form.username).await?;
    let password = form.password;
    let hash = record.as_ref().map(|u| u.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || match hash {
        Some(hash) => cambium_auth::verify_password(&password, &hash),
        // A name that does not exist costs the same argon2 work, so the time taken does not
        // tell which names exist.
        None => cambium_auth::verify_unknown_user(&password),
    })
    .await
    .map_err(ApiError::internal)?;
    let user = match (ok, record) {
        (true, Some(user)) => user,
        _ => {
            if let Ok(mut throttle) = app.throttle.lock() {
                for k in &keys {
                    throttle.failure(k, Instant::now());
                }
            }
            let page = app.templates.render(
                "login.html",
                minijinja::context! { next => next, error => "Wrong user name or password." },
            )?;
            return Ok((StatusCode::UNAUTHORIZED, page).into_response());
        }
    };
    if let Ok(mut throttle) = app.throttle.lock() {
        for k in &keys {
            throttle.success(k);
        }
    }
    let secret = cambium_auth::new_secret();
    let csrf = cambium_auth::new_secret();
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(app.config.session_ttl)
        .unwrap_or_else(|_| chrono::Duration::hours(12));
    app.store
        .create_session(
            &cambium_auth::secret_hash(&secret),
            user.id,
            &csrf,
            now,
            now + ttl,
        )
        .await?;
    let _ = app.store.delete_expired_sessions(now).await;
    let cookie = cookie::Cookie::build((SESSION_COOKIE, secret))
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .path("/")
        .secure(app.config.secure_cookies)
        .max_age(cookie::time::Duration::seconds(ttl.num_seconds()))
        .build();
    let mut response = Redirect::to(&next).into_response();
    set_cookie(&mut response, &cookie.to_string());
    Ok(response)
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(v) = header::HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    State(app): State<Arc<App>>,
    user: User,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    user.check_csrf(&form.csrf)?;
    if let Some(secret) = cookie_value(&headers, SESSION_COOKIE) {
        app.store
            .delete_session(&cambium_auth::secret_hash(&secret))
            .await?;
    }
    let gone = cookie::Cookie::build((SESSION_COOKIE, ""))
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .path("/")
        .max_age(cookie::time::Duration::ZERO)
        .build();
    let mut response = Redirect::to("/login").into_response();
    set_cookie(&mut response, &gone.to_string());
    Ok(response)
}

/// On a store without users, creates `admin` (role admin) with a generated password and
/// returns the password, to be shown once. `None` when users exist.
pub async fn bootstrap_admin(store: &cambium_store::Store) -> Result<Option<String>, String> {
    if store.count_users().await.map_err(|e| e.to_string())? > 0 {
        return Ok(None);
    }
    let password: String = cambium_auth::new_secret().chars().take(24).collect();
    let hash = cambium_auth::hash_password(&password).map_err(|e| e.to_string())?;
    match store
        .create_user("admin", Role::Admin.as_str(), &hash, Utc::now())
        .await
    {
        Ok(_) => Ok(Some(password)),
        // Another process created it first: it printed the password.
        Err(cambium_store::Error::UserExists(_)) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/dags/x")), "/dags/x");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
