-- Tocsin schema, version 3 (SQLite): standards exchange (TAXII 2.1, CAP 1.2).
--
-- * A token may speak for one audience (a partner service, an operator): it then reads only that
--   audience's TAXII collection and restricted CAP alerts. NULL = a staff token (roles only).
-- * Objects partners add to a TAXII collection (POST), kept whole; the warnings' own STIX objects
--   are derived from the warnings and never stored twice.
-- * TAXII status resources of those POSTs.

ALTER TABLE api_tokens ADD COLUMN audience_id TEXT;

CREATE TABLE taxii_objects (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    collection  TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    -- The object's `modified` (or `created`) as written: the TAXII version.
    version     TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    json        TEXT NOT NULL,
    UNIQUE (collection, object_id, version)
);
CREATE INDEX taxii_objects_added ON taxii_objects (collection, added_at, seq);

CREATE TABLE taxii_status (
    id          TEXT PRIMARY KEY,
    at          TEXT NOT NULL,
    json        TEXT NOT NULL
);
