//! Users of the web UI and the API, their API tokens and their sign-in sessions.
//!
//! The store keeps what the caller hands it: a password's argon2 PHC string, and the hashes
//! of API tokens and session ids (`cambium_auth::secret_hash`), never the secrets
//! themselves. Roles are stored as their names; which names exist is the auth crate's
//! business.
//!
//! API tokens expire (`expires_at`; a lookup at or after it finds no user) and can be listed
//! and revoked one by one. Changing a password ends every session of that user.
//!
//! Looking up a token is a read: `last_used_at` is written only when it is more than
//! [`LAST_USED_GRANULARITY`] old, so a busy API client does not take SQLite's write lock on
//! every call.

use crate::codec::{int, micros, opt_int, text, time};
use crate::error::{on_missing_reference, Error, Result};
use crate::store::Store;
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::any::AnyRow;

/// How stale a token's `last_used_at` may get before a lookup writes it again.
pub const LAST_USED_GRANULARITY: TimeDelta = TimeDelta::seconds(60);

/// A user as stored. Its `Debug` leaves out the password hash, and it has no `Serialize`:
/// views pick the fields they show.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub name: String,
    /// `viewer`, `op` or `admin`.
    pub role: String,
    /// The argon2 PHC string of the password.
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("password_hash", &"<redacted>")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A signed-in session (the session id itself is known only to the browser). Its `Debug`
/// leaves out the CSRF token.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user_id: i64,
    /// The token every form of this session must send back.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("user_id", &self.user_id)
            .field("csrf", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// An API token as stored, without its hash: what listing tokens shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    pub id: i64,
    pub user_id: i64,
    /// The name of the user it signs in as.
    pub user: String,
    pub created_at: DateTime<Utc>,
    /// From then on the token is refused.
    pub expires_at: DateTime<Utc>,
    /// When it was last used (to [`LAST_USED_GRANULARITY`]); `None` if never.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The columns `token_from_row` reads, from `api_tokens t JOIN users u`.
const TOKEN_COLS: &str = "t.id AS id, t.user_id AS user_id, u.name AS name, \
     t.created_at AS created_at, t.expires_at AS expires_at, t.last_used_at AS last_used_at";

fn token_from_row(row: &AnyRow) -> Result<ApiTokenRecord> {
    Ok(ApiTokenRecord {
        id: int(row, "id")?,
        user_id: int(row, "user_id")?,
        user: text(row, "name")?,
        created_at: time(row, "created_at")?,
        // Every row has one since migration 0007; a missing one reads as long expired.
        expires_at: opt_int(row, "expires_at")?
            .and_then(DateTime::from_timestamp_micros)
            .unwrap_or(DateTime::<Utc>::MIN_UTC),
        last_used_at: opt_int(row, "last_used_at")?.and_then(DateTime::from_timestamp_micros),
    })
}

/// The columns `user_from_row` reads, from `users u`.
const USER_COLS: &str = "u.id AS id, u.name AS name, u.role AS role, \
     u.password_hash AS password_hash, u.created_at AS created_at";

fn user_from_row(row: &AnyRow) -> Result<UserRecord> {
    Ok(UserRecord {
        id: int(row, "id")?,
        name: text(row, "name")?,
        role: text(row, "role")?,
        password_hash: text(row, "password_hash")?,
        created_at: time(row, "created_at")?,
    })
}

/// A time at the store's precision (microseconds), as reading it back gives it.
fn stored(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros(t)).unwrap_or(t)
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|d| matches!(d.kind(), sqlx::error::ErrorKind::UniqueViolation))
}

impl Store {
    /// Creates a user. A name that is taken is `Error::UserExists`.
    pub async fn create_user(
        &self,
        name: &str,
        role: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<UserRecord> {
        let row = sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(role)
        .bind(password_hash)
        .bind(micros(now))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::UserExists(name.to_string())
            } else {
                Error::Database(e)
            }
        })?;
        Ok(UserRecord {
            id: int(&row, "id")?,
            name: name.to_string(),
            role: role.to_string(),
            password_hash: password_hash.to_string(),
            created_at: stored(now),
        })
    }

    /// Replaces a user's password hash and ends every session of the user, in one
    /// transaction: whoever signed in with the old password is signed out. API tokens stay
    /// (they are revoked one by one). Returns how many sessions ended. An unknown name is
    /// `Error::UnknownUser`.
    pub async fn set_user_password(&self, name: &str, password_hash: &str) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE name = $1")
            .bind(name)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::UnknownUser(name.to_string()));
        }
        let ended = sqlx::query(
            "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = $1)",
        )
        .bind(name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ended.rows_affected())
    }

    /// Changes a user's role. An unknown name is `Error::UnknownUser`.
    pub async fn set_user_role(&self, name: &str, role: &str) -> Result<()> {
        self.update_user(name, "role", role).await
    }

    /// Sets one column of a user; `column` is one of ours, never user input.
    async fn update_user(&self, name: &str, column: &'static str, value: &str) -> Result<()> {
        let done = sqlx::query(&format!("UPDATE users SET {column} = $2 WHERE name = $1"))
            .bind(name)
            .bind(value)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::UnknownUser(name.to_string()));
        }
        Ok(())
    }

    /// Deletes a user with its API tokens and sessions (one statement; the foreign keys
    /// cascade), so nothing it held signs in any more. An unknown name is
    /// `Error::UnknownUser`.
    pub async fn delete_user(&self, name: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::UnknownUser(name.to_string()));
        }
        Ok(())
    }

    /// The user with this name.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users u WHERE u.name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The user with this id.
    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLS} FROM users u ORDER BY u.name"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// How many users there are (none before the first start of `standalone`).
    pub async fn count_users(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?;
        int(&row, "n")
    }

    /// Stores the hash of a new API token of a user, valid until `expires_at`; returns the
    /// token's id. An unknown user is `Error::UnknownUserId`.
    pub async fn create_api_token(
        &self,
        user_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(user_id)
        .bind(token_hash)
        .bind(micros(now))
        .bind(micros(expires_at))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| on_missing_reference(e, || Error::UnknownUserId(user_id)))?;
        int(&row, "id")
    }

    /// The user an API token (by its hash) belongs to, unless the token is unknown or has
    /// expired (`expires_at <= now`), noting that the token was used `now` (at most once per
    /// [`LAST_USED_GRANULARITY`]).
    pub async fn user_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<UserRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS}, t.last_used_at AS last_used_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.expires_at > $2"
        ))
        .bind(token_hash)
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user = user_from_row(&row)?;
        let last_used = opt_int(&row, "last_used_at")?;
        let stale_before = micros(now - LAST_USED_GRANULARITY);
        if last_used.is_none_or(|t| t <= stale_before) {
            // Never moves it backwards when callers' clocks disagree.
            sqlx::query(
                "UPDATE api_tokens SET last_used_at = $2 \
                 WHERE token_hash = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
            )
            .bind(token_hash)
            .bind(micros(now))
            .execute(&self.pool)
            .await?;
        }
        Ok(Some(user))
    }

    /// The API tokens of a user, oldest first (expired ones too, until revoked).
    pub async fn api_tokens_of(&self, user_id: i64) -> Result<Vec<ApiTokenRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.user_id = $1 ORDER BY t.id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// The API token with this id.
    pub async fn api_token(&self, id: i64) -> Result<Option<ApiTokenRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// Revokes (deletes) an API token; false when there is no token with this id.
    pub async fn delete_api_token(&self, id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores a new session (by the hash of its id) of a user, valid until `expires_at`.
    /// An unknown user is `Error::UnknownUserId`.
    pub async fn create_session(
        &self,
        session_hash: &str,
        user_id: i64,
        csrf: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (session_hash, user_id, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(session_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(micros(now))
        .bind(micros(expires_at))
        .execute(&self.pool)
        .await
        .map_err(|e| on_missing_reference(e, || Error::UnknownUserId(user_id)))?;
        Ok(())
    }

    /// The session (by the hash of its id) and its user, unless it is unknown or has
    /// expired (`expires_at <= now`).
    pub async fn session(
        &self,
        session_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(UserRecord, SessionRecord)>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS}, s.user_id AS user_id, s.csrf AS csrf, \
             s.created_at AS session_created_at, s.expires_at AS expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.session_hash = $1 AND s.expires_at > $2"
        ))
        .bind(session_hash)
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let session = SessionRecord {
                user_id: int(&row, "user_id")?,
                csrf: text(&row, "csrf")?,
                created_at: time(&row, "session_created_at")?,
                expires_at: time(&row, "expires_at")?,
            };
            Ok((user_from_row(&row)?, session))
        })
        .transpose()
    }

    /// Ends a session (signing out). An unknown session is not an error.
    pub async fn delete_session(&self, session_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE session_hash = $1")
            .bind(session_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes every session that has expired by `now`; returns how many.
    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(micros(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
