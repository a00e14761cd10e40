"""The scanner's database side: upsert listings, remember HTTP validators, claim the outbox.

A new job, or one whose content hash changed, gets `enqueued_at = NULL`: it is in the outbox
until SQS has accepted its message. An unchanged job is not touched at all.

Two scanners may run at once (a slow scan overlapping the next scheduled one). Each source is
scanned under a session advisory lock on its name, taken with try-lock: a scanner that finds
the lock held skips the source (another one is scanning it). Rows are upserted in key order,
so even two writers of the same listings lock them in one order and cannot deadlock.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from scanner.http import Validators
from scanner.model import NormalizedJob

log = logging.getLogger(__name__)
Conn = psycopg.Connection[TupleRow]

#: Advisory lock class of "a scanner is scanning this source"; the object is hashtext(name).
SOURCE_LOCK_CLASS = 0x4A505343  # "JPSC"
_TRY_LOCK = "SELECT pg_try_advisory_lock(%s, hashtext(%s))"
_UNLOCK = "SELECT pg_advisory_unlock(%s, hashtext(%s))"

# unnest keeps the order of its arrays, so rows are inserted (and locked) in the given order.
_UPSERT = """
INSERT INTO jobs AS j (source, external_id, title, company, location, remote, work_mode, url,
                       description, posted_at, salary_min, salary_max, salary_currency,
                       salary_period, content_hash)
SELECT * FROM unnest(
    %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::boolean[], %s::text[],
    %s::text[], %s::text[], %s::timestamptz[], %s::numeric[], %s::numeric[], %s::text[],
    %s::text[], %s::text[])
ON CONFLICT (source, external_id) DO UPDATE SET
    title = EXCLUDED.title, company = EXCLUDED.company, location = EXCLUDED.location,
    remote = EXCLUDED.remote, work_mode = EXCLUDED.work_mode, url = EXCLUDED.url,
    description = EXCLUDED.description,
    posted_at = EXCLUDED.posted_at, salary_min = EXCLUDED.salary_min,
    salary_max = EXCLUDED.salary_max, salary_currency = EXCLUDED.salary_currency,
    salary_period = EXCLUDED.salary_period, content_hash = EXCLUDED.content_hash,
    updated_at = now(), enqueued_at = NULL
WHERE j.content_hash <> EXCLUDED.content_hash
RETURNING (xmax = 0) AS inserted"""

_CLAIM_OUTBOX = """
SELECT id, source, external_id, title, company, location, url
FROM jobs WHERE enqueued_at IS NULL AND id <> ALL(%s::uuid[])
ORDER BY updated_at, id
LIMIT %s
FOR UPDATE SKIP LOCKED"""

_WAITING = """
SELECT id, source, external_id, title, company, location, url
FROM jobs WHERE enqueued_at IS NULL
ORDER BY updated_at, id"""
_STORED_HASHES = """
SELECT source, external_id, content_hash FROM jobs
WHERE source = %s AND external_id = ANY(%s)"""

_GET_VALIDATORS = "SELECT etag, last_modified FROM source_state WHERE source = %s"
_PUT_VALIDATORS = """
INSERT INTO source_state (source, etag, last_modified, checked_at) VALUES (%s, %s, %s, now())
ON CONFLICT (source) DO UPDATE SET etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified,
    checked_at = now()"""


@dataclass(frozen=True)
class UpsertCounts:
    """How a batch of listings compared with what was stored."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.new + other.new, self.changed + other.changed, self.unchanged + other.unchanged
        )


@dataclass(frozen=True)
class OutboxJob:
    """A stored job waiting for its queue message."""

    id: uuid.UUID
    source: str
    external_id: str
    title: str
    company: str
    location: str
    url: str


def upsert_jobs(conn: Conn, jobs: Sequence[NormalizedJob]) -> UpsertCounts:
    """Insert new listings, update changed ones (back into the outbox), leave the rest alone.

    Rows are written in (source, external_id) order whatever order the board listed them in,
    so concurrent upserts of the same rows wait for each other instead of deadlocking.
    """
    by_key = {(job.source, job.external_id): job for job in jobs}
    unique = [by_key[key] for key in sorted(by_key)]
    if not unique:
        return UpsertCounts()
    columns: list[list[Any]] = [
        [job.source for job in unique],
        [job.external_id for job in unique],
        [job.title for job in unique],
        [job.company for job in unique],
        [job.location for job in unique],
        [job.remote for job in unique],
        [job.work_mode for job in unique],
        [job.url for job in unique],
        [job.description for job in unique],
        [job.posted_at for job in unique],
        [job.salary_min for job in unique],
        [job.salary_max for job in unique],
        [job.salary_currency for job in unique],
        [job.salary_period for job in unique],
        [job.content_hash for job in unique],
    ]
    rows = conn.execute(_UPSERT, columns).fetchall()
    new = sum(1 for (inserted,) in rows if inserted)
    return UpsertCounts(new=new, changed=len(rows) - new, unchanged=len(unique) - len(rows))


def store_listings(conn: Conn, jobs: Sequence[NormalizedJob]) -> tuple[UpsertCounts, int]:
    """Upsert `jobs` and commit; returns the counts and how many listings were refused.

    All at once in one transaction; if the database refuses a value (a `DataError` or a
    constraint), each listing again in its own transaction, so a bad one costs only itself.
    """
    try:
        with conn.transaction():
            return upsert_jobs(conn, jobs), 0
    except (psycopg.DataError, psycopg.IntegrityError) as error:
        log.warning("a listing was refused; storing one by one", extra={"reason": str(error)})
    total, refused = UpsertCounts(), 0
    for job in sorted(jobs, key=lambda job: (job.source, job.external_id)):
        try:
            with conn.transaction():
                total += upsert_jobs(conn, [job])
        except (psycopg.DataError, psycopg.IntegrityError) as error:
            log.warning(
                "skipped a listing the database refused",
                extra={"source": job.source, "external_id": job.external_id,
                       "reason": f"{type(error).__name__}: {str(error)[:200]}"},
            )  # fmt: skip
            refused += 1
    return total, refused


@contextmanager
def source_lock(conn: Conn, source: str) -> Iterator[bool]:
    """Hold the session advisory lock of `source` for the block, if no other session holds it.

    Yields whether the lock is held; if not, another scanner is scanning `source`. A lock that
    cannot be released closes the connection, which releases it.
    """
    with conn.transaction():
        row = conn.execute(_TRY_LOCK, (SOURCE_LOCK_CLASS, source)).fetchone()
    held = bool(row and row[0])
    try:
        yield held
    finally:
        if held:
            _unlock(conn, source)


def _unlock(conn: Conn, source: str) -> None:
    try:
        with conn.transaction():
            conn.execute(_UNLOCK, (SOURCE_LOCK_CLASS, source))
    except psycopg.Error:  # the session keeps the lock until it ends: end it
        log.warning("could not release a source lock; closing its connection", exc_info=True)
        conn.close()


@contextmanager
def claimed_outbox(
    conn: Conn, limit: int, exclude: Sequence[uuid.UUID] = ()
) -> Iterator[list[OutboxJob]]:
    """Lock up to `limit` unsent jobs for this transaction; other scanners skip them.

    Mark the ones SQS accepted with `mark_enqueued` before the block ends; the rest stay in
    the outbox when the transaction commits.
    """
    with conn.transaction():
        rows = conn.execute(_CLAIM_OUTBOX, (list(exclude), limit)).fetchall()
        yield [OutboxJob(*row) for row in rows]


def mark_enqueued(conn: Conn, job_ids: Sequence[uuid.UUID]) -> None:
    """Take `job_ids` out of the outbox."""
    if job_ids:
        conn.execute("UPDATE jobs SET enqueued_at = now() WHERE id = ANY(%s)", (list(job_ids),))


def waiting_jobs(conn: Conn) -> list[OutboxJob]:
    """Every job in the outbox, oldest change first, without claiming any (for `--dry-run`)."""
    return [OutboxJob(*row) for row in conn.execute(_WAITING)]


def stored_hashes(
    conn: Conn, source: str, external_ids: Sequence[str]
) -> dict[tuple[str, str], str]:
    """The stored content hash of each of `source`'s listings named in `external_ids`."""
    rows = conn.execute(_STORED_HASHES, (source, list(external_ids)))
    return {(row[0], row[1]): row[2] for row in rows}


def outbox_size(conn: Conn) -> int:
    """How many jobs wait for their message."""
    row = conn.execute("SELECT count(*) FROM jobs WHERE enqueued_at IS NULL").fetchone()
    return int(row[0]) if row else 0


class DbValidatorStore:
    """ETag / Last-Modified per source, kept in `source_state`."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def get(self, source: str) -> Validators | None:
        """The validators last stored for `source`."""
        with self._pool.connection() as conn:
            row = conn.execute(_GET_VALIDATORS, (source,)).fetchone()
        if row is None or (row[0] is None and row[1] is None):
            return None
        return Validators(etag=row[0], last_modified=row[1])

    def put(self, source: str, validators: Validators) -> None:
        """Remember the validators of the response just processed."""
        with self._pool.connection() as conn:
            conn.execute(_PUT_VALIDATORS, (source, validators.etag, validators.last_modified))
