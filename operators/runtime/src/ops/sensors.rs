//! The sensors `wait_for_query` and `wait_for_object`. Each try pokes once: when the
//! condition holds the task succeeds; when it does not, the process exits 98 and the
//! scheduler frees its slot and pokes again after `poke_interval` (Airflow's "reschedule"
//! mode), without using up a retry. `timeout` counts from the first poke (the task's first
//! try); past it the sensor fails.

use crate::context::{fail, Call, OpError, Runtime};
use crate::record::Produced;
use cambium_store::Store;
use chrono::Utc;
use serde_json::{json, Value};
use std::time::Duration;

fn duration(
    call: &Call,
    key: &str,
    default: Option<Duration>,
) -> Result<Option<Duration>, OpError> {
    match call.opt_str(key) {
        None => Ok(default),
        Some(text) => cambium_dag::parse_duration(text)
            .map(Some)
            .map_err(|e| fail(format!("option '{key}': {e}"))),
    }
}

/// When this task's first try started (the first poke).
async fn first_poke(store: &Store, call: &Call) -> Result<Option<chrono::DateTime<Utc>>, OpError> {
    let Some(run) = store.get_run(&call.dag_id, &call.run_id).await? else {
        return Ok(None);
    };
    let tis = store.task_instances(run.id).await?;
    let Some(ti) = tis.iter().find(|t| t.task_id == call.task_id) else {
        return Ok(None);
    };
    let tries = store.tries(ti.id).await?;
    Ok(tries.iter().filter_map(|t| t.start_at).min())
}

/// The outcome of one poke.
async fn poke(rt: &Runtime, call: &Call, holds: bool, what: String) -> Result<Produced, OpError> {
    let mut produced = Produced::default();
    if holds {
        produced
            .result
            .insert("satisfied".into(), Value::Bool(true));
        produced
            .result
            .insert("condition".into(), Value::from(what.clone()));
        produced.message = Some(format!("{what}: yes"));
        return Ok(produced);
    }
    let interval = duration(call, "poke_interval", Some(Duration::from_secs(30)))?
        .unwrap_or(Duration::from_secs(30));
    if let Some(timeout) = duration(call, "timeout", None)? {
        let since = first_poke(&rt.store, call).await?.unwrap_or_else(Utc::now);
        let waited = (Utc::now() - since).to_std().unwrap_or_default();
        if waited >= timeout {
            return Err(fail(format!(
                "{what}: still not true after {}s (timeout {}s)",
                waited.as_secs(),
                timeout.as_secs()
            )));
        }
    }
    produced.reschedule_after = Some(interval);
    produced.message = Some(format!(
        "{what}: not yet; poking again in {} ms",
        interval.as_millis()
    ));
    Ok(produced)
}

pub async fn wait_for_query(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    let conn = call.req_str("conn")?;
    let url = rt.connection(conn, "<url>")?;
    let sql = call.req_str("sql")?;
    let binds: Vec<Value> = call
        .options
        .get("binds")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let holds = cambium_data::query_is_truthy(url, sql, &binds).await?;
    poke(rt, call, holds, format!("query on '{conn}'")).await
}

pub async fn wait_for_object(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    let store_name = call.req_str("store")?;
    let location = rt.stores.get(store_name)?;
    let (holds, what, found) = match (call.opt_str("key"), call.opt_str("prefix")) {
        (Some(key), _) => {
            let head = location.head(key).await?;
            (
                head.is_some(),
                format!("object '{key}' in store '{store_name}'"),
                head.map(|o| vec![o]),
            )
        }
        (None, Some(prefix)) => {
            let list = location.list(prefix, None).await?;
            (
                !list.is_empty(),
                format!("an object under '{prefix}' in store '{store_name}'"),
                Some(list),
            )
        }
        (None, None) => {
            return Err(fail(
                "wait_for_object needs option 'key' or option 'prefix'",
            ))
        }
    };
    let mut produced = poke(rt, call, holds, what).await?;
    if holds {
        let objects: Vec<Value> = found
            .unwrap_or_default()
            .iter()
            .take(100)
            .map(|o| json!({"key": o.key, "uri": o.uri, "size": o.size, "etag": o.etag, "last_modified": o.last_modified}))
            .collect();
        produced
            .result
            .insert("objects".into(), Value::Array(objects));
    }
    Ok(produced)
}
