//! Conversions between record fields and stored column values: times as microseconds since
//! the Unix epoch, JSON as text, enums as their names, unsigned counts as `BIGINT`; and the
//! numbered `$N` parameters of queries built at run time.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Row};
use std::str::FromStr;

/// A time as stored (microseconds since the Unix epoch; finer parts are dropped).
pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// An optional time as stored.
pub(crate) fn opt_micros(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(micros)
}

/// A JSON value as stored text.
pub(crate) fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Corrupt(format!("cannot serialize: {e}")))
}

pub(crate) fn int(row: &AnyRow, col: &str) -> Result<i64> {
    Ok(row.try_get::<i64, _>(col)?)
}

pub(crate) fn opt_int(row: &AnyRow, col: &str) -> Result<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}

pub(crate) fn text(row: &AnyRow, col: &str) -> Result<String> {
    Ok(row.try_get::<String, _>(col)?)
}

pub(crate) fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}

pub(crate) fn flag(row: &AnyRow, col: &str) -> Result<bool> {
    Ok(int(row, col)? != 0)
}

fn narrow<T: TryFrom<i64>>(value: i64, col: &str) -> Result<T> {
    T::try_from(value).map_err(|_| Error::Corrupt(format!("{col} = {value} is out of range")))
}

pub(crate) fn u32_col(row: &AnyRow, col: &str) -> Result<u32> {
    narrow(int(row, col)?, col)
}

pub(crate) fn i32_col(row: &AnyRow, col: &str) -> Result<i32> {
    narrow(int(row, col)?, col)
}

pub(crate) fn opt_i32_col(row: &AnyRow, col: &str) -> Result<Option<i32>> {
    opt_int(row, col)?.map(|v| narrow(v, col)).transpose()
}

pub(crate) fn to_time(value: i64, col: &str) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| Error::Corrupt(format!("{col} = {value} is not a time")))
}

pub(crate) fn time(row: &AnyRow, col: &str) -> Result<DateTime<Utc>> {
    to_time(int(row, col)?, col)
}

pub(crate) fn opt_time(row: &AnyRow, col: &str) -> Result<Option<DateTime<Utc>>> {
    opt_int(row, col)?.map(|v| to_time(v, col)).transpose()
}

/// An enum from its stored name (`TaskState`, `RunState`, `RunType`).
pub(crate) fn parse_name<T: FromStr<Err = String>>(stored: &str, col: &str) -> Result<T> {
    stored
        .parse()
        .map_err(|e: String| Error::Corrupt(format!("{col}: {e}")))
}

/// An enum stored as its name (`TaskState`, `RunState`, `RunType`).
pub(crate) fn name<T: FromStr<Err = String>>(row: &AnyRow, col: &str) -> Result<T> {
    parse_name(&text(row, col)?, col)
}

/// A JSON document from its stored text.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(raw: &str, col: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| Error::Corrupt(format!("{col} is not valid JSON: {e}")))
}

/// A JSON document stored as text.
pub(crate) fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> Result<T> {
    parse_json(&text(row, col)?, col)
}

/// An optional JSON value stored as text (SQL NULL is `None`).
pub(crate) fn opt_json(row: &AnyRow, col: &str) -> Result<Option<Value>> {
    opt_text(row, col)?
        .map(|raw| parse_json(&raw, col))
        .transpose()
}

/// A JSON object stored as text.
pub(crate) fn json_map(row: &AnyRow, col: &str) -> Result<Map<String, Value>> {
    json(row, col)
}

/// `$first, $first+1, ...` — `count` numbered placeholders.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value bound into a query built at run time.
pub(crate) enum Param {
    Int(i64),
    Text(String),
}

pub(crate) fn bind_params<'q>(
    mut query: sqlx::query::Query<'q, Any, AnyArguments<'q>>,
    params: &'q [Param],
) -> sqlx::query::Query<'q, Any, AnyArguments<'q>> {
    for p in params {
        query = match p {
            Param::Int(v) => query.bind(*v),
            Param::Text(v) => query.bind(v.as_str()),
        };
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_from_first() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(1, 0), "");
    }

    #[test]
    fn micros_round_trip() {
        let t = DateTime::from_timestamp_micros(1_790_000_000_123_456).expect("valid");
        assert_eq!(to_time(micros(t), "t").expect("valid"), t);
        assert!(to_time(i64::MAX, "t").is_err());
    }
}
