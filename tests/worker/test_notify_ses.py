"""SES sends: only a refusal that provably sent nothing is retried; anything else is not.

Real transports: moto's SES for refusals and successes, a closed port for "no connection", and
a socket that accepts connections but never answers for "the request went out, no answer".
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from jobping.aws import make_client
from jobping.db import open_pool
from jobping.settings import AwsSettings
from tests.worker.test_pipeline import RecordingNotifier, insert_job, insert_search, message
from worker.analyze import RuleAnalyzer
from worker.notify import NotificationSender, SesNotifier
from worker.pipeline import JobPipeline, SearchCache


@pytest.fixture
def pool(db: str) -> Iterator[ConnectionPool]:
    """Two autocommit connections, as the worker's."""
    with open_pool(db, size=2, wait=True, autocommit=True) as pool:
        yield pool


def _ses_at(url: str) -> SesNotifier:
    # As `build_notifier` builds it: no botocore retries.
    client = make_client("sesv2", AwsSettings.for_endpoint(url), max_attempts=1, read_timeout=1)
    return SesNotifier(client, "jobs@example.com")


def _notify_ana(db: str, pool: ConnectionPool, ses: SesNotifier) -> tuple[str, int, str]:
    job_id = insert_job(db)
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    sender = NotificationSender(pool, ses)
    JobPipeline(pool, RuleAnalyzer(), sender, searches=SearchCache(check_interval_s=0))(
        message(job_id)
    )
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT status, attempts, last_error FROM notifications").fetchone()
    assert row is not None
    return row[0], row[1], row[2]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_ses_unreachable_is_not_sent_and_retried(
    db: str, pool: ConnectionPool, closed_port: int
) -> None:
    status, attempts, error = _notify_ana(db, pool, _ses_at(f"http://127.0.0.1:{closed_port}"))
    assert (status, attempts) == ("pending", 1)
    assert "connect" in error.lower()


def test_ses_that_never_answers_is_not_sent_again(
    db: str, pool: ConnectionPool, silent_port: int
) -> None:
    status, attempts, error = _notify_ana(db, pool, _ses_at(f"http://127.0.0.1:{silent_port}"))
    assert (status, attempts) == ("sending", 1)  # the e-mail may have gone out
    assert "timeout" in error.lower() or "timed out" in error.lower()
    later = RecordingNotifier()
    assert NotificationSender(pool, later).send_pending() == (0, 0)
    assert later.sent == []


def test_ses_refusing_an_unverified_sender_is_retried_until_it_is_verified(
    db: str, pool: ConnectionPool, aws_settings: AwsSettings
) -> None:
    ses_client = make_client("sesv2", aws_settings, max_attempts=1)
    sender_address = f"jobs-{uuid.uuid4().hex[:6]}@example.com"
    ses = SesNotifier(ses_client, sender_address)
    status, _, error = _notify_ana(db, pool, ses)
    assert status == "pending"
    assert "not verified" in error.lower()
    ses_client.create_email_identity(EmailIdentity=sender_address)
    sender = NotificationSender(pool, ses)
    assert sender.send_pending() == (1, 0)
    assert sender.send_pending() == (0, 0)
