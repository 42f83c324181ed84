//! The web server under attack, against a real `cambium webserver`: each test performs one
//! of the attacks the sign-in and the server must withstand (parallel password guessing,
//! huge user names, open redirects, login CSRF, slow clients, stale sessions and tokens)
//! and checks what the server did about it, through what it answers and what `/metrics`
//! counts.

mod common;

use common::{wait_for, Env, Proc};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A running `cambium webserver --port 0` with its own `cambium.toml`; stopped on drop.
struct Server {
    _proc: Proc,
    /// `127.0.0.1:PORT`.
    addr: String,
    admin_password: String,
}

fn webserver(env: &Env, toml: &str) -> Server {
    std::fs::create_dir_all(&env.home).expect("home");
    std::fs::write(env.home.join("cambium.toml"), toml).expect("cambium.toml");
    let log = env.dir.path().join(format!(
        "webserver-{}.log",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let file = std::fs::File::create(&log).expect("log");
    let err = file.try_clone().expect("clone log");
    let child = env
        .command(&["webserver", "--port", "0"])
        .env("CAMBIUM_LOG", "info")
        .stdout(file)
        .stderr(err)
        .spawn()
        .expect("start webserver");
    let proc = Proc { child, log };
    let found = wait_for(Duration::from_secs(60), || {
        let text = proc.log_text();
        let addr = text
            .split("web UI and API on http://")
            .nth(1)?
            .split(['/', ';', ' ', '\n'])
            .next()?
            .to_string();
        let password = text
            .split("created the first user: admin, password ")
            .nth(1)?
            .split_whitespace()
            .next()?
            .to_string();
        Some((addr, password))
    });
    let Some((addr, admin_password)) = found else {
        panic!("webserver did not start:\n{}", proc.log_text());
    };
    Server {
        _proc: proc,
        addr,
        admin_password,
    }
}

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// One request on its own connection, headers exactly as given (plus Host, Content-Length
/// and Connection: close).
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    // A server that refuses early may close before the whole body is sent.
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body));
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert_ne!(status, 500, "{method} {path} answered 500: {text}");
    Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// `application/x-www-form-urlencoded` of one value.
fn form_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn login(addr: &str, user: &str, password: &str, next: &str, headers: &[(&str, &str)]) -> Reply {
    let body = format!(
        "username={}&password={}&next={}",
        form_value(user),
        form_value(password),
        form_value(next)
    );
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    http(addr, "POST", "/login", &all, body.as_bytes())
}

/// `name=value` of the session cookie a sign-in set.
fn session_cookie(reply: &Reply) -> String {
    let set = reply
        .header("set-cookie")
        .unwrap_or_else(|| panic!("no cookie set: {}", reply.head));
    set.split(';').next().expect("cookie").to_string()
}

fn get(addr: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    http(addr, "GET", path, headers, b"")
}

fn json_call(addr: &str, method: &str, path: &str, token: &str, body: &str) -> Reply {
    let bearer = format!("Bearer {token}");
    http(
        addr,
        method,
        path,
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )
}

/// A bearer token of `name`, made with the CLI.
fn token(env: &Env, name: &str, expires: Option<&str>) -> (String, i64) {
    let mut args = vec!["users", "token", name];
    if let Some(e) = expires {
        args.extend(["--expires", e]);
    }
    let v = env.json(&args, 0);
    (
        v["token"].as_str().expect("token").to_string(),
        v["id"].as_i64().expect("id"),
    )
}

/// The value of one sample in `/metrics`.
fn metric(addr: &str, token: &str, name: &str) -> f64 {
    let r = get(
        addr,
        "/metrics",
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{}", r.body))
}

#[test]
fn parallel_wrong_passwords_get_only_the_free_tries() {
    let env = Env::new();
    let s = webserver(&env, "");
    let (admin, _) = token(&env, "admin", None);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(60));
    let started = Instant::now();
    let handles: Vec<_> = (0..60)
        .map(|i| {
            let addr = s.addr.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                login(&addr, "admin", &format!("guess-{i}"), "/", &[]).status
            })
        })
        .collect();
    let statuses: Vec<u16> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let burst = started.elapsed();
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(wrong + refused, 60, "{statuses:?}");
    let checks = metric(&s.addr, &admin, "cambium_login_password_checks_total");
    assert_eq!(checks as usize, wrong, "every password check answered 401");
    // 3 free tries; a burst longer than the first 1 s wait may earn one more.
    let allowed = if burst < Duration::from_secs(1) { 3 } else { 4 };
    assert!(
        (3..=allowed).contains(&wrong),
        "{wrong} passwords verified in {burst:?}: {statuses:?}"
    );
    // The right password is refused too while the wait lasts: guessing gains nothing.
    let r = login(&s.addr, "admin", &s.admin_password, "/", &[]);
    assert_eq!(r.status, 429, "{}", r.head);
    assert!(r.header("retry-after").is_some(), "{}", r.head);
}

#[test]
fn huge_and_odd_user_names_cost_nothing() {
    let env = Env::new();
    let s = webserver(&env, "");
    let (admin, _) = token(&env, "admin", None);
    let huge = "n".repeat(1_900_000);
    for _ in 0..5 {
        let started = Instant::now();
        let r = login(&s.addr, &huge, "password", "/", &[]);
        // Refused as too large, or cut off while sending it.
        assert!(matches!(r.status, 413 | 0), "{}", r.head);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    for name in ["n".repeat(65), "a\nb".to_string(), " padded".to_string()] {
        let r = login(&s.addr, &name, "password", "/", &[]);
        assert_eq!(r.status, 400, "{name:?}: {}", r.head);
        assert!(r.body.contains("1 to 64 characters"), "{}", r.body);
    }
    // Nothing was verified and the throttle remembers nothing.
    assert_eq!(
        metric(&s.addr, &admin, "cambium_login_password_checks_total"),
        0.0
    );
    assert_eq!(metric(&s.addr, &admin, "cambium_login_throttle_keys"), 0.0);
    // A real name is still throttled by name and address.
    assert_eq!(login(&s.addr, "admin", "wrong", "/", &[]).status, 401);
    assert_eq!(metric(&s.addr, &admin, "cambium_login_throttle_keys"), 2.0);
}

#[test]
fn next_goes_only_to_this_site() {
    let env = Env::new();
    let s = webserver(&env, "");
    let ok = login(
        &s.addr,
        "admin",
        &s.admin_password,
        "/dags/x?state=failed",
        &[],
    );
    assert_eq!(ok.status, 303, "{}", ok.head);
    assert_eq!(
        ok.header("location").as_deref(),
        Some("/dags/x?state=failed")
    );
    for next in [
        "/\t/evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\n",
        "/a\r\nSet-Cookie: x=y",
        "https://evil.example/",
        "/ /evil.example",
    ] {
        let r = login(&s.addr, "admin", &s.admin_password, next, &[]);
        assert_eq!(r.status, 303, "{next:?}: {}", r.head);
        assert_eq!(r.header("location").as_deref(), Some("/"), "{next:?}");
        // The sign-in page shows it as `/` too, never a 500.
        let page = get(&s.addr, &format!("/login?next={}", form_value(next)), &[]);
        assert_eq!(page.status, 200, "{next:?}: {}", page.head);
        assert!(
            // minijinja's HTML escaping writes `/` as `&#x2f;`.
            page.body.contains(r#"name="next" value="/""#)
                || page.body.contains(r#"name="next" value="&#x2f;""#),
            "{}",
            page.body
        );
    }
}

#[test]
fn cross_site_sign_in_forms_are_refused() {
    let env = Env::new();
    let s = webserver(&env, "");
    for headers in [
        vec![("Origin", "https://evil.example")],
        vec![("Origin", "null")],
        vec![("Sec-Fetch-Site", "cross-site")],
        vec![("Sec-Fetch-Site", "same-site")],
        vec![
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "same-origin"),
        ],
    ] {
        let r = login(&s.addr, "admin", &s.admin_password, "/", &headers);
        assert_eq!(r.status, 403, "{headers:?}: {}", r.head);
        assert!(r.header("set-cookie").is_none(), "{}", r.head);
        assert!(r.body.contains("another site"), "{}", r.body);
    }
    let origin = format!("http://{}", s.addr);
    let same = [
        ("Origin", origin.as_str()),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    let r = login(&s.addr, "admin", &s.admin_password, "/", &same);
    assert_eq!(r.status, 303, "{}", r.head);
    // Clients that send neither header (scripts) still sign in.
    let r = login(&s.addr, "admin", &s.admin_password, "/", &[]);
    assert_eq!(r.status, 303, "{}", r.head);
}

/// A connection that sends half a request's headers and then nothing.
fn slowloris(addr: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .write_all(format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ").as_bytes())
        .expect("half a request");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream
}

#[test]
fn slow_clients_are_cut_off_and_connections_capped() {
    let env = Env::new();
    let s = webserver(
        &env,
        "[web]\nheader_read_timeout = \"1s\"\nrequest_timeout = \"2s\"\nmax_connections = 4\n",
    );
    // Half-sent headers: the server closes the connection after header_read_timeout.
    let mut slow = slowloris(&s.addr);
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_secs(10),
        "closed after {waited:?}"
    );

    // A body that never finishes: 408 after request_timeout.
    let mut stream = TcpStream::connect(&s.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let started = Instant::now();
    stream
        .write_all(
            format!(
                "POST /login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusername=a",
                s.addr
            )
            .as_bytes(),
        )
        .expect("half a body");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let waited = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        waited >= Duration::from_millis(1800) && waited < Duration::from_secs(10),
        "answered after {waited:?}"
    );

    // Every connection slot held by a stalled client: a new client waits until the
    // stalled ones are cut off, and is then served.
    let stalled: Vec<TcpStream> = (0..4).map(|_| slowloris(&s.addr)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let r = get(&s.addr, "/health", &[]);
    let waited = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(
        waited >= Duration::from_millis(500),
        "served at once although every slot was taken: {waited:?}"
    );
    drop(stalled);
}

#[test]
fn a_password_change_signs_the_user_out() {
    let env = Env::new();
    let s = webserver(&env, "");
    let (admin, _) = token(&env, "admin", None);
    env.create_user("nina", "op", "first-password");
    let nina = session_cookie(&login(&s.addr, "nina", "first-password", "/", &[]));
    let boss = session_cookie(&login(&s.addr, "admin", &s.admin_password, "/", &[]));
    assert_eq!(
        get(&s.addr, "/api/v1/dags", &[("Cookie", &nina)]).status,
        200
    );

    // Too short a password is refused and changes nothing.
    let r = json_call(
        &s.addr,
        "PATCH",
        "/api/v1/users/nina",
        &admin,
        r#"{"password":"short"}"#,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("at least 8"), "{}", r.body);
    assert_eq!(
        get(&s.addr, "/api/v1/dags", &[("Cookie", &nina)]).status,
        200
    );

    let r = json_call(
        &s.addr,
        "PATCH",
        "/api/v1/users/nina",
        &admin,
        r#"{"password":"second-password"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // The old session is over: 401 for the API, back to the sign-in page for pages.
    assert_eq!(
        get(&s.addr, "/api/v1/dags", &[("Cookie", &nina)]).status,
        401
    );
    let page = get(&s.addr, "/", &[("Cookie", &nina)]);
    assert_eq!(page.status, 303, "{}", page.head);
    assert!(
        page.header("location")
            .is_some_and(|l| l.starts_with("/login")),
        "{}",
        page.head
    );
    // Other users stay signed in; the new password works.
    assert_eq!(
        get(&s.addr, "/api/v1/dags", &[("Cookie", &boss)]).status,
        200
    );
    assert_eq!(
        login(&s.addr, "nina", "second-password", "/", &[]).status,
        303
    );
}

#[test]
fn tokens_expire_and_are_listed_and_revoked() {
    let env = Env::new();
    let s = webserver(&env, "");
    let (admin, _) = token(&env, "admin", None);
    env.create_user("nina", "op", "nina-password");
    env.create_user("vera", "viewer", "vera-password");
    let auth = |t: &str| format!("Bearer {t}");

    // An expired token is a 401.
    let (brief, _) = token(&env, "nina", Some("1s"));
    let expired = wait_for(Duration::from_secs(10), || {
        (get(&s.addr, "/api/v1/dags", &[("Authorization", &auth(&brief))]).status == 401)
            .then_some(())
    });
    assert!(expired.is_some(), "a token outlived its expiry");

    let (nina, nina_id) = token(&env, "nina", None);
    let (vera, _) = token(&env, "vera", None);
    assert_eq!(
        get(&s.addr, "/api/v1/dags", &[("Authorization", &auth(&nina))]).status,
        200
    );
    // Users list their own tokens; admins anyone's; others nobody's.
    let mine = json_call(&s.addr, "GET", "/api/v1/users/nina/tokens", &nina, "");
    assert_eq!(mine.status, 200, "{}", mine.body);
    let list: Value = serde_json::from_str(&mine.body).expect("JSON");
    let ids: Vec<i64> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t["id"].as_i64())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&nina_id));
    assert!(!mine.body.contains(&nina), "a token's secret is listed");
    let theirs = json_call(&s.addr, "GET", "/api/v1/users/nina/tokens", &admin, "");
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    let other = json_call(&s.addr, "GET", "/api/v1/users/nina/tokens", &vera, "");
    assert_eq!(other.status, 403, "{}", other.body);
    let other = json_call(
        &s.addr,
        "DELETE",
        &format!("/api/v1/users/nina/tokens/{nina_id}"),
        &vera,
        "",
    );
    assert_eq!(other.status, 403, "{}", other.body);
    // Someone else's token id under your name is not found.
    let vera_ids: Value = serde_json::from_str(
        &json_call(&s.addr, "GET", "/api/v1/users/vera/tokens", &vera, "").body,
    )
    .expect("JSON");
    let vera_id = vera_ids[0]["id"].as_i64().expect("id");
    let r = json_call(
        &s.addr,
        "DELETE",
        &format!("/api/v1/users/nina/tokens/{vera_id}"),
        &nina,
        "",
    );
    assert_eq!(r.status, 404, "{}", r.body);
    for (path, status) in [
        ("/api/v1/users/nina/tokens/abc", 400),
        ("/api/v1/users/nina/tokens/999999", 404),
        ("/api/v1/users/ghost/tokens/1", 404),
    ] {
        assert_eq!(
            json_call(&s.addr, "DELETE", path, &admin, "").status,
            status,
            "{path}"
        );
    }
    assert_eq!(
        json_call(&s.addr, "GET", "/api/v1/users/ghost/tokens", &admin, "").status,
        404
    );

    // Revoked: the token signs no one in any more; the others still do.
    let r = json_call(
        &s.addr,
        "DELETE",
        &format!("/api/v1/users/nina/tokens/{nina_id}"),
        &nina,
        "",
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        get(&s.addr, "/api/v1/dags", &[("Authorization", &auth(&nina))]).status,
        401
    );
    assert_eq!(
        get(&s.addr, "/api/v1/dags", &[("Authorization", &auth(&vera))]).status,
        200
    );
    // The CLI revokes too.
    let vera_cli = env.json(&["users", "revoke-token", &vera_id.to_string()], 0);
    assert_eq!(vera_cli["user"], "vera");
    assert_eq!(
        get(&s.addr, "/api/v1/dags", &[("Authorization", &auth(&vera))]).status,
        401
    );
}

#[test]
fn cookies_are_secure_over_https() {
    // secure_cookies: a `__Host-` cookie marked Secure, and it signs in.
    let env = Env::new();
    let s = webserver(&env, "[web]\nsecure_cookies = true\n");
    let r = login(&s.addr, "admin", &s.admin_password, "/", &[]);
    assert_eq!(r.status, 303, "{}", r.head);
    let set = r.header("set-cookie").expect("cookie");
    assert!(set.starts_with("__Host-cambium_session="), "{set}");
    assert!(set.contains("Secure") && set.contains("Path=/"), "{set}");
    assert!(!set.contains("Domain"), "{set}");
    let cookie = session_cookie(&r);
    assert_eq!(
        get(&s.addr, "/api/v1/dags", &[("Cookie", &cookie)]).status,
        200
    );
    // The plain name is not read when secure.
    let plain = cookie.replacen("__Host-", "", 1);
    assert_eq!(
        get(&s.addr, "/api/v1/dags", &[("Cookie", &plain)]).status,
        401
    );

    // X-Forwarded-Proto from a client that is not a trusted proxy changes nothing.
    let env = Env::new();
    let s = webserver(&env, "");
    let https = [("X-Forwarded-Proto", "https")];
    let r = login(&s.addr, "admin", &s.admin_password, "/", &https);
    let set = r.header("set-cookie").expect("cookie");
    assert!(
        set.starts_with("cambium_session=") && !set.contains("Secure"),
        "{set}"
    );
    // ... and X-Forwarded-For does not pick the throttle's key.
    for i in 0..3 {
        let ip = format!("198.51.100.{i}");
        let r = login(
            &s.addr,
            &format!("u{i}"),
            "wrong",
            "/",
            &[("X-Forwarded-For", &ip)],
        );
        assert_eq!(r.status, 401, "{}", r.head);
    }
    let r = login(
        &s.addr,
        "u9",
        "wrong",
        "/",
        &[("X-Forwarded-For", "198.51.100.9")],
    );
    assert_eq!(r.status, 429, "the forged address was believed: {}", r.head);

    // From a trusted proxy both are believed.
    let env = Env::new();
    let s = webserver(&env, "[web]\ntrusted_proxies = [\"127.0.0.1\"]\n");
    let r = login(&s.addr, "admin", &s.admin_password, "/", &https);
    let set = r.header("set-cookie").expect("cookie");
    assert!(
        set.starts_with("__Host-cambium_session=") && set.contains("Secure"),
        "{set}"
    );
    let r = login(&s.addr, "admin", &s.admin_password, "/", &[]);
    let set = r.header("set-cookie").expect("cookie");
    assert!(set.starts_with("cambium_session="), "{set}");
    for i in 0..4 {
        let ip = format!("198.51.100.{i}");
        let r = login(
            &s.addr,
            &format!("u{i}"),
            "wrong",
            "/",
            &[("X-Forwarded-For", &ip)],
        );
        assert_eq!(r.status, 401, "client {ip}: {}", r.head);
    }
}

#[test]
fn metrics_and_the_openapi_document_are_configurable() {
    let env = Env::new();
    let s = webserver(&env, "");
    // Defaults: the document is public, metrics need a user.
    let doc = get(&s.addr, "/api/v1/openapi.json", &[]);
    assert_eq!(doc.status, 200, "{}", doc.head);
    let doc: Value = serde_json::from_str(&doc.body).expect("JSON");
    for path in [
        "/api/v1/users/{name}/tokens",
        "/api/v1/users/{name}/tokens/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
    assert_eq!(get(&s.addr, "/metrics", &[]).status, 401);

    let env = Env::new();
    let token = "prometheus-scrape-token-0123456789";
    let s = webserver(
        &env,
        &format!("[web]\nmetrics_token = \"{token}\"\npublic_openapi = false\n"),
    );
    let scrape = format!("Bearer {token}");
    let r = get(&s.addr, "/metrics", &[("Authorization", &scrape)]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(r.body.contains("cambium_dag_runs"), "{}", r.body);
    let wrong = get(&s.addr, "/metrics", &[("Authorization", "Bearer nope")]);
    assert_eq!(wrong.status, 401);
    // The scrape token opens /metrics alone.
    assert_eq!(
        get(&s.addr, "/api/v1/dags", &[("Authorization", &scrape)]).status,
        401
    );
    assert_eq!(get(&s.addr, "/api/v1/openapi.json", &[]).status, 401);
    let (admin, _) = self::token(&env, "admin", None);
    let bearer = format!("Bearer {admin}");
    assert_eq!(
        get(
            &s.addr,
            "/api/v1/openapi.json",
            &[("Authorization", &bearer)]
        )
        .status,
        200
    );

    let env = Env::new();
    let s = webserver(&env, "[web]\npublic_metrics = true\n");
    assert_eq!(get(&s.addr, "/metrics", &[]).status, 200);
}
