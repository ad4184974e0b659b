-- Tocsin schema, version 8: people and access (issue 10, docs/security.md).
--
-- * users: people who sign in to the console or own API tokens. A user has a role and, like an
--   audience, a clearance (U, C, S, TS) and a nationality (ISO 3166-1 alpha-3): portions above them
--   are withheld. Only the Argon2id PHC string of the password is kept.
-- * api_tokens gains scopes (comma-separated; NULL = a token from before scopes: every scope its
--   role allows) and an optional owner (the user whose clearance and identity the token carries).
-- * sessions of the console: only the SHA-256 of the session secret and of its CSRF token are kept.
--   last_seen_at drives the idle expiry, expires_at is the absolute one.
-- * login_attempts: failures and successes, for rate limiting per username and per client address
--   (kept in the database so that several servers share the count).

CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    username       TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL,
    clearance      TEXT NOT NULL,
    nationality    TEXT NOT NULL,
    password_hash  TEXT,
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TEXT NOT NULL
);

ALTER TABLE api_tokens ADD COLUMN scopes TEXT;
ALTER TABLE api_tokens ADD COLUMN user_id INTEGER REFERENCES users (id);

CREATE TABLE sessions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    session_hash   TEXT NOT NULL UNIQUE,
    user_id        INTEGER NOT NULL REFERENCES users (id),
    csrf_hash      TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    revoked        BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_attempts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    username       TEXT NOT NULL,
    client         TEXT NOT NULL,
    at             TEXT NOT NULL,
    success        BOOLEAN NOT NULL
);
CREATE INDEX login_attempts_username ON login_attempts (username, at);
CREATE INDEX login_attempts_client ON login_attempts (client, at);
