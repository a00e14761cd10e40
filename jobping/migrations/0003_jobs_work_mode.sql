-- The work mode a job board states in a structured field (Ashby's and Lever's `workplaceType`,
-- a Greenhouse "Workplace type" custom field, JobPing's `work_mode`), kept as the board gave it
-- so a hybrid posting is no longer analysed as on-site. 'unknown' when the board says nothing:
-- the worker then decides from the text (jobping/workmode.py). `remote` stays, derived from it.
-- A constant default: PostgreSQL 11+ adds the column without rewriting the table.
ALTER TABLE jobs
    ADD COLUMN work_mode text NOT NULL DEFAULT 'unknown'
        CONSTRAINT jobs_work_mode_check CHECK (work_mode IN ('remote', 'hybrid', 'onsite', 'unknown'));
