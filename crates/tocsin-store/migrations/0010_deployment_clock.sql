-- The deployment's clock: every process (serve, worker, CLI) reads the time the rules run on from
-- here, so a replay of a past case (`serve --clock-start`) is one clock for all of them. One row
-- at most (`name` = 'clock'): at wall time `wall_at` the deployment's clock read `clock_at`, and it
-- advances with the wall clock from there. No row: the wall clock.
CREATE TABLE deployment_clock (
    name        TEXT PRIMARY KEY,
    clock_at    TEXT NOT NULL,
    wall_at     TEXT NOT NULL,
    set_at      TEXT NOT NULL
);

-- A used recipient link keeps the request it answered (a digest) and the answer, so the same
-- request again within a short grace period (a client that timed out) gets the same answer and
-- the same next link instead of a refusal.
ALTER TABLE link_uses ADD COLUMN request_digest TEXT;
ALTER TABLE link_uses ADD COLUMN answer TEXT;
