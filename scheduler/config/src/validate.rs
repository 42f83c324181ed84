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
