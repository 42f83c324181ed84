//! JSON Lines: one object per line, keys in column order.
//!
//! Writing: missing values and non-finite floats (which JSON can't hold) are `null`;
//! floats always carry a decimal point or exponent (`3.0`), so they read back as floats.
//!
//! Reading makes two passes over a local file: the first collects the columns (in the
//! order keys first appear) and their types over every line (integers, numbers with a
//! fraction or exponent, booleans, strings; an int column that also holds floats is a
//! float column), the second parses batches. A key absent from a line is a missing value;
//! blank lines are skipped. Nested arrays or objects, and columns mixing kinds (numbers
//! and strings), are errors naming the column and line.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use cambium_ml::table::{Column, ColumnType, Field, Table};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

pub struct JsonlWriter<W: Write> {
    out: W,
    keys: Option<Vec<String>>,
}

impl<W: Write> JsonlWriter<W> {
    pub fn new(out: W) -> Self {
        JsonlWriter { out, keys: None }
    }

    pub fn write(&mut self, table: &Table) -> std::io::Result<()> {
        let keys = self.keys.get_or_insert_with(|| {
            table
                .names()
                .map(|n| serde_json::to_string(n).unwrap_or_else(|_| format!("\"{n}\"")))
                .collect()
        });
        let fields = table.fields();
        for row in 0..table.rows() {
            self.out.write_all(b"{")?;
            for (i, (key, field)) in keys.iter().zip(fields).enumerate() {
                if i > 0 {
                    self.out.write_all(b",")?;
                }
                self.out.write_all(key.as_bytes())?;
                self.out.write_all(b":")?;
                match &field.data {
                    Column::Int(v) => match v[row] {
                        Some(x) => write!(self.out, "{x}")?,
                        None => self.out.write_all(b"null")?,
                    },
                    Column::Float(v) => match v[row] {
                        // serde_json prints the shortest round-trip form, with ".0".
                        Some(x) if x.is_finite() => serde_json::to_writer(&mut self.out, &x)?,
                        _ => self.out.write_all(b"null")?,
                    },
                    Column::Bool(v) => match v[row] {
                        Some(x) => write!(self.out, "{x}")?,
                        None => self.out.write_all(b"null")?,
                    },
                    Column::Str(v) => match &v[row] {
                        Some(s) => serde_json::to_writer(&mut self.out, s)?,
                        None => self.out.write_all(b"null")?,
                    },
                }
            }
            self.out.write_all(b"}\n")?;
        }
        Ok(())
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// A JSON object with its keys in the order they were written.
struct OrderedRow(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedRow;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object (one per line)")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<OrderedRow, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    out.push(entry);
                }
                Ok(OrderedRow(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Unknown,
    Int,
    Float,
    Bool,
    Str,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Unknown => "nulls",
            Kind::Int | Kind::Float => "numbers",
            Kind::Bool => "booleans",
            Kind::Str => "strings",
        }
    }

    fn column_type(self) -> ColumnType {
        match self {
            Kind::Int => ColumnType::Int,
            Kind::Float => ColumnType::Float,
            Kind::Bool => ColumnType::Bool,
            Kind::Unknown | Kind::Str => ColumnType::Str,
        }
    }
}

struct Lines {
    input: BufReader<File>,
    file: String,
    line: u64,
    buf: String,
}

impl Lines {
    fn error(&self, message: impl Into<String>) -> Error {
        Error::Parse {
            format: "JSONL",
            file: self.file.clone(),
            line: self.line,
            message: message.into(),
        }
    }

    /// The next non-blank line's object.
    fn next_row(&mut self) -> Result<Option<Vec<(String, Value)>>> {
        loop {
            self.buf.clear();
            let n = self
                .input
                .read_line(&mut self.buf)
                .map_err(|e| self.error(e.to_string()))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            if self.buf.trim().is_empty() {
                continue;
            }
            let row: OrderedRow =
                serde_json::from_str(&self.buf).map_err(|e| self.error(e.to_string()))?;
            return Ok(Some(row.0));
        }
    }
}

fn kind_of(column: &str, value: &Value, lines: &Lines) -> Result<Kind> {
    Ok(match value {
        Value::Null => Kind::Unknown,
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) if n.is_i64() => Kind::Int,
        Value::Number(_) => Kind::Float,
        Value::String(_) => Kind::Str,
        Value::Array(_) | Value::Object(_) => {
            return Err(lines.error(format!(
            "column '{column}' holds a nested {}; tables hold only numbers, booleans and strings",
            if value.is_array() { "array" } else { "object" }
        )))
        }
    })
}

/// Reads a local JSONL file in batches of typed tables.
pub struct JsonlReader {
    lines: Lines,
    names: Vec<String>,
    index: HashMap<String, usize>,
    types: Vec<ColumnType>,
    batch_rows: usize,
    done: bool,
}

impl JsonlReader {
    /// Collects the columns and their types (a full pass over the file).
    pub fn open(path: &Path, display: String, batch_rows: usize) -> Result<JsonlReader> {
        let io = |source| Error::Io {
            action: "read",
            path: PathBuf::from(path),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let mut lines = Lines {
            input: BufReader::new(file.try_clone().map_err(io)?),
            file: display.clone(),
            line: 0,
            buf: String::new(),
        };
        let mut names: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut kinds: Vec<(Kind, u64)> = Vec::new();
        while let Some(row) = lines.next_row()? {
            for (key, value) in row {
                let kind = kind_of(&key, &value, &lines)?;
                let i = *index.entry(key.clone()).or_insert_with(|| {
                    names.push(key.clone());
                    kinds.push((Kind::Unknown, 0));
                    names.len() - 1
                });
                let (seen, seen_line) = kinds[i];
                let joined = match (seen, kind) {
                    (a, Kind::Unknown) => a,
                    (Kind::Unknown, b) => b,
                    (a, b) if a == b => a,
                    (Kind::Int, Kind::Float) | (Kind::Float, Kind::Int) => Kind::Float,
                    (a, b) => {
                        return Err(lines.error(format!(
                            "column '{key}' holds {} here but {} at line {seen_line}; \
                             every value of a column needs one type",
                            b.name(),
                            a.name()
                        )))
                    }
                };
                if joined != seen {
                    kinds[i] = (joined, lines.line);
                }
            }
        }
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        Ok(JsonlReader {
            lines: Lines {
                input: BufReader::new(file),
                file: display,
                line: 0,
                buf: String::new(),
            },
            names,
            index,
            types: kinds.into_iter().map(|(k, _)| k.column_type()).collect(),
            batch_rows: batch_rows.max(1),
            done: false,
        })
    }

    pub fn columns(&self) -> Vec<(String, ColumnType)> {
        self.names
            .iter()
            .cloned()
            .zip(self.types.iter().copied())
            .collect()
    }

    fn next_batch(&mut self) -> Result<Option<Table>> {
        if self.done {
            return Ok(None);
        }
        let mut columns: Vec<Column> = self.types.iter().map(|t| Column::empty(*t)).collect();
        let mut rows = 0;
        while rows < self.batch_rows {
            let Some(row) = self.lines.next_row()? else {
                self.done = true;
                break;
            };
            for (key, value) in row {
                let i = *self.index.get(&key).ok_or_else(|| {
                    self.lines.error(format!(
                        "column '{key}' is new; the file changed while it was read"
                    ))
                })?;
                if columns[i].len() > rows {
                    return Err(self
                        .lines
                        .error(format!("key '{key}' appears twice in one object")));
                }
                push(&mut columns[i], value).map_err(|v| {
                    self.lines.error(format!(
                        "column '{key}': {v} is not {}; the file changed while it was read",
                        self.types[i]
                    ))
                })?;
            }
            rows += 1;
            for col in &mut columns {
                pad(col, rows);
            }
        }
        if rows == 0 && self.done {
            return Ok(None);
        }
        let fields = self
            .names
            .iter()
            .cloned()
            .zip(columns)
            .map(|(name, data)| Field { name, data })
            .collect();
        Ok(Some(Table::new(fields)?))
    }
}

/// Adds missing values until the column has `len` rows.
fn pad(col: &mut Column, len: usize) {
    match col {
        Column::Int(v) => v.resize(len.max(v.len()), None),
        Column::Float(v) => v.resize(len.max(v.len()), None),
        Column::Bool(v) => v.resize(len.max(v.len()), None),
        Column::Str(v) => v.resize(len.max(v.len()), None),
    }
}

fn push(col: &mut Column, value: Value) -> Result<(), Value> {
    match (col, value) {
        (Column::Int(v), Value::Null) => v.push(None),
        (Column::Float(v), Value::Null) => v.push(None),
        (Column::Bool(v), Value::Null) => v.push(None),
        (Column::Str(v), Value::Null) => v.push(None),
        (Column::Int(v), Value::Number(n)) if n.is_i64() => v.push(n.as_i64()),
        (Column::Float(v), Value::Number(n)) => v.push(n.as_f64()),
        (Column::Bool(v), Value::Bool(b)) => v.push(Some(b)),
        (Column::Str(v), Value::String(s)) => v.push(Some(s)),
        (_, other) => return Err(other),
    }
    Ok(())
}

impl Iterator for JsonlReader {
    type Item = Result<Table>;

    fn next(&mut self) -> Option<Result<Table>> {
        match self.next_batch() {
            Ok(Some(t)) => Some(Ok(t)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<Table>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, text).unwrap();
        JsonlReader::open(&path, "t.jsonl".into(), 2)?.collect()
    }

    #[test]
    fn keys_in_first_seen_order_with_gaps_and_widening() {
        let batches =
            read("{\"b\":1,\"a\":\"x\"}\n\n{\"a\":null,\"c\":true}\n{\"b\":2.5}\n").unwrap();
        assert_eq!(batches.len(), 2);
        let t = &batches[0];
        assert_eq!(t.names().collect::<Vec<_>>(), ["b", "a", "c"]);
        assert_eq!(t.column("b"), Some(&Column::Float(vec![Some(1.0), None])));
        assert_eq!(
            t.column("a"),
            Some(&Column::Str(vec![Some("x".into()), None]))
        );
        assert_eq!(t.column("c"), Some(&Column::Bool(vec![None, Some(true)])));
        assert_eq!(
            batches[1].column("b"),
            Some(&Column::Float(vec![Some(2.5)]))
        );
    }

    #[test]
    fn mixed_and_nested_values_name_the_column_and_line() {
        let err = read("{\"a\":1}\n{\"a\":\"x\"}\n").unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("column 'a' holds strings"),
            "{err}"
        );
        let err = read("{\"a\":[1]}\n").unwrap_err().to_string();
        assert!(err.contains("nested array"), "{err}");
        let err = read("{\"a\":1,\"a\":2}\n").unwrap_err().to_string();
        assert!(err.contains("key 'a' appears twice"), "{err}");
        let err = read("[1,2]\n").unwrap_err().to_string();
        assert!(
            err.contains("line 1") && err.contains("JSON object"),
            "{err}"
        );
    }
}
