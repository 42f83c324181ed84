//! Turning user data (DAG ids, task ids, model names, labels, hrefs) into text that is safe
//! inside SVG markup.
//!
//! Three different needs, three functions:
//! - [`escape_xml`] for text content and attribute values: escapes `& < > " '` and replaces
//!   characters XML 1.0 forbids (most C0 controls) with U+FFFD, so the output always parses.
//! - [`id_token`] for `id` attributes: an injective encoding into `[A-Za-z0-9_-]`, so two
//!   different node ids never give the same element id and the result is a plain CSS ident.
//! - [`class_token`] for CSS class names: a lossy, readable mapping (`up_for_retry` stays
//!   `up_for_retry`, anything odd becomes `-`).

use std::fmt::Write as _;

/// True for characters that may appear in an XML 1.0 document.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `s` to `out`, escaped for XML text content or a double- or single-quoted
/// attribute value.
pub fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// `s` escaped for XML text content or an attribute value.
///
/// ```
/// assert_eq!(cambium_svg::escape_xml("<a & 'b'>"), "&lt;a &amp; &apos;b&apos;&gt;");
/// ```
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    push_escaped(&mut out, s);
    out
}

/// `s` with the characters XML forbids replaced by U+FFFD but nothing escaped: for strings
/// handed to plotters, whose SVG backend escapes `& < > " '` itself.
pub fn xml_clean(s: &str) -> String {
    s.chars()
        .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
        .collect()
}

/// An injective encoding of `s` into `[A-Za-z0-9_-]`, for `id` attributes.
///
/// ASCII letters, digits and `-` stay as they are, `_` becomes `__`, and every other byte of
/// the UTF-8 encoding becomes `_` and two lowercase hex digits. Decoding is unambiguous, so
/// distinct inputs give distinct ids.
///
/// ```
/// assert_eq!(cambium_svg::id_token("train_model"), "train__model");
/// assert_eq!(cambium_svg::id_token("a b.c"), "a_20b_2ec");
/// ```
pub fn id_token(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' => out.push(char::from(b)),
            b'_' => out.push_str("__"),
            other => {
                // Writing to a String cannot fail.
                let _ = write!(out, "_{other:02x}");
            }
        }
    }
    out
}

/// A readable CSS class token for `s`: ASCII letters are lowercased, letters, digits, `_` and
/// `-` kept, anything else becomes `-`. Lossy; use only where collisions are harmless.
///
/// ```
/// assert_eq!(cambium_svg::class_token("Up_For_Retry"), "up_for_retry");
/// assert_eq!(cambium_svg::class_token("a b\"c"), "a-b-c");
/// ```
pub fn class_token(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'A'..='Z' => c.to_ascii_lowercase(),
            'a'..='z' | '0'..='9' | '_' | '-' => c,
            _ => '-',
        })
        .collect()
}

/// The href if it is safe to put in a link: relative URLs (no scheme) and `http`, `https` and
/// `mailto` URLs. Anything else (`javascript:`, `data:`, …) gives `None`, so a node whose href
/// was built from user data cannot run script. The result still needs [`escape_xml`].
pub fn safe_href(href: &str) -> Option<&str> {
    let trimmed = href.trim();
    // A scheme is what comes before the first ':' when no '/', '?' or '#' comes earlier.
    let scheme_end = trimmed.find([':', '/', '?', '#']);
    match scheme_end {
        Some(i) if trimmed[i..].starts_with(':') => {
            let scheme = trimmed[..i].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto").then_some(trimmed)
        }
        _ => {
            // Browsers strip ASCII control characters and whitespace inside a scheme
            // ("java\tscript:"), so refuse relative hrefs that contain any.
            (!trimmed.chars().any(|c| c.is_ascii_control())).then_some(trimmed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape_xml("<script>&\"'"),
            "&lt;script&gt;&amp;&quot;&apos;"
        );
        assert_eq!(escape_xml("plain text é"), "plain text é");
    }

    #[test]
    fn replaces_characters_xml_forbids() {
        assert_eq!(escape_xml("a\u{0}b\u{1b}c\td"), "a\u{FFFD}b\u{FFFD}c\td");
        assert_eq!(xml_clean("<\u{7}>"), "<\u{FFFD}>");
    }

    #[test]
    fn id_token_is_injective_on_tricky_pairs() {
        let pairs = [
            ("a_b", "a b"),
            ("a_20b", "a b"),
            ("a__b", "a_b"),
            ("a-b", "a_2db"),
            ("é", "_c3_a9"),
        ];
        for (x, y) in pairs {
            assert_ne!(id_token(x), id_token(y), "{x:?} vs {y:?}");
        }
        let all = id_token("<script>&\"' é/x");
        assert!(all
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
    }

    #[test]
    fn class_token_keeps_state_names() {
        for s in ["success", "up_for_retry", "upstream_failed", "kind-task"] {
            assert_eq!(class_token(s), s);
        }
        assert_eq!(class_token("<x y>"), "-x-y-");
    }

    #[test]
    fn safe_href_refuses_script_urls() {
        assert_eq!(safe_href("/dags/a%20b/graph"), Some("/dags/a%20b/graph"));
        assert_eq!(safe_href("runs?x=1:2"), Some("runs?x=1:2"));
        assert_eq!(
            safe_href("https://example.org/a"),
            Some("https://example.org/a")
        );
        assert_eq!(safe_href("javascript:alert(1)"), None);
        assert_eq!(safe_href(" JavaScript:alert(1)"), None);
        assert_eq!(safe_href("java\tscript:alert(1)"), None);
        assert_eq!(safe_href("data:text/html,x"), None);
    }
}
