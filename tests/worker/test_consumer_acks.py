"""Batched deletes: one retry layer per failure, and deletes that keep pace with the pollers."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jobping.aws import client_config, make_client
from jobping.settings import AwsSettings
from tests.worker.conftest import FakeQueue, job_message, wait_for
from worker.acks import Acker
from worker.consumer import Consumer
from worker.sqs import BatchFailure, Entry, Received, SqsQueue


class _FailingSqs(BaseHTTPRequestHandler):
    """Answers every request with HTTP 500, as SQS does during an internal error, and counts."""

    calls = 0

    def do_POST(self) -> None:
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b'{"__type": "InternalFailure", "message": "try again"}'
        self.send_response(500)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def failing_sqs() -> Iterator[str]:
    """The URL of an endpoint where every call fails with HTTP 500."""
    _FailingSqs.calls = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FailingSqs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_delete_against_a_failing_endpoint_is_retried_by_botocore_alone(failing_sqs: str) -> None:
    sqs = make_client("sqs", AwsSettings.for_endpoint(failing_sqs))  # the worker's retry config
    # botocore's `max_attempts` counts retries after the first call (`total_max_attempts` would
    # count the first too): https://github.com/boto/botocore/pull/1972
    calls = 1 + client_config().retries["max_attempts"]
    acker = Acker(SqsQueue(sqs, f"{failing_sqs}/000000000000/jobs"), interval=0)
    for n in range(3):
        acker.add(job_message(n))
    acker.flush(force=True)
    # botocore's standard mode makes every call; nothing here multiplies them (was 3 x 6).
    assert _FailingSqs.calls == calls == 6
    assert (acker.deleted, acker.failed, acker.pending()) == (0, 3, 0)


class _DeletesMeet(FakeQueue):
    """A queue whose deletes wait (up to 5 s) until `meet` of them are in flight at once."""

    def __init__(self, meet: int, inbox: list[list[Received]]) -> None:
        super().__init__(inbox=inbox)
        self._barrier = threading.Barrier(meet, timeout=5)
        self._lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0

    def delete_batch(self, entries: Sequence[Entry]) -> list[BatchFailure]:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self._barrier.wait()
        except threading.BrokenBarrierError:
            pass  # never met: deleted all the same, one at a time
        finally:
            with self._lock:
                self.in_flight -= 1
        return super().delete_batch(entries)


def test_two_pollers_have_two_delete_batches_in_flight_at_once() -> None:
    queue = _DeletesMeet(2, inbox=[[job_message(10 * b + i) for i in range(10)] for b in range(2)])
    queue.let_receive_return.set()
    consumer = Consumer(
        queue, {"process_job": lambda message: None}, concurrency=20, pollers=2, ack_interval=30
    )
    consumer.start()
    try:
        wait_for(lambda: len(queue.deleted) == 20, 15, "both batches deleted")
    finally:
        consumer.shutdown()
    # One delete at a time would leave a poller's worth of receives waiting for each delete.
    assert queue.most_in_flight == 2
    assert sorted(len(call) for call in queue.delete_calls) == [10, 10]


def test_each_full_batch_is_handed_to_one_deleter() -> None:
    acker = Acker(FakeQueue(), interval=60)
    for n in range(25):
        acker.add(job_message(n))
    first, second = acker.next_batch(0), acker.next_batch(0)
    assert [len(first), len(second)] == [10, 10]
    assert not {m.receipt_handle for m in first} & {m.receipt_handle for m in second}
    assert acker.next_batch(0.01) == []  # five left: not full, and not due for a minute
    acker.hurry()
    assert len(acker.next_batch(0)) == 5
