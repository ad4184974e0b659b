-- Tocsin schema, version 2 (SQLite): leases on the outbox and unsubscribed channels.
--
-- A worker claims a delivery by writing its id and a lease expiry. While the lease holds no other
-- worker takes the delivery; once it has expired (the worker died, or hangs) the delivery is
-- claimable again, so a killed worker's deliveries are retried, never lost. Leases are cleared
-- when the outcome is recorded.
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;
ALTER TABLE deliveries ADD COLUMN lease_until TEXT;
-- How many times a delivery was claimed (attempts counts only recorded outcomes): a delivery that
-- keeps killing its workers shows up as claims far above attempts.
ALTER TABLE deliveries ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;

-- Due open deliveries, in claim order.
CREATE INDEX deliveries_claimable ON deliveries (next_attempt_at, id) WHERE status IN ('pending', 'retrying');
-- Open deliveries per channel (an unsubscribe dead-letters them all).
CREATE INDEX deliveries_channel ON deliveries (channel_kind, channel_address) WHERE status IN ('pending', 'retrying');

-- A receiver that answered "410 Gone" (or an analyst) unsubscribed this channel: no delivery is
-- attempted to it until it is enabled again.
CREATE TABLE disabled_channels (
    channel_kind    TEXT NOT NULL,
    channel_address TEXT NOT NULL,
    reason          TEXT NOT NULL,
    disabled_at     TEXT NOT NULL,
    delivery_id     INTEGER,
    PRIMARY KEY (channel_kind, channel_address)
);
