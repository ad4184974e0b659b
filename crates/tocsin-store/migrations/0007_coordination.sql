-- Tocsin schema, version 7: several Tocsin processes on one database (issue 11).
--
-- Leadership of a role (e.g. "scheduler"): one row per role, held by `holder` until `lease_until`.
-- The holder renews the lease on every scheduler pass; once it has expired (the process died or
-- hangs) another process takes the row over. PostgreSQL leads by session advisory lock and keeps
-- this row only as a record of who leads (see `tocsin_store::coordination`).
CREATE TABLE leaders (
    role        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    since       TEXT NOT NULL,
    lease_until TEXT NOT NULL
);

-- Every change to the registry, in commit order, written in the same transaction as the change,
-- so each process can keep its in-memory match index in step with the registry (the high-water
-- `seq` it has applied is all it needs to remember).
CREATE TABLE registry_changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_id   TEXT NOT NULL,
    change      TEXT NOT NULL CHECK (change IN ('upsert', 'delete')),
    at          TEXT NOT NULL
);
