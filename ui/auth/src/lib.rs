//! Who may do what in Cambium's web UI and API, as plain domain logic with no IO:
//!
//! - [`Role`]: `viewer` reads, `op` also changes runs and models, `admin` also manages users;
//!   ordered so that a higher role [`allows`](Role::allows) everything a lower one does.
//! - Passwords: [`check_new_password`] says whether one may be set (at least
//!   [`MIN_PASSWORD_CHARS`] characters), [`hash_password`] makes the argon2id PHC string the store keeps,
//!   [`verify_password`] checks one (both cost tens of milliseconds on purpose: call them
//!   off the async runtime, e.g. in `spawn_blocking`).
//! - Secrets: [`new_secret`] for API tokens, session ids, CSRF tokens and generated
//!   passwords; [`secret_hash`] is what the store keeps of a token or session id, so a copy
//!   of the database lets no one sign in; [`constant_time_eq`] compares CSRF tokens.
//! - [`check_user_name`]: what a user name may be.
//! - [`LoginThrottle`]: slows down guessing passwords, per user name and per client address,
//!   counting each attempt before the password is verified.
//! - [`TrustedProxies`]: whose `X-Forwarded-For` / `X-Forwarded-Proto` to believe.
//!
//! The store (`cambium-store`) keeps users, token hashes and sessions; the web server
//! (`cambium-ui`) and the `cambium users` command put the two together.

mod error;
mod name;
mod password;
mod proxy;
mod role;
mod secret;
mod throttle;

pub use error::AuthError;
pub use name::check_user_name;
pub use password::{
    check_new_password, hash_password, verify_password, verify_unknown_user, MIN_PASSWORD_CHARS,
};
pub use proxy::{IpRange, TrustedProxies};
pub use role::Role;
pub use secret::{constant_time_eq, new_secret, secret_hash, SECRET_BYTES};
pub use throttle::{LoginThrottle, ThrottlePolicy};
