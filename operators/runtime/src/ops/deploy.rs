//! The `deploy` operator: pushes a blessed model. A blessing that says not blessed skips
//! the task (exit 99). Targets: `registry` (default: a new version of the named model,
//! with the `production` alias moved to it in the same transaction), `store` (copies the
//! model files and the transform to an object store), `http` (POSTs the pushed model's
//! metadata to a URL, plain HTTP/1.1).

use crate::artifacts::{input_of, new_artifact, of_kind, read_bytes, write_json, ArtifactRef};
use crate::context::{fail, Call, OpError, Runtime};
use crate::record::Produced;
use cambium_store::NewModelVersion;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `deploy`.
pub async fn run(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    let (model_task, refs) = input_of(call, "model")?;
    let model: ArtifactRef = of_kind(&refs, &["Model"], "model", &model_task)?[0].clone();

    // the blessing
    let mut metrics = model
        .properties
        .get("metrics")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(task) = call.opt_str("blessing").filter(|s| !s.is_empty()) {
        let out = call.upstream.get(task).ok_or_else(|| {
            fail(format!(
                "option 'blessing' names task '{task}', whose output is not available; it must be an upstream evaluate task that succeeded"
            ))
        })?;
        let blessed = out.get("blessed").and_then(Value::as_bool).ok_or_else(|| {
            fail(format!("option 'blessing' names task '{task}', whose output has no `blessed`; name an evaluate task"))
        })?;
        if !blessed {
            let reasons: Vec<String> = out
                .get("reasons")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let mut result = Map::new();
            result.insert("pushed".into(), Value::Bool(false));
            return Ok(Produced {
                result,
                skipped: true,
                message: Some(format!("not blessed: {}", reasons.join("; "))),
                ..Produced::default()
            });
        }
        if let Some(m) = out.get("metrics").and_then(Value::as_object) {
            metrics = m.clone();
        }
    }

    let name = call.model_name("name");
    let transform_uri = model.prop_str("transform_uri").map(str::to_string);
    let params = model
        .properties
        .get("hyperparameters")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let target = call
        .opt_str("target")
        .filter(|s| !s.is_empty())
        .unwrap_or("registry");
    let meta = json!({
        "name": name,
        "model_uri": model.uri,
        "transform_uri": transform_uri,
        "model_artifact_id": model.id,
        "metrics": metrics,
        "hyperparameters": params,
        "dag_id": call.dag_id,
        "run_id": call.run_id,
        "task_id": call.task_id,
        "target": target,
    });
    match target {
        "registry" => {
            // Everything that can fail is done before the version is registered and the
            // alias moved, so a failure leaves production where it was.
            let (uri, print) = write_json(rt, call, "pushed.json", &meta).await?;
            let version = rt
                .store
                .register_model_version(
                    &NewModelVersion {
                        name: name.clone(),
                        model_artifact_id: model.id,
                        pushed_artifact_id: None,
                        artifact_uri: model.uri.clone(),
                        transform_uri: transform_uri.clone(),
                        metrics,
                        params,
                        dag_id: call.dag_id.clone(),
                        run_id: call.run_id.clone(),
                        task_id: call.task_id.clone(),
                    },
                    &["production"],
                    &format!("deploy run {}", call.run_id),
                )
                .await?;
            let mut result = Map::new();
            result.insert("name".into(), Value::String(name.clone()));
            result.insert("version".into(), Value::from(version.version));
            result.insert("target".into(), Value::String("registry".into()));
            Ok(Produced {
                outputs: vec![new_artifact(
                    "PushedModel",
                    "pushed",
                    &uri,
                    &print,
                    json!({"name": name, "version": version.version, "target": "registry", "model_uri": model.uri}),
                )],
                result,
                message: Some(format!(
                    "registered {name} version {} and moved `production` to it",
                    version.version
                )),
                ..Produced::default()
            })
        }
        "store" => {
            let store_name = call.req_str("store")?;
            let location = rt.stores.get(store_name)?;
            let default_path = format!("{name}/{}/", call.run_id);
            let path = call.opt_str("path").filter(|s| !s.is_empty()).unwrap_or(&default_path);
            let path = format!("{}/", path.trim_matches('/'));
            let files: Vec<(String, String)> = if model.uri.ends_with('/') {
                model
                    .properties
                    .get("files")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(|f| (f.to_string(), format!("{}{f}", model.uri)))
                            .collect()
                    })
                    .unwrap_or_default()
            } else {
                vec![("model.json".to_string(), model.uri.clone())]
            };
            let mut files = files;
            if let Some(t) = &transform_uri {
                files.push(("transform_graph.json".into(), t.clone()));
            }
            let mut copied = Vec::new();
            for (file, from) in &files {
                let bytes = read_bytes(from).await?;
                let uri = location.put_bytes(&format!("{path}{file}"), bytes).await?;
                copied.push(uri);
            }
            let (uri, print) = write_json(rt, call, "pushed.json", &json!({"meta": meta, "copied": copied})).await?;
            let dest = location.uri(&path);
            let mut result = Map::new();
            result.insert("name".into(), Value::String(name.clone()));
            result.insert("target".into(), Value::String("store".into()));
            result.insert("uri".into(), Value::String(dest.clone()));
            result.insert("files".into(), json!(copied));
            Ok(Produced {
                outputs: vec![new_artifact(
                    "PushedModel",
                    "pushed",
                    &uri,
                    &print,
                    json!({"name": name, "target": "store", "store": store_name, "uri": dest, "files": copied}),
                )],
                result,
                message: Some(format!("copied {} file(s) to {dest}", copied.len())),
                ..Produced::default()
            })
        }
        "http" => {
            let url = call.req_str("url")?;
            let body = meta.to_string();
            let status = post_json(url, &body).await?;
            let (uri, print) = write_json(rt, call, "pushed.json", &meta).await?;
            let mut result = Map::new();
            result.insert("name".into(), Value::String(name.clone()));
            result.insert("target".into(), Value::String("http".into()));
            result.insert("url".into(), Value::String(url.to_string()));
            result.insert("status".into(), Value::from(status));
            Ok(Produced {
                outputs: vec![new_artifact(
                    "PushedModel",
                    "pushed",
                    &uri,
                    &print,
                    json!({"name": name, "target": "http", "url": url, "status": status}),
                )],
                result,
                message: Some(format!("POSTed the model's metadata to {url}: HTTP {status}")),
                ..Produced::default()
            })
        }
        "kubernetes" => Err(fail(
            "deploy target kubernetes is not available yet; use target \"registry\", \"store\" or \"http\"",
        )),
        other => Err(fail(format!(
            "option 'target' is '{other}'; use \"registry\" (default), \"store\" or \"http\""
        ))),
    }
}

/// POSTs JSON with HTTP/1.1 over a plain TCP connection; returns the status code, failing
/// on anything but 2xx.
async fn post_json(url: &str, body: &str) -> Result<u16, OpError> {
    let rest = if let Some(r) = url.strip_prefix("http://") {
        r
    } else if url.starts_with("https://") {
        return Err(fail(format!(
            "option 'url' is {url}: https is not supported by the http target yet; use an http:// URL (e.g. a local proxy)"
        )));
    } else {
        return Err(fail(format!(
            "option 'url' must start with http://, got {url}"
        )));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(fail(format!("option 'url' has no host: {url}")));
    }
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let io = |e: std::io::Error| fail(format!("POST {url}: {e}"));
    let mut stream = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        tokio::net::TcpStream::connect(&addr),
    )
    .await
    .map_err(|_| fail(format!("POST {url}: connecting timed out after 30s")))?
    .map_err(io)?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: cambium\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    let mut response = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut response),
    )
    .await
    .map_err(|_| fail(format!("POST {url}: no response within 30s")))?
    .map_err(io)?;
    let text = String::from_utf8_lossy(&response);
    let status_line = text.lines().next().unwrap_or("");
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| fail(format!("POST {url}: not an HTTP response: {status_line:?}")))?;
    if !(200..300).contains(&status) {
        return Err(fail(format!("POST {url} answered {status_line}")));
    }
    Ok(status)
}
