-- Tocsin schema, version 1 (SQLite).
--
-- Written as portable SQL so the PostgreSQL twin differs only where it must: surrogate keys
-- (`INTEGER PRIMARY KEY AUTOINCREMENT` here, `BIGINT GENERATED ALWAYS AS IDENTITY` there) and the
-- JSON column type (TEXT here, JSONB there).
--
-- Conventions:
--   * Each domain record is kept whole in a `json` column (serde JSON of the core type); the other
--     columns are copies of the keys needed for lookups, ordering and constraints.
--   * Times are RFC 3339 UTC text with microseconds and a `Z` suffix
--     (`2024-03-07T12:00:00.000000Z`), so they compare and sort lexicographically.
--   * `seq` columns give insertion order where the record's own id is a text id.
--   * Foreign keys point at records the pipeline itself creates (threats, warnings); registry ids
--     (entities, audiences) are plain text because the registry is re-imported wholesale.

CREATE TABLE entities (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    json        TEXT NOT NULL
);

CREATE TABLE audiences (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    json        TEXT NOT NULL
);

CREATE TABLE threats (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL,
    json        TEXT NOT NULL
);

CREATE TABLE matches (
    threat_id   TEXT NOT NULL REFERENCES threats (id),
    ord         INTEGER NOT NULL,
    entity_id   TEXT NOT NULL,
    target      INTEGER NOT NULL,
    score       REAL NOT NULL,
    json        TEXT NOT NULL,
    PRIMARY KEY (threat_id, ord)
);
CREATE INDEX matches_entity ON matches (entity_id);

CREATE TABLE determinations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    threat_id   TEXT NOT NULL REFERENCES threats (id),
    decision    TEXT NOT NULL,
    proposed_at TEXT NOT NULL,
    json        TEXT NOT NULL
);
CREATE INDEX determinations_threat ON determinations (threat_id, id);

CREATE TABLE warnings (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    threat_id   TEXT NOT NULL REFERENCES threats (id),
    audience_id TEXT NOT NULL,
    version     INTEGER NOT NULL,
    state       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    json        TEXT NOT NULL
);
CREATE INDEX warnings_threat ON warnings (threat_id, seq);

-- The outbox: written in the same transaction that marks the warning queued.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    warning_id      TEXT NOT NULL REFERENCES warnings (id),
    audience_id     TEXT NOT NULL,
    channel_kind    TEXT NOT NULL,
    channel_address TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'retrying', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    delivered_at    TEXT
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_warning ON deliveries (warning_id, id);

CREATE TABLE acknowledgements (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    warning_id  TEXT NOT NULL REFERENCES warnings (id),
    at          TEXT NOT NULL,
    json        TEXT NOT NULL
);
CREATE INDEX acknowledgements_warning ON acknowledgements (warning_id, at);

CREATE TABLE posture_reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    warning_id  TEXT NOT NULL REFERENCES warnings (id),
    at          TEXT NOT NULL,
    json        TEXT NOT NULL
);
CREATE INDEX posture_reports_warning ON posture_reports (warning_id, at);

CREATE TABLE posture_tracks (
    warning_id  TEXT PRIMARY KEY REFERENCES warnings (id),
    json        TEXT NOT NULL
);

CREATE TABLE outcomes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    threat_id   TEXT NOT NULL REFERENCES threats (id),
    kind        TEXT NOT NULL,
    at          TEXT NOT NULL,
    json        TEXT NOT NULL
);
CREATE INDEX outcomes_threat ON outcomes (threat_id, at);

-- The human timeline: no foreign key, an entry may be written before its threat is stored.
CREATE TABLE timeline (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    threat_id   TEXT NOT NULL,
    at          TEXT NOT NULL,
    event       TEXT NOT NULL,
    json        TEXT NOT NULL
);
CREATE INDEX timeline_threat ON timeline (threat_id, at);
CREATE INDEX timeline_at ON timeline (at, id);

-- Hash-chained and append-only: `seq` is assigned by the chain (1, 2, 3 ...), never by the database.
CREATE TABLE audit_events (
    seq             INTEGER PRIMARY KEY,
    at              TEXT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    payload_digest  TEXT NOT NULL,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL
);
CREATE INDEX audit_events_subject ON audit_events (subject, seq);

-- Only the SHA-256 of a token's secret is kept.
CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    label       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked     BOOLEAN NOT NULL DEFAULT FALSE
);
