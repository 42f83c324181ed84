-- Users of the web UI and the API, their API tokens and their sign-in sessions, SQLite
-- flavour. Keep in step with ../postgres/0004_users.sql. Times are microseconds since the
-- Unix epoch.
--
-- Tokens and session ids are kept only as hashes (sha256 hex of the secret): a copy of the
-- database does not let anyone sign in. Passwords are argon2 PHC strings.

-- `role` is `viewer`, `op` or `admin` (checked by the caller, like every enum here).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

-- API tokens (`Authorization: Bearer ...`), looked up by hash on every API call.
-- `last_used_at` is NULL until the token is first used.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- Sign-in sessions of the login form, looked up by the hash of the session cookie. `csrf`
-- is the token every form of the session must send back.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    session_hash TEXT    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
-- Sweeping expired sessions.
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
