"""The consumer in-process against the moto server and the embedded Postgres."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from devtools.local.queues import JobQueues
from tests.faultmatrix import FaultMatrix, consumer_row, dlq_counts, drain_dlq
from tests.worker.conftest import drain_queue, job_body, query, queue_counts, send_all, wait_for
from worker.backoff import Backoff
from worker.dlq import ERROR_TYPE, ORIGINAL_MESSAGE_ID, REASON, RECEIVE_COUNT, SOURCE_QUEUE

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from worker.consumer import Consumer

RunConsumer = Callable[..., Any]


def _settled(consumer: Consumer, outcome: str, count: int, timeout: float = 15.0) -> None:
    wait_for(lambda: consumer.outcomes[outcome] >= count, timeout, f"{count} {outcome}")


def _empty(sqs: SQSClient, url: str, timeout: float = 10.0) -> None:
    wait_for(lambda: queue_counts(sqs, url) == (0, 0), timeout, "an empty queue")


@pytest.mark.fault
def test_poison_messages_go_to_the_dlq_with_their_reason(
    sqs: SQSClient,
    make_queues: Callable[..., JobQueues],
    run_consumer: RunConsumer,
    consumer_db: str,
    fault_matrix: FaultMatrix,
) -> None:
    queues = make_queues()  # the deployed settings
    bodies = {
        "bad_json": '{"job_id": "oops"',
        "schema": json.dumps({"job_id": "not-a-uuid", "action": "write", "data": {}}),
        "unknown_action": job_body("launch_rockets"),
        "missing_job": job_body("permanent"),
    }
    good = job_body("write")
    ids = send_all(sqs, queues.url, [*bodies.values(), good])
    with run_consumer(queues.url) as consumer:
        _settled(consumer, "dead_lettered", 4)
        _settled(consumer, "processed", 1)
        _empty(sqs, queues.url)
    dead = {
        m["MessageAttributes"][ORIGINAL_MESSAGE_ID]["StringValue"]: m
        for m in drain_queue(sqs, queues.dlq_url)
    }
    assert set(dead) == set(ids[:4])  # every poison message is in the DLQ, the good one is not
    for (kind, body), message_id in zip(bodies.items(), ids, strict=False):
        attributes = dead[message_id]["MessageAttributes"]
        assert dead[message_id]["Body"] == body  # unchanged
        assert attributes[ERROR_TYPE]["StringValue"] == kind
        assert attributes[REASON]["StringValue"]
        assert attributes[RECEIVE_COUNT]["StringValue"] == "1"
        assert attributes[SOURCE_QUEUE]["StringValue"] == queues.url
    assert query(consumer_db, "SELECT count(*) FROM consumer_effects") == [(1,)]
    for (kind, body), message_id in zip(bodies.items(), ids, strict=False):
        dlq = dlq_counts([dead[message_id]])  # its own DLQ message, found above
        row = fault_matrix.record(
            consumer_row(f"worker: poison message ({kind})", consumer_db, [body], dlq)
        )
        assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row


@pytest.mark.fault
def test_poison_message_without_a_dlq_is_never_deleted(
    sqs: SQSClient, run_consumer: RunConsumer, consumer_db: str, fault_matrix: FaultMatrix
) -> None:
    url = sqs.create_queue(
        QueueName=f"nodlq-{uuid.uuid4().hex[:12]}", Attributes={"VisibilityTimeout": "1"}
    )["QueueUrl"]
    send_all(sqs, url, ["definitely not json"])
    with run_consumer(url) as consumer:
        _settled(consumer, "kept", 2)  # seen twice: it stayed on the queue in between
        assert consumer.outcomes["dead_lettered"] == 0
    wait_for(lambda: queue_counts(sqs, url)[0] == 1, 10, "the message to be visible again")
    kept = drain_queue(sqs, url)
    assert [m["Body"] for m in kept] == ["definitely not json"]
    row = fault_matrix.record(
        consumer_row(
            "worker: poison message, queue without a DLQ",
            consumer_db,
            ["definitely not json"],
            ({}, 0),  # no DLQ to drain
            set_aside={"on queue: kept, no DLQ": len(kept)},
        )
    )
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row


@pytest.mark.fault
def test_same_message_delivered_twice_has_one_set_of_effects(
    sqs: SQSClient,
    make_queues: Callable[..., JobQueues],
    run_consumer: RunConsumer,
    consumer_db: str,
    fault_matrix: FaultMatrix,
) -> None:
    queues = make_queues()  # the deployed settings
    job_id = uuid.uuid4()
    body = job_body("write", job_id=job_id)
    send_all(sqs, queues.url, [body, body])
    with run_consumer(queues.url) as consumer:
        _settled(consumer, "processed", 2)
        _empty(sqs, queues.url)
    assert query(consumer_db, "SELECT count(*) FROM consumer_runs") == [(2,)]
    assert query(consumer_db, "SELECT job_id FROM consumer_jobs") == [(job_id,)]
    assert query(consumer_db, "SELECT job_id FROM consumer_effects") == [(job_id,)]
    dlq = drain_dlq(sqs, queues.dlq_url)
    row = fault_matrix.record(
        consumer_row("worker: same message delivered twice", consumer_db, [body, body], dlq)
    )
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row


@pytest.mark.fault
def test_job_longer_than_the_visibility_timeout_is_not_delivered_twice(
    sqs: SQSClient,
    make_queues: Callable[..., JobQueues],
    run_consumer: RunConsumer,
    consumer_db: str,
    fault_matrix: FaultMatrix,
) -> None:
    # Visibility 2 s, not the deployed 300 s (a job of 3x 300 s would take 15 minutes); the
    # deployed maxReceiveCount 3.
    queues = make_queues(visibility_timeout_seconds=2)
    body = job_body("write", title="6")  # runs 3x the timeout
    send_all(sqs, queues.url, [body])
    with run_consumer(queues.url, concurrency=2) as consumer:
        _settled(consumer, "processed", 1, timeout=20)
        _empty(sqs, queues.url)
    assert query(consumer_db, "SELECT count(*) FROM consumer_runs") == [(1,)]
    assert consumer.outcomes["retried"] == 0
    dlq = drain_dlq(sqs, queues.dlq_url)
    row = fault_matrix.record(
        consumer_row("worker: job runs 3x the visibility timeout", consumer_db, [body], dlq)
    )
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row


@pytest.mark.fault
def test_retryable_failure_backs_off_then_redrive_moves_it_to_the_dlq(
    sqs: SQSClient,
    make_queues: Callable[..., JobQueues],
    run_consumer: RunConsumer,
    consumer_db: str,
    fault_matrix: FaultMatrix,
) -> None:
    queues = make_queues()  # the deployed settings: visibility 300 s, maxReceiveCount 3
    body = job_body("retry_always")
    send_all(sqs, queues.url, [body])
    backoff = Backoff(base=1, cap=1, rand=lambda: 1.0)  # 1 s, not the 300 s timeout
    with run_consumer(queues.url, backoff=backoff) as consumer:
        _settled(consumer, "retried", 3, timeout=20)
        wait_for(lambda: queue_counts(sqs, queues.dlq_url)[0] == 1, 15, "the redrive to the DLQ")
    runs = [at for (at,) in query(consumer_db, "SELECT at FROM consumer_runs ORDER BY at")]
    assert len(runs) == 3
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(runs)]
    assert all(gap < 5 for gap in gaps), gaps  # far sooner than the 300 s visibility timeout
    dead = drain_queue(sqs, queues.dlq_url)
    assert [m["Body"] for m in dead] == [body]
    assert queue_counts(sqs, queues.url) == (0, 0)
    row = fault_matrix.record(
        consumer_row(
            "worker: job failing every time (retryable)",
            consumer_db,
            [body],
            dlq_counts(dead),
            expected_redriven=True,
        )
    )
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 1), row
