//! Parsing `cambium.toml`, with errors that give the line and say what to fix.

use std::path::Path;

use crate::error::{ConfigError, Result};
use crate::model::Config;
use crate::suggest::did_you_mean;

/// Parses the file's text into a [`Config`] (without environment or default stores).
pub(crate) fn parse(path: &Path, text: &str) -> Result<Config> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = match e.span() {
            Some(span) => {
                let (l, c) = line_col(text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        let section = e.span().and_then(|s| section_at(text, s.start));
        ConfigError::File {
            path: path.to_path_buf(),
            line,
            column,
            message: explain(e.message().trim(), section.as_deref()),
        }
    })
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The `[table]` header in force at a byte offset, if any (a header does not count for the
/// offsets on its own line: a bad header name is a top-level key).
fn section_at(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..offset).unwrap_or(text);
    let before = &before[..before.rfind('\n').map_or(0, |i| i + 1)];
    before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| {
            let end = l.find(']').map_or(l.len(), |i| i + 1);
            l[..end].to_string()
        })
}

/// Rewrites serde's "unknown field" message into one that names the key, the table and the
/// closest known key; other messages pass through.
fn explain(message: &str, section: Option<&str>) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return with_type_hint(message);
    };
    let Some((key, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let place = section
        .map(|s| format!(" in {s}"))
        .unwrap_or_else(|| " at the top level".into());
    let hint = match did_you_mean(key, &known) {
        Some(k) => format!(" (did you mean '{k}'?)"),
        None => String::new(),
    };
    format!(
        "unknown key '{key}'{place}{hint}; known keys: {}",
        known.join(", ")
    )
}

/// Adds what to write to serde's type errors.
fn with_type_hint(message: &str) -> String {
    let hint = if message.ends_with("expected u32") {
        "; write a whole number such as 8"
    } else if message.ends_with("expected a boolean") {
        "; write true or false (without quotes)"
    } else if message.ends_with("expected a string") {
        "; write the value in double quotes"
    } else {
        ""
    };
    format!("{message}{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        let text = "a = 1\n[scheduler]\nxyz = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 18), (3, 1));
        assert_eq!(section_at(text, 18).as_deref(), Some("[scheduler]"));
        assert_eq!(section_at(text, 2), None);
        // Inside the header line itself: not in that section.
        assert_eq!(section_at(text, 7), None);
        assert_eq!(section_at(text, 20).as_deref(), Some("[scheduler]"));
    }

    #[test]
    fn explains_unknown_fields() {
        let m = explain(
            "unknown field `paralelism`, expected one of `parallelism`, `heartbeat`",
            Some("[scheduler]"),
        );
        assert_eq!(
            m,
            "unknown key 'paralelism' in [scheduler] (did you mean 'parallelism'?); known keys: parallelism, heartbeat"
        );
        assert_eq!(explain("invalid type", None), "invalid type");
        assert_eq!(
            explain("invalid value: integer `-1`, expected u32", None),
            "invalid value: integer `-1`, expected u32; write a whole number such as 8"
        );
    }
}
