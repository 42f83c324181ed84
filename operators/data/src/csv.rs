//! CSV by hand: RFC 4180 quoting, a header line, `\n` line ends (`\r\n` accepted on
//! reading).
//!
//! Writing: a field is quoted when it holds a comma, a quote, a line break, or is an empty
//! string (`""`), so an empty string and a missing value (an empty field) stay apart.
//! Floats print in Rust's round-trip form with a decimal point (`3.0`, `1e300`, `NaN`,
//! `inf`), so a float column reads back as floats.
//!
//! Reading makes two passes over a local file: the first infers each column's type over
//! every row (int, else float, else bool, else string; empty fields are missing and don't
//! vote), the second parses batches. A column with no values at all is a string column.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use cambium_ml::table::{Column, ColumnType, Field, Table};

use crate::error::{Error, Result};

pub struct CsvWriter<W: Write> {
    out: W,
    wrote_header: bool,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(out: W) -> Self {
        CsvWriter {
            out,
            wrote_header: false,
        }
    }

    pub fn write(&mut self, table: &Table) -> std::io::Result<()> {
        if !self.wrote_header {
            let names: Vec<&str> = table.names().collect();
            if !names.is_empty() {
                for (i, name) in names.iter().enumerate() {
                    if i > 0 {
                        self.out.write_all(b",")?;
                    }
                    write_str(&mut self.out, name)?;
                }
                self.out.write_all(b"\n")?;
            }
            self.wrote_header = true;
        }
        let fields = table.fields();
        if fields.is_empty() {
            return Ok(());
        }
        for row in 0..table.rows() {
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    self.out.write_all(b",")?;
                }
                match &field.data {
                    Column::Int(v) => {
                        if let Some(x) = v[row] {
                            write!(self.out, "{x}")?
                        }
                    }
                    Column::Float(v) => {
                        if let Some(x) = v[row] {
                            write!(self.out, "{x:?}")?
                        }
                    }
                    Column::Bool(v) => {
                        if let Some(x) = v[row] {
                            write!(self.out, "{x}")?
                        }
                    }
                    Column::Str(v) => {
                        if let Some(s) = &v[row] {
                            write_str(&mut self.out, s)?
                        }
                    }
                }
            }
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

fn write_str(out: &mut impl Write, s: &str) -> std::io::Result<()> {
    if s.is_empty() || s.contains([',', '"', '\n', '\r']) {
        out.write_all(b"\"")?;
        out.write_all(s.replace('"', "\"\"").as_bytes())?;
        out.write_all(b"\"")
    } else {
        out.write_all(s.as_bytes())
    }
}

/// One field of a record: its text, and whether it was quoted (`""` is an empty string,
/// an unquoted empty field is missing).
#[derive(Debug, Clone, PartialEq)]
struct RawField {
    text: String,
    quoted: bool,
}

impl RawField {
    fn missing(&self) -> bool {
        self.text.is_empty() && !self.quoted
    }
}

/// Reads records from a stream, keeping track of line numbers for errors.
struct Records<R: BufRead> {
    input: R,
    file: String,
    /// The line the next record starts on (1-based).
    line: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> Records<R> {
    fn new(input: R, file: String) -> Self {
        Records {
            input,
            file,
            line: 1,
            buf: Vec::new(),
        }
    }

    fn error(&self, line: u64, message: impl Into<String>) -> Error {
        Error::Parse {
            format: "CSV",
            file: self.file.clone(),
            line,
            message: message.into(),
        }
    }

    /// The next record and the line it started on, or `None` at the end.
    fn next_record(&mut self) -> Result<Option<(u64, Vec<RawField>)>> {
        #[derive(PartialEq)]
        enum State {
            Start,
            Unquoted,
            Quoted,
            QuoteInQuoted,
        }
        let start = self.line;
        let mut fields = Vec::new();
        let mut field: Vec<u8> = Vec::new();
        let mut quoted = false;
        let mut state = State::Start;
        let mut read_any = false;
        loop {
            self.buf.clear();
            let n = self
                .input
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| self.error(self.line, e.to_string()))?;
            if n == 0 {
                // End of input.
                if state == State::Quoted {
                    return Err(self.error(start, "a quoted field is never closed"));
                }
                if !read_any {
                    return Ok(None);
                }
                fields.push(self.finish_field(start, &mut field, quoted)?);
                return Ok(Some((start, fields)));
            }
            read_any = true;
            self.line += 1;
            let line = std::mem::take(&mut self.buf);
            for &b in &line {
                match state {
                    State::Start => match b {
                        b'"' => {
                            quoted = true;
                            state = State::Quoted;
                        }
                        b',' => fields.push(self.finish_field(start, &mut field, false)?),
                        b'\n' => {
                            strip_cr(&mut field);
                            fields.push(self.finish_field(start, &mut field, false)?);
                            self.buf = line;
                            return Ok(Some((start, fields)));
                        }
                        _ => {
                            field.push(b);
                            state = State::Unquoted;
                        }
                    },
                    State::Unquoted => match b {
                        b',' => {
                            fields.push(self.finish_field(start, &mut field, false)?);
                            state = State::Start;
                        }
                        b'\n' => {
                            strip_cr(&mut field);
                            fields.push(self.finish_field(start, &mut field, false)?);
                            self.buf = line;
                            return Ok(Some((start, fields)));
                        }
                        _ => field.push(b),
                    },
                    State::Quoted => match b {
                        b'"' => state = State::QuoteInQuoted,
                        _ => field.push(b),
                    },
                    State::QuoteInQuoted => match b {
                        b'"' => {
                            field.push(b'"');
                            state = State::Quoted;
                        }
                        b',' => {
                            fields.push(self.finish_field(start, &mut field, true)?);
                            quoted = false;
                            state = State::Start;
                        }
                        b'\n' => {
                            fields.push(self.finish_field(start, &mut field, true)?);
                            self.buf = line;
                            return Ok(Some((start, fields)));
                        }
                        b'\r' => {}
                        other => {
                            return Err(self.error(
                                self.line - 1,
                                format!(
                                    "unexpected '{}' after a closing quote; quotes inside a quoted field are doubled (\"\")",
                                    char::from(other)
                                ),
                            ))
                        }
                    },
                }
            }
            self.buf = line;
        }
    }

    fn finish_field(&self, line: u64, field: &mut Vec<u8>, quoted: bool) -> Result<RawField> {
        let bytes = std::mem::take(field);
        let text =
            String::from_utf8(bytes).map_err(|_| self.error(line, "the text is not UTF-8"))?;
        Ok(RawField { text, quoted })
    }
}

fn strip_cr(field: &mut Vec<u8>) {
    if field.last() == Some(&b'\r') {
        field.pop();
    }
}

/// What a column's values so far allow it to be.
#[derive(Debug, Clone, Copy)]
struct Votes {
    int: bool,
    float: bool,
    boolean: bool,
    any: bool,
}

impl Votes {
    fn new() -> Self {
        Votes {
            int: true,
            float: true,
            boolean: true,
            any: false,
        }
    }

    fn see(&mut self, f: &RawField) {
        if f.missing() {
            return;
        }
        self.any = true;
        let t = f.text.as_str();
        if self.int && t.parse::<i64>().is_err() {
            self.int = false;
        }
        if self.float && parse_float(t).is_none() {
            self.float = false;
        }
        if self.boolean && parse_bool(t).is_none() {
            self.boolean = false;
        }
    }

    fn column_type(self) -> ColumnType {
        match self {
            Votes { any: false, .. } => ColumnType::Str,
            Votes { int: true, .. } => ColumnType::Int,
            Votes { float: true, .. } => ColumnType::Float,
            Votes { boolean: true, .. } => ColumnType::Bool,
            _ => ColumnType::Str,
        }
    }
}

fn parse_float(t: &str) -> Option<f64> {
    // Rust also accepts "infinity"/"nan" in any case; keep to what numbers look like.
    let first = t.bytes().next()?;
    if first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.' | b'i' | b'I' | b'N' | b'n') {
        t.parse::<f64>().ok()
    } else {
        None
    }
}

fn parse_bool(t: &str) -> Option<bool> {
    match t {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Reads a local CSV file in batches of typed tables.
pub struct CsvReader {
    records: Records<BufReader<File>>,
    names: Vec<String>,
    types: Vec<ColumnType>,
    batch_rows: usize,
    done: bool,
}

impl CsvReader {
    /// Reads the header and infers the column types (a full pass over the file).
    pub fn open(path: &Path, display: String, batch_rows: usize) -> Result<CsvReader> {
        let io = |source| Error::Io {
            action: "read",
            path: PathBuf::from(path),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let mut records = Records::new(
            BufReader::new(file.try_clone().map_err(io)?),
            display.clone(),
        );
        let names: Vec<String> = match records.next_record()? {
            None => Vec::new(),
            Some((_, header)) => header
                .into_iter()
                .enumerate()
                .map(|(i, f)| {
                    if i == 0 {
                        f.text.trim_start_matches('\u{feff}').to_string()
                    } else {
                        f.text
                    }
                })
                .collect(),
        };
        let mut votes = vec![Votes::new(); names.len()];
        while let Some((line, record)) = records.next_record()? {
            let Some(record) = check_width(&records, line, record, names.len())? else {
                continue;
            };
            for (v, f) in votes.iter_mut().zip(&record) {
                v.see(f);
            }
        }
        let types = votes.into_iter().map(Votes::column_type).collect();
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut records = Records::new(BufReader::new(file), display);
        records.next_record()?; // the header again
        Ok(CsvReader {
            records,
            names,
            types,
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
            let Some((line, record)) = self.records.next_record()? else {
                self.done = true;
                break;
            };
            let Some(record) = check_width(&self.records, line, record, self.names.len())? else {
                continue;
            };
            for (i, (col, f)) in columns.iter_mut().zip(record).enumerate() {
                push(col, f).map_err(|value| {
                    self.records.error(
                        line,
                        format!(
                            "column '{}': '{value}' is not {}; the file changed while it was read",
                            self.names[i], self.types[i]
                        ),
                    )
                })?;
            }
            rows += 1;
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

/// Checks a data record has as many fields as the header. A blank line is a row of one
/// missing value in a one-column file and skipped otherwise.
fn check_width<R: BufRead>(
    records: &Records<R>,
    line: u64,
    record: Vec<RawField>,
    width: usize,
) -> Result<Option<Vec<RawField>>> {
    if record.len() == width {
        return Ok(Some(record));
    }
    if record.len() == 1 && record[0].missing() {
        return Ok(None);
    }
    Err(records.error(
        line,
        format!(
            "the row has {} fields but the header has {width}",
            record.len()
        ),
    ))
}

fn push(col: &mut Column, f: RawField) -> Result<(), String> {
    let missing = f.missing();
    match col {
        Column::Int(v) => v.push(if missing {
            None
        } else {
            Some(f.text.parse().map_err(|_| f.text)?)
        }),
        Column::Float(v) => v.push(if missing {
            None
        } else {
            Some(parse_float(&f.text).ok_or(f.text)?)
        }),
        Column::Bool(v) => v.push(if missing {
            None
        } else {
            Some(parse_bool(&f.text).ok_or(f.text)?)
        }),
        Column::Str(v) => v.push(if missing { None } else { Some(f.text) }),
    }
    Ok(())
}

impl Iterator for CsvReader {
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

    fn records(text: &str) -> Vec<Vec<(String, bool)>> {
        let mut r = Records::new(text.as_bytes(), "t.csv".into());
        let mut out = Vec::new();
        while let Some((_, rec)) = r.next_record().unwrap() {
            out.push(rec.into_iter().map(|f| (f.text, f.quoted)).collect());
        }
        out
    }

    fn s(t: &str, q: bool) -> (String, bool) {
        (t.to_string(), q)
    }

    #[test]
    fn parses_quotes_line_breaks_and_crlf() {
        assert_eq!(
            records("a,b\r\n\"x,\"\"y\"\"\",\n\"multi\nline\",\"\"\nlast,1"),
            vec![
                vec![s("a", false), s("b", false)],
                vec![s("x,\"y\"", true), s("", false)],
                vec![s("multi\nline", true), s("", true)],
                vec![s("last", false), s("1", false)],
            ]
        );
        assert!(records("").is_empty());
        assert_eq!(
            records("a\n\n"),
            vec![vec![s("a", false)], vec![s("", false)]]
        );
    }

    #[test]
    fn bad_quoting_names_the_line() {
        let mut r = Records::new("a\n\"x\"y\n".as_bytes(), "t.csv".into());
        r.next_record().unwrap();
        let err = r.next_record().unwrap_err().to_string();
        assert!(
            err.contains("t.csv at line 2") && err.contains("after a closing quote"),
            "{err}"
        );
        let mut r = Records::new("a\n\"never closed\n".as_bytes(), "t.csv".into());
        r.next_record().unwrap();
        let err = r.next_record().unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("never closed"),
            "{err}"
        );
    }

    #[test]
    fn infers_int_then_float_then_bool_else_string() {
        let mut v = Votes::new();
        for t in ["1", "", "-2"] {
            v.see(&RawField {
                text: t.into(),
                quoted: false,
            });
        }
        assert_eq!(v.column_type(), ColumnType::Int);
        v.see(&RawField {
            text: "2.5".into(),
            quoted: false,
        });
        assert_eq!(v.column_type(), ColumnType::Float);
        let mut b = Votes::new();
        b.see(&RawField {
            text: "true".into(),
            quoted: false,
        });
        b.see(&RawField {
            text: "FALSE".into(),
            quoted: false,
        });
        assert_eq!(b.column_type(), ColumnType::Bool);
        b.see(&RawField {
            text: "".into(),
            quoted: true,
        });
        assert_eq!(b.column_type(), ColumnType::Str);
        assert_eq!(Votes::new().column_type(), ColumnType::Str);
        assert!(parse_float("infinity").is_some() && parse_float("nano").is_none());
    }
}
