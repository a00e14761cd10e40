"""Unit tests of the consumer's parts: backoff, batched deletes, EMF lines, leases."""

from __future__ import annotations

import json
import logging
import random
import threading
import time

import pytest

from jobping.messages import JobMessage
from tests.worker.conftest import FakeQueue, job_message
from worker.acks import Acker
from worker.backoff import Backoff
from worker.consumer import Consumer
from worker.dlq import ERROR_TYPE, ORIGINAL_MESSAGE_ID, OURS, REASON, RECEIVE_COUNT, dlq_attributes
from worker.heartbeat import Leases
from worker.metrics import Metrics
from worker.slots import Slots
from worker.sqs import Received


def _message(n: int) -> Received:
    return Received(message_id=f"m{n}", receipt_handle=f"h{n}", body="{}")


def test_backoff_doubles_per_receive_up_to_the_caps() -> None:
    top = Backoff(base=2, cap=300, rand=lambda: 0.999999)
    assert [top.delay(n, 900) for n in (1, 2, 3, 5)] == [2, 4, 8, 32]
    assert top.delay(20, 900) == 300  # the configured cap
    assert top.delay(20, 60) == 60  # never longer than the visibility timeout
    assert top.delay(10_000, 10**6) == 300  # huge receive counts do not overflow
    assert Backoff(base=2, cap=10**6, rand=lambda: 0.999999).delay(60, 10**6) == 43_200
    assert Backoff(base=2, rand=lambda: 0.0).delay(7, 900) == 0


def test_backoff_has_full_jitter_within_the_ceiling() -> None:
    rng = random.Random(7)
    backoff = Backoff(base=2, cap=300, rand=rng.random)
    delays = [backoff.delay(5, 900) for _ in range(500)]
    assert min(delays) <= 2
    assert max(delays) >= 30
    assert all(0 <= d <= 32 for d in delays)
    assert len(set(delays)) > 20


def test_partially_failed_delete_batch_is_retried_not_assumed_deleted() -> None:
    queue = FakeQueue(fail={"h1": (1, False)})
    acker = Acker(queue, interval=0)
    for n in range(3):
        acker.add(_message(n))
    acker.flush(force=True)
    assert queue.delete_calls == [["h0", "h1", "h2"], ["h1"]]  # only the failed entry again
    assert sorted(queue.deleted) == ["h0", "h1", "h2"]
    assert (acker.deleted, acker.failed, acker.pending()) == (3, 0, 0)


def test_delete_that_keeps_failing_is_logged_and_not_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = FakeQueue(fail={"h1": (99, False), "h2": (99, True)})
    acker = Acker(queue, interval=0, attempts=3)
    for n in range(3):
        acker.add(_message(n))
    with caplog.at_level(logging.ERROR, logger="worker.acks"):
        acker.flush(force=True)
    assert queue.deleted == ["h0"]
    assert (acker.deleted, acker.failed) == (1, 2)
    assert len(queue.delete_calls) == 3  # retried, then given up
    logged = {r.message_id for r in caplog.records if getattr(r, "outcome", "") == "delete_failed"}  # type: ignore[attr-defined]
    assert logged == {"m1", "m2"}


def test_deletes_wait_for_a_full_batch_or_the_interval() -> None:
    queue = FakeQueue()
    acker = Acker(queue, interval=60)
    for n in range(13):
        acker.add(_message(n))
    acker.flush()
    assert [len(call) for call in queue.delete_calls] == [10]  # the partial batch is not due
    acker.flush(force=True)
    assert [len(call) for call in queue.delete_calls] == [10, 3]


def test_the_last_message_held_is_deleted_without_waiting_for_the_interval() -> None:
    queue = FakeQueue(inbox=[[job_message(0), job_message(1), job_message(2)]])
    queue.let_receive_return.set()
    consumer = Consumer(queue, {"process_job": lambda message: None}, ack_interval=30)
    consumer.start()
    deadline = time.monotonic() + 5
    while len(queue.deleted) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(queue.deleted) == ["h0", "h1", "h2"]  # long before the 30 s interval
    consumer.shutdown()


def test_leases_extend_only_messages_past_half_their_timeout() -> None:
    queue = FakeQueue(fail={"h2": (1, True)})
    leases = Leases(queue, visibility_timeout=10)
    leases.add([_message(0), _message(2)], received_at=100.0)
    leases.add([_message(1)], received_at=104.0)
    leases.extend_due(now=105.0)
    assert queue.visibility_calls == [[("h0", 10), ("h2", 10)]]
    assert leases.extended == 1  # h2's extension failed: it is tried again next tick
    leases.extend_due(now=106.0)
    assert queue.visibility_calls[-1] == [("h2", 10)]
    assert leases.release([_message(1)], 0) == [_message(1)]
    assert queue.visibility_calls[-1] == [("h1", 0)]
    assert len(leases) == 2


def test_slots_hand_out_only_what_is_free() -> None:
    slots = Slots(4)
    assert slots.take(10, timeout=0) == 4
    assert slots.take(10, timeout=0.01) == 0
    slots.give(3)
    assert slots.take(2, timeout=0) == 2
    assert slots.busy() == 3
    assert not slots.wait_all_free(0.01)
    slots.give(3)
    assert slots.wait_all_free(0.01)


def test_messages_received_after_stop_are_released_unstarted() -> None:
    queue = FakeQueue(inbox=[[job_message(0), job_message(1)]])
    handled: list[JobMessage] = []
    consumer = Consumer(queue, {"process_job": handled.append}, concurrency=4, wait_seconds=5)
    consumer.start()
    assert queue.polling.wait(5)
    stopper = threading.Thread(target=consumer.shutdown)
    stopper.start()
    time.sleep(0.2)  # the stop lands while the long poll is still out
    queue.let_receive_return.set()
    stopper.join(10)
    assert handled == []
    assert [("h0", 0), ("h1", 0)] in queue.visibility_calls  # visible again at once
    assert consumer.outcomes == {"released": 2}
    assert queue.deleted == []


@pytest.mark.parametrize(("prefetch", "held"), [(0, 2), (3, 5)])
def test_a_worker_holds_at_most_concurrency_plus_prefetch_messages(
    prefetch: int, held: int
) -> None:
    release = threading.Event()
    queue = FakeQueue(inbox=[[job_message(10 * b + i) for i in range(10)] for b in range(5)])
    queue.let_receive_return.set()
    received: list[int] = []
    real_receive = queue.receive

    def receive(max_messages: int, wait_seconds: int) -> list[Received]:
        batch = real_receive(max_messages, wait_seconds)
        received.append(len(batch))
        return batch

    queue.receive = receive  # type: ignore[method-assign]
    consumer = Consumer(
        queue,
        {"process_job": lambda message: release.wait(10) and None},
        concurrency=2,
        prefetch=prefetch,
        wait_seconds=0,
    )
    consumer.start()
    time.sleep(0.5)  # long enough for any receive the slots allow
    assert sum(received) == held
    release.set()
    consumer.shutdown()


def test_prefetched_messages_are_released_once_without_being_started() -> None:
    started, finish = threading.Event(), threading.Event()
    handled: list[JobMessage] = []

    def slow(message: JobMessage) -> None:
        handled.append(message)
        started.set()
        finish.wait(10)

    queue = FakeQueue(inbox=[[job_message(0), job_message(1), job_message(2)]])
    queue.let_receive_return.set()
    consumer = Consumer(queue, {"process_job": slow}, concurrency=1, prefetch=2, wait_seconds=0)
    consumer.start()
    assert started.wait(5)
    stopper = threading.Thread(target=consumer.shutdown)
    stopper.start()
    time.sleep(0.2)
    finish.set()
    stopper.join(10)
    assert len(handled) == 1  # the two waiting ones were never started
    released = [call for call in queue.visibility_calls if all(t == 0 for _, t in call)]
    assert sorted(h for call in released for h, _ in call) == ["h1", "h2"]  # once each
    assert consumer.outcomes == {"processed": 1, "released": 2}


def test_handler_still_running_after_the_drain_time_is_released() -> None:
    started, finish = threading.Event(), threading.Event()

    def stuck(message: JobMessage) -> None:
        started.set()
        finish.wait(10)

    queue = FakeQueue(inbox=[[job_message(0)]])
    queue.let_receive_return.set()
    consumer = Consumer(queue, {"process_job": stuck}, wait_seconds=0, drain_seconds=0.3)
    consumer.start()
    assert started.wait(5)
    assert consumer.shutdown() is False  # not a clean drain
    finish.set()
    assert [("h0", 0)] in queue.visibility_calls
    assert queue.deleted == []


def test_emf_lines_have_the_cloudwatch_shape() -> None:
    lines: list[str] = []
    metrics = Metrics(lines.append, service="worker")
    for _ in range(3):
        metrics.record("process_job", "processed", 12.5)
    metrics.record("process_job", "retried", 3.0)
    metrics.record("-", "dead_lettered", 1.0)
    metrics.record("process_job", "released", 0.0)
    metrics.flush()
    docs = [json.loads(line) for line in lines]
    assert [d["Action"] for d in docs] == ["-", "process_job"]
    doc = docs[1]
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "JobPing"
    assert directive["Dimensions"] == [["Service"], ["Service", "Action"]]
    assert isinstance(doc["_aws"]["Timestamp"], int)
    names = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert names == {
        "Processed": "Count",
        "Failed": "Count",
        "DeadLettered": "Count",
        "Deferred": "Count",
        "ProcessingTime": "Milliseconds",
    }
    assert (doc["Processed"], doc["Failed"], doc["DeadLettered"]) == (3, 1, 0)
    assert doc["ProcessingTime"] == [12.5, 12.5, 12.5, 3.0]  # a released message is not timed
    assert doc["Service"] == "worker"
    assert all(name in doc for name in names)  # every declared metric has a value
    metrics.flush()
    assert len(lines) == 2  # nothing new: no lines


def test_emf_splits_more_than_100_timings_into_several_lines() -> None:
    lines: list[str] = []
    metrics = Metrics(lines.append)
    for n in range(250):
        metrics.record("process_job", "processed", float(n))
    metrics.flush()
    docs = [json.loads(line) for line in lines]
    assert [len(d["ProcessingTime"]) for d in docs] == [100, 100, 50]
    assert docs[0]["Processed"] == 250
    assert "Processed" not in docs[1]


def test_dlq_attributes_carry_the_reason_and_keep_room_for_the_originals() -> None:
    originals = {f"a{n}": {"DataType": "String", "StringValue": str(n)} for n in range(8)}
    message = Received("m1", "h1", "not json", receive_count=2, attributes=originals)
    attributes = dlq_attributes(message, reason="x" * 5000, error_type="bad_json", source_queue="q")
    assert len(attributes) == 10  # SQS's limit
    assert set(OURS) <= set(attributes)
    assert attributes[ERROR_TYPE] == {"DataType": "String", "StringValue": "bad_json"}
    assert attributes[ORIGINAL_MESSAGE_ID]["StringValue"] == "m1"
    assert attributes[RECEIVE_COUNT] == {"DataType": "Number", "StringValue": "2"}
    assert len(attributes[REASON]["StringValue"]) == 1024
