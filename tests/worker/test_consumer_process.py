"""The worker as a subprocess: crashes and signals lose nothing (outages: `test_outage.py`)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from devtools.local.queues import JobQueues
from tests.faultmatrix import FaultMatrix, consumer_row, drain_dlq
from tests.worker.conftest import (
    WorkerFactory,
    drain_queue,
    job_body,
    query,
    queue_counts,
    send_all,
    wait_for,
)

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


_COUNTS = {
    "consumer_runs": "SELECT count(*) FROM consumer_runs",
    "consumer_jobs": "SELECT count(*) FROM consumer_jobs",
    "consumer_effects": "SELECT count(*) FROM consumer_effects",
}


def _count(db: str, table: str) -> int:
    return int(query(db, _COUNTS[table])[0][0])


@pytest.mark.fault
def test_killed_worker_loses_nothing_and_duplicates_nothing(
    sqs: SQSClient,
    make_queues: Callable[..., JobQueues],
    start_worker: WorkerFactory,
    consumer_db: str,
    fault_matrix: FaultMatrix,
) -> None:
    # Visibility 3 s, not the deployed 300 s: the killed worker's messages come back in seconds
    # (maxReceiveCount is the deployed 3).
    queues = make_queues(visibility_timeout_seconds=3)
    bodies = [job_body("write", title="0.2") for _ in range(40)]
    send_all(sqs, queues.url, bodies)
    first = start_worker(queues.url)
    wait_for(lambda: _count(consumer_db, "consumer_jobs") >= 10, 20, "10 jobs done")
    first.process.kill()  # SIGKILL, in the middle of a batch
    first.process.wait(5)
    killed_pid = first.process.pid
    second = start_worker(queues.url)
    wait_for(lambda: _count(consumer_db, "consumer_effects") == 40, 30, "all 40 effects")
    wait_for(lambda: queue_counts(sqs, queues.url) == (0, 0), 10, "nothing left in flight")
    assert second.process.poll() is None
    assert _count(consumer_db, "consumer_jobs") == 40
    # Jobs the killed worker started but never committed were finished by the second one.
    unfinished = query(
        consumer_db,
        "SELECT count(DISTINCT r.job_id) FROM consumer_runs r JOIN consumer_jobs j USING (job_id) "
        "WHERE r.pid = %s AND j.pid <> %s",
        killed_pid,
        killed_pid,
    )
    assert unfinished[0][0] >= 1
    assert queue_counts(sqs, queues.dlq_url) == (0, 0)
    dlq = drain_dlq(sqs, queues.dlq_url)
    row = fault_matrix.record(
        consumer_row("worker: SIGKILL mid-batch (40 jobs)", consumer_db, bodies, dlq)
    )
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row


@pytest.mark.fault
def test_sigterm_finishes_running_jobs_and_releases_the_rest(
    sqs: SQSClient,
    make_queues: Callable[..., JobQueues],
    start_worker: WorkerFactory,
    consumer_db: str,
    fault_matrix: FaultMatrix,
) -> None:
    queues = make_queues()  # the deployed settings: released means visible at once, not in 300 s
    worker = start_worker(queues.url, WORKER_CONCURRENCY="4", WORKER_DRAIN_SECONDS="8")
    bodies = [job_body("write", title="2") for _ in range(10)]
    send_all(sqs, queues.url, bodies)
    wait_for(lambda: _count(consumer_db, "consumer_runs") == 4, 10, "4 jobs running")
    signalled = time.monotonic()
    worker.signal(signal.SIGTERM)
    assert worker.process.wait(8) == 0
    assert time.monotonic() - signalled < 8  # within the drain time
    assert _count(consumer_db, "consumer_jobs") == 4  # the running jobs finished
    assert _count(consumer_db, "consumer_runs") == 4  # nothing else was started
    # The other six are visible at once, not after the 300 s visibility timeout.
    assert queue_counts(sqs, queues.url) == (6, 0)
    released = drain_queue(sqs, queues.url, wait=0)
    assert len(released) == 6
    # The six were received already (prefetched), and released once, after the last receive.
    assert sorted(worker.outcomes()) == ["processed"] * 4 + ["released"] * 6
    back_on_queue = sum(1 for message in released if message["Body"] in bodies)
    row = fault_matrix.record(
        consumer_row(
            "worker: SIGTERM with 4 jobs running, 6 prefetched",
            consumer_db,
            bodies,
            drain_dlq(sqs, queues.dlq_url),
            set_aside={"on queue: released at once": back_on_queue},
        )
    )
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row


def test_second_sigterm_exits_at_once(
    sqs: SQSClient, queues: JobQueues, start_worker: WorkerFactory, consumer_db: str
) -> None:
    worker = start_worker(queues.url, WORKER_DRAIN_SECONDS="60")
    send_all(sqs, queues.url, [job_body("write", title="30")])
    wait_for(lambda: _count(consumer_db, "consumer_runs") == 1, 10, "the job to start")
    worker.signal(signal.SIGTERM)
    time.sleep(0.5)
    assert worker.process.poll() is None  # draining: waiting for the running job
    signalled = time.monotonic()
    worker.signal(signal.SIGTERM)
    assert worker.process.wait(5) == 128 + signal.SIGTERM
    assert time.monotonic() - signalled < 2
    assert _count(consumer_db, "consumer_jobs") == 0
