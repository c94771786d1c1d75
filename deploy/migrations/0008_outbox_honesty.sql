-- The outbox says what it knows (issue 14). A row is `sending` while its peer is being called:
-- a row found `sending` on a retry may have reached its peer before the worker or PostgreSQL
-- died. A peer that deduplicates on the idempotency key (webhook, SMS gateway, email by
-- Message-ID) gets the same key again; a robot that cannot (WeCom, DingTalk, Feishu) is sent
-- the notice again and the row says `possible_duplicate`. `cancelled`: the task ended before
-- it went. Statuses: pending|sending|retrying|delivered|failed|cancelled|no_channel.
ALTER TABLE notifications
    ADD COLUMN possible_duplicate boolean NOT NULL DEFAULT false,
    -- When the task asked for the notice (its activity's first scheduling); created_at is
    -- when the outbox first heard of it, later when PostgreSQL or the worker was away.
    ADD COLUMN due_at timestamptz;

-- How late a delivered notice arrived: from when it was asked for to when its peer took it.
ALTER TABLE notifications
    ADD COLUMN lateness interval
        GENERATED ALWAYS AS (delivered_at - coalesce(due_at, created_at)) STORED;

-- The rows still to go, by channel, oldest first: what a channel coming back sends first,
-- and what `duban ops doctor` counts.
CREATE INDEX notifications_undelivered_idx ON notifications (channel, created_at)
    WHERE status IN ('pending', 'sending', 'retrying');
