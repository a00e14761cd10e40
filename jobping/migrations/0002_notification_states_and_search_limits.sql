-- Notifications get a `sending` state, and saved searches get limits enforced where they are
-- written (the worker's search index is built from every active search at once, so one search
-- must not be able to cost the others their matches).

-- A notification's life: `sending` (claimed; committed before the channel is called, so a send
-- that may have happened is on record) -> `sent`, or -> `pending` when the channel provably did
-- not accept it (the sweep claims it again later) -> `failed` after the last attempt allowed.
-- A row left in `sending` (the worker died, or could not record the outcome, after calling the
-- channel) may or may not have reached the user: it is never sent again automatically.
ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed'));
-- When the last attempt was claimed: how long a `sending` row has been stuck, and when a
-- `pending` one may be tried again.
ALTER TABLE notifications ADD COLUMN attempted_at timestamptz;

-- Limits of a saved search. The worker's `worker.model` constants mirror them, and the worker
-- also skips (with a log line) a search over them, for rows written before this migration:
-- the constraints are NOT VALID so that such rows do not fail the migration; once they are
-- fixed, `ALTER TABLE saved_searches VALIDATE CONSTRAINT ...` checks the old rows too.
CREATE FUNCTION text_list_within(items text[], max_items integer, max_chars integer)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_ndims(items), 1) = 1
       AND cardinality(items) <= max_items
       AND NOT EXISTS (
           SELECT FROM unnest(items) AS item WHERE item IS NULL OR char_length(item) > max_chars
       )
$$;

ALTER TABLE saved_searches
    ADD CONSTRAINT saved_searches_name_length CHECK (char_length(name) <= 200) NOT VALID,
    ADD CONSTRAINT saved_searches_keywords_limit
        CHECK (text_list_within(keywords, 20, 100)) NOT VALID,
    ADD CONSTRAINT saved_searches_locations_limit
        CHECK (text_list_within(locations, 20, 100)) NOT VALID,
    ADD CONSTRAINT saved_searches_seniority_limit
        CHECK (text_list_within(seniority, 10, 32)) NOT VALID;

-- At most 50 saved searches per user. An AFTER trigger counts the rows the statement inserted
-- too; locking the user's row first makes two transactions adding searches for one user at once
-- count one after the other (NO KEY UPDATE does not block the foreign-key checks of other
-- writers, which take KEY SHARE).
CREATE FUNCTION saved_searches_per_user_limit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.user_id = OLD.user_id THEN
        RETURN NULL;
    END IF;
    PERFORM FROM users WHERE id = NEW.user_id FOR NO KEY UPDATE;
    IF (SELECT count(*) FROM saved_searches WHERE user_id = NEW.user_id) > 50 THEN
        RAISE EXCEPTION 'user % already has the maximum of 50 saved searches', NEW.user_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER saved_searches_per_user AFTER INSERT OR UPDATE OF user_id ON saved_searches
    FOR EACH ROW EXECUTE FUNCTION saved_searches_per_user_limit();
