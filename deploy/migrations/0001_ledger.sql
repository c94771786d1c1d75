-- The ledger: every task, every transition, every escalation and every notification.
-- Keys are what the workflow knows (task id + event sequence), so a retried write is a no-op.

CREATE TABLE tasks (
    id               text PRIMARY KEY,
    title            text        NOT NULL,
    source           text        NOT NULL,
    assigning_unit   text        NOT NULL,
    lead_unit        text        NOT NULL,
    co_units         text[]      NOT NULL DEFAULT '{}',
    standard         text        NOT NULL,
    due              date,
    urgency          text        NOT NULL,
    policy           jsonb       NOT NULL,
    stage            text        NOT NULL,
    escalation_level integer     NOT NULL DEFAULT 0,
    next_deadline    timestamptz,
    last_seq         integer     NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL
);

CREATE TABLE task_events (
    task_id     text        NOT NULL REFERENCES tasks (id),
    seq         integer     NOT NULL,
    at          timestamptz NOT NULL,
    kind        text        NOT NULL,
    stage       text        NOT NULL,
    unit        text,
    actor       text,
    detail      text        NOT NULL DEFAULT '',
    level       integer     NOT NULL DEFAULT 0,
    deadline    timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, seq)
);

CREATE TABLE escalations (
    task_id   text        NOT NULL REFERENCES tasks (id),
    seq       integer     NOT NULL,
    level     integer     NOT NULL,
    kind      text        NOT NULL,  -- escalated | reminded
    unit      text        NOT NULL,
    at        timestamptz NOT NULL,
    answer_by timestamptz,
    PRIMARY KEY (task_id, seq)
);

-- One row per (task, event, recipient, channel), written before the send: the outbox.
CREATE TABLE notifications (
    task_id      text        NOT NULL,
    seq          integer     NOT NULL,
    role         text        NOT NULL,
    unit         text        NOT NULL,
    channel      text        NOT NULL,
    kind         text        NOT NULL,
    level        integer     NOT NULL,
    body         text        NOT NULL,
    status       text        NOT NULL DEFAULT 'pending',  -- pending|retrying|delivered|failed|no_channel
    attempts     integer     NOT NULL DEFAULT 0,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    PRIMARY KEY (task_id, seq, role, unit, channel)
);

CREATE INDEX tasks_stage_idx ON tasks (stage);
CREATE INDEX tasks_lead_unit_idx ON tasks (lead_unit);
