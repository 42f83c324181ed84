//! Loading `cambium.toml` plus an injected environment.

use std::path::Path;
use std::time::Duration;

use cambium_config::{load, Config, ConfigError, SchedulerConfig, Secret};

fn home_with(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("cambium.toml"), toml).expect("write config");
    dir
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn artifacts_url(home: &Path) -> String {
    format!(
        "file://{}",
        std::path::absolute(home)
            .expect("abs")
            .join("artifacts")
            .display()
    )
}

#[test]
fn defaults_without_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = load(dir.path(), &[]).expect("defaults load");
    let s = &config.scheduler;
    assert_eq!(s.parallelism, 32);
    assert_eq!(s.default_pool_slots, 128);
    assert!(s.dag_dir_watch);
    assert_eq!(s.heartbeat, Duration::from_secs(5));
    assert_eq!(s.scheduler_dead_after, Duration::from_secs(30));
    assert!(!s.paused_on_create);
    assert_eq!(s.parse_timeout, Duration::from_secs(2));
    assert_eq!(s.try_retention, Duration::from_secs(7 * 86_400));
    assert!(config.pools.is_empty());
    assert_eq!(config.connections.len(), 1);
    assert!(config.connections["warehouse"]
        .expose()
        .ends_with("/warehouse.db"));
    assert_eq!(config.database_url, None);
    assert_eq!(config.stores.len(), 1);
    assert_eq!(config.stores["artifacts"], artifacts_url(dir.path()));
    assert_eq!(config.pool_slots("default"), Some(128));
    assert_eq!(config.pool_slots("gpu"), None);
    assert_eq!(config, Config::defaults_for_home(dir.path()));
}

#[test]
fn values_from_the_file() {
    let dir = home_with(
        r#"
database_url = "postgres://cambium:pw@db/cambium"

[scheduler]
parallelism = 4
default_pool_slots = 16
dag_dir_watch = false
heartbeat = "1s"
scheduler_dead_after = "10s"
paused_on_create = true
parse_timeout = "500ms"
try_retention = "3d"

[pools]
gpu = 2
default = 64

[connections]
warehouse = "postgres://etl:hunter2@warehouse:5432/dw"

[stores]
landing = "s3://bucket/landing"
artifacts = "s3://bucket/artifacts"
"#,
    );
    let config = load(dir.path(), &[]).expect("loads");
    assert_eq!(
        config.scheduler,
        SchedulerConfig {
            parallelism: 4,
            default_pool_slots: 16,
            dag_dir_watch: false,
            heartbeat: Duration::from_secs(1),
            scheduler_dead_after: Duration::from_secs(10),
            paused_on_create: true,
            parse_timeout: Duration::from_millis(500),
            try_retention: Duration::from_secs(3 * 86_400),
        }
    );
    assert_eq!(config.pools["gpu"], 2);
    assert_eq!(config.pool_slots("default"), Some(64));
    assert_eq!(
        config.connections["warehouse"].expose(),
        "postgres://etl:hunter2@warehouse:5432/dw"
    );
    assert_eq!(config.stores["landing"], "s3://bucket/landing");
    assert_eq!(config.stores["artifacts"], "s3://bucket/artifacts");
    assert_eq!(
        config.database_url.as_ref().map(Secret::expose),
        Some("postgres://cambium:pw@db/cambium")
    );
}

#[test]
fn the_environment_wins_over_the_file() {
    let dir = home_with(
        "[scheduler]\nparallelism = 4\n\n[connections]\nwarehouse = \"postgres://a:b@old/dw\"\n",
    );
    let vars = env(&[
        ("CAMBIUM_SCHEDULER__PARALLELISM", "8"),
        ("CAMBIUM_SCHEDULER__HEARTBEAT", "2s"),
        ("CAMBIUM_SCHEDULER__DAG_DIR_WATCH", "false"),
        ("CAMBIUM_SCHEDULER__PAUSED_ON_CREATE", "1"),
        ("CAMBIUM_CONN_WAREHOUSE", "postgres://a:c@new/dw"),
        ("CAMBIUM_CONN_Events_DB", "sqlite:///tmp/events.db"),
        ("CAMBIUM_STORE_LANDING", "memory://"),
        ("CAMBIUM_STORE_ARTIFACTS", "gs://models/artifacts"),
        ("CAMBIUM_POOLS__GPU", "3"),
        // Not ours: ignored.
        ("CAMBIUM_HOME", "/elsewhere"),
        ("CAMBIUM_DATABASE_URL", "not a url"),
        ("CAMBIUM_TASK_ID", "x"),
        ("PATH", "/usr/bin"),
    ]);
    let config = load(dir.path(), &vars).expect("loads");
    assert_eq!(config.scheduler.parallelism, 8);
    assert_eq!(config.scheduler.heartbeat, Duration::from_secs(2));
    assert!(!config.scheduler.dag_dir_watch);
    assert!(config.scheduler.paused_on_create);
    assert_eq!(
        config.connections["warehouse"].expose(),
        "postgres://a:c@new/dw"
    );
    assert_eq!(
        config.connections["events_db"].expose(),
        "sqlite:///tmp/events.db"
    );
    assert_eq!(config.stores["landing"], "memory://");
    assert_eq!(config.stores["artifacts"], "gs://models/artifacts");
    assert_eq!(config.pools["gpu"], 3);
    assert_eq!(config.database_url, None);
}

#[test]
fn bad_environment_values_name_the_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = |pairs: &[(&str, &str)]| {
        load(dir.path(), &env(pairs))
            .expect_err("rejected")
            .to_string()
    };
    let e = err(&[("CAMBIUM_SCHEDULER__PARALELISM", "8")]);
    assert!(e.starts_with("environment variable CAMBIUM_SCHEDULER__PARALELISM: unknown [scheduler] key 'paralelism'"), "{e}");
    assert!(
        e.contains("did you mean CAMBIUM_SCHEDULER__PARALLELISM?"),
        "{e}"
    );
    let e = err(&[("CAMBIUM_SCHEDULER__PARALLELISM", "many")]);
    assert!(e.contains("'many' is not a whole number"), "{e}");
    let e = err(&[("CAMBIUM_SCHEDULER__DAG_DIR_WATCH", "maybe")]);
    assert!(e.contains("write true or false"), "{e}");
    let e = err(&[("CAMBIUM_SCHEDULER__HEARTBEAT", "5")]);
    assert!(
        e.contains("CAMBIUM_SCHEDULER__HEARTBEAT") && e.contains("no unit"),
        "{e}"
    );
    let e = err(&[("CAMBIUM_CONN_", "postgres://x")]);
    assert!(e.contains("name after the prefix is missing"), "{e}");
}

#[test]
fn unknown_keys_are_rejected_with_a_suggestion() {
    let dir = home_with("[scheduler]\nparallelism = 4\nheartbeet = \"5s\"\n");
    let err = load(dir.path(), &[]).expect_err("unknown key");
    let path = dir.path().join("cambium.toml");
    match &err {
        ConfigError::File { path: p, line, .. } => {
            assert_eq!(p, &path);
            assert_eq!(*line, Some(3));
        }
        other => panic!("unexpected error {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "{}:3:1: unknown key 'heartbeet' in [scheduler] (did you mean 'heartbeat'?)",
            path.display()
        )),
        "{text}"
    );

    let dir = home_with("databse_url = \"sqlite://x.db\"\n");
    let text = load(dir.path(), &[]).expect_err("unknown key").to_string();
    assert!(
        text.contains("unknown key 'databse_url' at the top level (did you mean 'database_url'?)"),
        "{text}"
    );

    let dir = home_with("[schedular]\nparallelism = 4\n");
    let text = load(dir.path(), &[])
        .expect_err("unknown table")
        .to_string();
    assert!(
        text.contains("unknown key 'schedular' at the top level (did you mean 'scheduler'?)"),
        "{text}"
    );
}

#[test]
fn bad_types_and_syntax_give_the_line() {
    let cases = [
        ("[scheduler]\nparallelism = \"lots\"\n", 2, "invalid type"),
        ("[scheduler]\nparallelism = -1\n", 2, "write a whole number"),
        ("[scheduler]\n\nheartbeat = 5\n", 3, "write \"5s\", not 5"),
        (
            "[scheduler]\nheartbeat = \"5 parsecs\"\n",
            2,
            "unknown unit",
        ),
        (
            "[scheduler]\ndag_dir_watch = \"yes\"\n",
            2,
            "write true or false",
        ),
        ("[pools]\ngpu = \"two\"\n", 2, "invalid type"),
        ("[scheduler\nparallelism = 4\n", 1, ""),
    ];
    for (toml, line, needle) in cases {
        let dir = home_with(toml);
        let err = load(dir.path(), &[]).expect_err(toml);
        match &err {
            ConfigError::File { line: l, .. } => assert_eq!(*l, Some(line), "{toml}: {err}"),
            other => panic!("{toml}: unexpected {other:?}"),
        }
        assert!(err.to_string().contains(needle), "{toml}: {err}");
    }
}

#[test]
fn values_that_cannot_work_are_all_reported() {
    let dir = home_with(
        r#"
[scheduler]
parallelism = 0
heartbeat = "30s"
scheduler_dead_after = "10s"

[connections]
warehouse = "hunter2-not-a-url"

[stores]
landing = "ftp://files/landing"
"#,
    );
    let err = load(dir.path(), &[]).expect_err("invalid");
    let ConfigError::Invalid { problems, .. } = &err else {
        panic!("unexpected {err:?}")
    };
    assert_eq!(problems.len(), 4, "{problems:?}");
    let text = err.to_string();
    assert!(text.contains("parallelism must be at least 1"), "{text}");
    assert!(
        text.contains("scheduler_dead_after (10s) must be longer than heartbeat (30s)"),
        "{text}"
    );
    assert!(
        text.contains("[connections] warehouse: '***' is not a URL"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "secret leaked: {text}");
    assert!(
        text.contains("[stores] landing: 'ftp://files/landing' is not a supported store URL"),
        "{text}"
    );
}

#[test]
fn secrets_are_masked_when_printed() {
    let dir = home_with(
        "database_url = \"postgres://cambium:dbpass@db/cambium\"\n[connections]\nwarehouse = \"postgres://etl:hunter2@warehouse/dw\"\n",
    );
    let config = load(
        dir.path(),
        &env(&[("CAMBIUM_CONN_API", "mysql://u:envpass@h/db")]),
    )
    .expect("loads");
    let printed = format!("{config:?} {config:#?}");
    for secret in ["dbpass", "hunter2", "envpass"] {
        assert!(!printed.contains(secret), "{secret} leaked: {printed}");
    }
    assert!(
        printed.contains("postgres://etl:***@warehouse/dw"),
        "{printed}"
    );
    assert_eq!(
        config.connections["warehouse"].to_string(),
        "postgres://etl:***@warehouse/dw"
    );
    assert_eq!(config.connections["api"].expose(), "mysql://u:envpass@h/db");
}

#[test]
fn unreadable_file_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A directory where the file should be cannot be read as text.
    std::fs::create_dir(dir.path().join("cambium.toml")).expect("mkdir");
    let err = load(dir.path(), &[]).expect_err("unreadable");
    assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
    assert!(err.to_string().starts_with("cannot read "), "{err}");
}

#[test]
fn duration_accessors_match_the_fields() {
    let dir = home_with("[scheduler]\nheartbeat = \"1m30s\"\nscheduler_dead_after = \"10m\"\nparse_timeout = \"750ms\"\n");
    let s = load(dir.path(), &[]).expect("loads").scheduler;
    assert_eq!(s.heartbeat(), Duration::from_secs(90));
    assert_eq!(s.scheduler_dead_after(), Duration::from_secs(600));
    assert_eq!(s.parse_timeout(), Duration::from_millis(750));
}

#[test]
fn bad_names_are_rejected() {
    let dir = home_with("[pools]\n\"my pool\" = 2\n[stores]\n\"a/b\" = \"memory://\"\n");
    let err = load(dir.path(), &[]).expect_err("bad names");
    let text = err.to_string();
    assert!(
        text.contains("[pools] 'my pool' is not a valid name"),
        "{text}"
    );
    assert!(
        text.contains("[stores] 'a/b' is not a valid name"),
        "{text}"
    );
}

#[test]
fn the_web_section() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = load(dir.path(), &[]).expect("defaults").web;
    assert!(!w.secure_cookies && !w.public_metrics && w.public_openapi);
    assert!(w.trusted_proxies.is_empty() && w.metrics_token.is_none());
    assert_eq!(w.session_ttl, Duration::from_secs(12 * 3600));
    assert_eq!(w.token_ttl, Duration::from_secs(90 * 86400));
    assert_eq!(w.header_read_timeout, Duration::from_secs(10));
    assert_eq!(w.request_timeout, Duration::from_secs(60));
    assert_eq!(w.max_connections, 512);

    let dir = home_with(
        r#"
[web]
secure_cookies = true
trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]
token_ttl = "30d"
header_read_timeout = "2s"
metrics_token = "prometheus-scrape-token-1234"
public_openapi = false
"#,
    );
    let vars = env(&[
        ("CAMBIUM_WEB__REQUEST_TIMEOUT", "5s"),
        ("CAMBIUM_WEB__MAX_CONNECTIONS", "7"),
        ("CAMBIUM_WEB__TRUSTED_PROXIES", "::1, 192.0.2.0/24"),
    ]);
    let w = load(dir.path(), &vars).expect("web").web;
    assert!(w.secure_cookies && !w.public_openapi);
    assert_eq!(w.trusted_proxies, ["::1", "192.0.2.0/24"]);
    assert_eq!(w.token_ttl, Duration::from_secs(30 * 86400));
    assert_eq!(w.header_read_timeout, Duration::from_secs(2));
    assert_eq!(w.request_timeout, Duration::from_secs(5));
    assert_eq!(w.max_connections, 7);
    assert_eq!(
        w.metrics_token.as_ref().map(Secret::expose),
        Some("prometheus-scrape-token-1234")
    );
    assert!(!format!("{w:?}").contains("prometheus-scrape"));

    let err = load(dir.path(), &env(&[("CAMBIUM_WEB__SECURE_COOKIE", "true")]))
        .expect_err("unknown env key");
    assert!(
        err.to_string()
            .contains("did you mean CAMBIUM_WEB__SECURE_COOKIES"),
        "{err}"
    );

    let dir = home_with(
        r#"
[web]
trusted_proxies = ["proxy.local", "10.0.0.0/40"]
request_timeout = "0s"
max_connections = 0
metrics_token = "short"
public_metrics = true
"#,
    );
    let err = load(dir.path(), &[]).expect_err("invalid web");
    let ConfigError::Invalid { problems, .. } = &err else {
        panic!("unexpected {err:?}")
    };
    assert_eq!(problems.len(), 6, "{problems:?}");
    let text = err.to_string();
    for wanted in [
        "[web] request_timeout must be longer than 0s",
        "[web] max_connections must be at least 1",
        "'proxy.local' is not an address or CIDR range",
        "'10.0.0.0/40' is not an address or CIDR range",
        "metrics_token must have at least 16 characters",
        "set one or the other",
    ] {
        assert!(text.contains(wanted), "{wanted}: {text}");
    }
    assert!(!text.contains("short"), "secret leaked: {text}");

    let dir = home_with("[web]\nsecure_cookie = true\n");
    let err = load(dir.path(), &[]).expect_err("typo");
    assert!(
        err.to_string().contains("did you mean 'secure_cookies'"),
        "{err}"
    );
}

/// The problems of an [`ConfigError::Invalid`], or a failure naming the error.
fn problems(err: &ConfigError) -> &[String] {
    match err {
        ConfigError::Invalid { problems, .. } => problems,
        other => panic!("expected several problems, got {other:?}"),
    }
}

#[test]
fn three_mistakes_give_three_messages_at_once() {
    // A bad database URL, a bad [scheduler] value and a misspelt key: before, only the first
    // [scheduler] error was shown, and the database URL only once it was fixed.
    let dir = home_with(
        "database_url = \"mysql://cambium:dbpass@db/cambium\"\n\n[scheduler]\nparallelism = \"lots\"\nheartbeet = \"5s\"\n",
    );
    let err = load(dir.path(), &[]).expect_err("three mistakes");
    let problems = problems(&err);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    let path = dir.path().join("cambium.toml").display().to_string();
    let find = |needle: &str| {
        problems
            .iter()
            .find(|p| p.contains(needle))
            .unwrap_or_else(|| panic!("no problem mentions {needle:?}: {problems:#?}"))
    };
    let parallelism = find("] parallelism:");
    assert!(
        parallelism.starts_with(&format!(
            "{path}:4:15: [scheduler] parallelism: invalid type"
        )),
        "{parallelism}"
    );
    assert!(
        parallelism.contains("write a whole number"),
        "{parallelism}"
    );
    let typo = find("heartbeet");
    assert!(
        typo.starts_with(&format!(
            "{path}:5:1: unknown key 'heartbeet' in [scheduler]"
        )),
        "{typo}"
    );
    assert!(typo.contains("did you mean 'heartbeat'?"), "{typo}");
    let url = find("database_url:");
    assert!(url.contains("is not a database URL"), "{url}");
    assert!(url.contains("postgres://"), "{url}");
    let text = err.to_string();
    assert!(!text.contains("dbpass"), "secret leaked: {text}");
    assert_eq!(
        text.lines().count(),
        4,
        "one header and one line per problem: {text}"
    );
}

#[test]
fn a_key_in_the_wrong_section_says_where_it_belongs() {
    let dir = home_with("[scheduler]\nparallelism = 4\ndatabase_url = \"sqlite:///x.db\"\n");
    let err = load(dir.path(), &[]).expect_err("misplaced key");
    let text = err.to_string();
    assert!(
        matches!(err, ConfigError::File { line: Some(3), .. }),
        "{err:?}"
    );
    assert!(
        text.contains("'database_url' belongs at the top level, not in [scheduler]"),
        "{text}"
    );
    assert!(text.contains("above the first [section] header"), "{text}");

    let dir = home_with("parallelism = 4\n[scheduler]\nheartbeat = \"5s\"\n");
    let text = load(dir.path(), &[])
        .expect_err("misplaced key")
        .to_string();
    assert!(
        text.contains("'parallelism' belongs in [scheduler], not at the top level"),
        "{text}"
    );
    assert!(text.contains("under the [scheduler] header"), "{text}");
}

#[test]
fn file_environment_and_values_are_reported_together() {
    let dir = home_with(
        "[scheduler]\nparalelism = 4\nheartbeat = \"30s\"\nscheduler_dead_after = \"10s\"\n",
    );
    let vars = env(&[
        ("CAMBIUM_SCHEDULER__DAG_DIR_WATCH", "maybe"),
        ("CAMBIUM_POOLS__GPU", "two"),
    ]);
    let err = load(dir.path(), &vars).expect_err("four problems");
    let problems = problems(&err);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        problems[0].contains("unknown key 'paralelism'"),
        "{problems:#?}"
    );
    assert!(
        problems[1].starts_with("environment variable CAMBIUM_SCHEDULER__DAG_DIR_WATCH:"),
        "{problems:#?}"
    );
    assert!(
        problems[2].starts_with("environment variable CAMBIUM_POOLS__GPU:"),
        "{problems:#?}"
    );
    assert!(
        problems[3].contains("scheduler_dead_after (10s) must be longer than heartbeat (30s)"),
        "{problems:#?}"
    );
}

#[test]
fn every_wrong_value_is_reported_with_its_key() {
    let dir = home_with(
        "database_url = 5\n[scheduler]\nparallelism = -1\nheartbeat = 5\ndag_dir_watch = \"yes\"\n[pools]\ngpu = \"two\"\n",
    );
    let err = load(dir.path(), &[]).expect_err("five problems");
    let problems = problems(&err);
    let expected = [
        ":1:16: database_url: invalid type",
        ":3:15: [scheduler] parallelism: invalid value",
        ":4:13: [scheduler] heartbeat: durations are strings",
        ":5:17: [scheduler] dag_dir_watch: invalid type",
        ":7:7: [pools] gpu: invalid type",
    ];
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    for needle in expected {
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "no problem has {needle:?}: {problems:#?}"
        );
    }
}

#[test]
fn database_urls_are_checked() {
    for good in [
        "sqlite:///srv/cambium.db",
        "sqlite://relative.db",
        "postgres://u:p@h/db",
        "postgresql://h/db",
    ] {
        assert_eq!(cambium_config::database_url_problem(good), None, "{good}");
    }
    for bad in ["mysql://u:secret@h/db", "cambium.db", ""] {
        let problem = cambium_config::database_url_problem(bad).expect(bad);
        assert!(problem.contains("sqlite:///"), "{problem}");
        assert!(!problem.contains("secret"), "{problem}");
    }
    // A problem found elsewhere joins the configuration's own.
    let dir = home_with("[scheduler]\nparallelism = 0\n");
    let err = load(dir.path(), &[])
        .expect_err("invalid")
        .with_problem("--database-url: nope".into());
    assert_eq!(problems(&err).len(), 2, "{err}");
}
