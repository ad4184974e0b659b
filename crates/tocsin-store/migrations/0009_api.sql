-- Tocsin schema, version 9: what the full HTTP API (issue 10) writes beyond the pipeline.
--
-- An analyst's review of a match (accept: a confirmed target; reject: a false positive). One row
-- per (threat, entity, target spec): a later review replaces the earlier one, and the audit chain
-- keeps every verdict.
CREATE TABLE match_reviews (
    threat_id   TEXT NOT NULL REFERENCES threats (id),
    entity_id   TEXT NOT NULL,
    target      INTEGER NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('accept', 'reject')),
    at          TEXT NOT NULL,
    json        TEXT NOT NULL,
    PRIMARY KEY (threat_id, entity_id, target)
);

-- Warnings withdrawn (CAP msgType Cancel): when, by whom and why. The warning itself moves to
-- `superseded`; this row is what tells a cancel from a replacement by a newer version.
CREATE TABLE warning_cancellations (
    warning_id  TEXT PRIMARY KEY REFERENCES warnings (id),
    at          TEXT NOT NULL,
    json        TEXT NOT NULL
);
