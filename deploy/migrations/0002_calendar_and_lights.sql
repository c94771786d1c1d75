-- The working-day calendar operators maintain: it overrides chinesecalendar day by day.
CREATE TABLE calendar_days (
    day         date        PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('workday', 'holiday')),
    name        text        NOT NULL DEFAULT '',
    imported_at timestamptz NOT NULL DEFAULT now()
);

-- What the task row now also shows: its light, urgency and due date as they stand, and
-- whether its deadline was counted Monday-Friday for want of a published calendar.
ALTER TABLE tasks ADD COLUMN light text NOT NULL DEFAULT 'green';
ALTER TABLE tasks ADD COLUMN current_urgency text;
ALTER TABLE tasks ADD COLUMN current_due date;
ALTER TABLE tasks ADD COLUMN calendar_fallback boolean NOT NULL DEFAULT false;
CREATE INDEX tasks_light_idx ON tasks (light);
