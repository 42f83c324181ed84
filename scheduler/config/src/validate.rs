//! Checks on values that parse but cannot work; every problem is reported at once.

use cambium_dag::format_duration;

use crate::model::Config;

/// The schemes an object store URL may use.
const STORE_SCHEMES: [&str; 5] = ["file", "s3", "gs", "az", "memory"];

/// Every problem with `config`, one line each; empty if it is usable.
pub(crate) fn problems(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let s = &config.scheduler;
    if s.parallelism == 0 {
        out.push("[scheduler] parallelism must be at least 1 (default 32)".to_string());
    }
    if s.default_pool_slots == 0 {
        out.push("[scheduler] default_pool_slots must be at least 1 (default 128)".to_string());
    }
    if s.heartbeat.is_zero() {
        out.push("[scheduler] heartbeat must be longer than 0s (default \"5s\")".to_string());
    }
    if s.try_retention.is_zero() {
        out.push("[scheduler] try_retention must be longer than 0s (default \"7d\")".to_string());
    }
    if s.parse_timeout.is_zero() {
        out.push("[scheduler] parse_timeout must be longer than 0s (default \"2s\")".to_string());
    }
    if s.scheduler_dead_after <= s.heartbeat {
        out.push(format!(
            "[scheduler] scheduler_dead_after ({}) must be longer than heartbeat ({}); \
             several heartbeats, e.g. \"30s\" for a 5s heartbeat, is usual",
            format_duration(s.scheduler_dead_after),
            format_duration(s.heartbeat)
        ));
    }
    out.extend(web_problems(&config.web));
    if let Some(problem) = config
        .database_url
        .as_ref()
        .and_then(|url| database_url(url.expose()))
    {
        out.push(format!("database_url: {problem}"));
    }
    let mut pools: Vec<&String> = config.pools.keys().collect();
    pools.sort();
    for name in pools {
        out.extend(bad_name("pools", name));
    }
    for (name, url) in &config.connections {
        out.extend(bad_name("connections", name));
        if scheme(url.expose()).is_none() {
            out.push(format!(
                "[connections] {name}: '{}' is not a URL; write e.g. postgres://user:password@host/db, \
                 sqlite:///path/to/file.db or mysql://user:password@host/db",
                url.masked()
            ));
        }
    }
    for (name, url) in &config.stores {
        out.extend(bad_name("stores", name));
        match scheme(url) {
            Some(sc) if STORE_SCHEMES.contains(&sc.to_ascii_lowercase().as_str()) => {}
            _ => out.push(format!(
                "[stores] {name}: '{}' is not a supported store URL; write file:///path, \
                 s3://bucket/prefix, gs://bucket/prefix, az://container/prefix or memory://",
                crate::secret::mask_url(url)
            )),
        }
    }
    out
}

/// The fewest characters of `[web] metrics_token`.
const MIN_METRICS_TOKEN_CHARS: usize = 16;

fn web_problems(w: &crate::model::WebConfig) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value, default) in [
        ("session_ttl", w.session_ttl, "\"12h\""),
        ("token_ttl", w.token_ttl, "\"90d\""),
        ("header_read_timeout", w.header_read_timeout, "\"10s\""),
        ("request_timeout", w.request_timeout, "\"60s\""),
    ] {
        if value.is_zero() {
            out.push(format!(
                "[web] {key} must be longer than 0s (default {default})"
            ));
        }
    }
    if w.max_connections == 0 {
        out.push("[web] max_connections must be at least 1 (default 512)".to_string());
    }
    for entry in &w.trusted_proxies {
        if !is_ip_range(entry) {
            out.push(format!(
                "[web] trusted_proxies: '{entry}' is not an address or CIDR range; write e.g. \
                 \"127.0.0.1\", \"10.0.0.0/8\" or \"fd00::/8\""
            ));
        }
    }
    if let Some(token) = &w.metrics_token {
        if token.expose().chars().count() < MIN_METRICS_TOKEN_CHARS {
            out.push(format!(
                "[web] metrics_token must have at least {MIN_METRICS_TOKEN_CHARS} characters; \
                 make one with e.g. `openssl rand -hex 32`"
            ));
        }
        if w.public_metrics {
            out.push(
                "[web] public_metrics = true serves /metrics to anyone, so metrics_token would \
                 never be asked for; set one or the other"
                    .to_string(),
            );
        }
    }
    out
}

/// `addr` or `addr/prefix` with an IPv4 or IPv6 address and a prefix that fits it.
fn is_ip_range(text: &str) -> bool {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let Ok(ip) = addr.trim().parse::<std::net::IpAddr>() else {
        return false;
    };
    let max = if ip.to_canonical().is_ipv4() { 32 } else { 128 };
    prefix.is_none_or(|p| p.parse::<u8>().is_ok_and(|p| p <= max))
}

/// The schemes a metadata database URL may use (the store's backends).
const DATABASE_SCHEMES: [&str; 3] = ["sqlite", "postgres", "postgresql"];

/// What is wrong with a metadata database URL, if anything.
pub(crate) fn database_url(url: &str) -> Option<String> {
    match scheme(url) {
        Some(sc) if DATABASE_SCHEMES.contains(&sc.to_ascii_lowercase().as_str()) => None,
        _ => Some(format!(
            "'{}' is not a database URL Cambium can use; write \
             sqlite:///path/to/cambium.db or postgres://user:password@host/db",
            crate::secret::mask_url(url)
        )),
    }
}

/// The URL's scheme if it has the form `scheme:rest` with a non-empty rest.
fn scheme(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once(':')?;
    let ok = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty();
    ok.then_some(scheme)
}

fn bad_name(section: &str, name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    (!ok).then(|| {
        format!("[{section}] '{name}' is not a valid name; use letters, digits, '_', '-' and '.'")
    })
}
