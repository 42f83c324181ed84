//! A string that must not be printed by accident: connection URLs and the database URL.

use serde::{Deserialize, Deserializer};
use std::fmt;

/// A secret value such as `postgres://user:password@host/db`.
///
/// `Debug` and `Display` print it with the password (and sensitive query parameters) replaced
/// by `***`; a value that is not a URL prints as `***` entirely. Call [`Secret::expose`] to
/// get the real value, and only where it is needed (opening the connection).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The real value, password included.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value with its password replaced by `***`.
    pub fn masked(&self) -> String {
        mask_url(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({:?})", self.masked())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// Query parameters whose values are masked when their name contains one of these.
const SENSITIVE_PARAMS: [&str; 5] = ["pass", "pwd", "secret", "token", "key"];

/// Replaces the password of a URL and the values of sensitive query parameters with `***`.
/// A value without `scheme:` is masked entirely.
pub fn mask_url(url: &str) -> String {
    let Some(colon) = url.find(':') else {
        return "***".to_string();
    };
    let scheme = &url[..colon];
    let valid_scheme = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return "***".to_string();
    }
    let (base, query) = match url.find(['?', '#']) {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    let mut out = String::with_capacity(url.len());
    match base.find("://") {
        Some(sep) => {
            let rest = &base[sep + 3..];
            out.push_str(&base[..sep + 3]);
            match rest.rfind('@') {
                Some(at) => {
                    let userinfo = &rest[..at];
                    match userinfo.find(':') {
                        Some(c) => {
                            out.push_str(&userinfo[..c]);
                            out.push_str(":***");
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push_str(&rest[at..]);
                }
                None => out.push_str(rest),
            }
        }
        None => out.push_str(base),
    }
    out.push_str(&mask_query(query));
    out
}

fn mask_query(query: &str) -> String {
    let Some(params) = query.strip_prefix('?') else {
        return query.to_string();
    };
    let (params, fragment) = match params.find('#') {
        Some(i) => (&params[..i], &params[i..]),
        None => (params, ""),
    };
    let masked: Vec<String> = params
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_sensitive(k) => format!("{k}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("?{}{fragment}", masked.join("&"))
}

fn is_sensitive(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SENSITIVE_PARAMS.iter().any(|s| k.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords_only() {
        let s = Secret::new("postgres://cambium:s3cr3t@db.example.com:5432/cambium");
        assert_eq!(
            s.to_string(),
            "postgres://cambium:***@db.example.com:5432/cambium"
        );
        assert_eq!(
            format!("{s:?}"),
            "Secret(\"postgres://cambium:***@db.example.com:5432/cambium\")"
        );
        assert_eq!(
            s.expose(),
            "postgres://cambium:s3cr3t@db.example.com:5432/cambium"
        );
        assert!(!format!("{s} {s:?} {s:#?}").contains("s3cr3t"));
    }

    #[test]
    fn mask_url_cases() {
        assert_eq!(
            mask_url("sqlite:///var/lib/cambium.db"),
            "sqlite:///var/lib/cambium.db"
        );
        assert_eq!(mask_url("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(
            mask_url("mysql://root@localhost/x"),
            "mysql://root@localhost/x"
        );
        // An '@' inside the password: the last '@' ends the user info.
        assert_eq!(
            mask_url("postgres://u:p@ss@host/db"),
            "postgres://u:***@host/db"
        );
        assert_eq!(
            mask_url("postgres://u:pa/ss@host/db"),
            "postgres://u:***@host/db"
        );
        assert_eq!(
            mask_url("postgres://host/db?user=u&password=p&sslmode=require"),
            "postgres://host/db?user=u&password=***&sslmode=require"
        );
        assert_eq!(
            mask_url("s3://bucket/x?access_key=AK&secret_key=SK#f"),
            "s3://bucket/x?access_key=***&secret_key=***#f"
        );
        assert_eq!(mask_url("hunter2"), "***");
        assert_eq!(mask_url("no scheme: here"), "***");
        assert_eq!(mask_url(""), "***");
    }
}
