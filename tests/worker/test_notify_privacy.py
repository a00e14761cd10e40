"""No personal data in logs by default: users' e-mail addresses never reach a log line."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from jobping.aws import make_client
from jobping.db import open_pool
from jobping.logs import JsonFormatter, TextFormatter, mask_email
from jobping.settings import AwsSettings
from tests.worker.test_pipeline import insert_job, insert_search, message
from worker.analyze import RuleAnalyzer
from worker.notify import LogNotifier, NotificationSender, SesNotifier
from worker.pipeline import JobPipeline, SearchCache

ANA = "ana.lopez@example.com"


@pytest.fixture
def pool(db: str) -> Iterator[ConnectionPool]:
    """Two autocommit connections, as the worker's."""
    with open_pool(db, size=2, wait=True, autocommit=True) as pool:
        yield pool


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Everything logged at INFO and above while the test runs, as the worker writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def _run_pipeline(db: str, pool: ConnectionPool, sender: NotificationSender) -> None:
    job_id = insert_job(db)
    insert_search(db, ANA, "k8s", keywords=["kubernetes"])
    pipeline = JobPipeline(pool, RuleAnalyzer(), sender, searches=SearchCache(check_interval_s=0))
    pipeline(message(job_id))


def test_the_default_log_notifier_logs_no_email_address(
    db: str,
    pool: ConnectionPool,
    log_output: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="worker.notify")
    _run_pipeline(db, pool, NotificationSender(pool, LogNotifier()))
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT status FROM notifications").fetchall() == [("sent",)]
    written = log_output.getvalue()
    assert "a***@example.com" in written  # the notification was logged, masked
    assert ANA not in written
    # Masked where it is logged, not only by the formatter: the records hold no address.
    assert ANA not in "".join(repr(vars(record)) for record in caplog.records)


def test_a_provider_error_quoting_an_address_is_logged_masked(
    db: str, pool: ConnectionPool, log_output: io.StringIO, aws_settings: AwsSettings
) -> None:
    sender_address = f"jobs-{uuid.uuid4().hex[:6]}@example.com"  # not verified: SES refuses
    ses = SesNotifier(make_client("sesv2", aws_settings), sender_address)
    _run_pipeline(db, pool, NotificationSender(pool, ses))
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT status, last_error FROM notifications").fetchone()
    assert row is not None
    assert row[0] == "pending"
    assert sender_address in row[1]  # the database keeps the whole error for operators
    written = log_output.getvalue()
    assert "not verified" in written.lower()
    assert sender_address not in written
    assert mask_email(sender_address) in written


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()])
def test_both_formatters_mask_any_address_in_a_line(formatter: logging.Formatter) -> None:
    record = logging.LogRecord("test", logging.WARNING, __file__, 1, "bounce from %s", (ANA,), None)
    record.recipient = "bob+jobs@mail.example.org"
    line = formatter.format(record)
    assert ANA not in line
    assert "bob+jobs@" not in line
    assert "a***@example.com" in line
    assert "b***@mail.example.org" in line


def test_a_long_line_without_an_address_is_left_as_it_is() -> None:
    text = "title " + "x" * 100_000 + "@" + "y" * 100
    record = logging.LogRecord("test", logging.INFO, __file__, 1, text, None, None)
    assert text in TextFormatter().format(record)
