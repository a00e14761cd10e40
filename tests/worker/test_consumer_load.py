"""1,000 messages, two worker processes, one killed with SIGKILL midway: nothing lost.

moto's ReceiveMessage costs time proportional to the queue's length, so the feeder keeps the
backlog short instead of sending all 1,000 at once; the workers see a steady stream.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from devtools.local.queues import JobQueues
from tests.faultmatrix import FaultMatrix, consumer_row, drain_dlq
from tests.worker.conftest import WorkerFactory, job_body, query, queue_counts, send_all, wait_for

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

TOTAL = 1000
BACKLOG = 30


def _processed(db: str) -> int:
    return int(query(db, "SELECT count(*) FROM consumer_jobs")[0][0])


@pytest.mark.slow
@pytest.mark.fault
def test_thousand_messages_survive_a_killed_worker(
    sqs: SQSClient,
    make_queues: Callable[..., JobQueues],
    start_worker: WorkerFactory,
    consumer_db: str,
    fault_matrix: FaultMatrix,
) -> None:
    # The deployed maxReceiveCount (3); visibility 5 s, not 300 s, so that what the killed worker
    # held comes back within the test.
    queues = make_queues(visibility_timeout_seconds=5)
    bodies = [job_body("write", title="0.01") for _ in range(TOTAL)]
    victim = start_worker(queues.url)
    survivor = start_worker(queues.url)
    for start in range(0, TOTAL, 10):
        wait_for(lambda: queue_counts(sqs, queues.url)[0] < BACKLOG, 30, "the backlog to shrink")
        send_all(sqs, queues.url, bodies[start : start + 10])
        if victim.process.poll() is None and _processed(consumer_db) >= TOTAL // 2:
            victim.process.kill()
            victim.process.wait(5)
    wait_for(lambda: _processed(consumer_db) == TOTAL, 60, "every job", interval=0.5)
    wait_for(lambda: queue_counts(sqs, queues.url) == (0, 0), 15, "nothing in flight")

    assert victim.process.returncode == -9
    assert survivor.process.poll() is None
    effects = int(query(consumer_db, "SELECT count(*) FROM consumer_effects")[0][0])
    reprocessed = int(
        query(consumer_db, "SELECT count(*) FROM consumer_jobs WHERE times > 1")[0][0]
    )
    in_dlq = sum(queue_counts(sqs, queues.dlq_url))
    by_victim = int(
        query(consumer_db, "SELECT count(*) FROM consumer_jobs WHERE pid = %s", victim.process.pid)[
            0
        ][0]
    )
    peak_rss_kib = next(
        int(line.split()[1])
        for line in Path(f"/proc/{survivor.process.pid}/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    report = {
        "sent": TOTAL,
        "processed": _processed(consumer_db),
        "in_dlq": in_dlq,
        "duplicate_effects": effects - _processed(consumer_db),
        "processed_twice_idempotently": reprocessed,
        "lost": TOTAL - _processed(consumer_db) - in_dlq,
        "finished_by_killed_worker": by_victim,
        "survivor_peak_rss_mib": round(peak_rss_kib / 1024, 1),
    }
    print(json.dumps(report))
    assert report["processed"] == TOTAL
    assert (report["in_dlq"], report["lost"], report["duplicate_effects"]) == (0, 0, 0)
    assert 0 < by_victim < TOTAL  # both workers did work before the kill
    dlq = drain_dlq(sqs, queues.dlq_url)
    row = fault_matrix.record(
        consumer_row(
            "worker: 1,000 jobs, one of two workers SIGKILLed midway", consumer_db, bodies, dlq
        )
    )
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row
