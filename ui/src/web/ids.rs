//! Ids from URLs (DAG ids, run ids, task ids, model and asset names) are checked before
//! they reach the store or the file system: no `..`, no separators, no control characters,
//! whether they came encoded or not (axum decodes path segments before we see them).

use super::error::ApiError;

/// The id, or a 400 that names the field.
pub fn check<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    if value.is_empty() {
        return Err(ApiError::field(field, format!("{field} is empty")));
    }
    // In characters, as the OpenAPI document's `maxLength` counts.
    if value.chars().count() > 512 {
        return Err(ApiError::field(field, format!("{field} is too long")));
    }
    if value == "." || value.contains("..") || value.contains(['/', '\\']) {
        return Err(ApiError::field(
            field,
            format!("{field} may not contain '..', '/' or '\\'"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::field(
            field,
            format!("{field} may not contain control characters"),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn traversal_is_refused() {
        for bad in [
            "..", "../etc", "a/b", "a\\b", "x..y", ".", "", "a\0b", "a\nb",
        ] {
            assert!(check("dag_id", bad).is_err(), "{bad:?}");
        }
        for good in [
            "hello",
            "manual__2026-11-22T09:00:00+00:00",
            "wine.quality",
            "é",
        ] {
            assert_eq!(check("dag_id", good).ok(), Some(good));
        }
    }
}
