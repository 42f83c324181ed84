//! Artifacts between tasks: the references a task's output carries (`artifacts` in
//! `outputs.<task>`), finding a task's inputs through the options that name upstream tasks,
//! and reading and writing artifact files in the `artifacts` store under
//! `<dag>/<run>/<task>/<try>/`.

use crate::context::{fail, Call, OpError, Runtime};
use bytes::Bytes;
use cambium_data::{Format, TableWriter, WrittenObject};
use cambium_ml::Table;
use cambium_store::{ArtifactRecord, NewArtifact};
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The store every artifact is written to.
pub const ARTIFACTS: &str = "artifacts";

/// An artifact as a task's output names it (and as downstream tasks find it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactRef {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub uri: String,
    pub fingerprint: String,
    #[serde(default)]
    pub properties: Value,
}

impl From<&ArtifactRecord> for ArtifactRef {
    fn from(a: &ArtifactRecord) -> Self {
        ArtifactRef {
            id: a.id,
            kind: a.kind.clone(),
            name: a.name.clone(),
            uri: a.uri.clone(),
            fingerprint: a.fingerprint.clone(),
            properties: a.properties.clone(),
        }
    }
}

impl ArtifactRef {
    /// A string property.
    pub fn prop_str(&self, key: &str) -> Option<&str> {
        self.properties.get(key).and_then(Value::as_str)
    }

    /// The data format of a Dataset or Examples artifact (Parquet unless recorded).
    pub fn format(&self) -> Format {
        self.prop_str("format")
            .and_then(|f| f.parse().ok())
            .unwrap_or(Format::Parquet)
    }
}

/// The artifacts an upstream task's output names.
pub fn artifacts_of_output(output: &Value) -> Vec<ArtifactRef> {
    output
        .get("artifacts")
        .and_then(Value::as_object)
        .map(|m| {
            m.values()
                .filter_map(|v| serde_json::from_value(v.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The upstream task that option `key` names, and the artifacts its output carries.
pub fn input_of(call: &Call, key: &str) -> Result<(String, Vec<ArtifactRef>), OpError> {
    let task = call.req_str(key)?.to_string();
    let output = call.upstream.get(&task).ok_or_else(|| {
        fail(format!(
            "option '{key}' names task '{task}', whose output is not available; it must be upstream of '{}' and have succeeded",
            call.task_id
        ))
    })?;
    let refs = artifacts_of_output(output);
    if refs.is_empty() {
        return Err(fail(format!(
            "option '{key}' names task '{task}', which produced no artifacts; name a task of a built-in operator (query with `to`, example_gen, transform, ...)"
        )));
    }
    Ok((task, refs))
}

/// The artifacts of `kinds` (in preference order) among `refs`, or an error naming the task.
pub fn of_kind<'a>(
    refs: &'a [ArtifactRef],
    kinds: &[&str],
    key: &str,
    task: &str,
) -> Result<Vec<&'a ArtifactRef>, OpError> {
    for kind in kinds {
        let found: Vec<&ArtifactRef> = refs.iter().filter(|r| r.kind == *kind).collect();
        if !found.is_empty() {
            return Ok(found);
        }
    }
    Err(fail(format!(
        "option '{key}' names task '{task}', which produced no {} artifact",
        kinds.join(" or ")
    )))
}

/// The split named `split` among Examples artifacts.
pub fn split<'a>(examples: &[&'a ArtifactRef], split: &str) -> Result<&'a ArtifactRef, OpError> {
    examples
        .iter()
        .find(|r| r.name == split || r.prop_str("split") == Some(split))
        .copied()
        .ok_or_else(|| {
            let have: Vec<&str> = examples.iter().map(|r| r.name.as_str()).collect();
            fail(format!(
                "the examples have no '{split}' split (they have: {}); name the splits train and eval in example_gen's `splits`",
                have.join(", ")
            ))
        })
}

/// Makes an id safe as one object-key part.
fn key_part(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The key of an artifact file of this try: `<dag>/<run>/<task>/<try>/<file>`.
pub fn artifact_key(call: &Call, file: &str) -> String {
    format!(
        "{}/{}/{}/{}/{}",
        key_part(&call.dag_id),
        key_part(&call.run_id),
        key_part(&call.task_id),
        call.try_number,
        file
    )
}

/// Writes `tables` (batches of one table) as an artifact file in `format`.
pub async fn write_tables(
    rt: &Runtime,
    call: &Call,
    name: &str,
    format: Format,
    tables: &[&Table],
) -> Result<WrittenObject, OpError> {
    let mut writer = TableWriter::new(format, &rt.scratch)?;
    for t in tables {
        writer.write(t)?;
    }
    let location = rt.stores.get(ARTIFACTS)?;
    let key = artifact_key(call, &format!("{name}.{}", format.extension()));
    Ok(writer.finish(&location, &key).await?)
}

/// The sha256 of bytes, hex.
pub fn fingerprint(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes a JSON document as an artifact file; returns its URI and fingerprint.
pub async fn write_json(
    rt: &Runtime,
    call: &Call,
    file: &str,
    value: &impl Serialize,
) -> Result<(String, String), OpError> {
    let text =
        serde_json::to_vec_pretty(value).map_err(|e| fail(format!("cannot encode {file}: {e}")))?;
    let print = fingerprint(&text);
    let location = rt.stores.get(ARTIFACTS)?;
    let uri = location
        .put_bytes(&artifact_key(call, file), Bytes::from(text))
        .await?;
    Ok((uri, print))
}

/// Reads a whole object by its URI.
pub async fn read_bytes(uri: &str) -> Result<Bytes, OpError> {
    let (store, path) = cambium_data::resolve_uri(uri)?;
    let got = store
        .get(&path)
        .await
        .map_err(|e| fail(format!("cannot read {uri}: {e}")))?;
    got.bytes()
        .await
        .map_err(|e| fail(format!("cannot read {uri}: {e}")))
}

/// Reads a JSON artifact file as `T`; a file that does not parse names the file.
pub async fn read_json<T: for<'de> Deserialize<'de>>(uri: &str, what: &str) -> Result<T, OpError> {
    let bytes = read_bytes(uri).await?;
    serde_json::from_slice(&bytes).map_err(|e| fail(format!("{what} at {uri} cannot be read: {e}")))
}

/// Reads a Dataset or Examples artifact's rows.
pub async fn read_table(artifact: &ArtifactRef) -> Result<Table, OpError> {
    Ok(cambium_data::read_table(&artifact.uri, artifact.format()).await?)
}

/// A new artifact record from a written file.
pub fn new_artifact(
    kind: &str,
    name: &str,
    uri: &str,
    fingerprint: &str,
    properties: Value,
) -> NewArtifact {
    NewArtifact {
        kind: kind.to_string(),
        name: name.to_string(),
        uri: uri.to_string(),
        fingerprint: fingerprint.to_string(),
        properties,
    }
}
