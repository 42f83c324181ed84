//! Who is asking: a session cookie from the login form (HttpOnly, SameSite=Strict, with a
//! CSRF token every changing form and cookie-authenticated API call must send back) or an
//! API token (`Authorization: Bearer`). Roles viewer < op < admin are checked by each
//! handler with [`User::require`]. Wrong passwords are slowed per user name and per client
//! address, and the answer never says which part was wrong.
//!
//! Sign-in is hardened against: concurrent guessing (each attempt is counted before its
//! password is verified, and at most [`super::PASSWORD_CHECKS_AT_ONCE`] argon2 checks run at
//! once), huge user names (the form is capped at [`LOGIN_FORM_LIMIT`] and the name checked
//! before anything else), login CSRF (a cross-site `Origin` or `Sec-Fetch-Site` is refused)
//! and open redirects (`next` must be a plain path of this site). Over HTTPS — `[web]
//! secure_cookies`, or `X-Forwarded-Proto: https` from a trusted proxy — the cookie is
//! `Secure` and named [`SECURE_SESSION_COOKIE`].

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
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The session cookie's name over plain HTTP.
pub const SESSION_COOKIE: &str = "cambium_session";
/// The session cookie's name over HTTPS: browsers keep a `__Host-` cookie only when it is
/// `Secure`, has `Path=/` and no `Domain`, so a sibling site cannot set or shadow it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-cambium_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The largest sign-in form accepted (a user name has at most 64 characters).
pub const LOGIN_FORM_LIMIT: usize = 16 * 1024;
/// How long a sign-in waits for one of the password-check slots before a 503.
const PASSWORD_SLOT_WAIT: Duration = Duration::from_secs(10);

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

fn peer(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// True when the browser reached us over HTTPS: `[web] secure_cookies`, or a trusted proxy
/// forwarded the request with `X-Forwarded-Proto: https`.
pub fn is_secure(app: &App, headers: &HeaderMap, peer: Option<IpAddr>) -> bool {
    if app.config.secure_cookies {
        return true;
    }
    if !peer.is_some_and(|p| app.config.trusted_proxies.trusts(p)) {
        return false;
    }
    // The first proxy wrote the scheme the browser used; later ones may append theirs.
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The session cookie's name for a request that is (not) over HTTPS.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
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
    let secure = is_secure(app, &parts.headers, peer(parts));
    let Some(secret) = cookie_value(&parts.headers, session_cookie_name(secure)) else {
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

/// Who may read an endpoint that monitoring tools fetch (`/metrics`,
/// `/api/v1/openapi.json`): anyone when `public`, else a request with the bearer `token`
/// (when one is configured), else a signed-in viewer.
pub async fn open_or_viewer(
    app: &Arc<App>,
    parts: &mut Parts,
    public: bool,
    token: Option<&str>,
) -> Result<(), Response> {
    if public {
        return Ok(());
    }
    if let (Some(expected), Some(sent)) = (token, bearer(&parts.headers)) {
        if cambium_auth::constant_time_eq(expected, sent) {
            return Ok(());
        }
    }
    let user = User::from_request_parts(parts, app)
        .await
        .map_err(IntoResponse::into_response)?;
    user.require(Role::Viewer)
        .map_err(IntoResponse::into_response)
}

/// The client's address, when the server knows it: the peer, or what a trusted proxy in
/// front of us says in `X-Forwarded-For`.
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<Arc<App>> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(peer(parts).map(|peer| {
            let forwarded: Vec<&str> = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            app.config.trusted_proxies.client(peer, &forwarded)
        })))
    }
}

/// Where to go after signing in: only a path of this site, written plainly — it starts with
/// one `/` (not `//`, which browsers read as another host), and has no `\\`, no control
/// characters, no whitespace and nothing outside printable ASCII (browsers drop tabs and
/// newlines from URLs, so `/\t/evil.example` would become `//evil.example`). Anything else
/// goes to `/`.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n[1..].starts_with(['/', '\\'])
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// Why a sign-in form sent from another site is refused (login CSRF: signing the victim in
/// as the attacker). Browsers say where a form came from in `Sec-Fetch-Site` and `Origin`;
/// requests without either (scripts, old browsers) are let through.
fn cross_site(app: &App, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<&'static str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        if !matches!(site.trim(), "same-origin" | "none") {
            return Some("Sec-Fetch-Site");
        }
    }
    let origin = header("origin")?;
    let trusted = peer.is_some_and(|p| app.config.trusted_proxies.trusts(p));
    let host = trusted
        .then(|| header("x-forwarded-host"))
        .flatten()
        .and_then(|h| h.split(',').next())
        .or_else(|| header("host"))
        .map(str::trim);
    let same = match (origin.split_once("://"), host) {
        (Some((scheme, authority)), Some(host)) => {
            authority_eq(scheme, authority.trim_end_matches('/'), host)
        }
        _ => false,
    };
    (!same).then_some("Origin")
}

/// `host[:port]` against `host[:port]`, ignoring case and the scheme's default port.
fn authority_eq(scheme: &str, origin: &str, host: &str) -> bool {
    let default = if scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else {
        ":80"
    };
    let strip = |a: &str| a.strip_suffix(default).unwrap_or(a).to_ascii_lowercase();
    !origin.is_empty() && strip(origin) == strip(host)
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
    ConnectInfoPeer(peer): ConnectInfoPeer,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    match login_inner(&app, ip, peer, &headers, form).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The address of the connection itself (not what proxies say).
pub struct ConnectInfoPeer(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ConnectInfoPeer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ConnectInfoPeer(peer(parts)))
    }
}

/// The sign-in page again, with an error and a status.
fn login_error(
    app: &App,
    status: StatusCode,
    next: &str,
    error: &str,
) -> Result<Response, ApiError> {
    let page = app.templates.render(
        "login.html",
        minijinja::context! { next => next, error => error },
    )?;
    Ok((status, page).into_response())
}

async fn login_inner(
    app: &App,
    ip: Option<IpAddr>,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    form: LoginForm,
) -> Result<Response, ApiError> {
    let next = safe_next(form.next.as_deref());
    if let Some(header) = cross_site(app, headers, peer) {
        tracing::warn!("refused a sign-in form sent from another site ({header})");
        return login_error(
            app,
            StatusCode::FORBIDDEN,
            &next,
            "This sign-in form was sent from another site; open this page and sign in here.",
        );
    }
    // Before anything else, so a huge or odd name costs nothing and is never remembered.
    if cambium_auth::check_user_name(&form.username).is_err() {
        return login_error(
            app,
            StatusCode::BAD_REQUEST,
            &next,
            "That is not a user name: names have 1 to 64 characters.",
        );
    }
    let keys = [
        format!("user:{}", form.username),
        format!(
            "ip:{}",
            ip.map_or_else(|| "unknown".to_string(), |i| i.to_string())
        ),
    ];
    let key_refs = [keys[0].as_str(), keys[1].as_str()];
    // Counted now, before the password is verified: parallel attempts cannot all pass.
    let counted = app
        .throttle
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .attempt(&key_refs, Instant::now());
    if let Err(wait) = counted {
        let secs = wait.as_secs().max(1);
        let mut response = login_error(
            app,
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            &format!("Too many failed sign-ins; try again in {secs} s."),
        )?;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        return Ok(response);
    }
    let record = app.store.user_by_name(&form.username).await?;
    // Each check holds about 19 MiB: only a few at once.
    let Ok(Ok(slot)) = tokio::time::timeout(PASSWORD_SLOT_WAIT, app.password_slots.acquire()).await
    else {
        let mut response = login_error(
            app,
            StatusCode::SERVICE_UNAVAILABLE,
            &next,
            "The server is busy checking other sign-ins; try again in a few seconds.",
        )?;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(5u32));
        return Ok(response);
    };
    let password = form.password;
    let hash = record.as_ref().map(|u| u.password_hash.clone());
    app.password_checks.fetch_add(1, Ordering::Relaxed);
    let ok = tokio::task::spawn_blocking(move || match hash {
        Some(hash) => cambium_auth::verify_password(&password, &hash),
        // A name that does not exist costs the same argon2 work, so the time taken does not
        // tell which names exist.
        None => cambium_auth::verify_unknown_user(&password),
    })
    .await
    .map_err(ApiError::internal)?;
    drop(slot);
    let user = match (ok, record) {
        (true, Some(user)) => user,
        // The attempt is already counted.
        _ => {
            return login_error(
                app,
                StatusCode::UNAUTHORIZED,
                &next,
                "Wrong user name or password.",
            )
        }
    };
    {
        let mut throttle = app.throttle.lock().unwrap_or_else(|e| e.into_inner());
        for k in key_refs {
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
    let secure = is_secure(app, headers, peer);
    let cookie = cookie::Cookie::build((session_cookie_name(secure), secret))
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .path("/")
        .secure(secure)
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
    ConnectInfoPeer(peer): ConnectInfoPeer,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    user.check_csrf(&form.csrf)?;
    let secure = is_secure(&app, &headers, peer);
    let name = session_cookie_name(secure);
    if let Some(secret) = cookie_value(&headers, name) {
        app.store
            .delete_session(&cambium_auth::secret_hash(&secret))
            .await?;
    }
    let gone = cookie::Cookie::build((name, ""))
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .path("/")
        .secure(secure)
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
        assert_eq!(
            safe_next(Some("/dags/x/runs?state=failed&page=2%20x")),
            "/dags/x/runs?state=failed&page=2%20x"
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "\\\\evil",
            "/\t/evil.example",
            "/\n/evil.example",
            "/a\r\nSet-Cookie: x=y",
            "/ /evil",
            "/é",
            "/a\\b",
            "evil",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn authorities_compare_without_default_ports() {
        use super::authority_eq;
        assert!(authority_eq("http", "Example.org", "example.org:80"));
        assert!(authority_eq("https", "example.org:443", "example.org"));
        assert!(authority_eq("http", "127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(!authority_eq("http", "127.0.0.1:8081", "127.0.0.1:8080"));
        assert!(!authority_eq("https", "evil.example", "example.org"));
        assert!(!authority_eq("http", "", ""));
    }
}
