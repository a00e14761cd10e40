"""A database outage with the deployed queue settings: no dead letters, nothing lost.

The worker runs as a subprocess (the real `worker.main.serve` wiring) against moto and the
embedded Postgres, reached through a TCP proxy the test cuts and restores (`tests/worker/
faults.py`). The queue has the deployed settings: visibility timeout 300 s, maxReceiveCount 3.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg_pool import PoolClosed, PoolTimeout

from devtools.local.queues import JobQueues, QueueSettings
from jobping.messages import JobMessage
from tests.faultmatrix import FaultMatrix, FaultRow, consumer_row, drain_dlq
from tests.worker.conftest import (
    FakeQueue,
    WorkerFactory,
    get_json,
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
from worker.errors import DependencyUnavailable, RetryableError, looks_like_outage
from worker.gate import DependencyGate, GateState, OutagePolicy

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

#: The outage's timing, scaled so that one second here stands for one minute deployed: the
#: hand-back visibility (60 s deployed) is 1 s, the longest wait between probes (30 s) 0.5 s.
#: A message handed back becomes visible again every second, so a worker that received while
#: the database is down would receive it about once a second. A handler waits 0.5 s for a pool
#: connection (10 s deployed) and the retry backoff is 1-2 s, so a worker that retried through
#: the outage spends receives here as it would over ten deployed minutes: the code before the
#: gate dead-lettered 29 of these 60 messages. The queue's settings are the deployed ones.
SCALE = 60
OUTAGE_SECONDS = 10  # ten hand-back periods: ten deployed minutes
OUTAGE_ENV = {
    "CONSUMER_APP_HOLD_SECONDS": str(60 // SCALE),
    "CONSUMER_APP_PROBE_FIRST": str(1 / SCALE),
    "CONSUMER_APP_PROBE_CAP": str(30 / SCALE),
    "CONSUMER_APP_CHECK_INTERVAL": "1",
    "CONSUMER_APP_POOL_TIMEOUT": "0.5",
}


def _effects(db: str) -> int:
    return int(query(db, "SELECT count(*) FROM consumer_effects")[0][0])


def _runs(db: str) -> int:
    return int(query(db, "SELECT count(*) FROM consumer_runs")[0][0])


def _receives(lines: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each message's outcome lines: one per receive (processed, deferred, retried ...)."""
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        if "outcome" in line and "message_id" in line:
            by_id[line["message_id"]].append(line)
    return by_id


@pytest.mark.fault
def test_database_outage_costs_no_dead_letters(
    sqs: SQSClient,
    make_queues: Callable[..., JobQueues],
    start_worker: WorkerFactory,
    consumer_db: str,
    db_proxy: TcpProxy,
    fault_matrix: FaultMatrix,
) -> None:
    deployed = QueueSettings()
    queues = make_queues()  # the deployed settings
    attrs = sqs.get_queue_attributes(QueueUrl=queues.url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == str(deployed.visibility_timeout_seconds) == "300"
    assert json.loads(attrs["RedrivePolicy"])["maxReceiveCount"] == deployed.max_receive_count == 3

    worker = start_worker(queues.url, DATABASE_URL=db_proxy.rewrite(consumer_db), **OUTAGE_ENV)
    health = worker.health_url()
    # Twelve slow jobs: four running and eight received, waiting, when the database goes away.
    bodies = [job_body("write", title="1") for _ in range(12)]
    ids = send_all(sqs, queues.url, bodies)
    wait_for(lambda: _runs(consumer_db) >= 4, 15, "four jobs running")
    db_proxy.cut()
    outage_started = time.monotonic()
    # 48 more arrive during the outage, in waves.
    for _ in range(6):
        wave = [job_body("write") for _ in range(8)]
        bodies += wave
        ids += send_all(sqs, queues.url, wave)
        time.sleep(OUTAGE_SECONDS / 8)
    wait_for(
        lambda: get_json(f"{health}/ready")[0] == 503, 10, "/ready to say the database is down"
    )
    status, body = get_json(f"{health}/health")
    assert (status, body["status"]) == (200, "degraded")  # alive: nothing for ECS to replace
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_started)))
    assert worker.process.poll() is None  # never exits because of an outage
    received_during_outage = {
        line["message_id"] for line in worker.log_lines() if line.get("outcome") == "deferred"
    }
    db_proxy.restore()

    wait_for(lambda: _effects(consumer_db) == 60, 60, "all 60 effects", interval=0.3)
    wait_for(lambda: queue_counts(sqs, queues.url) == (0, 0), 15, "an empty queue")
    assert queue_counts(sqs, queues.dlq_url) == (0, 0)  # zero dead letters
    assert worker.process.poll() is None
    assert query(consumer_db, "SELECT count(*), max(times) FROM consumer_jobs") == [(60, 1)]
    assert get_json(f"{health}/ready")[0] == 200
    # The last outcome lines may still be queued in the worker's log writer: read the log once
    # the worker has drained and exited, when every record has been written.
    assert worker.stop() == 0

    lines = worker.log_lines()
    receives = _receives(lines)
    assert set(receives) == set(ids)
    per_message = Counter(len(outcomes) for outcomes in receives.values())
    for message_id, outcomes in receives.items():
        kinds = [line["outcome"] for line in outcomes]
        assert kinds.count("processed") == 1, (message_id, kinds)
        assert kinds.count("deferred") <= 1, (message_id, kinds)  # one receive per outage
        assert kinds[-1] == "processed"
        assert outcomes[-1]["receive_count"] == len(outcomes) <= 2, (message_id, kinds)
    # The jobs held as the outage began were handed back once each, then processed.
    assert len(received_during_outage) >= 4
    assert per_message == {1: 60 - len(received_during_outage), 2: len(received_during_outage)}
    states = [line["dependency_state"] for line in lines if "dependency_state" in line]
    assert "down" in states
    assert states[-1] == "up"
    dlq = drain_dlq(sqs, queues.dlq_url)
    fault = "worker: database down 10 deployed minutes (scaled), 60 jobs"
    row = fault_matrix.record(consumer_row(fault, consumer_db, bodies, dlq))
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row


class Dependency:
    """A probe the test switches between up and down, counting its calls."""

    def __init__(self, up: bool) -> None:
        self.up = up
        self.probes = 0
        self.resumes = 0

    def probe(self) -> str | None:
        self.probes += 1
        return None if self.up else "database unreachable: test"

    def warm(self) -> str | None:
        self.resumes += 1
        return None


FAST = OutagePolicy(hold_seconds=5, probe_first=0.05, probe_cap=0.1, check_interval=0.1)


def _consumer(
    queue: FakeQueue, handler: Callable[[JobMessage], None], gate: DependencyGate
) -> Consumer:
    backoff = Backoff(base=2, cap=2, rand=lambda: 1.0)
    return Consumer(queue, {"process_job": handler}, wait_seconds=0, gate=gate, backoff=backoff)


@pytest.mark.fault
def test_worker_started_during_an_outage_receives_nothing_until_the_database_is_back(
    fault_matrix: FaultMatrix,
) -> None:
    database = Dependency(up=False)
    gate = DependencyGate(database.probe, policy=FAST, on_resume=database.warm)
    queue = FakeQueue(inbox=[[job_message(0)]])
    queue.let_receive_return.set()
    handled: list[JobMessage] = []
    consumer = _consumer(queue, handled.append, gate)
    consumer.start()
    try:
        wait_for(lambda: database.probes >= 5, 5, "probes while down")
        assert queue.receive_calls == 0  # a worker scaled out during an outage spends nothing
        assert gate.readiness() == "database down: database unreachable: test"
        assert consumer.liveness() is None
        database.up = True
        wait_for(lambda: handled, 5, "the message once the database is back")
    finally:
        consumer.shutdown()
    assert database.resumes == 1  # the pool is warmed once, before receiving again
    assert gate.outages == 1
    assert queue.deleted == ["h0"]  # deleted once, after it was handled
    row = fault_matrix.record(
        FaultRow(
            fault="worker: started while the database is down (in-memory queue)",
            messages_in=1,
            processed=len(handled),
            # The in-memory queue has no DLQ: count what the consumer says it dead-lettered.
            dead_lettered={"dead-lettered": consumer.outcomes["dead_lettered"]},
            duplicate_effects=len(handled) - len({m.job_id for m in handled}),
        )
    )
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row


def test_outage_hands_held_messages_back_and_stops_receiving_until_it_is_over() -> None:
    database = Dependency(up=True)
    gate = DependencyGate(database.probe, policy=FAST, on_resume=database.warm)
    queue = FakeQueue(inbox=[[job_message(0), job_message(1), job_message(2)]])
    queue.let_receive_return.set()
    processed: list[JobMessage] = []

    def handler(message: JobMessage) -> None:
        if not database.up:
            raise DependencyUnavailable("no connection")  # or psycopg's OperationalError
        processed.append(message)

    first = threading.Event()

    def failing_first(message: JobMessage) -> None:
        if not first.is_set():
            first.set()
            database.up = False  # the outage begins during this job
        handler(message)

    consumer = Consumer(
        queue, {"process_job": failing_first}, wait_seconds=0, gate=gate, concurrency=1
    )
    consumer.start()
    try:
        wait_for(lambda: consumer.outcomes["deferred"] == 3, 5, "all three handed back")
        calls = queue.receive_calls
        wait_for(lambda: database.probes >= 10, 5, "probes while down")
        assert queue.receive_calls == calls  # no receive while down, however long it lasts
        assert processed == []
        database.up = True
        wait_for(lambda: gate.state is GateState.UP, 5, "the gate to be up again")
    finally:
        consumer.shutdown()
    # Each handed back once, for the hold time (not a backoff), never retried or dead-lettered.
    assert sorted(h for call in queue.visibility_calls for h, t in call if t == 5) == [
        "h0",
        "h1",
        "h2",
    ]
    assert consumer.outcomes == {"deferred": 3}


def test_failure_while_the_database_answers_is_an_ordinary_retry() -> None:
    database = Dependency(up=True)
    gate = DependencyGate(database.probe, policy=FAST)
    queue = FakeQueue(inbox=[[job_message(0)]])
    queue.let_receive_return.set()

    def handler(message: JobMessage) -> None:
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    consumer = _consumer(queue, handler, gate)
    consumer.start()
    try:
        wait_for(lambda: consumer.outcomes["retried"] == 1, 5, "the retry")
    finally:
        consumer.shutdown()
    assert queue.visibilities("h0") == [2]  # the backoff, not the outage hold
    assert gate.outages == 0
    assert consumer.outcomes == {"retried": 1}


def test_outage_errors_are_told_from_job_errors() -> None:
    def wrapped(error: Exception) -> Exception:
        try:
            raise error
        except Exception as cause:
            try:
                raise RuntimeError("loading the job failed") from cause
            except RuntimeError as outer:
                return outer

    outage = [
        psycopg.OperationalError("connection refused"),
        psycopg.errors.AdminShutdown(),
        psycopg.errors.ReadOnlySqlTransaction(),
        PoolTimeout("couldn't get a connection after 10.00 sec"),
        DependencyUnavailable("down"),
        wrapped(psycopg.OperationalError("connection reset")),
    ]
    not_outage = [
        ValueError("bad data"),
        RetryableError("throttled"),
        psycopg.errors.DeadlockDetected(),
        psycopg.errors.SerializationFailure(),
        psycopg.errors.LockNotAvailable(),
        psycopg.errors.UniqueViolation(),
        PoolClosed("the pool is closed"),
        wrapped(KeyError("x")),
    ]
    assert [looks_like_outage(e) for e in outage] == [True] * len(outage)
    assert [looks_like_outage(e) for e in not_outage] == [False] * len(not_outage)
