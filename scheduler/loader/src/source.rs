//! Positions in a DAG file's text: turning Rhai's line/column positions into offsets and
//! back, and finding the key of an option (`retries:`) inside the call that passed it, so an
//! error can point at the key itself.

/// A 1-based line and column in a DAG file (0 when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    /// Converts a Rhai position; `Position::NONE` becomes line 1, column 1 so that errors in a
    /// file always point somewhere in it.
    pub fn from_rhai(p: rhai::Position) -> Pos {
        let line = p.line().unwrap_or(1).max(1);
        let column = p.position().unwrap_or(1).max(1);
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

/// A file's text with its line starts, for position lookups.
pub struct SourceIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> SourceIndex<'a> {
    /// Indexes `text`.
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceIndex { text, line_starts }
    }

    /// The byte offset of a position (columns count characters).
    fn offset(&self, pos: Pos) -> Option<usize> {
        let line = usize::try_from(pos.line).ok()?.checked_sub(1)?;
        let start = *self.line_starts.get(line)?;
        let end = self
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        let column = usize::try_from(pos.column).ok()?.checked_sub(1)?;
        let line_text = self.text.get(start..end)?;
        match line_text.char_indices().nth(column) {
            Some((i, _)) => Some(start + i),
            None => Some(end),
        }
    }

    /// The position of a byte offset.
    fn pos(&self, offset: usize) -> Pos {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0);
        Pos {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }

    /// Where the option key `path[last]` is written inside the call at `call`, following the
    /// keys of `path` in order (e.g. `["default_args", "retries"]`). Falls back to the call's
    /// own position when the key is not found there (e.g. options built elsewhere).
    pub fn key_pos(&self, call: Pos, path: &[&str]) -> Pos {
        self.find_key(call, path).unwrap_or(call)
    }

    fn find_key(&self, call: Pos, path: &[&str]) -> Option<Pos> {
        let start = self.offset(call)?;
        let end = call_end(self.text, start);
        let mut from = start;
        let mut found = None;
        for key in path {
            let at = find_key_token(self.text, from, end, key)?;
            found = Some(at);
            from = at + key.len();
        }
        found.map(|at| self.pos(at))
    }
}

/// The offset just after the argument list of the call starting at `start`: the first `(` at
/// or after `start` and its matching `)`, skipping strings and comments.
fn call_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = start;
    let mut depth = 0usize;
    let mut opened = false;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'`' | b'\'' => i = skip_string(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
            }
            b'(' | b'[' | b'{' => {
                opened |= bytes[i] == b'(';
                depth += 1;
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
                if opened && depth == 0 {
                    return i;
                }
            }
            b';' if depth == 0 => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The offset just after the string literal opening at `i`.
fn skip_string(bytes: &[u8], i: usize) -> usize {
    let quote = bytes[i];
    let mut j = i + 1;
    while j < bytes.len() {
        if bytes[j] == b'\\' && quote != b'`' {
            j += 2;
            continue;
        }
        if bytes[j] == quote {
            return j + 1;
        }
        j += 1;
    }
    bytes.len()
}

/// The offset of `key` written as a map key (`key:` or `"key":`) in `text[from..end]`.
fn find_key_token(text: &str, from: usize, end: usize, key: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let followed_by_colon = |mut j: usize| {
        while j < end && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        j < end && bytes[j] == b':' && bytes.get(j + 1) != Some(&b':')
    };
    let mut i = from;
    while i < end {
        let b = bytes[i];
        if b == b'"' || b == b'`' || b == b'\'' {
            let after = skip_string(bytes, i).min(end);
            let inner = text.get(i + 1..after.saturating_sub(1));
            if inner == Some(key) && followed_by_colon(after) {
                return Some(i);
            }
            i = after;
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            i = text[i..].find('\n').map_or(end, |n| i + n);
        } else if is_ident(b) && (i == 0 || !is_ident(bytes[i - 1])) {
            let mut j = i;
            while j < end && is_ident(bytes[j]) {
                j += 1;
            }
            if &text[i..j] == key && followed_by_colon(j) {
                return Some(i);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: u32, column: u32) -> Pos {
        Pos { line, column }
    }

    #[test]
    fn finds_keys_inside_the_call_only() {
        let src = "let d = dag(\"x\", #{\n  retries: 1, \"pool\": \"a\",\n  default_args: #{ retries: 2 }\n});\nlet e = dag(\"y\", #{ pool: 1 });\n";
        let idx = SourceIndex::new(src);
        let call = p(1, 9);
        assert_eq!(idx.key_pos(call, &["retries"]), p(2, 3));
        assert_eq!(idx.key_pos(call, &["pool"]), p(2, 15));
        assert_eq!(idx.key_pos(call, &["default_args", "retries"]), p(3, 20));
        // Not in this call: falls back to the call's position.
        assert_eq!(idx.key_pos(call, &["owner"]), call);
        assert_eq!(idx.key_pos(p(5, 9), &["pool"]), p(5, 21));
    }

    #[test]
    fn ignores_keys_in_strings_and_comments() {
        let src = "d.command(\"a\", #{ cmd: \"retries: 3\", // retries: 4\n retries: 5 })";
        let idx = SourceIndex::new(src);
        assert_eq!(idx.key_pos(p(1, 1), &["retries"]), p(2, 2));
    }

    #[test]
    fn columns_count_characters() {
        let src = "// é\nlet ü = 1; x(#{ k: 1 })";
        let idx = SourceIndex::new(src);
        assert_eq!(idx.key_pos(p(2, 12), &["k"]), p(2, 17));
    }
}
