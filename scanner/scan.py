"""One scan: fetch every source, upsert what changed, drain the outbox, summarize.

A failing source (timeout, deadline, 5xx, malformed or oversized body, a database error while
storing it) is logged, counted and skipped; the others are still scanned, and the outbox is
drained whatever happened to them. Each source is scanned under its advisory lock: one that
another scanner holds is skipped, not waited for. Validators (ETag / Last-Modified) are stored
only after a source's jobs are committed, so a crash between fetch and upsert costs a full
fetch next time, never a lost job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from psycopg_pool import ConnectionPool

from scanner.http import Fetcher, ValidatorStore
from scanner.model import NormalizedJob
from scanner.outbox import Outbox
from scanner.sources import FetchOutcome, Source, SourceError
from scanner.store import outbox_size, source_lock, store_listings

log = logging.getLogger(__name__)


@dataclass
class SourceStats:
    """What one source gave this run."""

    fetched: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: int = 0
    refused: int = 0
    """Listings the database refused (each logged); the rest of the board is stored."""
    not_modified: bool = False
    locked: bool = False
    """Another scanner was scanning this source: skipped this time, not failed."""
    failed: bool = False
    error: str | None = None


@dataclass
class ScanSummary:
    """The run's summary: printed as one JSON line at the end."""

    sources: dict[str, SourceStats] = field(default_factory=dict)
    enqueued: int = 0
    enqueue_failed: int = 0
    outbox_remaining: int = 0
    drain_error: str | None = None
    sqs_requests: int = 0
    http_requests: int = 0
    duration_ms: int = 0

    @property
    def failed_sources(self) -> list[str]:
        """Names of the sources that could not be scanned."""
        return [name for name, stats in self.sources.items() if stats.failed]

    def as_record(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict, tagged `event: scan_summary`."""
        return {"event": "scan_summary", **asdict(self), "failed_sources": self.failed_sources}


def fetch_source(
    source: Source, fetcher: Fetcher, store: ValidatorStore
) -> FetchOutcome | SourceStats:
    """Fetch one source within its deadline; a failure becomes a failed-source record."""
    try:
        with fetcher.deadline(source.deadline_seconds):
            return source.fetch(fetcher, store)
    except SourceError as error:
        log.warning("source failed", extra={"source": source.name, "reason": error.reason})
        return SourceStats(failed=True, error=error.reason)
    except Exception as error:  # a bug in one adapter must not stop the other sources
        log.exception("source crashed", extra={"source": source.name})
        return SourceStats(failed=True, error=_describe(error))


def scan_source(
    source: Source, fetcher: Fetcher, pool: ConnectionPool, store: ValidatorStore
) -> SourceStats:
    """Fetch one source and store its jobs, holding its lock; skipped if another scanner has it."""
    with pool.connection() as conn, source_lock(conn, source.name) as held:
        if not held:
            log.info("source skipped: another scanner holds it", extra={"source": source.name})
            return SourceStats(locked=True)
        outcome = fetch_source(source, fetcher, store)
        if isinstance(outcome, SourceStats):
            return outcome
        stats = SourceStats(
            fetched=len(outcome.jobs), skipped=outcome.skipped, not_modified=outcome.not_modified
        )
        if not outcome.not_modified:
            counts, stats.refused = store_listings(conn, outcome.jobs)  # commits
            stats.new, stats.changed, stats.unchanged = counts.new, counts.changed, counts.unchanged
        outcome.remember(store)  # only now: the jobs are committed
    log.info("source scanned", extra={"source": source.name, **asdict(stats)})
    return stats


def scan_sources(
    sources: Sequence[Source], fetcher: Fetcher, pool: ConnectionPool, store: ValidatorStore
) -> dict[str, SourceStats]:
    """Fetch each source and upsert its jobs; returns per-source statistics."""
    results: dict[str, SourceStats] = {}
    for source in sources:
        try:
            results[source.name] = scan_source(source, fetcher, pool, store)
        except Exception as error:  # the database, say: costs this source, not the scan
            log.exception("source could not be stored", extra={"source": source.name})
            results[source.name] = SourceStats(failed=True, error=_describe(error))
    return results


def drain_outbox(outbox: Outbox, pool: ConnectionPool, summary: ScanSummary) -> None:
    """Send the outbox into `summary`'s counts; a failure is logged and recorded, not raised."""
    try:
        drained = outbox.drain(pool)
        summary.enqueued, summary.enqueue_failed = drained.enqueued, drained.failed
        with pool.connection() as conn:
            summary.outbox_remaining = outbox_size(conn)
    except Exception as error:  # the jobs stay in the outbox for the next run
        log.exception("outbox drain failed")
        summary.drain_error = _describe(error)


def run_scan(
    sources: Sequence[Source],
    fetcher: Fetcher,
    pool: ConnectionPool,
    store: ValidatorStore,
    outbox: Outbox,
) -> ScanSummary:
    """Scan every source, then send every job in the outbox (this run's and earlier ones)."""
    started = time.monotonic()
    summary = ScanSummary()
    try:
        summary.sources = scan_sources(sources, fetcher, pool, store)
    except Exception:  # not expected (each source has its own handling); the drain still runs
        drain_outbox(outbox, pool, summary)
        raise
    drain_outbox(outbox, pool, summary)
    summary.http_requests = fetcher.requests_made
    summary.duration_ms = round((time.monotonic() - started) * 1000)
    return summary


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def would_enqueue(
    jobs: Sequence[NormalizedJob], stored: dict[tuple[str, str], str]
) -> list[dict[str, str]]:
    """For `--dry-run`: the fetched jobs that are new or changed against `stored` hashes."""
    pending = []
    for job in jobs:
        previous = stored.get((job.source, job.external_id))
        if previous != job.content_hash:
            pending.append(
                {
                    "source": job.source,
                    "external_id": job.external_id,
                    "title": job.title,
                    "reason": "new" if previous is None else "changed",
                }
            )
    return pending
