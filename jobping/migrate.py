"""Versioned SQL migrations, applied in order, once, under a Postgres advisory lock.

Files are `jobping/migrations/NNNN_name.sql`. Each is applied in its own transaction together
with its row in `schema_migrations`, so a failure leaves no half-applied version behind. The
whole run holds a session advisory lock: two processes starting together (two worker tasks after
a deploy) serialize, and the second finds nothing left to do. An applied file whose text has
changed since is an error: migrations are append-only.

Versions need not be contiguous: every version missing from the database is applied, in order,
so a file merged with a lower number than one already applied still runs (after it, with a
warning). Migrations run as the database owner (on AWS, the `migrate` step of each task); the
application's role may not change the schema, and a run as that role stops with that reason.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# An arbitrary, fixed 64-bit key that names "JobPing schema migrations" in pg_advisory_lock.
LOCK_KEY = 0x4A6F6250696E67  # "JobPing"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)"""


class MigrationError(RuntimeError):
    """The migrations on disk and in the database disagree, or a file is misnamed."""


@dataclass(frozen=True)
class Migration:
    """One SQL file: its version, name, text and checksum."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """sha256 of the file's text; detects an edited, already-applied migration."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in `directory`, sorted by version; misnamed or duplicate files are errors."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file {path.name} is not named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations have version {version}")
        found[version] = Migration(version, match.group(2), path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def migrate(conninfo: str, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply every pending migration; return the versions applied by this call."""
    migrations = discover(directory)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            conn.execute(_CREATE_TABLE)
            applied = _applied(conn)
            _check_unchanged(migrations, applied)
            done = []
            for migration in migrations:
                if migration.version not in applied:
                    if applied and migration.version < max(applied):
                        log.warning("applying a migration out of order", extra=_fields(migration))
                    _apply(conn, migration)
                    done.append(migration.version)
            return done
        except psycopg.errors.InsufficientPrivilege as error:
            raise MigrationError(
                f"role {conn.info.user} may not change the schema ({error.diag.message_primary}):"
                " run migrations as the database owner, not as the application's role"
            ) from error
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def _applied(conn: psycopg.Connection[tuple[object, ...]]) -> dict[int, str]:
    rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    return {int(str(version)): str(checksum) for version, checksum in rows}


def _check_unchanged(migrations: list[Migration], applied: dict[int, str]) -> None:
    on_disk = {m.version: m for m in migrations}
    for version, checksum in sorted(applied.items()):
        migration = on_disk.get(version)
        if migration is None:
            raise MigrationError(f"database has version {version}, which is not on disk")
        if migration.checksum != checksum:
            raise MigrationError(
                f"migration {version:04d}_{migration.name} was edited after it was applied"
            )


def _apply(conn: psycopg.Connection[tuple[object, ...]], migration: Migration) -> None:
    with conn.transaction():
        # A file of ours, not input: sent as-is (bytes), possibly several statements.
        conn.execute(migration.sql.encode())
        conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
            (migration.version, migration.name, migration.checksum),
        )
    log.info("applied migration", extra=_fields(migration))


def _fields(migration: Migration) -> dict[str, object]:
    return {"version": migration.version, "migration": migration.name}
