-- The directory's version (issue 17): a process that keeps the directory between requests
-- (the HTTP service) reads this one number with each credential and reads the directory
-- again only when it has moved. Every write to a table of the directory bumps it, in the
-- writer's own transaction, once per transaction: `duban directory import`, `duban leave
-- add`, or SQL typed by hand. A reader therefore never holds a directory older than the
-- version it last saw.
CREATE TABLE directory_version (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),  -- a single row
    version bigint  NOT NULL DEFAULT 0,
    xact    xid8                                          -- the transaction that bumped it
);
INSERT INTO directory_version (one) VALUES (true);

CREATE FUNCTION directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_version SET version = version + 1, xact = pg_current_xact_id()
     WHERE xact IS DISTINCT FROM pg_current_xact_id();
    RETURN NULL;
END
$$;

CREATE TRIGGER people_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON people
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER units_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON units
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER role_holders_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON role_holders
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER role_members_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON role_members
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER absences_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON absences
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
