//! `query`, `export` and `example_gen`: data in from a connection or files, out to a store,
//! and split reproducibly into Examples.

use crate::artifacts::{self, input_of, new_artifact, of_kind, ARTIFACTS};
use crate::context::{fail, Call, OpError, Runtime};
use crate::record::Produced;
use cambium_data::{Format, TableWriter};
use cambium_ml::{split_table, Splitter, Table};
use serde_json::{json, Value};

/// Rows per batch when streaming a query or a file.
const BATCH_ROWS: usize = 8192;

fn format_of(text: Option<&str>, key: &str) -> Result<Format, OpError> {
    match text {
        None => Ok(Format::Parquet),
        Some(t) => t
            .parse::<Format>()
            .map_err(|e| fail(format!("option '{key}': {e}"))),
    }
}

fn columns_json(table: &Table) -> Value {
    Value::Array(
        table
            .fields()
            .iter()
            .map(|f| json!([f.name, f.data.column_type().name()]))
            .collect(),
    )
}

/// `query`: runs `sql` with `binds` on connection `conn`; with `to`, streams the rows into a
/// Dataset artifact (bounded memory), else only counts them.
pub async fn query(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    let conn = call.req_str("conn")?;
    let url = rt.connection(conn, "<url>")?;
    let sql = call.req_str("sql")?;
    let binds: Vec<Value> = match call.options.get("binds") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(other) => {
            return Err(fail(format!(
                "option 'binds' must be an array, got {other}"
            )))
        }
    };
    let (store_name, path, format) = match call.options.get("to") {
        None | Some(Value::Null) => (None, None, None),
        Some(Value::String(f)) => (
            Some(ARTIFACTS.to_string()),
            None,
            Some(format_of(Some(f), "to")?),
        ),
        Some(Value::Object(m)) => (
            Some(
                m.get("store")
                    .and_then(Value::as_str)
                    .unwrap_or(ARTIFACTS)
                    .to_string(),
            ),
            m.get("path").and_then(Value::as_str).map(String::from),
            Some(format_of(
                m.get("format").and_then(Value::as_str),
                "to.format",
            )?),
        ),
        Some(other) => {
            return Err(fail(format!(
            "option 'to' must be a format (\"parquet\") or #{{ store, path, format }}, got {other}"
        )))
        }
    };
    let mut produced = Produced::default();
    // `watermark`: only the rows newer than what the last successful run took.
    let watermark = match call.opt_str("watermark") {
        None => None,
        Some(column) => Some(Watermark::new(rt, call, url, column).await?),
    };
    let mut binds = binds;
    let wrapped;
    let sql = match &watermark {
        Some(w) => {
            wrapped = w.wrap(sql, &mut binds);
            wrapped.as_str()
        }
        None => sql,
    };
    let mut newest: Option<Value> = None;
    match format {
        None if watermark.is_some() => {
            return Err(fail(
                "option 'watermark' needs 'to': the rows are written to a Dataset that records the new watermark",
            ));
        }
        None => {
            let summary = cambium_data::query_to(url, sql, &binds, |_| Ok(()), BATCH_ROWS).await?;
            produced
                .result
                .insert("rows".into(), Value::from(summary.rows));
            produced
                .metrics
                .insert("rows".into(), Value::from(summary.rows));
        }
        Some(format) => {
            let mut writer = TableWriter::new(format, &rt.scratch)?;
            let summary = cambium_data::query_to(
                url,
                sql,
                &binds,
                |t| {
                    if let Some(w) = &watermark {
                        newest = w.newest(&t, newest.take())?;
                    }
                    writer.write(&t)
                },
                BATCH_ROWS,
            )
            .await?;
            if let (0, Some(w)) = (summary.rows, &watermark) {
                produced.skipped = true;
                produced.message = Some(match &w.previous {
                    Some(prev) => format!(
                        "no new rows: nothing has {} > {prev} (the watermark of the last successful run); skipped",
                        w.column
                    ),
                    None => "no rows yet; skipped (a later run takes them when they arrive)".to_string(),
                });
                produced.result.insert(
                    "watermark".into(),
                    w.previous.clone().unwrap_or(Value::Null),
                );
                produced.result.insert("rows".into(), Value::from(0));
                return Ok(produced);
            }
            if summary.rows == 0 {
                return Err(fail(format!(
                    "the query on connection '{conn}' returned no rows; nothing to write (check the SQL and its binds: {})",
                    Value::Array(binds)
                )));
            }
            let location = rt.stores.get(store_name.as_deref().unwrap_or(ARTIFACTS))?;
            let key = path.unwrap_or_else(|| {
                artifacts::artifact_key(call, &format!("dataset.{}", format.extension()))
            });
            let written = writer.finish(&location, &key).await?;
            let columns: Vec<Value> = summary
                .columns
                .iter()
                .map(|(n, t)| json!([n, t.name()]))
                .collect();
            let mut props = json!({"rows": written.rows, "bytes": written.bytes, "format": format.name(), "columns": columns, "conn": conn});
            if let Some(w) = &watermark {
                props["watermark"] = json!({"column": w.column, "after": w.previous, "to": newest});
                produced
                    .result
                    .insert("since".into(), w.previous.clone().unwrap_or(Value::Null));
                produced
                    .result
                    .insert("watermark".into(), newest.clone().unwrap_or(Value::Null));
            }
            produced.outputs.push(new_artifact(
                "Dataset",
                "dataset",
                &written.uri,
                &written.fingerprint,
                props,
            ));
            produced
                .result
                .insert("rows".into(), Value::from(summary.rows));
            produced
                .result
                .insert("uri".into(), Value::from(written.uri));
            produced
                .metrics
                .insert("rows".into(), Value::from(summary.rows));
        }
    }
    produced.message = Some(match &watermark {
        Some(w) => format!(
            "query returned {} new rows ({} after {}, up to {})",
            produced.result["rows"],
            w.column,
            w.previous
                .as_ref()
                .map_or("nothing yet".to_string(), ToString::to_string),
            produced.result["watermark"]
        ),
        None => format!("query returned {} rows", produced.result["rows"]),
    });
    Ok(produced)
}

/// How many of the DAG's latest successful runs are searched for the previous watermark.
const WATERMARK_RUNS: i64 = 1000;

/// The `watermark` option of `query`: a column of the result that grows as data arrives
/// (a load id, a batch number, an ingestion time). A run takes only the rows whose value is
/// above the highest one any successful run of this DAG took before, and records the
/// highest value it took.
struct Watermark {
    column: String,
    dialect: cambium_data::sql::Dialect,
    /// The highest value a successful run of this DAG took; `None` before the first.
    previous: Option<Value>,
}

impl Watermark {
    async fn new(rt: &Runtime, call: &Call, url: &str, column: &str) -> Result<Self, OpError> {
        let plain = column
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && column
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain {
            return Err(fail(format!(
                "option 'watermark': '{column}' is not a plain column name (letters, digits, _); name a column of the query's result"
            )));
        }
        let dialect = cambium_data::sql::Dialect::of(url)?;
        let runs = rt
            .store
            .list_runs(&cambium_store::RunFilter {
                dag_id: Some(call.dag_id.clone()),
                states: vec![cambium_dag::RunState::Success],
                limit: Some(WATERMARK_RUNS),
                ..Default::default()
            })
            .await?;
        let mut previous: Option<Value> = None;
        for run in runs.iter().filter(|r| r.run_id != call.run_id) {
            for a in rt.store.artifacts_of_run(&call.dag_id, &run.run_id).await? {
                let w = &a.properties["watermark"];
                if a.task_id != call.task_id || a.kind != "Dataset" || w["column"] != column {
                    continue;
                }
                previous = larger(previous, Some(w["to"].clone()).filter(|v| !v.is_null()));
            }
        }
        Ok(Watermark {
            column: column.to_string(),
            dialect,
            previous,
        })
    }

    /// The SQL limited to rows above the previous watermark (the value is bound, never
    /// spliced in).
    fn wrap(&self, sql: &str, binds: &mut Vec<Value>) -> String {
        let Some(prev) = &self.previous else {
            return sql.to_string();
        };
        use cambium_data::sql::Dialect;
        let quoted = match self.dialect {
            Dialect::Mysql => format!("`{}`", self.column),
            _ => format!("\"{}\"", self.column),
        };
        binds.push(prev.clone());
        let placeholder = match self.dialect {
            Dialect::Postgres => format!("${}", binds.len()),
            _ => "?".to_string(),
        };
        let inner = sql.trim().trim_end_matches(';');
        format!("SELECT * FROM ({inner}) AS cambium_new_rows WHERE {quoted} > {placeholder}")
    }

    /// The larger of `so_far` and the highest value of the column in `table`.
    fn newest(
        &self,
        table: &Table,
        so_far: Option<Value>,
    ) -> Result<Option<Value>, cambium_data::Error> {
        use cambium_ml::Column;
        let Some(column) = table.column(&self.column) else {
            return Err(cambium_data::Error::SqlColumn {
                column: self.column.clone(),
                problem: format!(
                    "is not there, but option 'watermark' names it (the result has: {})",
                    table.names().collect::<Vec<_>>().join(", ")
                ),
            });
        };
        let max =
            match column {
                Column::Int(v) => v.iter().flatten().max().map(|m| json!(m)),
                Column::Float(v) => v
                    .iter()
                    .flatten()
                    .copied()
                    .filter(|x| x.is_finite())
                    .reduce(f64::max)
                    .map(|m| json!(m)),
                Column::Str(v) => v.iter().flatten().max().map(|m| json!(m)),
                Column::Bool(_) => return Err(cambium_data::Error::SqlColumn {
                    column: self.column.clone(),
                    problem:
                        "is bool; option 'watermark' needs a column that grows (a number, a time)"
                            .into(),
                }),
            };
        Ok(larger(so_far, max))
    }
}

/// The larger of two watermark values (numbers by value, else strings by text).
fn larger(a: Option<Value>, b: Option<Value>) -> Option<Value> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) => {
            let bigger = match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => y > x,
                _ => b.as_str().unwrap_or_default() > a.as_str().unwrap_or_default(),
            };
            Some(if bigger { b } else { a })
        }
    }
}

/// `export`: copies the input Dataset (or Examples) to `store`/`path` in `format`, batch by
/// batch.
pub async fn export(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    let (task, refs) = input_of(call, "input")?;
    let inputs = of_kind(&refs, &["Dataset", "Examples"], "input", &task)?;
    let format = format_of(call.opt_str("format"), "format")?;
    let store_name = call.opt_str("store").unwrap_or(ARTIFACTS);
    let location = rt.stores.get(store_name)?;
    let mut produced = Produced::default();
    for input in inputs {
        let mut reader = cambium_data::read_batches(&input.uri, input.format()).await?;
        let mut writer = TableWriter::new(format, &rt.scratch)?;
        let empty = reader.empty_table();
        let mut any = false;
        for batch in reader.by_ref() {
            writer.write(&batch?)?;
            any = true;
        }
        if !any {
            writer.write(&empty)?;
        }
        let file = format!("{}.{}", input.name, format.extension());
        let key = match call.opt_str("path") {
            Some(p) if !p.is_empty() => {
                if refs.len() > 1 || p.ends_with('/') {
                    format!("{}/{file}", p.trim_end_matches('/'))
                } else {
                    p.to_string()
                }
            }
            _ => artifacts::artifact_key(call, &file),
        };
        let written = writer.finish(&location, &key).await?;
        let mut props = input.properties.as_object().cloned().unwrap_or_default();
        props.insert("format".into(), Value::from(format.name()));
        props.insert("rows".into(), Value::from(written.rows));
        props.insert("bytes".into(), Value::from(written.bytes));
        props.insert("store".into(), Value::from(store_name));
        produced.outputs.push(new_artifact(
            "Dataset",
            &input.name,
            &written.uri,
            &written.fingerprint,
            Value::Object(props),
        ));
        produced
            .result
            .insert("uri".into(), Value::from(written.uri.clone()));
        produced
            .result
            .insert("rows".into(), Value::from(written.rows));
    }
    Ok(produced)
}

/// The `splits` option as (name, weight) pairs; default train 8, eval 2.
fn splits_of(call: &Call) -> Result<Vec<(String, u32)>, OpError> {
    let map = call.opt_map("splits")?;
    if map.is_empty() {
        return Ok(vec![("train".into(), 8), ("eval".into(), 2)]);
    }
    map.iter()
        .map(|(name, w)| match w.as_u64() {
            Some(n) if n > 0 && n <= u64::from(u32::MAX) => Ok((name.clone(), n as u32)),
            _ => Err(fail(format!(
                "option 'splits.{name}' must be a whole number above 0 (a weight), got {w}"
            ))),
        })
        .collect()
}

/// `example_gen`: reads a Dataset (or every file matching `pattern` in `store`) and splits
/// it by hashing `hash_keys`, so a row always lands in the same split.
pub async fn example_gen(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    let splits = splits_of(call)?;
    let splitter = Splitter::new(&splits).map_err(|e| fail(format!("option 'splits': {e}")))?;
    let hash_keys: Vec<String> = call
        .options
        .get("hash_keys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let mut table = Table::default();
    let mut sources = Vec::new();
    if call.options.contains_key("input") {
        let (task, refs) = input_of(call, "input")?;
        for input in of_kind(&refs, &["Dataset"], "input", &task)? {
            let t = artifacts::read_table(input).await?;
            table
                .append(t)
                .map_err(|e| fail(format!("input '{}' of task '{task}': {e}", input.name)))?;
            sources.push(input.uri.clone());
        }
    } else {
        let (Some(store), Some(pattern)) = (call.opt_str("store"), call.opt_str("pattern")) else {
            return Err(fail(format!(
                "task '{}' needs `input` (a task whose Dataset is split) or `store` and `pattern`",
                call.task_id
            )));
        };
        let location = rt.stores.get(store)?;
        let objects = location.glob(pattern).await?;
        if objects.is_empty() {
            return Err(fail(format!(
                "no object in store '{store}' matches pattern '{pattern}'"
            )));
        }
        for object in objects {
            let format = match call.opt_str("format") {
                Some(f) => format_of(Some(f), "format")?,
                None => Format::from_key(&object.key).ok_or_else(|| {
                    fail(format!(
                        "cannot tell the format of '{}' from its name; set option 'format'",
                        object.key
                    ))
                })?,
            };
            let t = cambium_data::read_table(&object.uri, format).await?;
            table
                .append(t)
                .map_err(|e| fail(format!("file '{}': {e}", object.key)))?;
            sources.push(object.uri);
        }
    }
    if table.rows() == 0 {
        return Err(fail(
            "the input has no rows; there is nothing to split (check the query or the files)",
        ));
    }
    let parts = split_table(&table, &hash_keys, &splitter)
        .map_err(|e| fail(format!("option 'hash_keys': {e}")))?;
    let span = call.options.get("span").cloned().unwrap_or(Value::Null);
    let mut produced = Produced::default();
    let mut counts = serde_json::Map::new();
    for ((name, _), part) in splits.iter().zip(&parts) {
        let written = artifacts::write_tables(rt, call, name, Format::Parquet, &[part]).await?;
        counts.insert(name.clone(), Value::from(part.rows()));
        produced.outputs.push(new_artifact(
            "Examples",
            name,
            &written.uri,
            &written.fingerprint,
            json!({"split": name, "rows": part.rows(), "format": "parquet", "span": span,
                   "columns": columns_json(part), "hash_keys": hash_keys}),
        ));
        produced
            .metrics
            .insert(format!("{name}_rows"), Value::from(part.rows()));
    }
    produced
        .result
        .insert("rows".into(), Value::from(table.rows()));
    produced
        .result
        .insert("splits".into(), Value::Object(counts));
    produced.result.insert("span".into(), span);
    produced.result.insert("sources".into(), json!(sources));
    Ok(produced)
}
