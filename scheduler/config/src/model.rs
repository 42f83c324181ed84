//! The typed configuration and its defaults.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::secret::Secret;

/// The name of the store that holds task outputs and models; always present.
pub const ARTIFACTS_STORE: &str = "artifacts";
/// The connection every home has unless configured otherwise: a SQLite "warehouse" file.
pub const WAREHOUSE_CONN: &str = "warehouse";

/// Everything in `cambium.toml`, after the environment has been overlaid.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Database URL (secret). Default: none, meaning the caller's default
    /// (`sqlite://<home>/cambium.db`). `--database-url`/`CAMBIUM_DATABASE_URL` win over it.
    pub database_url: Option<Secret>,
    /// `[scheduler]`: the scheduler's knobs.
    pub scheduler: SchedulerConfig,
    /// `[web]`: the web server's sign-in, cookie, timeout and exposure settings.
    pub web: WebConfig,
    /// `[pools]`: pool name -> slots. The `default` pool has `scheduler.default_pool_slots`
    /// unless listed here. Env: `CAMBIUM_POOLS__<NAME>=<slots>`.
    pub pools: HashMap<String, u32>,
    /// `[connections]`: connection name -> URL (secret), e.g. `postgres://user:pw@host/db`.
    /// Env: `CAMBIUM_CONN_<NAME>=<url>` (name lower-cased) adds or replaces one.
    pub connections: BTreeMap<String, Secret>,
    /// `[stores]`: object store name -> URL (`file:///…`, `s3://bucket/prefix`, `gs://…`,
    /// `az://…`, `memory://`). `artifacts` defaults to `file://<home>/artifacts`.
    /// Env: `CAMBIUM_STORE_<NAME>=<url>` (name lower-cased) adds or replaces one.
    pub stores: BTreeMap<String, String>,
}

impl Default for Config {
    /// Built-in defaults, without the `artifacts` store (which depends on the home; see
    /// [`Config::defaults_for_home`]).
    fn default() -> Config {
        Config {
            database_url: None,
            scheduler: SchedulerConfig::default(),
            web: WebConfig::default(),
            pools: HashMap::new(),
            connections: BTreeMap::new(),
            stores: BTreeMap::new(),
        }
    }
}

impl Config {
    /// The defaults for a home folder: built-in defaults plus the `artifacts` store.
    pub fn defaults_for_home(home: &Path) -> Config {
        let mut config = Config::default();
        config.add_default_stores(home);
        config
    }

    /// Adds `artifacts = file://<home>/artifacts` unless an `artifacts` store is configured,
    /// and the connection `warehouse = sqlite://<home>/warehouse.db` (the example DAG's
    /// warehouse) unless a `warehouse` connection is configured.
    pub(crate) fn add_default_stores(&mut self, home: &Path) {
        self.stores
            .entry(ARTIFACTS_STORE.to_string())
            .or_insert_with(|| artifacts_url(home));
        if !self.connections.contains_key(WAREHOUSE_CONN) {
            let absolute = std::path::absolute(home).unwrap_or_else(|_| home.to_path_buf());
            let url = format!("sqlite://{}", absolute.join("warehouse.db").display());
            self.connections
                .insert(WAREHOUSE_CONN.to_string(), Secret::new(url));
        }
    }

    /// The slots of a pool: its `[pools]` entry, or `scheduler.default_pool_slots` for the
    /// `default` pool; `None` for an unknown pool.
    pub fn pool_slots(&self, pool: &str) -> Option<u32> {
        match self.pools.get(pool) {
            Some(slots) => Some(*slots),
            None if pool == "default" => Some(self.scheduler.default_pool_slots),
            None => None,
        }
    }
}

/// `file://<absolute home>/artifacts`.
fn artifacts_url(home: &Path) -> String {
    let absolute = std::path::absolute(home).unwrap_or_else(|_| home.to_path_buf());
    let dir = absolute.join("artifacts");
    let text = dir.to_string_lossy();
    if text.starts_with('/') {
        format!("file://{text}")
    } else {
        format!("file:///{text}")
    }
}

/// `[scheduler]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerConfig {
    /// Task processes the local executor runs at once. Default 32.
    /// Env: `CAMBIUM_SCHEDULER__PARALLELISM`.
    pub parallelism: u32,
    /// Slots of the `default` pool unless `[pools]` sets it. Default 128.
    /// Env: `CAMBIUM_SCHEDULER__DEFAULT_POOL_SLOTS`.
    pub default_pool_slots: u32,
    /// Watch the DAGs folder for changes (otherwise rescan it every heartbeat). Default true.
    /// Env: `CAMBIUM_SCHEDULER__DAG_DIR_WATCH`.
    pub dag_dir_watch: bool,
    /// How often a scheduler records that it is alive and runs its loop. Default `"5s"`.
    /// Env: `CAMBIUM_SCHEDULER__HEARTBEAT`.
    #[serde(deserialize_with = "duration")]
    pub heartbeat: Duration,
    /// A scheduler silent for this long is considered dead and its work is taken over.
    /// Must be longer than `heartbeat`. Default `"30s"`.
    /// Env: `CAMBIUM_SCHEDULER__SCHEDULER_DEAD_AFTER`.
    #[serde(deserialize_with = "duration")]
    pub scheduler_dead_after: Duration,
    /// New DAGs start paused. Default false. Env: `CAMBIUM_SCHEDULER__PAUSED_ON_CREATE`.
    pub paused_on_create: bool,
    /// Wall-time limit for evaluating one DAG file. Default `"2s"`.
    /// Env: `CAMBIUM_SCHEDULER__PARSE_TIMEOUT`.
    #[serde(deserialize_with = "duration")]
    pub parse_timeout: Duration,
    /// How long a try's folder (`<home>/tries/…`) is kept after the try ended; the
    /// scheduler removes older ones. Logs are kept. Default `"7d"`.
    /// Env: `CAMBIUM_SCHEDULER__TRY_RETENTION`.
    #[serde(deserialize_with = "duration")]
    pub try_retention: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> SchedulerConfig {
        SchedulerConfig {
            parallelism: 32,
            default_pool_slots: 128,
            dag_dir_watch: true,
            heartbeat: Duration::from_secs(5),
            scheduler_dead_after: Duration::from_secs(30),
            paused_on_create: false,
            parse_timeout: Duration::from_secs(2),
            try_retention: Duration::from_secs(7 * 86_400),
        }
    }
}

impl SchedulerConfig {
    /// [`SchedulerConfig::heartbeat`] (accessor for callers that prefer methods).
    pub fn heartbeat(&self) -> Duration {
        self.heartbeat
    }

    /// [`SchedulerConfig::scheduler_dead_after`].
    pub fn scheduler_dead_after(&self) -> Duration {
        self.scheduler_dead_after
    }

    /// [`SchedulerConfig::parse_timeout`].
    pub fn parse_timeout(&self) -> Duration {
        self.parse_timeout
    }
}

/// The keys of `[scheduler]`, for env overlays and suggestions.
pub(crate) const SCHEDULER_KEYS: [&str; 8] = [
    "parallelism",
    "default_pool_slots",
    "dag_dir_watch",
    "heartbeat",
    "scheduler_dead_after",
    "paused_on_create",
    "parse_timeout",
    "try_retention",
];

/// `[web]`: how the web server (`standalone`, `webserver`) signs people in and protects
/// itself. Env: `CAMBIUM_WEB__<KEY>` (lists comma-separated).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Mark the session cookie `Secure` and name it `__Host-cambium_session`: set it when
    /// browsers reach the server over HTTPS. Default false.
    pub secure_cookies: bool,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client
    /// and whose `X-Forwarded-Proto: https` makes the cookie secure. Default none.
    pub trusted_proxies: Vec<String>,
    /// How long a sign-in lasts. Default `"12h"`.
    #[serde(deserialize_with = "duration")]
    pub session_ttl: Duration,
    /// How long a new API token is valid unless `users token --expires` says otherwise.
    /// Default `"90d"`.
    #[serde(deserialize_with = "duration")]
    pub token_ttl: Duration,
    /// A client must send a request's headers within this time. Default `"10s"`.
    #[serde(deserialize_with = "duration")]
    pub header_read_timeout: Duration,
    /// A request (body included) must be answered within this time, else 408; streamed
    /// answers (logs) are not cut. Default `"60s"`.
    #[serde(deserialize_with = "duration")]
    pub request_timeout: Duration,
    /// Connections served at once; further clients wait to be accepted. Default 512.
    pub max_connections: u32,
    /// Serve `/metrics` to anyone, without a token. Default false.
    pub public_metrics: bool,
    /// A token (secret) that Prometheus may send as `Authorization: Bearer` for `/metrics`
    /// alone. Default none.
    pub metrics_token: Option<Secret>,
    /// Serve `/api/v1/openapi.json` to anyone, without a token. Default true.
    pub public_openapi: bool,
}

impl Default for WebConfig {
    fn default() -> WebConfig {
        WebConfig {
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            session_ttl: Duration::from_secs(12 * 3600),
            token_ttl: Duration::from_secs(90 * 24 * 3600),
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_connections: 512,
            public_metrics: false,
            metrics_token: None,
            public_openapi: true,
        }
    }
}

/// The keys of `[web]`, for env overlays and suggestions.
pub(crate) const WEB_KEYS: [&str; 10] = [
    "secure_cookies",
    "trusted_proxies",
    "session_ttl",
    "token_ttl",
    "header_read_timeout",
    "request_timeout",
    "max_connections",
    "public_metrics",
    "metrics_token",
    "public_openapi",
];

fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    struct DurationVisitor;
    impl serde::de::Visitor<'_> for DurationVisitor {
        type Value = Duration;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a duration string like \"5s\", \"500ms\" or \"2m\"")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Duration, E> {
            cambium_dag::parse_duration(text).map_err(E::custom)
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Duration, E> {
            Err(E::custom(format!(
                "durations are strings with a unit: write \"{n}s\", not {n}"
            )))
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Duration, E> {
            Err(E::custom(format!(
                "durations are strings with a unit: write \"{n}s\", not {n}"
            )))
        }
    }
    deserializer.deserialize_any(DurationVisitor)
}
