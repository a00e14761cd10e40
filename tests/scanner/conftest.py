"""Scanner fixtures: a real local HTTP server (see `local_http`), a test-friendly Fetcher, and a
`Scanner` (see `scanning`) over moto's SQS and the embedded Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from local_http import LocalServer
from psycopg_pool import ConnectionPool
from scanning import Scanner

from devtools.local.queues import JobQueues
from jobping.db import open_pool
from scanner.http import Fetcher, RetryPolicy, Timeouts, make_client


def _serving() -> Iterator[LocalServer]:
    server = LocalServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    """A fresh local HTTP server for one test."""
    yield from _serving()


@pytest.fixture
def other_server() -> Iterator[LocalServer]:
    """A second local server: another origin (same host, another port)."""
    yield from _serving()


@pytest.fixture
def sleeps() -> list[float]:
    """The waits the fetcher asked for, instead of waiting."""
    return []


@pytest.fixture
def fetcher(sleeps: list[float]) -> Iterator[Fetcher]:
    """A Fetcher with short timeouts, three attempts and a recording sleep."""
    with make_client(Timeouts(connect=2.0, read=2.0, write=2.0, pool=2.0)) as client:
        yield Fetcher(
            client, policy=RetryPolicy(attempts=3), sleep=sleeps.append, jitter=lambda: 0.5
        )


@pytest.fixture
def pool(db: str) -> Iterator[ConnectionPool]:
    """A pool on the clean test database."""
    with open_pool(db, size=4, wait=True) as pool:
        yield pool


@pytest.fixture
def scan_fetcher() -> Iterator[Fetcher]:
    """A Fetcher with one-second timeouts, two attempts and no waiting."""
    with make_client(Timeouts(connect=1.0, read=1.0, write=1.0, pool=1.0)) as client:
        yield Fetcher(client, policy=RetryPolicy(attempts=2), sleep=lambda _: None)


@pytest.fixture
def scanner(
    http_server: LocalServer,
    sqs: Any,
    queues: JobQueues,
    pool: ConnectionPool,
    scan_fetcher: Fetcher,
) -> Scanner:
    """A scanner of JobPing-format boards served by `http_server`."""
    return Scanner(http_server, sqs, queues, pool, scan_fetcher)
