-- Reminders and escalations about a warning travel through the outbox like the warning itself;
-- `notice` (JSON: kind, headline, text) is NULL for the warning and set for a follow-up message.
ALTER TABLE deliveries ADD COLUMN notice TEXT;
