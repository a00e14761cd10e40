"""One scan: fetch every source, upsert what changed, drain the outbox, summarize.

A failing source (timeout, 5xx, malformed body) is logged, counted and skipped; the others are
still scanned. Validators (ETag / Last-Modified) are stored only after a source's jobs are
committed, so a crash between fetch and upsert costs a full fetch next time, never a lost job.
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
from scanner.store import outbox_size, upsert_jobs

log = logging.getLogger(__name__)


@dataclass
class SourceStats:
    """What one source gave this run."""

    fetched: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: int = 0
    not_modified: bool = False
    failed: bool = False
    error: str | None = None


@dataclass
class ScanSummary:
    """The run's summary: printed as one JSON line at the end."""

    sources: dict[str, SourceStats] = field(default_factory=dict)
    enqueued: int = 0
    enqueue_failed: int = 0
    outbox_remaining: int = 0
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
    """Fetch one source; a `SourceError` or an adapter bug becomes a failed-source record."""
    try:
        return source.fetch(fetcher, store)
    except SourceError as error:
        log.warning("source failed", extra={"source": source.name, "reason": error.reason})
        return SourceStats(failed=True, error=error.reason)
    except Exception as error:  # a bug in one adapter must not stop the other sources
        log.exception("source crashed", extra={"source": source.name})
        return SourceStats(failed=True, error=f"{type(error).__name__}: {error}")


def scan_sources(
    sources: Sequence[Source], fetcher: Fetcher, pool: ConnectionPool, store: ValidatorStore
) -> dict[str, SourceStats]:
    """Fetch each source and upsert its jobs; returns per-source statistics."""
    results: dict[str, SourceStats] = {}
    for source in sources:
        outcome = fetch_source(source, fetcher, store)
        if isinstance(outcome, SourceStats):
            results[source.name] = outcome
            continue
        stats = SourceStats(
            fetched=len(outcome.jobs), skipped=outcome.skipped, not_modified=outcome.not_modified
        )
        if not outcome.not_modified:
            with pool.connection() as conn:  # commits when the block ends
                counts = upsert_jobs(conn, list(outcome.jobs))
            stats.new, stats.changed, stats.unchanged = counts.new, counts.changed, counts.unchanged
        outcome.remember(store)  # only now: the jobs are committed
        results[source.name] = stats
        log.info("source scanned", extra={"source": source.name, **asdict(stats)})
    return results


def run_scan(
    sources: Sequence[Source],
    fetcher: Fetcher,
    pool: ConnectionPool,
    store: ValidatorStore,
    outbox: Outbox,
) -> ScanSummary:
    """Scan every source, then send every job in the outbox (this run's and earlier ones)."""
    started = time.monotonic()
    summary = ScanSummary(sources=scan_sources(sources, fetcher, pool, store))
    drained = outbox.drain(pool)
    summary.enqueued, summary.enqueue_failed = drained.enqueued, drained.failed
    with pool.connection() as conn:
        summary.outbox_remaining = outbox_size(conn)
    summary.http_requests = fetcher.requests_made
    summary.duration_ms = round((time.monotonic() - started) * 1000)
    return summary


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
