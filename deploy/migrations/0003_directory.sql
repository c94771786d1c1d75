-- The directory: people with their contacts, who holds which role for which unit, and
-- who stands in while someone is away (缺位递补, S0 §6 §8). Responsibility stays with the
-- unit and the role; the person is looked up when a notice is sent.
CREATE TABLE people (
    id       text PRIMARY KEY,
    name     text   NOT NULL,
    mobile   text,
    email    text,
    wecom    text,
    dingtalk text,
    feishu   text,
    prefer   text[] NOT NULL DEFAULT '{}'  -- channels in the order the person prefers
);

CREATE TABLE units (
    name text PRIMARY KEY
);

-- role: unit_head | leader_in_charge | deputy_secretary_general | principal_leader | office
-- unit: the unit the role answers for; '*' for the principal leader and the office
CREATE TABLE role_holders (
    role      text NOT NULL,
    unit      text NOT NULL,
    person_id text NOT NULL REFERENCES people (id),
    PRIMARY KEY (role, unit)
);

CREATE TABLE absences (
    person_id   text NOT NULL REFERENCES people (id),
    starts_on   date NOT NULL,
    ends_on     date NOT NULL,
    stand_in_id text NOT NULL REFERENCES people (id),
    PRIMARY KEY (person_id, starts_on),
    CHECK (ends_on >= starts_on),
    CHECK (stand_in_id <> person_id)
);

ALTER TABLE notifications ADD COLUMN person_id text;
ALTER TABLE notifications ADD COLUMN reached_via text;  -- holder | stand-in for <id>
