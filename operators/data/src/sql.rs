//! SQL connections: run a query on `sqlite://`, `postgres://` or `mysql://` and stream its
//! rows into table batches, in bounded memory, through sqlx's Any driver.
//!
//! - Binds are real bind parameters (`?` for SQLite and MySQL, `$1` for Postgres), never
//!   spliced into the SQL: JSON integers bind as 64-bit ints, other numbers as doubles,
//!   strings as text, booleans as booleans, `null` as a text NULL (cast it in the SQL,
//!   e.g. `$1::int`, where the database needs another type).
//! - Column types come from the result's column types where the database reports them
//!   (Postgres, declared SQLite columns), else from the first non-NULL values. A column
//!   whose first batch holds only NULLs waits for later rows (up to
//!   [`TYPE_LOOKAHEAD_BATCHES`] batches) and is a string column if none has a value.
//! - The Any driver carries booleans, integers, floats and text. Other types (Postgres
//!   NUMERIC, dates, timestamps, UUIDs; SQLite BOOLEAN/DATETIME declared columns) fail with
//!   the driver's message: cast them in the SQL (`x::float8`, `x::text`, `CAST(x AS REAL)`).
//! - Errors name the (password-masked) URL and whether connecting or the query failed,
//!   with the database's own message.
//!
//! MySQL is supported through the same driver, but no test here runs against a MySQL
//! server (this project's machines have none): only its URL handling and connection errors
//! are tested.

use std::sync::Once;

use cambium_ml::table::{Column, ColumnType, Field, Table};
use futures_util::TryStreamExt;
use serde_json::Value;
use sqlx::any::{Any, AnyArguments, AnyRow, AnyTypeInfoKind};
use sqlx::query::Query;
use sqlx::{AnyConnection, Column as _, Connection, Executor, Row, Statement, ValueRef};

use crate::error::{Error, Result};

/// How many batches a column of NULLs may wait for a typed value before it is a string
/// column; bounds what is buffered.
pub const TYPE_LOOKAHEAD_BATCHES: usize = 8;

/// What a query returned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuerySummary {
    pub rows: u64,
    /// The result's columns in order; empty when the result had no rows and the statement
    /// could not be described.
    pub columns: Vec<(String, ColumnType)>,
}

/// The kinds of database a connection URL can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

impl Dialect {
    /// The dialect of a connection URL, or an error saying which schemes work.
    pub fn of(url: &str) -> Result<Dialect> {
        let scheme = url
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Ok(Dialect::Sqlite),
            "postgres" | "postgresql" => Ok(Dialect::Postgres),
            "mysql" | "mariadb" => Ok(Dialect::Mysql),
            _ => Err(Error::InvalidConnUrl {
                url: mask_url(url),
                reason: format!(
                    "unsupported scheme '{scheme}'; use sqlite://path, postgres://user:pass@host/db \
                     or mysql://user:pass@host/db"
                ),
            }),
        }
    }
}

/// The URL with its password (and any `password=` query parameter) replaced by `***`.
pub fn mask_url(url: &str) -> String {
    if let Ok(mut parsed) = url::Url::parse(url) {
        if parsed.password().is_some() {
            let _ = parsed.set_password(Some("***"));
        }
        let secret = |k: &str| k.to_ascii_lowercase().contains("password");
        if parsed.query_pairs().any(|(k, _)| secret(&k)) {
            let pairs: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(k, v)| {
                    let v = if secret(&k) {
                        "***".to_string()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            parsed.query_pairs_mut().clear().extend_pairs(pairs);
        }
        return parsed.to_string();
    }
    // Unparseable: mask anything between "user:" and "@".
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            let userinfo = &rest[..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            return format!("{scheme}://{user}:***{}", &rest[at..]);
        }
    }
    url.to_string()
}

/// The password in a URL, to scrub from driver messages.
fn password_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_string))
        .filter(|p| !p.is_empty())
}

fn scrub(message: String, url: &str) -> String {
    match password_of(url) {
        Some(p) => message.replace(&p, "***"),
        None => message,
    }
}

fn driver_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (code {code})", db.message()),
            None => db.message().to_string(),
        },
        other => other.to_string(),
    }
}

fn query_error(url: &str, e: sqlx::Error) -> Error {
    let mut message = scrub(driver_message(&e), url);
    if message.contains("Any driver does not support") {
        message.push_str(
            "; cast the column in the SQL to a supported type (integer, float, boolean or text)",
        );
    }
    Error::Query {
        url: mask_url(url),
        message,
    }
}

/// Opens one connection to `url`.
pub async fn connect(url: &str) -> Result<AnyConnection> {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    Dialect::of(url)?;
    AnyConnection::connect(url)
        .await
        .map_err(|e| Error::Connect {
            url: mask_url(url),
            message: scrub(driver_message(&e), url),
        })
}

type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

fn bind_all<'q>(sql: &'q str, binds: &[Value]) -> Result<AnyQuery<'q>> {
    let mut q = sqlx::query(sql);
    for (i, value) in binds.iter().enumerate() {
        let bad = |reason: &str| {
            let mut shown = value.to_string();
            if shown.len() > 60 {
                shown.truncate(57);
                shown.push_str("...");
            }
            Error::Bind {
                index: i + 1,
                value: shown,
                reason: reason.to_string(),
            }
        };
        q = match value {
            Value::Null => q.bind(None::<String>),
            Value::Bool(b) => q.bind(*b),
            Value::Number(n) => match (n.as_i64(), n.is_u64()) {
                (Some(i), _) => q.bind(i),
                (None, true) => return Err(bad("the integer is too large for a 64-bit parameter")),
                (None, false) => q.bind(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => q.bind(s.clone()),
            Value::Array(_) | Value::Object(_) => {
                return Err(bad(
                    "arrays and objects can't be bound; pass one number, string, boolean or null per parameter",
                ))
            }
        };
    }
    Ok(q)
}

/// One value of a result row.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
}

impl Val {
    fn kind(&self) -> &'static str {
        match self {
            Val::Null => "NULL",
            Val::Int(_) => "int",
            Val::Float(_) => "float",
            Val::Bool(_) => "bool",
            Val::Str(_) => "string",
        }
    }

    fn column_type(&self) -> Option<ColumnType> {
        match self {
            Val::Null => None,
            Val::Int(_) => Some(ColumnType::Int),
            Val::Float(_) => Some(ColumnType::Float),
            Val::Bool(_) => Some(ColumnType::Bool),
            Val::Str(_) => Some(ColumnType::Str),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Int(i) => Value::from(*i),
            Val::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Val::Bool(b) => Value::Bool(*b),
            Val::Str(s) => Value::String(s.clone()),
        }
    }
}

fn blob_error(column: &str) -> Error {
    Error::SqlColumn {
        column: column.to_string(),
        problem: "is binary (BLOB/BYTEA), which tables can't hold; select it as text \
                  (hex(x) in SQLite, encode(x, 'hex') in Postgres, HEX(x) in MySQL)"
            .to_string(),
    }
}

fn kind_type(kind: AnyTypeInfoKind) -> Option<ColumnType> {
    match kind {
        AnyTypeInfoKind::Bool => Some(ColumnType::Bool),
        AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
            Some(ColumnType::Int)
        }
        AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => Some(ColumnType::Float),
        AnyTypeInfoKind::Text => Some(ColumnType::Str),
        AnyTypeInfoKind::Null | AnyTypeInfoKind::Blob => None,
    }
}

fn value_at(row: &AnyRow, i: usize, column: &str) -> Result<Val, Result<sqlx::Error, Error>> {
    let raw = row.try_get_raw(i).map_err(Ok)?;
    if raw.is_null() {
        return Ok(Val::Null);
    }
    let kind = raw.type_info().kind();
    Ok(match kind {
        AnyTypeInfoKind::Null => Val::Null,
        AnyTypeInfoKind::Bool => Val::Bool(row.try_get::<bool, _>(i).map_err(Ok)?),
        AnyTypeInfoKind::SmallInt => Val::Int(row.try_get::<i16, _>(i).map_err(Ok)?.into()),
        AnyTypeInfoKind::Integer => Val::Int(row.try_get::<i32, _>(i).map_err(Ok)?.into()),
        AnyTypeInfoKind::BigInt => Val::Int(row.try_get::<i64, _>(i).map_err(Ok)?),
        AnyTypeInfoKind::Real => Val::Float(row.try_get::<f32, _>(i).map_err(Ok)?.into()),
        AnyTypeInfoKind::Double => Val::Float(row.try_get::<f64, _>(i).map_err(Ok)?),
        AnyTypeInfoKind::Text => Val::Str(row.try_get::<String, _>(i).map_err(Ok)?),
        AnyTypeInfoKind::Blob => return Err(Err(blob_error(column))),
    })
}

/// One result column being buffered.
struct ColumnBuf {
    name: String,
    /// Fixed once the first batch is emitted.
    ty: Option<ColumnType>,
    values: Vec<Val>,
}

impl ColumnBuf {
    /// The type the buffered values agree on (int and float make float; anything with
    /// strings makes string), for a column the database gave no type.
    fn infer(&self) -> Option<ColumnType> {
        let mut ty: Option<ColumnType> = None;
        for v in &self.values {
            let Some(t) = v.column_type() else { continue };
            ty = Some(match (ty, t) {
                (None, t) => t,
                (Some(a), b) if a == b => a,
                (Some(ColumnType::Int), ColumnType::Float)
                | (Some(ColumnType::Float), ColumnType::Int) => ColumnType::Float,
                (Some(ColumnType::Bool), ColumnType::Int)
                | (Some(ColumnType::Int), ColumnType::Bool) => ColumnType::Int,
                _ => ColumnType::Str,
            });
        }
        ty
    }

    /// Converts the first `n` buffered values to a column of the fixed type.
    fn drain(&mut self, n: usize, first_row: u64) -> Result<Column> {
        let ty = self.ty.unwrap_or(ColumnType::Str);
        let mut col = Column::empty(ty);
        for (k, v) in self.values.drain(..n).enumerate() {
            let mismatch = |v: &Val| Error::SqlColumn {
                column: self.name.clone(),
                problem: format!(
                    "is {ty} in earlier rows but row {} holds a {} ({}); CAST it in the SQL so \
                     every row has one type",
                    first_row + k as u64,
                    v.kind(),
                    v.to_json()
                ),
            };
            match (&mut col, v) {
                (Column::Int(c), Val::Null) => c.push(None),
                (Column::Float(c), Val::Null) => c.push(None),
                (Column::Bool(c), Val::Null) => c.push(None),
                (Column::Str(c), Val::Null) => c.push(None),
                (Column::Int(c), Val::Int(i)) => c.push(Some(i)),
                (Column::Int(c), Val::Bool(b)) => c.push(Some(i64::from(b))),
                (Column::Float(c), Val::Float(f)) => c.push(Some(f)),
                (Column::Float(c), Val::Int(i)) => c.push(Some(i as f64)),
                (Column::Bool(c), Val::Bool(b)) => c.push(Some(b)),
                (Column::Bool(c), Val::Int(i @ (0 | 1))) => c.push(Some(i == 1)),
                (Column::Str(c), Val::Str(s)) => c.push(Some(s)),
                (Column::Str(c), Val::Int(i)) => c.push(Some(i.to_string())),
                (Column::Str(c), Val::Float(f)) => c.push(Some(f.to_string())),
                (Column::Str(c), Val::Bool(b)) => c.push(Some(b.to_string())),
                (_, other) => return Err(mismatch(&other)),
            }
        }
        Ok(col)
    }
}

/// Buffers rows and emits typed batches.
struct Batcher {
    columns: Vec<ColumnBuf>,
    batch_rows: usize,
    locked: bool,
    buffered: usize,
    emitted: u64,
}

impl Batcher {
    fn new(row: &AnyRow, batch_rows: usize) -> Result<Batcher> {
        let mut columns = Vec::with_capacity(row.columns().len());
        for col in row.columns() {
            let kind = col.type_info().kind();
            if kind == AnyTypeInfoKind::Blob {
                return Err(blob_error(col.name()));
            }
            columns.push(ColumnBuf {
                name: col.name().to_string(),
                ty: kind_type(kind),
                values: Vec::with_capacity(batch_rows),
            });
        }
        Ok(Batcher {
            columns,
            batch_rows,
            locked: false,
            buffered: 0,
            emitted: 0,
        })
    }

    fn push(&mut self, row: &AnyRow, url: &str) -> Result<()> {
        for (i, col) in self.columns.iter_mut().enumerate() {
            let v = value_at(row, i, &col.name).map_err(|e| match e {
                Ok(sqlx) => query_error(url, sqlx),
                Err(ours) => ours,
            })?;
            col.values.push(v);
        }
        self.buffered += 1;
        Ok(())
    }

    /// Fixes the types still unknown: from the buffered values, or string when `force`.
    /// Returns whether every column has a type.
    fn settle(&mut self, force: bool) -> bool {
        if self.locked {
            return true;
        }
        for col in &mut self.columns {
            if col.ty.is_none() {
                col.ty = col.infer();
            }
        }
        let all = self.columns.iter().all(|c| c.ty.is_some());
        if all || force {
            for col in &mut self.columns {
                col.ty.get_or_insert(ColumnType::Str);
            }
            self.locked = true;
        }
        self.locked
    }

    /// Emits full batches (all buffered rows when `last`).
    fn flush(&mut self, last: bool, sink: &mut impl FnMut(Table) -> Result<()>) -> Result<()> {
        if self.buffered < self.batch_rows && !last {
            return Ok(());
        }
        let force = last || self.buffered >= self.batch_rows * TYPE_LOOKAHEAD_BATCHES;
        if !self.settle(force) {
            return Ok(());
        }
        while self.buffered >= self.batch_rows || (last && self.buffered > 0) {
            let n = self.buffered.min(self.batch_rows);
            let first_row = self.emitted + 1;
            let mut fields = Vec::with_capacity(self.columns.len());
            for col in &mut self.columns {
                fields.push(Field {
                    name: col.name.clone(),
                    data: col.drain(n, first_row)?,
                });
            }
            self.buffered -= n;
            self.emitted += n as u64;
            sink(Table::new(fields)?)?;
        }
        Ok(())
    }

    fn summary(&self) -> Vec<(String, ColumnType)> {
        self.columns
            .iter()
            .map(|c| (c.name.clone(), c.ty.unwrap_or(ColumnType::Str)))
            .collect()
    }
}

/// Runs `sql` with `binds` on `conn_url` and hands the rows to `sink` as tables of
/// `batch_rows` rows (the last may be shorter). Rows stream from the database, so memory
/// stays at a few batches whatever the result's size. The sink runs on the calling task:
/// keep it to quick, local work (such as [`crate::TableWriter::write`]).
///
/// An empty result calls the sink never and returns `rows: 0` (with the columns when the
/// database can describe the statement); whether that is an error is the caller's call.
pub async fn query_to<F>(
    conn_url: &str,
    sql: &str,
    binds: &[Value],
    mut sink: F,
    batch_rows: usize,
) -> Result<QuerySummary>
where
    F: FnMut(Table) -> Result<()>,
{
    let batch_rows = batch_rows.max(1);
    let query = bind_all(sql, binds)?;
    let mut conn = connect(conn_url).await?;
    let mut batcher: Option<Batcher> = None;
    {
        let mut rows = query.fetch(&mut conn);
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(|e| query_error(conn_url, e))?
        {
            let b = match &mut batcher {
                Some(b) => b,
                None => batcher.insert(Batcher::new(&row, batch_rows)?),
            };
            b.push(&row, conn_url)?;
            b.flush(false, &mut sink)?;
        }
    }
    let summary = match &mut batcher {
        Some(b) => {
            b.flush(true, &mut sink)?;
            QuerySummary {
                rows: b.emitted,
                columns: b.summary(),
            }
        }
        None => QuerySummary {
            rows: 0,
            columns: describe_columns(&mut conn, sql).await,
        },
    };
    if let Err(e) = conn.close().await {
        tracing::debug!(url = %mask_url(conn_url), error = %e, "closing the connection failed");
    }
    Ok(summary)
}

/// The statement's columns as the database describes them, or none if it can't.
async fn describe_columns(conn: &mut AnyConnection, sql: &str) -> Vec<(String, ColumnType)> {
    match conn.prepare(sql).await {
        Ok(stmt) => stmt
            .columns()
            .iter()
            .map(|c| {
                let ty = kind_type(c.type_info().kind()).unwrap_or(ColumnType::Str);
                (c.name().to_string(), ty)
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The first column of the first row, as JSON (`None` when there is no row or column).
pub async fn query_first_value(
    conn_url: &str,
    sql: &str,
    binds: &[Value],
) -> Result<Option<Value>> {
    let query = bind_all(sql, binds)?;
    let mut conn = connect(conn_url).await?;
    let first = {
        let mut rows = query.fetch(&mut conn);
        match rows
            .try_next()
            .await
            .map_err(|e| query_error(conn_url, e))?
        {
            None => None,
            Some(row) if row.columns().is_empty() => None,
            Some(row) => {
                let name = row.columns()[0].name().to_string();
                let v = value_at(&row, 0, &name).map_err(|e| match e {
                    Ok(sqlx) => query_error(conn_url, sqlx),
                    Err(ours) => ours,
                })?;
                Some(v.to_json())
            }
        }
    };
    let _ = conn.close().await;
    Ok(first)
}

/// Whether the query's first value is truthy, for `wait_for_query`: false when there is
/// no row, or the value is NULL, `false`, zero, an empty string, or one of the strings
/// `0`, `false`, `f`, `no`, `n`, `off` (any case); true otherwise.
pub async fn query_is_truthy(conn_url: &str, sql: &str, binds: &[Value]) -> Result<bool> {
    Ok(query_first_value(conn_url, sql, binds)
        .await?
        .is_some_and(|v| is_truthy(&v)))
}

pub fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "false" | "f" | "no" | "n" | "off"
        ),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_passwords_in_every_form() {
        assert_eq!(
            mask_url("postgres://app:s3cret@db.example:5432/prod"),
            "postgres://app:***@db.example:5432/prod"
        );
        assert_eq!(
            mask_url("mysql://u@h/db?password=s3cret&ssl-mode=required"),
            "mysql://u@h/db?password=***&ssl-mode=required"
        );
        assert_eq!(mask_url("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
        assert_eq!(
            mask_url("postgres://u:p%40ss w@h/db"),
            "postgres://u:***@h/db"
        );
    }

    #[test]
    fn dialects_and_bad_schemes() {
        assert_eq!(Dialect::of("sqlite::memory:").unwrap(), Dialect::Sqlite);
        assert_eq!(Dialect::of("postgresql://h/db").unwrap(), Dialect::Postgres);
        assert_eq!(Dialect::of("mysql://u:p@h/db").unwrap(), Dialect::Mysql);
        let err = Dialect::of("oracle://u:pw@h/db").unwrap_err().to_string();
        assert!(
            err.contains("unsupported scheme 'oracle'") && err.contains("oracle://u:***@h/db"),
            "{err}"
        );
        assert!(!err.contains("pw"), "{err}");
    }

    #[test]
    fn binds_reject_what_no_database_takes() {
        let err = bind_all("select ?", &[json!([1, 2])])
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bind parameter 1") && err.contains("arrays and objects"),
            "{err}"
        );
        let err = bind_all("select ?, ?", &[json!(1), json!(u64::MAX)])
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bind parameter 2") && err.contains("too large"),
            "{err}"
        );
    }

    #[test]
    fn truthiness() {
        for v in [
            json!(null),
            json!(0),
            json!(0.0),
            json!(false),
            json!(""),
            json!("No"),
            json!("0"),
        ] {
            assert!(!is_truthy(&v), "{v}");
        }
        for v in [
            json!(1),
            json!(-2.5),
            json!(true),
            json!("yes"),
            json!("ready"),
        ] {
            assert!(is_truthy(&v), "{v}");
        }
    }
}
