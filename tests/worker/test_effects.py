"""Effects happen once: a stale delivery writes nothing, and no notification is sent twice.

Scenarios for the fault matrix (`make faults`) are the helpers whose names end in a fault:
`run_stale_delivery` (a delivery of version 1 of a job finishing after version 2 was written)
and `commit_fails_after_send` (the database write after a successful send fails).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from jobping.db import open_pool
from tests.faultmatrix import FaultMatrix, FaultRow, sent_twice
from tests.worker.test_pipeline import (
    RecordingNotifier,
    insert_job,
    insert_search,
    make_pipeline,
    message,
)
from worker.analyze import RuleAnalyzer
from worker.model import Analysis, JobPosting, Notification
from worker.notify import NotificationSender, NotSent

KUBERNETES_JOB = "We run Kubernetes on AWS. Fully remote."
DESIGN_JOB = "You design our product in Figma. Fully remote."


@pytest.fixture
def pool(db: str) -> Iterator[ConnectionPool]:
    """Three autocommit connections: enough for a delivery running inside another."""
    with open_pool(db, size=3, wait=True, autocommit=True) as pool:
        yield pool


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql.encode()).fetchall()


class _OvertakingAnalyzer(RuleAnalyzer):
    """Analyses version 1 slowly: while it does, version 2 is stored and fully processed."""

    def __init__(self, overtake: Any) -> None:
        super().__init__()
        self._overtake = overtake

    def analyze(self, job: JobPosting) -> Analysis:
        analysis = super().analyze(job)
        if job.content_hash == "v1":
            self._overtake()
        return analysis


def run_stale_delivery(db: str, pool: ConnectionPool, notifier: RecordingNotifier) -> uuid.UUID:
    """Fault "stale delivery": version 1's delivery finishes after version 2 was written.

    The job is stored at version 1 (a Kubernetes job, matching Ana) and its delivery starts;
    while it is being analysed, the scanner stores version 2 (a design job, matching Ben) and
    version 2's delivery runs to the end. Then version 1's delivery writes. Returns the job id.
    """
    job_id = insert_job(
        db, title="Platform Engineer", description=KUBERNETES_JOB, content_hash="v1"
    )
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    insert_search(db, "ben@example.com", "design", keywords=["figma"])
    newer = make_pipeline(pool, notifier)

    def store_and_process_version_2() -> None:
        insert_job(db, title="Product Designer", description=DESIGN_JOB, content_hash="v2")
        newer(message(job_id))

    older = make_pipeline(pool, notifier, analyzer=_OvertakingAnalyzer(store_and_process_version_2))
    older(message(job_id))  # returns normally: the message is deleted
    return job_id


@pytest.mark.fault
def test_a_stale_delivery_leaves_analysis_and_matches_at_the_newer_version(
    db: str, pool: ConnectionPool, caplog: pytest.LogCaptureFixture, fault_matrix: FaultMatrix
) -> None:
    caplog.set_level(logging.INFO, logger="worker.pipeline")
    notifier = RecordingNotifier()
    job_id = run_stale_delivery(db, pool, notifier)
    assert _rows(db, "SELECT content_hash, skills FROM job_analyses") == [("v2", ["figma"])]
    matched = _rows(db, "SELECT u.email FROM matches m JOIN users u ON u.id = m.user_id")
    assert matched == [("ben@example.com",)]
    assert [n.email for n in notifier.sent] == ["ben@example.com"]  # never Ana, for v1
    assert _rows(db, "SELECT status FROM notifications") == [("sent",)]
    stale = [r for r in caplog.records if r.getMessage().startswith("stale delivery")]
    assert [r.job_id for r in stale] == [str(job_id)]  # type: ignore[attr-defined]
    # Two deliveries: the one whose version's results are stored is processed; the other must
    # have written nothing (had version 1 overwritten version 2, version 2's would be lost).
    stored = [version for (version,) in _rows(db, "SELECT content_hash FROM job_analyses")]
    row = fault_matrix.record(
        FaultRow(
            fault="worker: stale delivery finishing after the newer version",
            messages_in=2,
            processed=sum(stored.count(version) for version in ("v1", "v2")),
            dead_lettered={"stale: wrote nothing": len(stale)},
            duplicate_effects=sent_twice(notifier.sent),
        )
    )
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row


def test_a_job_changed_while_analysed_writes_nothing_until_its_new_version_arrives(
    db: str, pool: ConnectionPool
) -> None:
    job_id = insert_job(db, description=KUBERNETES_JOB, content_hash="v1")
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    changed = _OvertakingAnalyzer(lambda: insert_job(db, description=DESIGN_JOB, content_hash="v2"))
    pipeline = make_pipeline(pool, RecordingNotifier(), analyzer=changed)
    pipeline(message(job_id))
    assert _rows(db, "SELECT count(*) FROM job_analyses") == [(0,)]
    assert _rows(db, "SELECT count(*) FROM notifications") == [(0,)]
    pipeline(message(job_id))  # version 2's own message
    assert _rows(db, "SELECT content_hash FROM job_analyses") == [("v2",)]


class _SendThenLoseTheDatabase(RecordingNotifier):
    """Sends; the first time, the worker's database connection then dies."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url

    def send(self, notifications: Sequence[Notification]) -> list[Exception | None]:
        outcomes = super().send(notifications)
        if len(self.sent) > len(notifications):
            return outcomes  # the database fails once
        with psycopg.connect(self._url, autocommit=True) as conn:
            # The backend whose last statement was the job's write: the worker's. (Postgres
            # keeps the first 1024 bytes of a statement, where `job_analyses` is named.)
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND query LIKE '%INSERT INTO job_analyses%'"
            )
        return outcomes


def commit_fails_after_send(db: str) -> tuple[uuid.UUID, RecordingNotifier]:
    """Fault "commit fails after send": a job for Ana, and a channel that loses the database.

    The channel delivers, then (the first time only) kills the worker's database connection, so
    whatever the worker writes after the send (before this fix: the COMMIT of the job's
    transaction; now: the outcome of the send) fails and the message is retried. Returns the
    job id and the channel.
    """
    job_id = insert_job(db, description=KUBERNETES_JOB)
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    return job_id, _SendThenLoseTheDatabase(db)


@pytest.mark.fault
def test_a_commit_failing_after_the_send_causes_no_second_send(
    db: str, pool: ConnectionPool, fault_matrix: FaultMatrix
) -> None:
    job_id, notifier = commit_fails_after_send(db)
    pipeline = make_pipeline(pool, notifier)
    with pytest.raises(psycopg.OperationalError):
        pipeline(message(job_id))  # the consumer retries the message
    pipeline(message(job_id))  # the redelivery
    pipeline(message(job_id))  # and another
    assert NotificationSender(pool, notifier).send_pending() == (0, 0)  # the sweep
    assert [n.email for n in notifier.sent] == ["ana@example.com"]  # once
    assert _rows(db, "SELECT status, attempts FROM notifications") == [("sending", 1)]
    assert _rows(db, "SELECT content_hash FROM job_analyses") == [("h1",)]  # the job's write
    [(analysed,)] = _rows(db, "SELECT count(*) FROM job_analyses")
    row = fault_matrix.record(
        FaultRow(
            fault="worker: database lost after a notification was sent",
            messages_in=1,
            processed=analysed,
            duplicate_effects=sent_twice(notifier.sent),
        )
    )
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row


def test_the_sweep_never_sends_a_notification_stuck_in_sending(
    db: str, pool: ConnectionPool
) -> None:
    job_id = insert_job(db, description=KUBERNETES_JOB)
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    insert_search(db, "cy@example.com", "kube", keywords=["kubernetes"])
    refusing = RecordingNotifier()
    refusing.fail_with = NotSent("throttled")
    make_pipeline(pool, refusing)(message(job_id))
    assert _rows(db, "SELECT status FROM notifications") == [("pending",)] * 2

    class CrashAfterFirst(RecordingNotifier):
        def send(self, notifications: Sequence[Notification]) -> list[Exception | None]:
            super().send(notifications[:1])
            raise SystemExit("worker killed between two sends")

    crashing = CrashAfterFirst()
    with pytest.raises(SystemExit):
        NotificationSender(pool, crashing).send_pending()
    assert _rows(db, "SELECT status, attempts FROM notifications") == [("sending", 2)] * 2
    with psycopg.connect(db) as conn:  # long stuck, as the sweep would find them
        conn.execute("UPDATE notifications SET attempted_at = now() - interval '1 day'")
    later = RecordingNotifier()
    assert NotificationSender(pool, later).send_pending() == (0, 0)
    assert later.sent == []
    assert len(crashing.sent) == 1


def test_consecutive_sweeps_claim_each_pending_notification_once(
    db: str, pool: ConnectionPool
) -> None:
    job_id = insert_job(db, description=KUBERNETES_JOB)
    for index in range(6):
        insert_search(db, f"user{index}@example.com", "k8s", keywords=["kubernetes"])
    refusing = RecordingNotifier()
    refusing.fail_with = NotSent("throttled")
    make_pipeline(pool, refusing)(message(job_id))
    notifier = RecordingNotifier()
    first, second = NotificationSender(pool, notifier), NotificationSender(pool, notifier)
    assert first.send_pending(limit=4)[0] + second.send_pending(limit=4)[0] == 6
    assert sorted(n.email for n in notifier.sent) == [f"user{i}@example.com" for i in range(6)]
    assert _rows(db, "SELECT DISTINCT status, attempts FROM notifications") == [("sent", 2)]
