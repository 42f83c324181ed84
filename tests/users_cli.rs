//! `cambium users create | token | list` through the real binary with a fresh home: what is
//! printed, the exit statuses, and what the store keeps (hashes, never the secrets).

mod common;
use cambium_store::Store;
use common::Env;
use serde_json::Value;
use std::io::Write;
use std::process::{Output, Stdio};

/// Runs `cambium ARGS` with `stdin` piped in.
fn run_with_stdin(env: &Env, args: &[&str], stdin: &str) -> Output {
    let mut child = env
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cambium");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for cambium")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_code(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}\nstdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

/// `users create NAME --role ROLE --password-stdin` with `password` piped in; exit 0.
fn create(env: &Env, name: &str, role: &str, password: &str) -> Value {
    let out = run_with_stdin(
        env,
        &[
            "--output",
            "json",
            "users",
            "create",
            name,
            "--role",
            role,
            "--password-stdin",
        ],
        &format!("{password}\n"),
    );
    assert_code(&out, 0, "users create");
    serde_json::from_slice(&out.stdout).expect("users create prints JSON")
}

async fn store(env: &Env) -> Store {
    let url = env
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", env.home.join("cambium.db").display()));
    Store::connect(&url).await.expect("connect")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The whole flow on one environment: create, list, token, update.
fn create_list_token(env: &Env) {
    let ada = create(env, "ada", "admin", "s3cret pass");
    assert_eq!(common::sorted_keys(&ada), ["created", "name", "role"]);
    assert_eq!(
        (&ada["name"], &ada["role"]),
        (&"ada".into(), &"admin".into())
    );
    create(env, "bob", "viewer", "hunter2-long");
    create(env, "carl", "op", "pw-at-least-8");

    let list = env.json(&["users", "list"], 0);
    let users = list.as_array().expect("array");
    let names: Vec<&str> = users.iter().filter_map(|u| u["name"].as_str()).collect();
    assert_eq!(names, ["ada", "bob", "carl"]);
    for u in users {
        assert_eq!(common::sorted_keys(u), ["created", "name", "role"]);
        let created = u["created"].as_str().expect("created");
        chrono::DateTime::parse_from_rfc3339(created).expect("RFC 3339");
    }
    let roles: Vec<&str> = users.iter().filter_map(|u| u["role"].as_str()).collect();
    assert_eq!(roles, ["admin", "viewer", "op"]);
    let table = env.run(&["users", "list"]);
    assert_code(&table, 0, "users list");
    let text = stdout(&table);
    assert!(text.starts_with("NAME"), "{text}");
    assert!(text.contains("carl") && text.contains("op"), "{text}");
    for shown in [list.to_string(), text] {
        assert!(!shown.contains("argon2"), "a hash is shown: {shown}");
    }

    let token = env.json(&["users", "token", "bob"], 0);
    assert_eq!(
        common::sorted_keys(&token),
        ["expires", "id", "token", "user"]
    );
    assert_eq!(token["user"], "bob");
    let secret = token["token"].as_str().expect("token").to_string();
    assert_eq!(secret.len(), 64, "{secret}");
    // Table output: the token alone on stdout.
    let plain = env.run(&["users", "token", "bob"]);
    assert_code(&plain, 0, "users token");
    let second = stdout(&plain).trim().to_string();
    assert_eq!(second.len(), 64);
    assert_ne!(second, secret);
    assert!(stderr(&plain).contains("only"), "{}", stderr(&plain));

    // The store has the password's argon2 hash and the token's hash, not the secrets.
    runtime().block_on(async {
        let store = store(env).await;
        let bob = store
            .user_by_name("bob")
            .await
            .expect("read")
            .expect("bob exists");
        assert!(bob.password_hash.starts_with("$argon2id$"));
        assert!(cambium_auth::verify_password(
            "hunter2-long",
            &bob.password_hash
        ));
        assert!(!cambium_auth::verify_password(
            "hunter2-long\n",
            &bob.password_hash
        ));
        let now = chrono::Utc::now();
        for token in [&secret, &second] {
            let found = store
                .user_by_token(&cambium_auth::secret_hash(token), now)
                .await
                .expect("lookup");
            assert_eq!(found.map(|u| u.name), Some("bob".to_string()));
            assert_eq!(store.user_by_token(token, now).await.expect("lookup"), None);
        }
        store.close().await;
    });

    // --update changes an existing user's role and password.
    let out = run_with_stdin(
        env,
        &[
            "users",
            "create",
            "bob",
            "--role",
            "op",
            "--password-stdin",
            "--update",
        ],
        "new one, longer\r\n",
    );
    assert_code(&out, 0, "users create --update");
    let out = env.run(&["users", "create", "bob", "--role", "admin", "--update"]);
    assert_code(&out, 0, "users create --update (role only)");
    runtime().block_on(async {
        let store = store(env).await;
        let bob = store
            .user_by_name("bob")
            .await
            .expect("read")
            .expect("bob exists");
        assert_eq!(bob.role, "admin");
        assert!(cambium_auth::verify_password(
            "new one, longer",
            &bob.password_hash
        ));
        assert!(!cambium_auth::verify_password(
            "hunter2-long",
            &bob.password_hash
        ));
        store.close().await;
    });
}

#[test]
fn create_list_and_token_on_sqlite() {
    create_list_token(&Env::new());
}

#[test]
fn create_list_and_token_on_postgres() {
    if let Some(env) = Env::postgres() {
        create_list_token(&env);
    }
}

#[test]
fn an_empty_home_lists_no_users() {
    let env = Env::new();
    assert_eq!(env.json(&["users", "list"], 0), serde_json::json!([]));
}

#[test]
fn a_taken_name_is_refused_with_a_hint() {
    let env = Env::new();
    create(&env, "ada", "admin", "first-password");
    let out = run_with_stdin(
        &env,
        &[
            "users",
            "create",
            "ada",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        "second\n",
    );
    assert_code(&out, 2, "duplicate users create");
    let err = stderr(&out);
    assert!(err.contains("already") && err.contains("ada"), "{err}");
    assert!(err.contains("--update"), "{err}");
    // The first user is unchanged.
    let list = env.json(&["users", "list"], 0);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["role"], "admin");
}

#[test]
fn a_bad_role_names_the_three() {
    let env = Env::new();
    let out = run_with_stdin(
        &env,
        &[
            "users",
            "create",
            "ada",
            "--role",
            "root",
            "--password-stdin",
        ],
        "pw\n",
    );
    assert_code(&out, 2, "bad role");
    let err = stderr(&out);
    for role in ["admin", "op", "viewer"] {
        assert!(err.contains(role), "{err}");
    }
    let out = run_with_stdin(
        &env,
        &["users", "create", "ada", "--password-stdin"],
        "pw\n",
    );
    assert_code(&out, 2, "no role");
    assert!(stderr(&out).contains("--role"), "{}", stderr(&out));
    assert_eq!(env.json(&["users", "list"], 0), serde_json::json!([]));
}

#[test]
fn the_password_must_come_from_stdin_and_not_be_empty() {
    let env = Env::new();
    for stdin in ["\n", "", "\r\n"] {
        let out = run_with_stdin(
            &env,
            &[
                "users",
                "create",
                "ada",
                "--role",
                "admin",
                "--password-stdin",
            ],
            stdin,
        );
        assert_code(&out, 2, "empty password");
        assert!(stderr(&out).contains("empty"), "{}", stderr(&out));
    }
    let out = run_with_stdin(&env, &["users", "create", "ada", "--role", "admin"], "pw\n");
    assert_code(&out, 2, "no --password-stdin");
    assert!(
        stderr(&out).contains("--password-stdin"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.json(&["users", "list"], 0), serde_json::json!([]));
}

#[test]
fn passwords_need_eight_characters() {
    let env = Env::new();
    let args = [
        "users",
        "create",
        "ada",
        "--role",
        "admin",
        "--password-stdin",
    ];
    for short in [
        "x\n",
        "1234567\n",
        "\u{e4}\u{e4}\u{e4}\u{e4}\u{e4}\u{e4}\u{e4}\n",
    ] {
        let out = run_with_stdin(&env, &args, short);
        assert_code(&out, 2, "short password");
        assert!(stderr(&out).contains("at least 8"), "{}", stderr(&out));
    }
    assert_eq!(env.json(&["users", "list"], 0), serde_json::json!([]));
    create(&env, "ada", "admin", "12345678");
    let out = run_with_stdin(
        &env,
        &["users", "create", "ada", "--update", "--password-stdin"],
        "short\n",
    );
    assert_code(&out, 2, "short password on --update");
    assert!(stderr(&out).contains("at least 8"), "{}", stderr(&out));
}

/// Seconds from now until an RFC 3339 time.
fn secs_until(time: &Value) -> i64 {
    let at =
        chrono::DateTime::parse_from_rfc3339(time.as_str().expect("a time")).expect("RFC 3339");
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds()
}

#[test]
fn tokens_expire_and_are_listed_and_revoked() {
    let env = Env::new();
    create(&env, "ada", "admin", "ada-password");
    let month = env.json(&["users", "token", "ada", "--expires", "30d"], 0);
    let default = env.json(&["users", "token", "ada"], 0);
    let day = 86_400;
    assert!(
        (30 * day - 60..=30 * day).contains(&secs_until(&month["expires"])),
        "{month}"
    );
    assert!(
        (90 * day - 60..=90 * day).contains(&secs_until(&default["expires"])),
        "{default}"
    );

    let list = env.json(&["users", "tokens", "ada"], 0);
    let tokens = list.as_array().expect("array");
    assert_eq!(tokens.len(), 2);
    assert_eq!(
        common::sorted_keys(&tokens[0]),
        ["created", "expired", "expires", "id", "last_used", "user"]
    );
    assert_eq!(tokens[0]["id"], month["id"]);
    assert_eq!(tokens[1]["id"], default["id"]);
    assert_eq!(
        (
            &tokens[0]["user"],
            &tokens[0]["expired"],
            &tokens[0]["last_used"]
        ),
        (&"ada".into(), &false.into(), &Value::Null)
    );
    let table = env.run(&["users", "tokens", "ada"]);
    assert_code(&table, 0, "users tokens");
    let secret = month["token"].as_str().expect("secret");
    for shown in [list.to_string(), stdout(&table)] {
        assert!(
            !shown.contains(secret),
            "a token's secret is shown: {shown}"
        );
    }
    assert!(stdout(&table).contains("never"), "{}", stdout(&table));

    let id = month["id"].as_i64().expect("id").to_string();
    let revoked = env.json(&["users", "revoke-token", &id], 0);
    assert_eq!(revoked["id"], month["id"]);
    let left = env.json(&["users", "tokens", "ada"], 0);
    assert_eq!(left.as_array().map(Vec::len), Some(1));
    runtime().block_on(async {
        let store = store(&env).await;
        let now = chrono::Utc::now();
        let hash = cambium_auth::secret_hash(secret);
        assert_eq!(store.user_by_token(&hash, now).await.expect("lookup"), None);
        let kept = cambium_auth::secret_hash(default["token"].as_str().expect("token"));
        assert!(store
            .user_by_token(&kept, now)
            .await
            .expect("lookup")
            .is_some());
    });
    let out = env.run(&["users", "revoke-token", &id]);
    assert_code(&out, 2, "revoking twice");
    assert!(stderr(&out).contains("users tokens"), "{}", stderr(&out));

    for bad in ["0s", "soon", "-1d"] {
        let flag = format!("--expires={bad}");
        let out = env.run(&["users", "token", "ada", &flag]);
        assert_code(&out, 2, "bad --expires");
        assert!(stderr(&out).contains("--expires"), "{}", stderr(&out));
    }
    std::fs::write(env.home.join("cambium.toml"), "[web]\ntoken_ttl = \"2d\"\n").expect("config");
    let short = env.json(&["users", "token", "ada"], 0);
    assert!(
        (2 * day - 60..=2 * day).contains(&secs_until(&short["expires"])),
        "{short}"
    );
}

#[test]
fn unknown_users_get_no_token() {
    let env = Env::new();
    let out = env.run(&["users", "token", "ghost"]);
    assert_code(&out, 2, "token for an unknown user");
    let err = stderr(&out);
    assert!(
        err.contains("ghost") && err.contains("users create"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
    // Nor an update of a user that is not there without what creating it needs.
    let out = env.run(&["users", "create", "ghost", "--update", "--password-stdin"]);
    assert_code(&out, 2, "update of an unknown user without --role");
    assert!(stderr(&out).contains("--role"), "{}", stderr(&out));
}

#[test]
fn delete_removes_the_user_and_its_tokens() {
    let env = Env::new();
    create(&env, "ada", "admin", "pw-ada-long");
    create(&env, "bob", "op", "pw-bob-long");
    let token = env.json(&["users", "token", "bob"], 0)["token"]
        .as_str()
        .expect("token")
        .to_string();
    let deleted = env.json(&["users", "delete", "bob"], 0);
    assert_eq!(deleted["name"], "bob");
    assert_eq!(deleted["role"], "op");
    let list = env.json(&["users", "list"], 0);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["name"], "ada");
    let rt = runtime();
    let gone = rt.block_on(async {
        store(&env)
            .await
            .user_by_token(&cambium_auth::secret_hash(&token), chrono::Utc::now())
            .await
            .expect("lookup")
    });
    assert!(gone.is_none(), "bob's token must no longer sign in");
    // Unknown names say how to list the users; the text output says what happened.
    let out = env.run(&["users", "delete", "bob"]);
    assert_code(&out, 2, "deleting an unknown user");
    assert!(
        stderr(&out).contains("cambium users list"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&["--output", "table", "users", "delete", "ada"]);
    assert_code(&out, 0, "deleting the last admin from the CLI");
    assert!(
        stdout(&out).contains("user 'ada' deleted"),
        "{}",
        stdout(&out)
    );
}
