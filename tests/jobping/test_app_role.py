"""The application's database role: rows yes, schema no (migration 0004, issue 12 item 17).

The owner here has CREATEROLE, as the RDS master user does; the migration creates the
`jobping_runtime` role. On RDS it logs in with IAM tokens; here the superuser gives it a
password so the test can log in as it over TCP.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql

from devtools.local.postgres import EmbeddedPostgres
from jobping import envvars
from jobping.migrate import MIGRATIONS_DIR, MigrationError, migrate

APP = envvars.APP_DATABASE_USER
APP_PASSWORD = "app-test-password"  # set by the superuser for this test's log-in only
OWNER = "jobping_owner_test"
OWNER_PASSWORD = "owner-test-password"  # a throwaway server's test role


@pytest.fixture
def owned_db(postgres: EmbeddedPostgres) -> str:
    """A fresh database whose owner may create roles (like the RDS master user); its URL."""
    url = postgres.ensure_database(f"app_{uuid.uuid4().hex[:10]}", OWNER, OWNER_PASSWORD)
    with psycopg.connect(postgres.superuser_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(OWNER)))
    return url


def app_login(postgres: EmbeddedPostgres, db_url: str) -> str:
    """The application role's URL for `db_url`'s database (a password set for this test)."""
    with psycopg.connect(postgres.superuser_url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(APP), sql.Literal(APP_PASSWORD)
            )
        )
    dbname = psycopg.conninfo.conninfo_to_dict(db_url)["dbname"]
    return postgres.url(APP, APP_PASSWORD, str(dbname))


@pytest.fixture
def app_url(postgres: EmbeddedPostgres, owned_db: str) -> str:
    """The migrated database, as the application role sees it."""
    migrate(owned_db)
    return app_login(postgres, owned_db)


def test_app_role_writes_rows_but_cannot_change_the_schema(app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as conn:
        user_id = conn.execute(
            "INSERT INTO users (email) VALUES (%s) RETURNING id", ("a@example.com",)
        ).fetchone()
        conn.execute(
            "UPDATE users SET name = %s WHERE id = %s", ("A", user_id[0] if user_id else None)
        )
        assert conn.execute("SELECT name FROM users").fetchall() == [("A",)]
        conn.execute("DELETE FROM users")
        for ddl in (
            "CREATE TABLE app_made (id int)",
            "ALTER TABLE jobs ADD COLUMN app_made int",
            "DROP TABLE matches",
            "TRUNCATE jobs",
            "CREATE SCHEMA app_made",
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'x', 'x')",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(ddl.encode())


def test_app_role_owns_nothing_and_is_no_superuser(app_url: str) -> None:
    with psycopg.connect(app_url) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        ).fetchone()
        owned = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = "
            "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
        ).fetchone()
    assert row == (False, False, False, False)
    assert owned == (0,)


def test_tables_of_later_migrations_are_granted_to_the_app_role(
    postgres: EmbeddedPostgres, owned_db: str, tmp_path: Path
) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy)
    (copy / "9999_later.sql").write_text("CREATE TABLE later (id bigserial PRIMARY KEY, v text);")
    migrate(owned_db, copy)
    with psycopg.connect(app_login(postgres, owned_db), autocommit=True) as conn:
        conn.execute("INSERT INTO later (v) VALUES ('x')")  # the table and its sequence
        assert conn.execute("SELECT v FROM later").fetchall() == [("x",)]


def test_migrating_as_the_app_role_is_refused_with_a_reason(app_url: str) -> None:
    with pytest.raises(MigrationError, match="owner"):
        migrate(app_url)


def test_migrate_step_logs_in_with_the_injected_owner_credentials(
    postgres: EmbeddedPostgres, owned_db: str
) -> None:
    dbname = psycopg.conninfo.conninfo_to_dict(owned_db)["dbname"]
    env = {
        "PATH": os.environ["PATH"],
        envvars.DATABASE_HOST: "127.0.0.1",
        envvars.DATABASE_PORT: str(postgres.port),
        envvars.DATABASE_NAME: str(dbname),
        envvars.DATABASE_SSLMODE: "disable",
        envvars.DATABASE_USER: OWNER,
        envvars.DATABASE_PASSWORD: OWNER_PASSWORD,
    }
    result = subprocess.run(
        [sys.executable, "-m", "jobping", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "applied" in result.stdout
    with psycopg.connect(owned_db) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations")]
        granted = conn.execute(
            "SELECT has_table_privilege(%s, 'jobs', 'INSERT'), "
            "has_table_privilege(%s, 'jobs', 'TRUNCATE')",
            (APP, APP),
        ).fetchone()
    assert 4 in versions
    assert granted == (True, False)


def test_scanner_leaves_the_schema_to_the_migrate_step(owned_db: str, tmp_path: Path) -> None:
    jobs_file = tmp_path / "jobs.json"
    jobs_file.write_text("[]")
    sources = f'[{{"type": "jobping", "name": "jobping:empty", "path": "{jobs_file}"}}]'
    env = {
        "PATH": os.environ["PATH"],
        envvars.DATABASE_URL: owned_db,
        envvars.JOB_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
        envvars.SCANNER_SOURCES: sources,
        envvars.AWS_REGION: "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    result = subprocess.run(
        [sys.executable, "-m", "scanner"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0  # no tables: the scanner does not make them
    with psycopg.connect(owned_db) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone() == (0,)
