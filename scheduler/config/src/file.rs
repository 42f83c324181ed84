//! Parsing `cambium.toml`, with errors that give the line, the key and what to fix.
//!
//! Every mistake in the file is reported at once: the text is parsed into a TOML tree, the
//! model is read from it, and each key the model refuses is noted and taken out before the
//! next attempt, until the rest reads cleanly. Only broken TOML syntax stops at the first error.

use std::path::Path;

use serde_path_to_error::Segment;

use crate::error::ConfigError;
use crate::layout::{Home, Layout};
use crate::model::Config;
use crate::suggest::did_you_mean;

/// The most mistakes looked for in one file (a bound on the loop, far above any real file).
const MAX_PROBLEMS: usize = 200;

/// Parses the file's text into a [`Config`] (without environment or default stores). The
/// configuration comes with every problem found, one [`ConfigError::File`] each; keys with a
/// problem keep their defaults. `Err` only when the text is not TOML at all.
pub(crate) fn parse(path: &Path, text: &str) -> Result<(Config, Vec<ConfigError>), ConfigError> {
    let file_error = |span: Option<std::ops::Range<usize>>, message: String| {
        let (line, column) = match span {
            Some(span) => {
                let (l, c) = line_col(text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        ConfigError::File {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    };
    let mut tree: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let section = e.span().and_then(|s| section_at(text, s.start));
        file_error(e.span(), explain(e.message().trim(), section.as_deref()))
    })?;
    // The same text parsed again keeps every key's position, for the messages.
    let positions = toml_edit::ImDocument::parse(text).ok();
    let layout = Layout::of::<Config>();
    let mut problems = Vec::new();
    loop {
        let error = match serde_path_to_error::deserialize(toml::Value::Table(tree.clone())) {
            Ok(config) => return Ok((config, problems)),
            Err(e) => e,
        };
        let mut keys: Vec<String> = error
            .path()
            .iter()
            .map_while(|segment| match segment {
                Segment::Map { key } => Some(key.clone()),
                _ => None,
            })
            .collect();
        let message = error.inner().message().trim().to_string();
        let unknown_key = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(key, _)| key.to_string());
        let unknown = unknown_key.is_some();
        if let Some(key) = unknown_key {
            // The path normally ends with the unknown key itself; make sure it does.
            if keys.last() != Some(&key) {
                keys.push(key);
            }
        }
        let span = positions
            .as_ref()
            .and_then(|doc| span_of(doc.as_table(), &keys, unknown));
        let section = keys.split_last().map(|(_, parents)| parents.join("."));
        let explained = if unknown {
            explain_unknown(
                &message,
                section.as_deref().filter(|s| !s.is_empty()),
                &layout,
            )
        } else {
            format!("{}: {}", key_path(&keys), with_type_hint(&message))
        };
        problems.push(file_error(span, explained));
        if problems.len() >= MAX_PROBLEMS || !remove(&mut tree, &keys) {
            // Nothing could be taken out (a refusal without a key): the rest keeps defaults.
            return Ok((Config::default(), problems));
        }
    }
}

/// `[section] key` or `key` for a path of keys.
fn key_path(keys: &[String]) -> String {
    match keys {
        [] => "the file".to_string(),
        [key] => key.clone(),
        [parents @ .., key] => format!("[{}] {key}", parents.join(".")),
    }
}

/// Takes the value at `keys` out of the tree; false if there is none.
fn remove(tree: &mut toml::Table, keys: &[String]) -> bool {
    let Some((last, parents)) = keys.split_last() else {
        return false;
    };
    let mut table = tree;
    for key in parents {
        match table.get_mut(key) {
            Some(toml::Value::Table(t)) => table = t,
            _ => return false,
        }
    }
    table.remove(last).is_some()
}

/// Where the key at `keys` is written: the key itself for an unknown key, else its value.
fn span_of(
    table: &toml_edit::Table,
    keys: &[String],
    key_span: bool,
) -> Option<std::ops::Range<usize>> {
    let (last, parents) = keys.split_last()?;
    let mut current: &dyn toml_edit::TableLike = table;
    for key in parents {
        current = current.get(key)?.as_table_like()?;
    }
    let (key, item) = current.get_key_value(last)?;
    if key_span {
        key.span()
    } else {
        item.span().or_else(|| key.span())
    }
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

/// Explains serde's "unknown field" message for a key in `section` (`None`: top level): a key
/// that belongs elsewhere says where; otherwise the closest known key and the known keys.
fn explain_unknown(message: &str, section: Option<&str>, layout: &Layout) -> String {
    let key = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(key, _)| key);
    let here = match section {
        Some(s) => Home::Section(s.to_string()),
        None => Home::TopLevel,
    };
    match key.and_then(|k| Some((k, layout.home_of(k)?))) {
        Some((key, home)) if home != here => {
            let fix = match &home {
                Home::TopLevel => "move it above the first [section] header".to_string(),
                Home::Section(s) => format!("move it under the [{s}] header"),
            };
            format!(
                "'{key}' belongs {}, not {}; {fix}",
                home.describe(),
                here.describe()
            )
        }
        _ => explain(message, section.map(|s| format!("[{s}]")).as_deref()),
    }
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
