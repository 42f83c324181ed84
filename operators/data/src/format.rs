//! The file formats a Dataset can be stored in.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// How a Dataset's rows are laid out in its object.
///
/// - `parquet`: typed, compressed (Snappy), columnar; the default and the only format that
///   keeps every column's type exactly. Reading supports Snappy-compressed and
///   uncompressed files.
/// - `csv`: a header line, then one line per row, RFC 4180 quoting. Missing values are
///   empty fields; an empty string is written `""`. CSV carries no types: they are
///   inferred on reading, so a string column whose values all look like numbers reads
///   back as numbers.
/// - `jsonl`: one JSON object per line. Missing values (and non-finite floats, which JSON
///   can't hold) are `null`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Parquet,
    Csv,
    Jsonl,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Parquet, Format::Csv, Format::Jsonl];

    pub fn name(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        self.name()
    }

    /// The format a key's extension suggests (`.parquet`/`.pq`, `.csv`, `.jsonl`/`.ndjson`).
    pub fn from_key(key: &str) -> Option<Format> {
        let ext = key.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "parquet" | "pq" => Some(Format::Parquet),
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::UnknownFormat(s.to_string()))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_lists_the_valid_ones() {
        assert_eq!("Parquet".parse::<Format>().unwrap(), Format::Parquet);
        assert_eq!("jsonl".parse::<Format>().unwrap(), Format::Jsonl);
        assert_eq!(
            "xlsx".parse::<Format>().unwrap_err().to_string(),
            "unknown format 'xlsx'; valid formats: parquet, csv, jsonl"
        );
        assert_eq!(Format::from_key("a/b.NDJSON"), Some(Format::Jsonl));
        assert_eq!(Format::from_key("a/b"), None);
    }
}
