"""`GET /health` is the consumer's own loops; `GET /ready` the database, on its own connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devtools.local.queues import JobQueues
from tests.worker.conftest import FakeQueue, WorkerFactory, get_json, job_body, send_all, wait_for
from tests.worker.faults import TcpProxy
from worker.consumer import Consumer
from worker.gate import DependencyGate, OutagePolicy
from worker.health import DatabaseProbe, HealthServer
from worker.liveness import Loops
from worker.sqs import Received

FAST = OutagePolicy(hold_seconds=1, probe_first=0.1, probe_cap=0.2, check_interval=0.2)


@pytest.fixture
def serve_health() -> Iterator[Callable[..., str]]:
    """Factory: start a `HealthServer` on a free port; returns its base URL."""
    servers: list[HealthServer] = []

    def start(*checks: Any) -> str:
        server = HealthServer(0, *checks, host="127.0.0.1")
        server.start()
        servers.append(server)
        return f"http://127.0.0.1:{server.port}"

    yield start
    for server in servers:
        server.stop()


def test_health_stays_200_while_the_database_is_down_and_ready_says_why(
    queues: JobQueues,
    run_consumer: Callable[..., Any],
    consumer_db: str,
    db_proxy: TcpProxy,
    serve_health: Callable[..., str],
) -> None:
    probe = DatabaseProbe(db_proxy.rewrite(consumer_db))
    gate = DependencyGate(probe, policy=FAST)
    try:
        with run_consumer(queues.url, gate=gate) as consumer:
            url = serve_health(consumer.liveness, gate.readiness)
            wait_for(lambda: get_json(f"{url}/ready")[0] == 200, 10, "ready")
            assert get_json(f"{url}/health") == (200, {"status": "ok"})
            db_proxy.cut()
            wait_for(lambda: get_json(f"{url}/ready")[0] == 503, 10, "/ready to go 503")
            body = get_json(f"{url}/ready")[1]
            assert body["reason"].startswith("database down: database unreachable")
            # An RDS failover must not get every worker replaced: liveness is still fine.
            assert get_json(f"{url}/health") == (
                200,
                {"status": "degraded", "reason": body["reason"]},
            )
            db_proxy.restore()
            wait_for(lambda: get_json(f"{url}/ready")[0] == 200, 10, "/ready to be 200 again")
            assert get_json(f"{url}/health") == (200, {"status": "ok"})
            assert get_json(f"{url}/other")[0] == 404
        assert consumer.liveness() == "stopping"
        assert gate.outages == 1
    finally:
        probe.close()


class Boom(BaseException):
    """Escapes the poller's `except Exception`: the thread dies, as a bug would kill it."""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_health_is_503_when_a_consumer_loop_dies(serve_health: Callable[..., str]) -> None:
    queue = FakeQueue()

    def receive(max_messages: int, wait_seconds: int) -> list[Received]:
        raise Boom

    queue.receive = receive  # type: ignore[method-assign]
    # The dead poller never gave back the slots it took: the drain would wait for them.
    consumer = Consumer(
        queue, {"process_job": lambda message: None}, wait_seconds=0, drain_seconds=0.1
    )
    consumer.start()
    try:
        url = serve_health(consumer.liveness)
        wait_for(lambda: get_json(f"{url}/health")[0] == 503, 5, "503")
        assert get_json(f"{url}/health") == (
            503,
            {"status": "unhealthy", "reason": "poller-0 thread died"},
        )
        assert get_json(f"{url}/ready") == (200, {"status": "ready"})  # no dependency is down
    finally:
        consumer.shutdown()


def test_silent_loops_and_all_handlers_stuck_make_the_worker_not_live() -> None:
    loops, release = Loops(), threading.Event()

    def handler_stuck() -> None:
        loops.job_started()
        release.wait(10)
        loops.job_ended()

    watched = threading.Thread(target=release.wait, args=(10,), name="heartbeat")
    watched.start()
    loops.watch(watched, stall_after=5)
    handler = threading.Thread(target=handler_stuck, name="handler-0")
    handler.start()
    try:
        now = time.monotonic()
        assert loops.problem(handlers=1, stuck_after=180, now=now + 1) is None
        assert loops.problem(handlers=1, stuck_after=180, now=now + 6) == (
            "heartbeat loop silent for 6 s"
        )
        loops.watch(watched, stall_after=1000)
        assert loops.problem(handlers=2, stuck_after=180, now=now + 200) is None  # one is free
        assert loops.problem(handlers=1, stuck_after=180, now=now + 200) == (
            "every handler thread stuck in one job for 200 s or more"
        )
    finally:
        release.set()
        watched.join(5)
        handler.join(5)
    assert loops.problem(handlers=1, stuck_after=180) == "heartbeat thread died"


def test_probe_has_its_own_connection_so_a_busy_pool_keeps_the_worker_healthy(
    sqs: Any, queues: JobQueues, start_worker: WorkerFactory
) -> None:
    worker = start_worker(queues.url, CONSUMER_APP_CHECK_INTERVAL="0.2")
    url = worker.health_url()
    wait_for(lambda: get_json(f"{url}/ready")[0] == 200, 10, "ready")
    # A notification sweep stuck on a slow provider, with busy handlers: every pooled
    # connection is taken for 8 s.
    send_all(sqs, queues.url, [job_body("hog_pool", title="8")])
    wait_for(
        lambda: any(line["message"] == "pool hogged" for line in worker.log_lines()),
        10,
        "every pooled connection to be taken",
    )
    time.sleep(1.0)  # several probe intervals, each of which would wait for a pooled connection
    assert get_json(f"{url}/health") == (200, {"status": "ok"})
    assert get_json(f"{url}/ready") == (200, {"status": "ready"})
    # A "down" line could still be queued in the worker's log writer: read the complete log.
    assert worker.stop() == 0
    assert not any(line.get("dependency_state") == "down" for line in worker.log_lines())
