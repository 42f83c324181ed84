//! Database URLs: which backend, where a SQLite file lives, and how to print a URL without
//! its password.

use crate::store::Backend;

/// The backend a URL names, or `None` when its scheme is not one Cambium supports.
pub(crate) fn backend_of(url: &str) -> Option<Backend> {
    let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase())?;
    match scheme.as_str() {
        "sqlite" => Some(Backend::Sqlite),
        "postgres" | "postgresql" => Some(Backend::Postgres),
        _ => None,
    }
}

/// The file path of a `sqlite:` URL; `None` for in-memory databases.
pub(crate) fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path)
    }
}

/// True for `sqlite::memory:` and friends.
pub(crate) fn is_sqlite_memory(url: &str) -> bool {
    sqlite_path(url).is_none()
}

/// The URL with `mode=rwc` added unless it already picks a mode (so the file is created).
pub(crate) fn sqlite_create_mode(url: &str) -> String {
    if url.contains("mode=") || is_sqlite_memory(url) {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The URL with any password (in the user info or a `password=` parameter) replaced by `***`.
pub(crate) fn mask_password(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let auth_start = scheme_end + 3;
        let auth_end = out[auth_start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| auth_start + i);
        if let Some(at) = out[auth_start..auth_end].rfind('@') {
            let userinfo_end = auth_start + at;
            if let Some(colon) = out[auth_start..userinfo_end].find(':') {
                out.replace_range(auth_start + colon + 1..userinfo_end, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out = format!("{head}{}", masked.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords() {
        assert_eq!(
            mask_password("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            mask_password("postgres://u:p@ss:w@h/db?sslmode=disable&password=x"),
            "postgres://u:***@h/db?sslmode=disable&password=***"
        );
        assert_eq!(mask_password("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(mask_password("sqlite://./a.db"), "sqlite://./a.db");
    }

    #[test]
    fn knows_backends_and_paths() {
        assert_eq!(backend_of("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(backend_of("postgresql://h/db"), Some(Backend::Postgres));
        assert_eq!(backend_of("mysql://h/db"), None);
        assert_eq!(backend_of("nonsense"), None);
        assert_eq!(sqlite_path("sqlite:///abs/x.db?mode=rw"), Some("/abs/x.db"));
        assert_eq!(sqlite_path("sqlite://./rel/x.db"), Some("./rel/x.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(
            sqlite_create_mode("sqlite://x.db"),
            "sqlite://x.db?mode=rwc"
        );
        assert_eq!(
            sqlite_create_mode("sqlite://x.db?mode=ro"),
            "sqlite://x.db?mode=ro"
        );
    }
}
