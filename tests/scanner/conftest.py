"""Scanner fixtures: a real local HTTP server (see `local_http`) and a test-friendly Fetcher."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from local_http import LocalServer

from scanner.http import Fetcher, RetryPolicy, Timeouts, make_client


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    """A fresh local HTTP server for one test."""
    server = LocalServer()
    server.start()
    yield server
    server.stop()


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
