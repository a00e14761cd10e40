-- The application's least-privilege role. Migrations run as the owner (the RDS master user on
-- AWS, injected into the `migrate` container only); the worker and the scanner log in as
-- jobping_runtime, which reads and writes rows but owns nothing and can change no schema.
--
-- CREATE ROLE needs CREATEROLE, which the RDS master user has. A local owner without it (the
-- tests, `make run`) leaves the role out: there the application connects as the owner, as
-- before. A role that exists already (made by a migration of another database of the same
-- server, or by an operator) is granted its privileges here whoever created it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'jobping_runtime') THEN
        IF NOT (SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            RAISE NOTICE 'jobping_runtime not created: % may not create roles', current_user;
            RETURN;
        END IF;
        BEGIN
            -- No password: on RDS it logs in with IAM authentication tokens only (rds_iam).
            CREATE ROLE jobping_runtime LOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- the migration of another database created it a moment ago
        END;
    END IF;
    -- RDS's role for IAM database authentication; it exists on RDS only.
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO jobping_runtime;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO jobping_runtime', current_database());
    -- The default since PostgreSQL 15; older servers let every role create tables in public.
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;
    GRANT USAGE ON SCHEMA public TO jobping_runtime;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO jobping_runtime;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO jobping_runtime;
    -- The schema's version is the migrations' business alone.
    REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM jobping_runtime;
    -- Tables and sequences that later migrations create (as this same owner) are granted too.
    ALTER DEFAULT PRIVILEGES IN SCHEMA public
        GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO jobping_runtime;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public
        GRANT USAGE, SELECT ON SEQUENCES TO jobping_runtime;
END
$$;
