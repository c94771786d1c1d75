-- A channel's backlog drains oldest first when it comes back (issue 14). The drain sends a
-- row again without the activity that asked for it, so the row keeps the notice as that
-- activity got it, before its words were rendered and its action link made (both are made
-- again when it is sent). A row is marked `sending` by one sender at a time: the activity
-- (its workflow run and activity id) or the drain, since when; a row another sender has
-- held `sending` for long is taken over (that sender died between its claim and its mark).
ALTER TABLE notifications
    ADD COLUMN notice jsonb,
    ADD COLUMN sending_by text,
    ADD COLUMN sending_since timestamptz;

-- What a channel's drain reads, page by page: its rows still to go, in the order asked.
CREATE INDEX notifications_drain_idx
    ON notifications (channel, (coalesce(due_at, created_at)), seq)
    WHERE status IN ('pending', 'retrying');
