//! Overlaying `CAMBIUM_*` environment variables on the configuration.
//!
//! - `CAMBIUM_CONN_<NAME>=<url>`: adds or replaces connection `<name>` (lower-cased);
//! - `CAMBIUM_STORE_<NAME>=<url>`: adds or replaces store `<name>` (lower-cased);
//! - `CAMBIUM_SCHEDULER__<KEY>=<value>`: sets `[scheduler] <key>`; an unknown key is an error;
//! - `CAMBIUM_POOLS__<NAME>=<slots>`: sets pool `<name>` (lower-cased);
//! - `CAMBIUM_WEB__<KEY>=<value>`: sets `[web] <key>` (a list is comma-separated); an unknown
//!   key is an error.
//!
//! Every other variable (`CAMBIUM_HOME`, `CAMBIUM_DAGS_FOLDER`, `CAMBIUM_DATABASE_URL`, the
//! task protocol's `CAMBIUM_TASK_ID`, …) is left to its owner and ignored here.

use std::time::Duration;

use crate::error::{ConfigError, Result};
use crate::model::{Config, SchedulerConfig, WebConfig, SCHEDULER_KEYS, WEB_KEYS};
use crate::secret::Secret;
use crate::suggest::did_you_mean;

const CONN_PREFIX: &str = "CAMBIUM_CONN_";
const STORE_PREFIX: &str = "CAMBIUM_STORE_";
const SCHEDULER_PREFIX: &str = "CAMBIUM_SCHEDULER__";
const POOLS_PREFIX: &str = "CAMBIUM_POOLS__";
const WEB_PREFIX: &str = "CAMBIUM_WEB__";

/// Applies the `CAMBIUM_*` variables among `vars` to `config`. Later duplicates win. Returns
/// one [`ConfigError::Env`] for each variable that cannot be used (the others still apply).
pub(crate) fn overlay(config: &mut Config, vars: &[(String, String)]) -> Vec<ConfigError> {
    vars.iter()
        .filter_map(|(var, value)| overlay_one(config, var, value).err())
        .collect()
}

fn overlay_one(config: &mut Config, var: &str, value: &str) -> Result<()> {
    let err = |message: String| ConfigError::Env {
        var: var.to_string(),
        message,
    };
    if let Some(name) = var.strip_prefix(CONN_PREFIX) {
        let name = entry_name(name).map_err(err)?;
        config.connections.insert(name, Secret::new(value));
    } else if let Some(name) = var.strip_prefix(STORE_PREFIX) {
        let name = entry_name(name).map_err(err)?;
        config.stores.insert(name, value.to_string());
    } else if let Some(name) = var.strip_prefix(POOLS_PREFIX) {
        let name = entry_name(name).map_err(err)?;
        let slots = parse_u32(value).map_err(err)?;
        config.pools.insert(name, slots);
    } else if let Some(key) = var.strip_prefix(SCHEDULER_PREFIX) {
        set_scheduler_key(&mut config.scheduler, &key.to_ascii_lowercase(), value).map_err(err)?;
    } else if let Some(key) = var.strip_prefix(WEB_PREFIX) {
        set_web_key(&mut config.web, &key.to_ascii_lowercase(), value).map_err(err)?;
    }
    Ok(())
}

fn entry_name(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Err(
            "the name after the prefix is missing; write e.g. CAMBIUM_CONN_WAREHOUSE=postgres://…"
                .into(),
        );
    }
    Ok(raw.to_ascii_lowercase())
}

fn set_scheduler_key(s: &mut SchedulerConfig, key: &str, value: &str) -> Result<(), String> {
    match key {
        "parallelism" => s.parallelism = parse_u32(value)?,
        "default_pool_slots" => s.default_pool_slots = parse_u32(value)?,
        "dag_dir_watch" => s.dag_dir_watch = parse_bool(value)?,
        "heartbeat" => s.heartbeat = parse_duration(value)?,
        "scheduler_dead_after" => s.scheduler_dead_after = parse_duration(value)?,
        "paused_on_create" => s.paused_on_create = parse_bool(value)?,
        "parse_timeout" => s.parse_timeout = parse_duration(value)?,
        "try_retention" => s.try_retention = parse_duration(value)?,
        other => {
            let hint = did_you_mean(other, &SCHEDULER_KEYS)
                .map(|k| {
                    format!(
                        " (did you mean CAMBIUM_SCHEDULER__{}?)",
                        k.to_ascii_uppercase()
                    )
                })
                .unwrap_or_default();
            return Err(format!(
                "unknown [scheduler] key '{other}'{hint}; known keys: {}",
                SCHEDULER_KEYS.join(", ")
            ));
        }
    }
    Ok(())
}

fn set_web_key(w: &mut WebConfig, key: &str, value: &str) -> Result<(), String> {
    match key {
        "secure_cookies" => w.secure_cookies = parse_bool(value)?,
        "trusted_proxies" => {
            w.trusted_proxies = value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        }
        "session_ttl" => w.session_ttl = parse_duration(value)?,
        "token_ttl" => w.token_ttl = parse_duration(value)?,
        "header_read_timeout" => w.header_read_timeout = parse_duration(value)?,
        "request_timeout" => w.request_timeout = parse_duration(value)?,
        "max_connections" => w.max_connections = parse_u32(value)?,
        "public_metrics" => w.public_metrics = parse_bool(value)?,
        "metrics_token" => w.metrics_token = Some(Secret::new(value)).filter(|_| !value.is_empty()),
        "public_openapi" => w.public_openapi = parse_bool(value)?,
        other => {
            let hint = did_you_mean(other, &WEB_KEYS)
                .map(|k| format!(" (did you mean CAMBIUM_WEB__{}?)", k.to_ascii_uppercase()))
                .unwrap_or_default();
            return Err(format!(
                "unknown [web] key '{other}'{hint}; known keys: {}",
                WEB_KEYS.join(", ")
            ));
        }
    }
    Ok(())
}

fn parse_u32(value: &str) -> Result<u32, String> {
    value.trim().parse().map_err(|_| {
        format!(
            "'{value}' is not a whole number from 0 to {}; write e.g. 8",
            u32::MAX
        )
    })
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("'{value}' is not a boolean; write true or false")),
    }
}

fn parse_duration(value: &str) -> Result<Duration, String> {
    cambium_dag::parse_duration(value)
}
