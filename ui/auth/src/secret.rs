//! Random secrets (API tokens, session ids, CSRF tokens, generated passwords), what the store
//! keeps of them, and comparing them without leaking where they differ.

use sha2::{Digest, Sha256};

/// How many random bytes a secret has.
pub const SECRET_BYTES: usize = 32;

/// A new secret: [`SECRET_BYTES`] bytes from the operating system's random source, as
/// lowercase hex (64 characters, safe in URLs, headers and cookies).
///
/// # Panics
///
/// When the operating system has no working random source; no secret can be made then,
/// and carrying on without one would be worse.
pub fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    if let Err(e) = getrandom::fill(&mut bytes) {
        panic!("the operating system's random source failed: {e}");
    }
    hex::encode(bytes)
}

/// What the store keeps of a token or session id: the lowercase hex SHA-256 of it. Secrets
/// from [`new_secret`] are random enough that a fast hash suffices (unlike passwords).
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// True when `a` and `b` are equal, taking the same time wherever they differ (their
/// length is not secret). For CSRF tokens and other secrets sent back by a client.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn secrets_are_64_hex_chars_and_differ() {
        let secrets: HashSet<String> = (0..200).map(|_| new_secret()).collect();
        assert_eq!(secrets.len(), 200);
        for s in &secrets {
            assert_eq!(s.len(), 2 * SECRET_BYTES);
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
                "{s}"
            );
        }
    }

    #[test]
    fn secret_hash_is_sha256_hex() {
        assert_eq!(
            secret_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            secret_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let s = new_secret();
        assert_eq!(secret_hash(&s), secret_hash(&s));
        assert_ne!(secret_hash(&s), s);
        assert_ne!(secret_hash(&s), secret_hash(&new_secret()));
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq("", ""));
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "bbc"));
        assert!(!constant_time_eq("abc", "ab"));
        assert!(!constant_time_eq("", "a"));
        let s = new_secret();
        assert!(constant_time_eq(&s, &s.clone()));
        assert!(!constant_time_eq(&s, &new_secret()));
    }
}
