//! What can go wrong in the auth crate.

/// An auth failure: a bad input (say what to change) or the OS failing us.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A role name that is not one of the three.
    #[error("'{0}' is not a role; use viewer, op or admin")]
    UnknownRole(String),
    /// Passwords may not be empty.
    #[error("the password is empty; choose a password of at least {min} characters", min = crate::MIN_PASSWORD_CHARS)]
    EmptyPassword,
    /// A password shorter than [`crate::MIN_PASSWORD_CHARS`]; holds its length.
    #[error("the password has {0} characters; choose one of at least {min}", min = crate::MIN_PASSWORD_CHARS)]
    ShortPassword(usize),
    /// Hashing failed (the OS random source, or argon2 itself).
    #[error("cannot hash the password: {0}")]
    Hash(String),
}
