-- A change feed of saved searches, so that a worker applies only what changed since it last
-- looked instead of reloading every search (`worker.searches`).
--
-- Every insert or update stamps the row with the id of the writing transaction (`change_xid`),
-- and every delete leaves a tombstone with its transaction's id. A worker remembers the oldest
-- transaction still running when it last looked (`pg_snapshot_xmin`) and next time reads the
-- rows and tombstones stamped at or after it. A plain sequence would not do: sequence values
-- are handed out in statement order but become visible in commit order, so a reader could pass
-- a value whose transaction had not committed yet and never see it. Transaction ids below the
-- snapshot's xmin belong to finished transactions only. xid8 is 64-bit (no wraparound).
-- https://www.postgresql.org/docs/16/functions-info.html#FUNCTIONS-PG-SNAPSHOT

-- Rows written before this migration get 0: a worker loads every search when it starts, so
-- it needs no stamp for them (a constant default changes no row: no table rewrite, and
-- `updated_at` stays as it is).
ALTER TABLE saved_searches ADD COLUMN change_xid xid8 NOT NULL DEFAULT '0';
ALTER TABLE saved_searches ALTER COLUMN change_xid DROP DEFAULT;

CREATE FUNCTION saved_searches_stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_xid := pg_current_xact_id();
    RETURN NEW;
END
$$;
CREATE TRIGGER saved_searches_change BEFORE INSERT OR UPDATE ON saved_searches
    FOR EACH ROW EXECUTE FUNCTION saved_searches_stamp_change();

CREATE INDEX saved_searches_change_xid_idx ON saved_searches (change_xid);

-- A tombstone per deleted search. A row without a search id is a reload mark: tombstones of
-- transactions up to its `deleted_xid` may be gone (pruned, or never written: TRUNCATE), so a
-- worker that last looked at or before it reloads every search instead.
CREATE TABLE saved_search_deletions (
    saved_search_id uuid,
    deleted_xid     xid8        NOT NULL DEFAULT pg_current_xact_id(),
    deleted_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX saved_search_deletions_xid_idx ON saved_search_deletions (deleted_xid);
CREATE INDEX saved_search_deletions_at_idx ON saved_search_deletions (deleted_at);

-- One statement-level trigger (a transition table), so deleting a user's searches, or a
-- cascade from `users`, writes its tombstones in one insert.
CREATE FUNCTION saved_searches_record_deletions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO saved_search_deletions (saved_search_id) SELECT id FROM gone;
    RETURN NULL;
END
$$;
CREATE TRIGGER saved_searches_deletions AFTER DELETE ON saved_searches
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION saved_searches_record_deletions();

CREATE FUNCTION saved_searches_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO saved_search_deletions (saved_search_id) VALUES (NULL);
    RETURN NULL;
END
$$;
CREATE TRIGGER saved_searches_truncate AFTER TRUNCATE ON saved_searches
    FOR EACH STATEMENT EXECUTE FUNCTION saved_searches_truncated();

-- Deletes tombstones older than `keep` and leaves a reload mark at the newest of them (the
-- mark is itself pruned and left again, so one always covers what was pruned); returns how
-- many went. Callers at the same time do not wait for each other: the one that does not get
-- the lock (an advisory lock keyed by the table's oid) prunes nothing.
CREATE FUNCTION prune_saved_search_deletions(keep interval) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    pruned bigint;
    newest xid8;
BEGIN
    IF NOT pg_try_advisory_xact_lock('saved_search_deletions'::regclass::oid::bigint) THEN
        RETURN 0;
    END IF;
    WITH gone AS (
        DELETE FROM saved_search_deletions WHERE deleted_at < now() - keep
        RETURNING deleted_xid
    )
    SELECT count(*), max(deleted_xid) INTO pruned, newest FROM gone;
    IF pruned > 0 THEN
        INSERT INTO saved_search_deletions (saved_search_id, deleted_xid) VALUES (NULL, newest);
    END IF;
    RETURN pruned;
END
$$;
