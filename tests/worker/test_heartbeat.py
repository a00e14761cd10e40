"""The heartbeat: its own thread, no extension landing after a release, and job deadlines."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from devtools.local.queues import JobQueues
from jobping.db import connect
from jobping.messages import JobMessage
from tests.faultmatrix import FaultMatrix, FaultRow, drain_dlq
from tests.worker.conftest import (
    FakeQueue,
    job_body,
    job_message,
    query,
    queue_counts,
    send_all,
    wait_for,
)
from tests.worker.faults import TcpProxy
from worker.backoff import Backoff
from worker.consumer import Consumer
from worker.heartbeat import Leases
from worker.sqs import BatchFailure, Entry

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SlowQueue(FakeQueue):
    """A FakeQueue whose extensions (or deletes) wait for the test to let them land."""

    def __init__(self, visibility_timeout: int = 30) -> None:
        super().__init__(visibility_timeout=visibility_timeout)
        self.extension_sent, self.let_extension_land = threading.Event(), threading.Event()
        self.delete_sent, self.let_delete_land = threading.Event(), threading.Event()
        self.block_extensions = self.block_deletes = False

    def change_visibility_batch(self, entries: Sequence[Entry]) -> list[BatchFailure]:
        extension = any(e.visibility_timeout == self.visibility_timeout for e in entries)
        if extension and self.block_extensions:
            self.extension_sent.set()
            assert self.let_extension_land.wait(10)
        return super().change_visibility_batch(entries)  # recorded as applied, in this order

    def delete_batch(self, entries: Sequence[Entry]) -> list[BatchFailure]:
        if self.block_deletes:
            self.delete_sent.set()
            assert self.let_delete_land.wait(10)
        return super().delete_batch(entries)


@pytest.mark.fault
@pytest.mark.parametrize(("why", "timeout"), [("retry backoff", 7), ("shutdown release", 0)])
def test_extension_in_flight_cannot_rehide_a_released_message(
    why: str, timeout: int, fault_matrix: FaultMatrix
) -> None:
    queue = SlowQueue(visibility_timeout=10)
    queue.block_extensions = True
    leases = Leases(queue, visibility_timeout=10)
    message = job_message(0)
    leases.add([message], received_at=0.0)
    heartbeat = threading.Thread(target=leases.extend_due, kwargs={"now": 6.0})
    heartbeat.start()
    assert queue.extension_sent.wait(5)  # the extension is on its way to SQS ...
    assert leases.release([message], timeout) == [message]  # ... when the message is released
    queue.let_extension_land.set()  # and SQS applies the extension after the release
    heartbeat.join(5)
    # Whatever order they landed in, the release's visibility is the last one applied.
    assert queue.visibilities("h0") == [timeout, 10, timeout], why
    assert len(leases) == 0
    assert leases.extended == 0
    # Where the message is now: on the queue (never deleted), visible after the last visibility
    # SQS applied; the full timeout (10 s) here would mean an extension re-hid it.
    last = queue.visibilities("h0")[-1]
    row = fault_matrix.record(
        FaultRow(
            fault=f"worker: heartbeat extension in flight at a {why} (in-memory queue)",
            messages_in=1,
            processed=len(queue.deleted),
            dead_lettered={f"on queue: visible after {last} s": 1 - len(queue.deleted)},
        )
    )
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row


def test_no_extension_is_sent_for_a_message_released_before_its_turn() -> None:
    queue = FakeQueue()
    leases = Leases(queue, visibility_timeout=10)
    leases.add([job_message(n) for n in range(12)], received_at=0.0)
    real = queue.change_visibility_batch

    def release_the_last_during_the_first_chunk(entries: Sequence[Entry]) -> list[BatchFailure]:
        if len(queue.visibility_calls) == 0:
            leases.release([job_message(11)], 5)
        return real(entries)

    queue.change_visibility_batch = release_the_last_during_the_first_chunk  # type: ignore[method-assign]
    leases.extend_due(now=6.0)
    assert queue.visibilities("h11") == [5]  # checked again before its chunk: not extended
    assert leases.extended == 11


def test_slow_delete_does_not_delay_extensions() -> None:
    queue = SlowQueue(visibility_timeout=2)  # extensions due every second
    queue.inbox = [[job_message(0), job_message(1)]]
    queue.let_receive_return.set()
    finish_long_job = threading.Event()

    def handler(message: JobMessage) -> None:
        if message.data.external_id == "1":
            finish_long_job.wait(10)

    queue.block_deletes = True
    consumer = Consumer(queue, {"process_job": handler}, wait_seconds=0, ack_interval=0.05)
    consumer.start()
    try:
        assert queue.delete_sent.wait(5)  # m0 is done; its delete hangs
        # m1's job runs on: the heartbeat extends it while the delete is still hanging.
        wait_for(lambda: queue.visibilities("h1"), 5, "an extension of the running job")
        assert not queue.let_delete_land.is_set()
        assert queue.deleted == []
    finally:
        queue.let_delete_land.set()
        finish_long_job.set()
        consumer.shutdown()
    assert sorted(queue.deleted) == ["h0", "h1"]


def test_lease_past_its_deadline_is_given_up_and_never_extended() -> None:
    queue = FakeQueue()
    leases = Leases(queue, visibility_timeout=6, job_timeout=5)
    message = job_message(0)
    leases.add([message], received_at=0.0)
    leases.start(message, now=0.0)
    leases.extend_due(now=3.5)
    assert queue.visibilities("h0") == [6]  # extended while within its deadline
    assert leases.expire_due(lambda m: 7, now=4.9) == []
    leases.extend_due(now=7.0)  # due again, but past the deadline: no extension
    assert queue.visibilities("h0") == [6]
    assert leases.expire_due(lambda m: 7, now=7.0) == [message]
    assert queue.visibilities("h0") == [6, 7]  # visible again after the retry delay
    assert leases.expired == 1
    assert not leases.finish(message)  # the late handler finds it gone


def test_job_past_its_deadline_is_retried_and_a_late_success_still_deleted() -> None:
    queue = FakeQueue()
    queue.inbox = [[job_message(0)]]
    queue.let_receive_return.set()
    started, finish = threading.Event(), threading.Event()

    def hung(message: JobMessage) -> None:
        started.set()
        finish.wait(10)

    backoff = Backoff(base=2, cap=2, rand=lambda: 1.0)
    consumer = Consumer(
        queue, {"process_job": hung}, wait_seconds=0, job_timeout=0.3, backoff=backoff
    )
    consumer.start()
    try:
        assert started.wait(5)
        wait_for(lambda: consumer.outcomes["timed_out"] == 1, 5, "the deadline")
        assert queue.visibilities("h0") == [2]  # visible again after the backoff, not held
        finish.set()
        wait_for(lambda: queue.deleted == ["h0"], 5, "the late success to be deleted")
    finally:
        finish.set()
        consumer.shutdown()
    assert consumer.outcomes == {"timed_out": 1}  # one outcome per receive


@pytest.mark.fault
def test_half_open_connection_costs_one_retry_not_hours(
    sqs: SQSClient,
    make_queues: Callable[..., JobQueues],
    run_consumer: Callable[..., Any],
    consumer_db: str,
    db_proxy: TcpProxy,
    fault_matrix: FaultMatrix,
) -> None:
    """A connection that stops answering holds its job only until the job's deadline.

    The proxy keeps the connection open but forwards nothing, so neither the server's
    statement_timeout (the server never sees the query) nor TCP keepalives (the proxy's kernel
    acknowledges them) can end the call here: the deadline must.
    """
    queues = make_queues()  # deployed: visibility 300 s, maxReceiveCount 3
    url = db_proxy.rewrite(consumer_db)
    connected, frozen = threading.Event(), threading.Event()
    attempts: list[int] = []

    def write(message: JobMessage) -> None:
        attempts.append(1)
        with connect(url) as conn:
            if len(attempts) == 1:
                connected.set()
                frozen.wait(10)
            conn.execute(
                "INSERT INTO consumer_jobs (job_id, times, pid) VALUES (%s, 1, 0)",
                (message.job_id,),
            )

    job_id = uuid.uuid4()
    send_all(sqs, queues.url, [job_body("write", job_id=job_id)])
    backoff = Backoff(base=1, cap=1, rand=lambda: 1.0)
    with run_consumer(
        queues.url, handlers={"write": write}, job_timeout=1.0, backoff=backoff
    ) as consumer:
        assert connected.wait(10)
        db_proxy.freeze()
        frozen.set()  # the INSERT goes out on a connection that will never answer
        wait_for(lambda: consumer.outcomes["processed"] == 1, 20, "the retry to succeed")
        assert consumer.outcomes["timed_out"] == 1
        db_proxy.restore()  # the hung call fails now; its lease is long gone
        wait_for(lambda: queue_counts(sqs, queues.url) == (0, 0), 10, "an empty queue")
    assert query(consumer_db, "SELECT job_id FROM consumer_jobs") == [(job_id,)]
    assert queue_counts(sqs, queues.dlq_url) == (0, 0)
    assert len(attempts) == 2
    # This handler's effect is its row in consumer_jobs (keyed by job: a second write would fail).
    [(jobs, writes)] = query(
        consumer_db, "SELECT count(DISTINCT job_id), count(*) FROM consumer_jobs"
    )
    reasons, redriven = drain_dlq(sqs, queues.dlq_url)
    row = fault_matrix.record(
        FaultRow(
            fault="worker: half-open database connection (job past its deadline)",
            messages_in=1,
            processed=jobs,
            dead_lettered=reasons,
            redriven=redriven,
            duplicate_effects=writes - jobs,
        )
    )
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row


def test_leases_extend_only_messages_past_half_their_timeout() -> None:
    queue = FakeQueue(fail={"h2": (1, True)})
    leases = Leases(queue, visibility_timeout=10)
    leases.add([job_message(0), job_message(2)], received_at=100.0)
    leases.add([job_message(1)], received_at=104.0)
    leases.extend_due(now=105.0)
    assert queue.visibility_calls == [[("h0", 10), ("h2", 10)]]
    assert leases.extended == 1  # h2's extension failed: it is tried again next tick
    leases.extend_due(now=106.0)
    assert queue.visibility_calls[-1] == [("h2", 10)]
    assert leases.release([job_message(1)], 0) == [job_message(1)]
    assert queue.visibility_calls[-1] == [("h1", 0)]
    assert len(leases) == 2
