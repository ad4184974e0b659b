-- Feeds (issue 9): the CERT's constituency, when each organisation was last notified (for its
-- notification interval), and one row per feed run with its counts.

-- One row per organisation of the constituency; `json` is the organisation as `tocsin-feed`
-- serialises it (prefixes, ASNs, domains, contacts, interval, inhibitions, TLP).
CREATE TABLE feed_orgs (
    id          TEXT PRIMARY KEY,
    json        TEXT NOT NULL
);

-- The last notification sent to an organisation (the interval counts from here).
CREATE TABLE feed_notified (
    org_id      TEXT PRIMARY KEY,
    at          TEXT NOT NULL,
    threat_id   TEXT NOT NULL  -- the run's threat (`feed-<run>`)
);

-- One row per feed run: counts (events, matched, unmatched, malformed with examples, inhibited,
-- notifications) as JSON.
CREATE TABLE feed_runs (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    at          TEXT NOT NULL,
    json        TEXT NOT NULL
);
