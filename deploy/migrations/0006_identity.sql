-- The front door (issue 12): who may act, with what proof, and what the ledger says of it.

-- Roles held by several people at once: `member` (经办人, staff who may act for their
-- unit) and `ops` (held for the whole office, '*'). One person, one row per unit.
-- The roles held by one person per unit stay in role_holders.
CREATE TABLE role_members (
    role      text NOT NULL,
    unit      text NOT NULL,
    person_id text NOT NULL REFERENCES people (id),
    PRIMARY KEY (role, unit, person_id)
);

-- Personal tokens (`duban token issue`): the secret is never stored, only its SHA-256;
-- `id` is the short lookup id the token carries in clear (dbn_<id>_<secret>). No foreign
-- key to people: a directory import replaces every person, and a token of someone no
-- longer in the directory is refused when used.
CREATE TABLE api_tokens (
    id           text        PRIMARY KEY,
    person_id    text        NOT NULL,
    name         text        NOT NULL DEFAULT '',
    secret_hash  bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_tokens_person_idx ON api_tokens (person_id);

-- Every message's actor as duban decided it: the role they acted in, how they proved who
-- they are (cli, api, oidc, link, page), and the absent holder they stood in for.
ALTER TABLE task_events ADD COLUMN role text;
ALTER TABLE task_events ADD COLUMN via text;
ALTER TABLE task_events ADD COLUMN stand_in_for text;
