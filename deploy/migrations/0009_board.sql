-- The board and the assessment (issue 15 §3) read the ledger by kind of event and time: the
-- verifications, misses, difficulties and extensions of a period, and the tasks that were
-- ever late. Without this each of those reads every event of every task.
CREATE INDEX task_events_kind_at_idx ON task_events (kind, at);

-- The notices that did not arrive, for the board: a few rows among many delivered ones.
CREATE INDEX notifications_undelivered_final_idx ON notifications (task_id)
    WHERE status IN ('failed', 'no_channel');

-- Tasks by who assigned them, the board's filter.
CREATE INDEX tasks_assigning_unit_idx ON tasks (assigning_unit);
