"""Two scanners at once against the embedded Postgres: no deadlock, no source scanned twice at
the same time, every job stored and enqueued once."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from hostile import run_together
from local_http import LocalServer, Reply
from scanning import Scanner, jobs_of

from devtools.local.queues import JobQueues
from jobping.db import open_pool
from scanner.http import Fetcher, RetryPolicy, Timeouts, make_client
from scanner.model import NormalizedJob
from scanner.scan import ScanSummary
from scanner.store import source_lock, upsert_jobs
from tests.faultmatrix import FaultMatrix, FaultRow, listing_row


def _board(round_: int, count: int = 1500) -> list[NormalizedJob]:
    return [
        NormalizedJob(source="jobping:acme", external_id=f"job-{i:05d}",
                      title=f"Engineer {i} (round {round_})", company="Acme")
        for i in range(count)
    ]  # fmt: skip


@pytest.mark.fault
def test_upserts_of_one_board_in_opposite_orders_never_deadlock(
    db: str, fault_matrix: FaultMatrix
) -> None:
    written = committed = 0  # listing writes tried, and in a transaction that committed
    for round_ in range(3):  # each round changes every title: every row is updated
        jobs = _board(round_)

        def upsert(order: list[NormalizedJob]) -> Callable[[], None]:
            def run() -> None:
                with psycopg.connect(db) as conn:  # one transaction, committed at the end
                    upsert_jobs(conn, order)

            return run

        errors = run_together(upsert(jobs), upsert(jobs[::-1]))
        written, committed = written + 2 * len(jobs), committed + (2 - len(errors)) * len(jobs)

        assert errors == [], f"round {round_}: {errors}"
    with psycopg.connect(db) as conn:
        titles = conn.execute("SELECT DISTINCT substring(title from '\\(.*\\)') FROM jobs")
        assert titles.fetchall() == [("(round 2)",)]
        rows, keys = conn.execute(
            "SELECT count(*), count(DISTINCT (source, external_id)) FROM jobs"
        ).fetchall()[0]
    # A writer chosen as a deadlock's victim rolls its whole board back: those writes are lost.
    row = fault_matrix.record(
        FaultRow(
            fault="scanner: 2 writers upsert a board of 1,500 in opposite orders (x3)",
            messages_in=written,
            processed=committed,
            duplicate_effects=rows - keys,
        )
    )
    assert (row.lost, row.duplicate_effects) == (0, 0), row


def test_a_source_lock_is_held_by_one_session_at_a_time(db: str) -> None:
    with psycopg.connect(db) as first, psycopg.connect(db) as second:
        with source_lock(first, "jobping:acme") as held:
            assert held
            with source_lock(second, "jobping:acme") as also:
                assert not also
            with source_lock(second, "jobping:globex") as other:
                assert other  # another source is another lock
        with source_lock(second, "jobping:acme") as now:
            assert now  # released when the block ended


def _scanner(
    server: LocalServer, sqs: Any, queues: JobQueues, db: str, sources: list[dict[str, Any]]
) -> Callable[[list[ScanSummary]], None]:
    """A whole scanner process's worth: its own pool (2, as deployed) and HTTP client."""

    def scan(results: list[ScanSummary]) -> None:
        with (
            open_pool(db, size=2, wait=True) as pool,
            make_client(Timeouts(connect=2.0, read=5.0)) as client,
        ):
            fetcher = Fetcher(client, policy=RetryPolicy(attempts=1))
            scanner = Scanner(server, sqs, queues, pool, fetcher)
            scanner.sources = sources
            results.append(scanner.scan())

    return scan


@pytest.mark.fault
def test_two_overlapping_scans_skip_what_the_other_holds_and_enqueue_each_job_once(
    http_server: LocalServer,
    sqs: Any,
    queues: JobQueues,
    db: str,
    scanner: Scanner,
    fault_matrix: FaultMatrix,
) -> None:
    scanner.route("slow", Reply(body=json.dumps(jobs_of(20)), delay=1.0))
    served = [("jobping:slow", listing["external_id"]) for listing in jobs_of(20)]
    for name, start in (("acme", 1000), ("globex", 2000), ("initech", 3000)):
        scanner.board(name, list(reversed(jobs_of(150, start=start))))
        served += [(f"jobping:{name}", job["external_id"]) for job in jobs_of(150, start=start)]
    first: list[ScanSummary] = []
    second: list[ScanSummary] = []
    scan = _scanner(http_server, sqs, queues, db, scanner.sources)

    running = threading.Thread(target=scan, args=(first,))
    running.start()
    _wait_for(lambda: bool(http_server.requests_to("/slow.json")))  # the first holds "slow"
    scan(second)
    running.join(60)

    assert second[0].sources["jobping:slow"].locked  # skipped, not waited for, not failed
    assert [s.failed_sources for s in (*first, *second)] == [[], []]
    assert len(http_server.requests_to("/slow.json")) == 1
    new = sum(stats.new for summary in (*first, *second) for stats in summary.sources.values())
    assert new == 20 + 3 * 150
    assert sum(summary.enqueued for summary in (*first, *second)) == 20 + 3 * 150
    depth = sqs.get_queue_attributes(
        QueueUrl=queues.url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert int(depth) == 20 + 3 * 150  # one message per job: none sent twice
    with psycopg.connect(db) as conn:
        unsent = conn.execute("SELECT count(*) FROM jobs WHERE enqueued_at IS NULL").fetchone()
    assert unsent == (0,)
    fault = "scanner: 2 overlapping scans of 4 boards (470 listings)"
    row = fault_matrix.record(listing_row(fault, db, served=served, queued=scanner.queued()))
    assert (row.lost, row.duplicate_effects) == (0, 0), row


def _wait_for(condition: Callable[[], bool]) -> None:
    """Poll `condition` until it holds (bounded: fails after 30 s)."""
    event = threading.Event()
    for _ in range(3000):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError("condition never held")
