"""The consumer with an in-memory queue: what it holds, prefetches, releases and deletes."""

from __future__ import annotations

import threading
import time

import pytest

from jobping.messages import JobMessage
from tests.worker.conftest import FakeQueue, job_message
from worker.consumer import Consumer
from worker.sqs import Received


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
