//! The HTTP API against a real `cambium standalone`: sign-in and roles on every route,
//! the routes' JSON shapes (those of the CLI's `--output json`), and bad input: 400s that
//! name the field, 404s, refused path traversal, no 500s.

mod common;

use common::{sorted_keys, wait_for, Env, Standalone};
use serde_json::{json, Value};
use std::time::Duration;

/// An HTTP client that returns every status instead of failing on 4xx/5xx.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

struct Api {
    agent: ureq::Agent,
    url: String,
    token: Option<String>,
}

struct Reply {
    status: u16,
    text: String,
    headers: Vec<(String, String)>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Api {
    fn new(s: &Standalone, token: Option<String>) -> Api {
        Api {
            agent: agent(),
            url: s.url.clone(),
            token,
        }
    }

    fn send(&self, method: &str, path: &str, body: Option<&str>) -> Reply {
        let url = format!("{}{}", self.url, path);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let response = match body {
            Some(b) => {
                let req = req
                    .header("Content-Type", "application/json")
                    .body(b.to_string())
                    .expect("request");
                self.agent.run(req)
            }
            None => self.agent.run(req.body(()).expect("request")),
        };
        let mut response = response.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        assert_ne!(status, 500, "{method} {path} answered 500: {text}");
        Reply {
            status,
            text,
            headers,
        }
    }

    fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None)
    }
    fn post(&self, path: &str, body: &str) -> Reply {
        self.send("POST", path, Some(body))
    }
    fn patch(&self, path: &str, body: &str) -> Reply {
        self.send("PATCH", path, Some(body))
    }
}

fn hello_env() -> Env {
    Env::new().with_repo_dags()
}

#[test]
fn health_is_open_and_everything_else_needs_a_user() {
    let env = hello_env();
    let s = env.standalone();
    assert!(!s.admin_password.is_empty(), "{}", s.proc.log_text());
    let anonymous = Api::new(&s, None);
    let health = anonymous.get("/health");
    assert_eq!(health.status, 200);
    assert_eq!(health.json(), json!({"status": "ok"}));
    for path in [
        "/api/v1/dags",
        "/api/v1/dags/hello",
        "/api/v1/models",
        "/api/v1/import-errors",
        "/metrics",
    ] {
        let r = anonymous.get(path);
        assert_eq!(r.status, 401, "{path}: {}", r.text);
        assert!(r.json()["error"]
            .as_str()
            .unwrap()
            .contains("not signed in"));
    }
    // Pages send the browser to the sign-in form, remembering where it was going.
    let page = anonymous.get("/dags/hello");
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/login?next=%2Fdags%2Fhello"));
    assert_eq!(anonymous.get("/login").status, 200);
    // The OpenAPI document is public by default ([web] public_openapi).
    assert_eq!(anonymous.get("/api/v1/openapi.json").status, 200);
    assert_eq!(anonymous.get("/static/app.css").status, 200);
    // A wrong token is the same as none.
    let wrong = Api::new(&s, Some("not-a-token".into()));
    assert_eq!(wrong.get("/api/v1/dags").status, 401);
    // Secrets never appear: not the admin password in any answer.
    let admin = Api::new(&s, Some(env.token_for("root2", "admin")));
    assert!(!admin.get("/api/v1/dags").text.contains(&s.admin_password));
}

#[test]
fn roles_are_enforced() {
    let env = hello_env();
    let s = env.standalone();
    let viewer = Api::new(&s, Some(env.token_for("vera", "viewer")));
    let op = Api::new(&s, Some(env.token_for("otto", "op")));
    assert_eq!(viewer.get("/api/v1/dags").status, 200);
    for (method, path, body) in [
        ("POST", "/api/v1/dags/hello/runs", "{}"),
        ("PATCH", "/api/v1/dags/hello", r#"{"paused": true}"#),
        (
            "POST",
            "/api/v1/dags/hello/backfills",
            r#"{"start":"2026-11-20","end":"2026-11-21","dry_run":true}"#,
        ),
        ("POST", "/api/v1/assets/x/events", "{}"),
        ("POST", "/api/v1/models/m/promote", r#"{"version": 1}"#),
    ] {
        let r = viewer.send(method, path, Some(body));
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text);
        assert!(
            r.json()["error"].as_str().unwrap().contains("op role"),
            "{}",
            r.text
        );
    }
    let paused = op.patch("/api/v1/dags/hello", r#"{"paused": true}"#);
    assert_eq!(paused.status, 200, "{}", paused.text);
    assert_eq!(paused.json()["paused"], true);
    let list = viewer.get("/api/v1/dags").json();
    let hello = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dag_id"] == "hello")
        .unwrap();
    assert_eq!(hello["paused"], true);
}

#[test]
fn dags_runs_logs_and_backfills() {
    let env = hello_env();
    let s = env.standalone();
    let api = Api::new(&s, Some(env.token_for("otto", "op")));

    // The DAG list has the shape of `dags list --output json`.
    let dags = api.get("/api/v1/dags").json();
    let cli = env.json(&["dags", "list", "--output", "json"], 0);
    let keys = |v: &Value| common::sorted_keys(&v[0]).join(",");
    assert_eq!(keys(&dags), keys(&cli));
    let detail = api.get("/api/v1/dags/hello").json();
    assert_eq!(detail["edges"], json!([["say_hello", "say_bye"]]));
    let source = api.get("/api/v1/dags/hello/source");
    assert_eq!(source.status, 200);
    assert!(source.text.contains("let d = dag(\"hello\""));
    let next = api.get("/api/v1/dags/hello/next-runs?n=3").json();
    assert_eq!(next.as_array().unwrap().len(), 3);

    // Trigger, then watch it succeed.
    let created = api.post(
        "/api/v1/dags/hello/runs",
        r#"{"conf": {"who": "api"}, "logical_date": "2026-11-22T09:00:00+00:00"}"#,
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let run = created.json();
    let run_id = run["run_id"].as_str().unwrap().to_string();
    assert_eq!(run_id, "manual__2026-11-22T09:00:00+00:00");
    assert_eq!(run["conf"]["who"], "api");
    let again = api.post(
        "/api/v1/dags/hello/runs",
        r#"{"logical_date": "2026-11-22T09:00:00+00:00"}"#,
    );
    assert_eq!(again.status, 409, "{}", again.text);
    let enc = run_id.replace(':', "%3A").replace('+', "%2B");
    let done = wait_for(Duration::from_secs(60), || {
        let r = api.get(&format!("/api/v1/runs/{enc}")).json();
        (r["state"] == "success" || r["state"] == "failed").then_some(r)
    })
    .unwrap_or_else(|| panic!("the run did not end:\n{}", s.proc.log_text()));
    assert_eq!(done["state"], "success", "{done}");
    // Same shape as `runs show`.
    let shown = env.json(&["runs", "show", &run_id, "--output", "json"], 0);
    assert_eq!(common::sorted_keys(&done), common::sorted_keys(&shown));
    let log = api.get(&format!("/api/v1/runs/{enc}/tasks/say_hello/logs"));
    assert_eq!(log.status, 200);
    assert!(log.text.contains("hello for 2026-11-22"), "{}", log.text);
    let follow = api.get(&format!("/api/v1/runs/{enc}/tasks/say_hello/logs?follow=1"));
    assert_eq!(follow.header("content-type"), Some("text/event-stream"));
    assert!(follow.text.contains("event: log"), "{}", follow.text);
    assert!(
        follow.text.contains("event: end\ndata: success"),
        "{}",
        follow.text
    );
    let listed = api
        .get("/api/v1/dags/hello/runs?state=success&limit=100")
        .json();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["run_id"] == run_id.as_str()),
        "{listed}"
    );
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["state"] == "success"));

    // Clear one task with its downstream.
    let cleared = api.post(
        &format!("/api/v1/runs/{enc}/clear"),
        r#"{"tasks": ["say_hello"], "downstream": true}"#,
    );
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    assert_eq!(cleared.json()["tasks"], json!(["say_hello", "say_bye"]));

    // Backfill: dry run first, then for real, then its progress.
    let body = r#"{"start": "2026-11-20T00:00:00+00:00", "end": "2026-11-20T00:30:00+00:00", "rerun": "none", "max_active_runs": 2, "dry_run": true}"#;
    let preview = api.post("/api/v1/dags/hello/backfills", body);
    assert_eq!(preview.status, 200, "{}", preview.text);
    let planned = preview.json()["runs"].as_array().unwrap().len();
    assert!(planned >= 3, "{}", preview.text);
    let before = api.get("/api/v1/dags/hello/runs?limit=100").json();
    let started = api.post(
        "/api/v1/dags/hello/backfills",
        &body.replace("\"dry_run\": true", "\"dry_run\": false"),
    );
    assert_eq!(started.status, 201, "{}", started.text);
    let started = started.json();
    assert_eq!(started["runs"].as_array().unwrap().len(), planned);
    let after = api.get("/api/v1/dags/hello/runs?limit=100").json();
    assert_eq!(
        after.as_array().unwrap().len(),
        before.as_array().unwrap().len() + planned
    );
    let id = started["backfill_id"].as_i64().unwrap();
    let progress = wait_for(Duration::from_secs(90), || {
        let p = api.get(&format!("/api/v1/backfills/{id}")).json();
        (p["done"] == p["total"]).then_some(p)
    })
    .unwrap_or_else(|| panic!("the backfill did not end:\n{}", s.proc.log_text()));
    assert_eq!(
        progress["runs_by_state"]["success"], planned as i64,
        "{progress}"
    );
}

#[test]
fn bad_input_is_a_400_that_names_the_field() {
    let env = hello_env();
    let s = env.standalone();
    let api = Api::new(&s, Some(env.token_for("otto", "op")));
    let cases: &[(&str, &str, Option<&str>, u16, &str)] = &[
        (
            "POST",
            "/api/v1/dags/hello/runs",
            Some("{not json"),
            400,
            "",
        ),
        (
            "POST",
            "/api/v1/dags/hello/runs",
            Some(r#"{"conf": 3}"#),
            400,
            "conf",
        ),
        (
            "POST",
            "/api/v1/dags/hello/runs",
            Some(r#"{"logical_date": "yesterday"}"#),
            400,
            "logical_date",
        ),
        (
            "POST",
            "/api/v1/dags/hello/runs",
            Some(r#"{"bogus": 1}"#),
            400,
            "",
        ),
        (
            "POST",
            "/api/v1/dags/hello/backfills",
            Some(r#"{"end": "2026-11-21"}"#),
            400,
            "start",
        ),
        (
            "POST",
            "/api/v1/dags/hello/backfills",
            Some(r#"{"start": "2026-13-01", "end": "2026-11-21"}"#),
            400,
            "start",
        ),
        (
            "POST",
            "/api/v1/dags/hello/backfills",
            Some(r#"{"start": "2026-11-22", "end": "2026-11-21"}"#),
            400,
            "end",
        ),
        (
            "POST",
            "/api/v1/dags/hello/backfills",
            Some(r#"{"start": "2026-11-20", "end": "2026-11-21", "rerun": "some"}"#),
            400,
            "rerun",
        ),
        (
            "GET",
            "/api/v1/dags/hello/runs?limit=abc",
            None,
            400,
            "limit",
        ),
        (
            "GET",
            "/api/v1/dags/hello/runs?state=bogus",
            None,
            400,
            "state",
        ),
        ("GET", "/api/v1/dags/hello/next-runs?n=0", None, 400, "n"),
        // Bodies are JSON objects: serde would read `[null, null]` as a trigger request.
        (
            "POST",
            "/api/v1/dags/hello/runs",
            Some("[null, null]"),
            400,
            "",
        ),
        (
            "PATCH",
            "/api/v1/dags/hello",
            Some(r#"{"paused": "yes"}"#),
            400,
            "paused",
        ),
        ("GET", "/api/v1/backfills/abc", None, 400, "id"),
        ("GET", "/api/v1/lineage/abc", None, 400, "artifact_id"),
        (
            "POST",
            "/api/v1/models/m/predict",
            Some(r#"{"rows": []}"#),
            400,
            "",
        ),
        ("GET", "/api/v1/dags/nope", None, 404, ""),
        ("GET", "/api/v1/runs/nope", None, 404, ""),
        ("GET", "/api/v1/backfills/12345", None, 404, ""),
        ("GET", "/api/v1/models/nope", None, 404, ""),
        ("GET", "/api/v1/lineage/999999", None, 404, ""),
        ("GET", "/api/v1/no/such/route", None, 404, ""),
        // Path traversal, plain and encoded, in every kind of id.
        (
            "GET",
            "/api/v1/dags/..%2F..%2Fetc%2Fpasswd/source",
            None,
            400,
            "dag_id",
        ),
        ("GET", "/api/v1/dags/%2e%2e/source", None, 400, "dag_id"),
        (
            "GET",
            "/api/v1/runs/..%2Fx/tasks/say_hello/logs",
            None,
            400,
            "run_id",
        ),
        ("GET", "/api/v1/models/..%5C..%5Cx", None, 400, "name"),
    ];
    for (method, path, body, status, field) in cases {
        let r = api.send(method, path, *body);
        assert_eq!(r.status, *status, "{method} {path}: {}", r.text);
        let v = r.json();
        assert!(v["error"].is_string(), "{method} {path}: {}", r.text);
        if !field.is_empty() {
            assert_eq!(v["detail"]["field"], *field, "{method} {path}: {}", r.text);
        }
    }
    // Logs of an unknown try, and traversal through the try number.
    let r = api.post("/api/v1/dags/hello/runs", "{}");
    let run_id = r.json()["run_id"].as_str().unwrap().to_string();
    let enc = run_id.replace(':', "%3A").replace('+', "%2B");
    let bad_try = api.get(&format!(
        "/api/v1/runs/{enc}/tasks/say_hello/logs?try=../../x"
    ));
    assert_eq!(bad_try.status, 400, "{}", bad_try.text);
    assert_eq!(bad_try.json()["detail"]["field"], "try");
    // A try that has not happened is unknown (404); `follow` is true or false.
    let no_try = api.get(&format!("/api/v1/runs/{enc}/tasks/say_hello/logs?try=7"));
    assert_eq!(no_try.status, 404, "{}", no_try.text);
    let bad_follow = api.get(&format!(
        "/api/v1/runs/{enc}/tasks/say_hello/logs?follow=maybe"
    ));
    assert_eq!(bad_follow.status, 400, "{}", bad_follow.text);
    assert_eq!(bad_follow.json()["detail"]["field"], "follow");
    let static_traversal = api.get("/static/..%2F..%2FCargo.toml");
    assert_eq!(static_traversal.status, 404);
}

#[test]
fn openapi_metrics_assets_and_import_errors() {
    let env = hello_env();
    let s = env.standalone();
    let api = Api::new(&s, Some(env.token_for("otto", "op")));
    let doc = api.get("/api/v1/openapi.json").json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/dags",
        "/api/v1/dags/{dag_id}",
        "/api/v1/dags/{dag_id}/runs",
        "/api/v1/dags/{dag_id}/backfills",
        "/api/v1/runs/{run_id}/tasks/{task_id}/logs",
        "/api/v1/models/{name}/predict",
        "/api/v1/lineage/{artifact_id}",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    let metrics = api.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.text.contains("cambium_dag_runs"),
        "{}",
        metrics.text
    );
    assert!(
        metrics.text.contains("cambium_queue_depth"),
        "{}",
        metrics.text
    );
    assert_eq!(api.get("/api/v1/import-errors").json(), json!([]));
    let assets = api.get("/api/v1/assets");
    assert_eq!(assets.status, 200, "{}", assets.text);
    let emitted = api.post(
        "/api/v1/assets/warehouse.wine_daily/events",
        r#"{"extra": {"rows": 5}}"#,
    );
    assert_eq!(emitted.status, 201, "{}", emitted.text);
    assert_eq!(emitted.json()["event"]["extra"]["rows"], 5);
}

#[test]
fn models_promote_and_predict() {
    let env = hello_env();
    env.train_two_wine_versions();
    let s = env.standalone();
    let op = Api::new(&s, Some(env.token_for("otto", "op")));
    let models = op.get("/api/v1/models").json();
    assert_eq!(models[0]["name"], "wine_quality", "{models}");
    let detail = op.get("/api/v1/models/wine_quality").json();
    let cli = env.json(&["models", "show", "wine_quality", "--output", "json"], 0);
    assert_eq!(detail, cli);
    let row = json!({"fixed_acidity": 7.4, "volatile_acidity": 0.7, "citric_acid": 0.0,
        "residual_sugar": 1.9, "chlorides": 0.076, "free_sulfur_dioxide": 11.0,
        "total_sulfur_dioxide": 34.0, "density": 0.9978, "ph": 3.51, "sulphates": 0.56,
        "alcohol": 9.4});
    let body = json!({"instances": [row]}).to_string();
    let p = op.post("/api/v1/models/wine_quality/predict", &body);
    assert_eq!(p.status, 200, "{}", p.text);
    let p = p.json();
    assert_eq!(p["version"], 2, "{p}");
    assert!(p["predictions"][0]["prediction"].is_number(), "{p}");
    // The same code as `models predict`: the same answer.
    let promoted = op.post("/api/v1/models/wine_quality/promote", r#"{"version": 1}"#);
    assert_eq!(promoted.status, 200, "{}", promoted.text);
    let p1 = op.post("/api/v1/models/wine_quality/predict", &body).json();
    assert_eq!(p1["version"], 1, "{p1}");
    let bad = op.post(
        "/api/v1/models/wine_quality/predict",
        r#"{"instances": [{"alcohol": "lots"}]}"#,
    );
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(
        op.post("/api/v1/models/wine_quality/promote", r#"{"version": 99}"#)
            .status,
        404
    );
    let rollback = op.post("/api/v1/models/wine_quality/rollback", "{}");
    assert_eq!(rollback.status, 200, "{}", rollback.text);
    let version = detail["versions"][0]["model_artifact_id"].as_i64();
    if let Some(id) = version {
        let lineage = op.get(&format!("/api/v1/lineage/{id}"));
        assert_eq!(lineage.status, 200, "{}", lineage.text);
    }
}

#[test]
fn wrong_passwords_are_slowed_and_never_say_which_part() {
    let env = hello_env();
    let s = env.standalone();
    let a = agent();
    let login = |user: &str, password: &str| {
        let body = format!("username={user}&password={password}&next=%2F");
        let req = ureq::http::Request::builder()
            .method("POST")
            .uri(format!("{}/login", s.url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .expect("request");
        let mut r = a.run(req).expect("login");
        let status = r.status().as_u16();
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (
            status,
            r.body_mut().read_to_string().unwrap_or_default(),
            cookie,
        )
    };
    let (status, page, _) = login("admin", "wrong");
    assert_eq!(status, 401);
    assert!(page.contains("Wrong user name or password."));
    let (status, page_unknown, _) = login("nobody", "wrong");
    assert_eq!(status, 401);
    assert!(page_unknown.contains("Wrong user name or password."));
    // After a few failures the next tries are refused for a while.
    let mut throttled = false;
    for _ in 0..5 {
        let (status, _, _) = login("admin", "wrong-again");
        if status == 429 {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "repeated wrong passwords were not slowed");
    // The right password from a fresh name key still works once the wait is over...
    // (the throttle also keys on the client address, so wait it out).
    let ok = wait_for(Duration::from_secs(20), || {
        let (status, _, cookie) = login("admin", &s.admin_password);
        (status == 303).then_some(cookie)
    })
    .flatten()
    .expect("signing in with the right password");
    assert!(ok.contains("HttpOnly"), "{ok}");
    assert!(ok.contains("SameSite=Strict"), "{ok}");
}

/// The names in a user list, in its order.
fn user_names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|u| u["name"].as_str().expect("name").to_string())
        .collect()
}

#[test]
fn admins_manage_users() {
    let env = hello_env();
    let s = env.standalone();
    let admin = Api::new(&s, Some(env.token_for("ada", "admin")));
    let op = Api::new(&s, Some(env.token_for("otto", "op")));
    let viewer = Api::new(&s, Some(env.token_for("vera", "viewer")));
    for (api, method, path, body) in [
        (&op, "GET", "/api/v1/users", None),
        (
            &op,
            "POST",
            "/api/v1/users",
            Some(r#"{"name":"x","role":"admin","password":"p"}"#),
        ),
        (
            &viewer,
            "PATCH",
            "/api/v1/users/otto",
            Some(r#"{"role":"admin"}"#),
        ),
    ] {
        let r = api.send(method, path, body);
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text);
        assert!(
            r.json()["error"].as_str().unwrap().contains("admin role"),
            "{}",
            r.text
        );
    }

    // The list has the CLI's shape and never a password hash.
    let list = admin.get("/api/v1/users");
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(!list.text.contains("argon2"), "{}", list.text);
    assert_eq!(
        list.json(),
        env.json(&["users", "list", "--output", "json"], 0)
    );
    assert_eq!(user_names(&list.json()), ["ada", "admin", "otto", "vera"]);

    let created = admin.post(
        "/api/v1/users",
        r#"{"name":"nina","role":"viewer","password":"first-password"}"#,
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(sorted_keys(&created.json()), ["created", "name", "role"]);
    assert_eq!(created.json()["role"], "viewer");
    let again = admin.post(
        "/api/v1/users",
        r#"{"name":"nina","role":"op","password":"x"}"#,
    );
    assert_eq!(again.status, 409, "{}", again.text);

    // Bad input names the field.
    for (body, field) in [
        (r#"{"name":"n2","role":"boss","password":"p"}"#, "role"),
        (r#"{"name":"n2","role":"op","password":""}"#, "password"),
        (r#"{"name":"a/b","role":"op","password":"p"}"#, "name"),
        (r#"{"name":" pad","role":"op","password":"p"}"#, "name"),
    ] {
        let r = admin.post("/api/v1/users", body);
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.json()["detail"]["field"], field, "{body}: {}", r.text);
    }
    for body in [
        r#"{"name":"n3","role":"op"}"#,
        r#"{"name":"n3","role":"op","password":"p","admin":true}"#,
    ] {
        let r = admin.post("/api/v1/users", body);
        assert_eq!(r.status, 400, "{body}: {}", r.text);
    }
    assert_eq!(
        admin
            .patch("/api/v1/users/nobody", r#"{"role":"op"}"#)
            .status,
        404
    );
    assert_eq!(admin.patch("/api/v1/users/nina", "{}").status, 400);
    assert_eq!(
        admin
            .patch("/api/v1/users/..%2Fadmin", r#"{"role":"op"}"#)
            .status,
        400
    );

    // The new user signs in; a new password replaces the old one.
    let a = agent();
    let login = |user: &str, password: &str| {
        let req = ureq::http::Request::builder()
            .method("POST")
            .uri(format!("{}/login", s.url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("username={user}&password={password}&next=%2F"))
            .expect("request");
        a.run(req).expect("login").status().as_u16()
    };
    assert_eq!(login("nina", "first-password"), 303);
    let patched = admin.patch(
        "/api/v1/users/nina",
        r#"{"role":"op","password":"second-password"}"#,
    );
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json()["role"], "op");
    assert_eq!(login("nina", "first-password"), 401);
    assert_eq!(login("nina", "second-password"), 303);

    // Someone always stays admin.
    assert_eq!(
        admin
            .patch("/api/v1/users/admin", r#"{"role":"viewer"}"#)
            .status,
        200
    );
    let last = admin.patch("/api/v1/users/ada", r#"{"role":"op"}"#);
    assert_eq!(last.status, 409, "{}", last.text);
    assert!(
        last.json()["error"]
            .as_str()
            .unwrap()
            .contains("only admin"),
        "{}",
        last.text
    );
    assert_eq!(admin.get("/api/v1/users").status, 200);

    // Deleting: admins only, never yourself, and the user's tokens stop working.
    assert_eq!(op.send("DELETE", "/api/v1/users/vera", None).status, 403);
    let myself = admin.send("DELETE", "/api/v1/users/ada", None);
    assert_eq!(myself.status, 409, "{}", myself.text);
    assert_eq!(
        admin.send("DELETE", "/api/v1/users/nobody", None).status,
        404
    );
    let gone = admin.send("DELETE", "/api/v1/users/vera", None);
    assert_eq!(gone.status, 204, "{}", gone.text);
    assert_eq!(
        viewer.get("/api/v1/dags").status,
        401,
        "a deleted user's token"
    );
    assert_eq!(
        user_names(&admin.get("/api/v1/users").json()),
        ["ada", "admin", "nina", "otto"]
    );
}
