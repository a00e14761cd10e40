"""Migrations: fresh, re-run, two processes racing, and edited or misnamed files refused."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from jobping.migrate import MIGRATIONS_DIR, MigrationError, discover, migrate

EXPECTED_TABLES = {
    "jobs",
    "job_analyses",
    "users",
    "saved_searches",
    "saved_search_deletions",
    "matches",
    "notifications",
    "source_state",
    "schema_migrations",
}


@pytest.fixture
def fresh_db(new_database: Callable[[], str]) -> str:
    """A new, empty database (no migrations applied)."""
    return new_database()


def _unique_keys(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'u' AND connamespace = "
            "'public'::regnamespace"
        ).fetchall()
    return {row[0] for row in rows}


def test_fresh_database_gets_every_table_and_unique_key(fresh_db: str) -> None:
    applied = migrate(fresh_db)
    assert applied == [m.version for m in discover()]
    with psycopg.connect(fresh_db) as conn:
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
    assert tables == EXPECTED_TABLES
    assert {
        "jobs_source_external_id_key",
        "matches_job_search_key",
        "notifications_user_job_key",
        "users_email_key",
    } <= _unique_keys(fresh_db)


def test_second_run_applies_nothing(fresh_db: str) -> None:
    assert migrate(fresh_db)
    assert migrate(fresh_db) == []
    with psycopg.connect(fresh_db) as conn:
        count = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert count == (len(discover()),)


def test_two_processes_racing_apply_each_migration_once(fresh_db: str) -> None:
    env = {**os.environ, "DATABASE_URL": fresh_db}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "jobping", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], outputs
    assert sum("applied" in out for out, _ in outputs) == 1
    assert sum("up to date" in out for out, _ in outputs) == 2
    with psycopg.connect(fresh_db) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert sorted(versions) == [m.version for m in discover()]


def test_edited_migration_is_refused(fresh_db: str, tmp_path: Path) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy)
    migrate(fresh_db, copy)
    first = sorted(copy.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited later\n")
    with pytest.raises(MigrationError, match="was edited after it was applied"):
        migrate(fresh_db, copy)


def test_new_migration_is_applied_after_the_old_ones(fresh_db: str, tmp_path: Path) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy)
    migrate(fresh_db, copy)
    (copy / "9999_add_column.sql").write_text("ALTER TABLE users ADD COLUMN nickname text;")
    assert migrate(fresh_db, copy) == [9999]
    with psycopg.connect(fresh_db) as conn:
        conn.execute("SELECT nickname FROM users")


def test_failed_migration_leaves_no_trace(fresh_db: str, tmp_path: Path) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy)
    migrate(fresh_db, copy)
    (copy / "9998_broken.sql").write_text("CREATE TABLE half (id int); SELECT no_such_column;")
    with pytest.raises(psycopg.errors.UndefinedColumn):
        migrate(fresh_db, copy)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT to_regclass('half')").fetchone() == (None,)
        assert conn.execute(
            "SELECT count(*) FROM schema_migrations WHERE version = 9998"
        ).fetchone() == (0,)


def test_misnamed_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "1_init.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"not named NNNN_name\.sql"):
        discover(tmp_path)


def test_applied_migrations_are_logged(fresh_db: str, caplog: pytest.LogCaptureFixture) -> None:
    """Regression: a log field named `name` clashed with LogRecord's own and crashed migrate."""
    caplog.set_level(logging.INFO, logger="jobping.migrate")
    applied = migrate(fresh_db)
    logged = [r for r in caplog.records if r.getMessage() == "applied migration"]
    assert [r.version for r in logged] == applied  # type: ignore[attr-defined]


def test_notification_states_migration_keeps_old_rows_and_allows_sending(
    fresh_db: str, tmp_path: Path
) -> None:
    first_only = tmp_path / "first"
    first_only.mkdir()
    shutil.copy(MIGRATIONS_DIR / "0001_initial.sql", first_only)
    migrate(fresh_db, first_only)
    with psycopg.connect(fresh_db) as conn:
        conn.execute(
            "WITH u AS (INSERT INTO users (email) VALUES ('a@example.com') RETURNING id), "
            "j AS (INSERT INTO jobs (source, external_id, title, content_hash) "
            "VALUES ('s', '1', 't', 'h') RETURNING id) "
            "INSERT INTO notifications (user_id, job_id, status) SELECT u.id, j.id, 'pending' "
            "FROM u, j"
        )
    assert migrate(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        conn.execute("UPDATE notifications SET status = 'sending', attempted_at = now()")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE notifications SET status = 'lost'")
