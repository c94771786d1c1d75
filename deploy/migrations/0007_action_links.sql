-- Action links in notices (issue 12 §2): `{DUBAN_HTTP_PUBLIC_URL}/a/{token}` lets the person
-- a notice reached act on it as themselves, once, until its window closes.

-- One link per notice and person: the task, the event (seq) and the person it was made
-- for, the actions they may take there, and the unit and role they act in (decided from
-- the directory when it was made, checked again when used). `facts` is what the page
-- shows (the title, the window, since when it is late, the deadline). Used once: `used_at`
-- is set when the task accepted the action, with the action taken.
CREATE TABLE action_links (
    id           bigserial   PRIMARY KEY,
    task_id      text        NOT NULL,
    seq          integer     NOT NULL,
    person_id    text        NOT NULL,
    kind         text        NOT NULL,
    actions      text[]      NOT NULL,
    unit         text        NOT NULL,
    role         text        NOT NULL,
    stand_in_for text,
    message_role text,
    facts        jsonb       NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    used_action  text,
    UNIQUE (task_id, seq, person_id)
);

-- The tokens that open a link: only the SHA-256 of each, never the token. A notice sent
-- again by a retried activity (one channel delivered, another to go) gets a token of its
-- own for the channels still to go, since the first cannot be read back, but it opens the
-- same link: one use between them, one expiry.
CREATE TABLE action_link_tokens (
    hash       bytea       PRIMARY KEY,
    link_id    bigint      NOT NULL REFERENCES action_links (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX action_link_tokens_link_idx ON action_link_tokens (link_id);
