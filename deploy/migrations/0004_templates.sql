-- Editable message templates, one per notice kind; absent kinds use the built-in text.
CREATE TABLE templates (
    kind text PRIMARY KEY,
    body text NOT NULL
);
