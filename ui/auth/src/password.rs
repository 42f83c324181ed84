//! Passwords as argon2id PHC strings (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`), with
//! argon2's recommended parameters and a random salt per password.
//!
//! Hashing and verifying take tens of milliseconds and about 19 MiB on purpose. Verifying
//! uses the parameters stored in the hash, so hashes made with older parameters keep
//! working; a stored hash asking for more than [`MAX_M_COST_KIB`], [`MAX_T_COST`] or
//! [`MAX_P_COST`] is refused instead of being computed, so a corrupt row cannot exhaust the
//! server.

use crate::error::AuthError;
use argon2::{Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier};
use std::sync::OnceLock;

/// The most memory (KiB) a stored hash may ask for: 1 GiB.
pub const MAX_M_COST_KIB: u32 = 1 << 20;
/// The most passes a stored hash may ask for.
pub const MAX_T_COST: u32 = 64;
/// The most lanes a stored hash may ask for.
pub const MAX_P_COST: u32 = 16;

/// The fewest characters a new password may have (everywhere one is set: the CLI, the API,
/// the users page).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Ok when `password` may be set as a new password: at least [`MIN_PASSWORD_CHARS`]
/// characters. Cheap: call it before any hashing.
pub fn check_new_password(password: &str) -> Result<(), AuthError> {
    let chars = password.chars().count();
    if chars == 0 {
        Err(AuthError::EmptyPassword)
    } else if chars < MIN_PASSWORD_CHARS {
        Err(AuthError::ShortPassword(chars))
    } else {
        Ok(())
    }
}

/// The PHC string of `password` with a fresh random salt: what the store keeps. A password
/// that [`check_new_password`] refuses is refused here too.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    check_new_password(password)?;
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// True when `password` is the one `phc` was made from. False for a wrong password and for
/// anything that is not a usable argon2 PHC string; never panics.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST_KIB
        || params.t_cost() > MAX_T_COST
        || params.p_cost() > MAX_P_COST
    {
        return false;
    }
    Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
}

/// Spends as long as [`verify_password`] does and returns false: what to call when no user
/// has the name given, so that a wrong name cannot be told from a wrong password by timing.
pub fn verify_unknown_user(password: &str) -> bool {
    static DECOY: OnceLock<Option<String>> = OnceLock::new();
    let decoy = DECOY.get_or_init(|| hash_password(&crate::new_secret()).ok());
    if let Some(phc) = decoy {
        // Nobody knows the decoy's password: this is false, after the same work.
        let _ = verify_password(password, phc);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{Algorithm, Version};

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash_password("correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horsE", &phc));
        assert!(!verify_password("", &phc));
        assert!(!verify_password("correct horse ", &phc));
    }

    #[test]
    fn every_hash_has_its_own_salt() {
        let a = hash_password("same password").expect("hash");
        let b = hash_password("same password").expect("hash");
        assert_ne!(a, b);
        assert!(verify_password("same password", &a) && verify_password("same password", &b));
    }

    #[test]
    fn unicode_passwords_work() {
        let phc = hash_password("pässwörd 🔑").expect("hash");
        assert!(verify_password("pässwörd 🔑", &phc));
        assert!(!verify_password("passwort 🔑", &phc));
    }

    #[test]
    fn empty_and_short_passwords_are_refused() {
        assert_eq!(hash_password(""), Err(AuthError::EmptyPassword));
        assert_eq!(hash_password("x"), Err(AuthError::ShortPassword(1)));
        assert_eq!(hash_password("1234567"), Err(AuthError::ShortPassword(7)));
        // Characters, not bytes.
        assert_eq!(hash_password("ääääääá"), Err(AuthError::ShortPassword(7)));
        assert!(check_new_password("12345678").is_ok());
        let message = AuthError::ShortPassword(1).to_string();
        assert!(message.contains("at least 8"), "{message}");
    }

    #[test]
    fn the_parameters_in_the_hash_are_used() {
        let cheap = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(64, 1, 1, None).expect("params"),
        );
        let phc = cheap
            .hash_password_with_salt(b"old", b"0123456789abcdef")
            .expect("hash")
            .to_string();
        assert!(phc.contains("m=64,t=1,p=1"), "{phc}");
        assert!(verify_password("old", &phc));
        assert!(!verify_password("new", &phc));
    }

    #[test]
    fn malformed_hashes_are_false_not_panics() {
        let good = hash_password("pw-long-enough").expect("hash");
        let truncated = &good[..good.len() - 10];
        let cases = [
            "",
            "pw",
            "$",
            "$$$$",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ",
            "$argon2id$v=19$m=19456,t=2,p=1$!!!$???",
            "$argon2id$v=99$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$argon2id$v=19$m=0,t=0,p=0$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            truncated,
        ];
        for phc in cases {
            assert!(!verify_password("pw", phc), "{phc:?}");
        }
    }

    #[test]
    fn hashes_asking_for_too_much_are_refused_at_once() {
        let started = std::time::Instant::now();
        for params in [
            "m=4294967295,t=1,p=1",
            "m=2097152,t=1,p=1",
            "m=64,t=4294967295,p=1",
            "m=64,t=1,p=255",
        ] {
            let phc = format!("$argon2id$v=19${params}$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2g");
            assert!(!verify_password("pw", &phc), "{phc}");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn unknown_users_never_verify() {
        assert!(!verify_unknown_user("anything"));
        assert!(!verify_unknown_user(""));
    }
}
