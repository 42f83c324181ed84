//! What a user name may be.

/// A user name as typed on the login form: not empty, at most 64 characters, no control
/// characters, no leading or trailing spaces, no `/`, `\` or `..` (names appear in URLs
/// such as `/api/v1/users/{name}`). The error says what to fix.
pub fn check_user_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.trim() != name
        || name.chars().any(char::is_control)
        || name.chars().count() > 64
        || name.contains(['/', '\\'])
        || name.contains("..")
    {
        return Err(format!(
            "'{}' is not a usable user name; use 1 to 64 characters without '/', '\\', '..', \
             control characters or leading and trailing spaces",
            name.escape_debug()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_user_name;

    #[test]
    fn names() {
        assert!(check_user_name("ana").is_ok());
        assert!(check_user_name("Ana María").is_ok());
        for bad in [
            "", " ana", "ana ", "a\nb", "a\u{7}", "a/b", "a\\b", "..", "a..b",
        ] {
            let err = check_user_name(bad).unwrap_err();
            assert!(err.contains("not a usable user name"), "{bad:?}: {err}");
        }
        assert!(check_user_name(&"x".repeat(64)).is_ok());
        assert!(check_user_name(&"x".repeat(65)).is_err());
    }
}
