"""Fixtures for the consumer tests: worker subprocesses, in-process consumers, queue helpers,
an in-memory `FakeQueue` for unit tests, and a TCP proxy in front of the database (`db_proxy`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from devtools.local.moto import MotoServer
from devtools.local.postgres import EmbeddedPostgres
from jobping.db import open_pool
from jobping.settings import AwsSettings, WorkerSettings
from tests.worker.consumer_app import SCHEMA, build_handlers
from tests.worker.faults import TcpProxy
from worker.backoff import Backoff
from worker.consumer import Consumer
from worker.model import JobPosting
from worker.sqs import BatchFailure, Entry, MessageAttributes, QueueInfo, Received, SqsQueue

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll `predicate` until it returns something truthy; fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        if result := predicate():
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class FakeQueue:
    """A `Queue` whose batch calls fail the entries it is told to, a given number of times."""

    def __init__(
        self,
        fail: dict[str, tuple[int, bool]] | None = None,
        inbox: list[list[Received]] | None = None,
        visibility_timeout: int = 30,
    ) -> None:
        self.fail = dict(fail or {})  # receipt handle -> (times left, sender fault)
        self.inbox = list(inbox or [])  # what successive receive calls return
        self.visibility_timeout = visibility_timeout
        self.polling = threading.Event()
        self.let_receive_return = threading.Event()
        self.receive_calls = 0
        self.delete_calls: list[list[str]] = []
        self.visibility_calls: list[list[tuple[str, int]]] = []
        self.deleted: list[str] = []

    def describe(self) -> QueueInfo:
        return QueueInfo("fake", self.visibility_timeout, None, None)

    def receive(self, max_messages: int, wait_seconds: int) -> list[Received]:
        self.receive_calls += 1
        self.polling.set()
        if not self.let_receive_return.wait(wait_seconds):
            return []
        return self.inbox.pop(0)[:max_messages] if self.inbox else []

    def _failures(self, entries: Sequence[Entry]) -> list[BatchFailure]:
        failures = []
        for entry in entries:
            left, sender = self.fail.get(entry.receipt_handle, (0, False))
            if left:
                self.fail[entry.receipt_handle] = (left - 1, sender)
                failures.append(BatchFailure(entry.id, "InternalError", "boom", sender))
        return failures

    def delete_batch(self, entries: Sequence[Entry]) -> list[BatchFailure]:
        self.delete_calls.append([e.receipt_handle for e in entries])
        failures = self._failures(entries)
        failed = {f.id for f in failures}
        self.deleted += [e.receipt_handle for e in entries if e.id not in failed]
        return failures

    def change_visibility_batch(self, entries: Sequence[Entry]) -> list[BatchFailure]:
        self.visibility_calls.append([(e.receipt_handle, e.visibility_timeout) for e in entries])
        return self._failures(entries)

    def change_visibility(self, receipt_handle: str, timeout: int) -> None:
        self.visibility_calls.append([(receipt_handle, timeout)])

    def send_to_dlq(self, dlq_url: str, body: str, attributes: MessageAttributes) -> str:
        return "dlq-id"

    def visibilities(self, receipt_handle: str) -> list[int]:
        """Every visibility set for `receipt_handle`, in the order they were applied."""
        return [t for call in self.visibility_calls for h, t in call if h == receipt_handle]


def job_message(n: int, receive_count: int = 1) -> Received:
    """A received `process_job` message with receipt handle `h<n>`."""
    body = json.dumps(
        {
            "job_id": f"00000000-0000-0000-0000-{n:012d}",
            "action": "process_job",
            "data": {"source": "s", "external_id": str(n)},
        }
    )
    return Received(
        message_id=f"m{n}", receipt_handle=f"h{n}", body=body, receive_count=receive_count
    )


def make_job(**overrides: Any) -> JobPosting:
    """A job as the pipeline reads it; `overrides` replace fields of the default posting."""
    fields: dict[str, Any] = {
        "job_id": uuid.UUID(int=1), "source": "lever:acme", "title": "Platform Engineer",
        "company": "Acme", "location": "Berlin, Germany", "remote": None,
        "url": "https://example.com/1", "description": "", "salary_min": None,
        "salary_max": None, "salary_currency": None, "content_hash": "h",
    }  # fmt: skip
    fields.update(overrides)
    return JobPosting(**fields)


def job_body(action: str = "write", *, job_id: uuid.UUID | None = None, **data: str) -> str:
    """A valid message body for `action`; `data` overrides fields of the job summary."""
    summary = {"source": "test", "external_id": uuid.uuid4().hex, **data}
    return json.dumps(
        {
            "job_id": str(job_id or uuid.uuid4()),
            "action": action,
            "data": summary,
            "enqueued_at": "2026-11-29T01:02:03Z",
        }
    )


def send_all(sqs: SQSClient, url: str, bodies: list[str]) -> list[str]:
    """Send `bodies` in batches of ten; return the message ids in order."""
    ids: list[str] = []
    for start in range(0, len(bodies), 10):
        chunk = bodies[start : start + 10]
        response = sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(chunk)]
        )
        assert not response.get("Failed"), response
        by_id = {e["Id"]: e["MessageId"] for e in response["Successful"]}
        ids += [by_id[str(i)] for i in range(len(chunk))]
    return ids


def queue_counts(sqs: SQSClient, url: str) -> tuple[int, int]:
    """(visible, in flight) messages on the queue."""
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def drain_queue(sqs: SQSClient, url: str, wait: int = 1) -> list[MessageTypeDef]:
    """Receive (and delete) every visible message, with all attributes."""
    out: list[MessageTypeDef] = []
    while messages := sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=wait,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", []):
        out += messages
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )
    return out


def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one query on a fresh connection (the tests' view of the database)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    """GET a health endpoint: its status and JSON body (an error status is an answer too)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def consumer_db(db: str) -> str:
    """The clean database with the consumer test tables."""
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(SCHEMA)
    return db


@dataclass
class WorkerProcess:
    """A `python -m tests.worker.consumer_app` subprocess and its log files."""

    process: subprocess.Popen[bytes]
    stderr_path: Path
    stdout_path: Path

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (a line still being written is left out).

        While the worker runs this is only a snapshot: its log writer (`jobping.logs`) writes
        queued records every 50 ms, and a message's outcome is logged after its delete is
        queued (`worker.settle`), so an empty queue does not mean every outcome is written. Poll
        for a line with `wait_for`, or read the whole log after `stop()`.
        """
        lines = []
        for raw in self.stderr_path.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue
        return lines

    def health_url(self) -> str:
        """The base URL of the worker's health server, from the port it logged."""
        port = next(line["health_port"] for line in self.log_lines() if "health_port" in line)
        return f"http://127.0.0.1:{port}"

    def outcomes(self) -> list[str]:
        """The `outcome` of every per-message log line so far."""
        return [line["outcome"] for line in self.log_lines() if "outcome" in line]

    def wait_started(self, timeout: float = 15.0) -> None:
        """Wait for the 'consumer started' log line."""
        wait_for(
            lambda: (
                self.process.poll() is not None
                or any(line["message"] == "consumer started" for line in self.log_lines())
            ),
            timeout,
            "the worker to start",
        )
        assert self.process.poll() is None, self.stderr_path.read_text()

    def signal(self, signum: int) -> None:
        """Send `signum` to the worker."""
        self.process.send_signal(signum)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM the worker and wait for it to exit; its exit code (0 after a clean drain).

        The worker writes every queued log record before it exits, so `log_lines()` is
        complete from here on.
        """
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker did not exit within {timeout} s of SIGTERM")


@dataclass
class WorkerFactory:
    """Starts worker subprocesses for one test and kills what is left at teardown."""

    env: dict[str, str]
    tmp: Path
    started: list[WorkerProcess] = field(default_factory=list)

    def __call__(self, queue_url: str, **env: str) -> WorkerProcess:
        index = len(self.started)
        err, out = self.tmp / f"worker{index}.err", self.tmp / f"worker{index}.out"
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.worker.consumer_app"],
            cwd=ROOT,
            env={**self.env, "JOB_QUEUE_URL": queue_url, **env},
            stdout=out.open("wb"),
            stderr=err.open("wb"),
        )
        worker = WorkerProcess(process, err, out)
        self.started.append(worker)
        worker.wait_started()
        return worker

    def cleanup(self) -> None:
        for worker in self.started:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGKILL)
                worker.process.wait(10)


@pytest.fixture
def start_worker(
    moto_server: MotoServer, consumer_db: str, tmp_path: Path
) -> Iterator[WorkerFactory]:
    """Factory: `start_worker(queue_url, **env)` runs a worker subprocess against moto + db."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("WORKER_", "DATABASE_", "ECS_", "HEALTH_"))
    }
    env.update(
        AWS_ENDPOINT_URL=moto_server.url,
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        DATABASE_URL=consumer_db,
        WORKER_CONCURRENCY="4",
        WORKER_WAIT_SECONDS="1",
        WORKER_DRAIN_SECONDS="10",
        HEALTH_PORT="0",
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
    )
    factory = WorkerFactory(env, tmp_path)
    yield factory
    factory.cleanup()


@pytest.fixture
def db_proxy(postgres: EmbeddedPostgres) -> Iterator[TcpProxy]:
    """A `TcpProxy` in front of the session's Postgres: cut it, never the server others share.

    `db_proxy.rewrite(url)` is a database URL through the proxy.
    """
    proxy = TcpProxy("127.0.0.1", postgres.port)
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def consumer_pool(consumer_db: str) -> Iterator[ConnectionPool]:
    """A small pool on the consumer test database, for in-process consumers."""
    with open_pool(consumer_db, size=5, wait=True, timeout=5) as pool:
        yield pool


@pytest.fixture
def run_consumer(
    sqs: SQSClient, consumer_pool: ConnectionPool, aws_settings: AwsSettings
) -> Callable[..., Any]:
    """Context manager: an in-process `Consumer` with the test handlers on `queue_url`."""

    @contextmanager
    def run(queue_url: str, **options: Any) -> Iterator[Consumer]:
        settings = WorkerSettings(job_queue_url=queue_url, database_url="unused")  # type: ignore[arg-type]
        options.setdefault("concurrency", 4)
        options.setdefault("wait_seconds", 1)
        options.setdefault("drain_seconds", 5)
        options.setdefault("backoff", Backoff(base=1, cap=2))
        handlers = options.pop("handlers", None) or build_handlers(settings, consumer_pool)
        consumer = Consumer(SqsQueue(sqs, queue_url), handlers, **options)
        consumer.start()
        try:
            yield consumer
        finally:
            consumer.shutdown()

    return run
