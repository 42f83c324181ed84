//! Test-only helpers shared by Cambium's test suites (a dev-dependency, never shipped).
//!
//! Some tests need a service from outside the process: a Postgres or MySQL server, a
//! browser, an SMTP server. On a developer's machine without it they are skipped with a
//! visible message; in CI (the `CI` environment variable set) a missing service is a
//! failure, so a misconfigured CI can never pass by skipping. This is that rule, once.

/// Whether the tests run in CI (`CI` set, as every CI service sets it).
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Skips a test that cannot run here: prints `skipping: {why}` outside CI; panics in CI.
pub fn skip(why: &str) {
    assert!(!in_ci(), "{why} (required in CI)");
    eprintln!("skipping: {why}");
}

/// The value of the environment variable `var` naming a service (a database URL), or
/// `None` after [`skip`] when it is unset or empty.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            skip(&format!("{var} is not set"));
            None
        }
    }
}

/// The Postgres server the tests may create databases on (`CAMBIUM_TEST_POSTGRES_URL`, an
/// admin URL), or `None` after [`skip`].
pub fn postgres_admin_url() -> Option<String> {
    service_url("CAMBIUM_TEST_POSTGRES_URL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_service_is_skipped_outside_ci_and_fails_in_ci() {
        let var = "CAMBIUM_TESTKIT_SURELY_UNSET_VARIABLE";
        let outcome = std::panic::catch_unwind(|| service_url(var));
        if in_ci() {
            let message = outcome.expect_err("a missing service fails in CI");
            let text = message
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default();
            assert!(text.contains(var), "{text}");
        } else {
            assert_eq!(outcome.ok().flatten(), None);
        }
    }
}
