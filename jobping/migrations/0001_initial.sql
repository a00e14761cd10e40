-- JobPing's schema. Every table the worker writes has a natural unique key, and every write is an
-- upsert on it, so processing one message twice changes nothing (ARCHITECTURE.md, "Database").

-- Job listings found by the scanner. `enqueued_at IS NULL` is the outbox: new or changed jobs
-- wait there until SQS has accepted their message.
CREATE TABLE jobs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source          text        NOT NULL,
    external_id     text        NOT NULL,
    title           text        NOT NULL,
    company         text        NOT NULL DEFAULT '',
    location        text        NOT NULL DEFAULT '',
    remote          boolean,
    url             text        NOT NULL DEFAULT '',
    description     text        NOT NULL DEFAULT '',
    posted_at       timestamptz,
    salary_min      numeric(12, 2),
    salary_max      numeric(12, 2),
    salary_currency char(3),
    salary_period   text CHECK (salary_period IN ('year', 'month', 'hour')),
    content_hash    text        NOT NULL,
    first_seen_at   timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    enqueued_at     timestamptz,
    CONSTRAINT jobs_source_external_id_key UNIQUE (source, external_id),
    CONSTRAINT jobs_salary_range CHECK (salary_min IS NULL OR salary_max IS NULL
                                        OR salary_min <= salary_max)
);
-- The outbox scan: `WHERE enqueued_at IS NULL ORDER BY updated_at ... FOR UPDATE SKIP LOCKED`.
CREATE INDEX jobs_outbox_idx ON jobs (updated_at) WHERE enqueued_at IS NULL;

-- What the analyzer made of a job: one row per job, replaced when the job's content changes.
CREATE TABLE job_analyses (
    job_id          uuid PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    content_hash    text        NOT NULL,
    analyzer        text        NOT NULL,
    skills          text[]      NOT NULL DEFAULT '{}',
    seniority       text        NOT NULL DEFAULT 'unknown',
    work_mode       text        NOT NULL DEFAULT 'unknown'
                    CHECK (work_mode IN ('remote', 'hybrid', 'onsite', 'unknown')),
    salary_min      numeric(12, 2),
    salary_max      numeric(12, 2),
    salary_currency char(3),
    salary_period   text CHECK (salary_period IN ('year', 'month', 'hour')),
    analyzed_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email       text        NOT NULL,
    name        text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email)
);

-- What a user is looking for. The worker loads all active searches into an in-memory index, so
-- matching a job costs no query per search.
CREATE TABLE saved_searches (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text        NOT NULL,
    keywords        text[]      NOT NULL DEFAULT '{}',
    locations       text[]      NOT NULL DEFAULT '{}',
    remote_only     boolean     NOT NULL DEFAULT false,
    min_salary      numeric(12, 2),
    salary_currency char(3),
    seniority       text[]      NOT NULL DEFAULT '{}',
    active          boolean     NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT saved_searches_user_name_key UNIQUE (user_id, name)
);
-- Lets the worker notice a changed set of searches cheaply (max(updated_at), count(*)).
CREATE INDEX saved_searches_active_updated_idx ON saved_searches (updated_at) WHERE active;

CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER saved_searches_touch BEFORE UPDATE ON saved_searches
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE matches (
    job_id          uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    saved_search_id uuid        NOT NULL REFERENCES saved_searches (id) ON DELETE CASCADE,
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    score           real        NOT NULL CHECK (score >= 0 AND score <= 1),
    reasons         jsonb       NOT NULL DEFAULT '[]',
    matched_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT matches_job_search_key UNIQUE (job_id, saved_search_id)
);
CREATE INDEX matches_saved_search_idx ON matches (saved_search_id);
CREATE INDEX matches_user_idx ON matches (user_id, matched_at DESC);

-- One notification per user and job, however many of the user's searches matched it. `pending`
-- rows are sent after the worker's transaction commits; a failed send stays pending for retry.
CREATE TABLE notifications (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    job_id          uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    saved_search_id uuid        REFERENCES saved_searches (id) ON DELETE SET NULL,
    channel         text        NOT NULL DEFAULT 'log',
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    CONSTRAINT notifications_user_job_key UNIQUE (user_id, job_id)
);
CREATE INDEX notifications_pending_idx ON notifications (created_at) WHERE status = 'pending';
CREATE INDEX notifications_job_idx ON notifications (job_id);

-- HTTP validators per source, so an unchanged board costs the scanner one 304.
CREATE TABLE source_state (
    source          text PRIMARY KEY,
    etag            text,
    last_modified   text,
    last_status     integer,
    checked_at      timestamptz NOT NULL DEFAULT now()
);
