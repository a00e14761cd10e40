"""A body nobody can parse goes to the DLQ at its first receive, with its reason.

Uses the deployed queue settings (visibility timeout 300 s, maxReceiveCount 3): before the fix
a deeply nested body raised RecursionError, was retried three times and reached the DLQ by
redrive, without a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from devtools.local.queues import JobQueues
from tests.faultmatrix import FaultMatrix, consumer_row, dlq_counts
from tests.jobping.test_messages import nested_body
from tests.worker.conftest import drain_queue, job_body, queue_counts, send_all, wait_for
from worker.dlq import ERROR_TYPE, REASON, RECEIVE_COUNT

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@pytest.mark.fault
def test_a_deeply_nested_body_is_dead_lettered_at_once_with_its_reason(
    sqs: SQSClient,
    make_queues: Callable[..., JobQueues],
    run_consumer: Callable[..., Any],
    consumer_db: str,
    fault_matrix: FaultMatrix,
) -> None:
    queues = make_queues()  # the deployed settings
    body, good = nested_body(), job_body("write")
    send_all(sqs, queues.url, [body, good])
    with run_consumer(queues.url) as consumer:
        wait_for(lambda: consumer.outcomes["dead_lettered"] == 1, 15, "the dead letter")
        wait_for(lambda: consumer.outcomes["processed"] == 1, 15, "the good message")
        wait_for(lambda: queue_counts(sqs, queues.url) == (0, 0), 10, "an empty queue")
        assert consumer.outcomes["retried"] == 0
    [dead] = drain_queue(sqs, queues.dlq_url)
    assert dead["Body"] == body
    attributes = dead["MessageAttributes"]
    assert attributes[ERROR_TYPE]["StringValue"] == "bad_json"
    assert "nested" in attributes[REASON]["StringValue"]
    assert attributes[RECEIVE_COUNT]["StringValue"] == "1"
    fault = "worker: deeply nested body, beside a good message"
    row = fault_matrix.record(consumer_row(fault, consumer_db, [body, good], dlq_counts([dead])))
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row
