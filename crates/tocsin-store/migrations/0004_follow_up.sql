-- Follow-through beyond acknowledgements: recipients' feedback, the analysts' queue, used
-- one-time link nonces, and server-held secrets (the link signing key).

CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    warning_id  TEXT NOT NULL REFERENCES warnings (id),
    at          TEXT NOT NULL,
    json        TEXT NOT NULL
);
CREATE INDEX feedback_by_warning ON feedback (warning_id, at);

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    threat_id   TEXT NOT NULL REFERENCES threats (id),
    open        BOOLEAN NOT NULL,
    opened_at   TEXT NOT NULL,
    json        TEXT NOT NULL
);
CREATE INDEX tasks_open ON tasks (open, opened_at);

CREATE TABLE link_uses (
    nonce       TEXT PRIMARY KEY,
    warning_id  TEXT NOT NULL REFERENCES warnings (id),
    purpose     TEXT NOT NULL,
    used_at     TEXT NOT NULL
);

CREATE TABLE secrets (
    name        TEXT PRIMARY KEY,
    value_hex   TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
