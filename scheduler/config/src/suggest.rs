//! "Did you mean …?" for misspelt keys.

/// The known name closest to `wanted`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(wanted: &str, known: &[&'a str]) -> Option<&'a str> {
    let wanted = wanted.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(&wanted, k), *k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let known = ["parallelism", "heartbeat", "parse_timeout"];
        assert_eq!(did_you_mean("paralelism", &known), Some("parallelism"));
        assert_eq!(did_you_mean("HEARTBEET", &known), Some("heartbeat"));
        assert_eq!(did_you_mean("colour", &known), None);
    }
}
