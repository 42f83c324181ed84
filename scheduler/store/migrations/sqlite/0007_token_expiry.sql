-- API tokens expire, SQLite flavour. Keep in step with ../postgres/0007_token_expiry.sql.
-- `expires_at` is microseconds since the Unix epoch; a token is refused from then on. Tokens
-- made before this migration had none: they get 90 days from now (the default `[web]
-- token_ttl`), so clients keep working while admins list and replace them.
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
UPDATE api_tokens SET expires_at = (CAST(strftime('%s', 'now') AS INTEGER) + 7776000) * 1000000;
