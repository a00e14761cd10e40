"""process_job against the real database: effects, idempotency, one send per user and job.

The helpers here (`insert_job`, `insert_search`, `message`, `make_pipeline`, `RecordingNotifier`)
are shared with the effects, notification and saved-search tests.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from jobping.aws import make_client
from jobping.db import open_pool
from jobping.messages import JobMessage, JobSummary
from jobping.settings import AwsSettings
from worker.analyze import Analyzer, RuleAnalyzer
from worker.errors import PermanentError
from worker.model import Notification
from worker.notify import NotificationSender, NotSent, SesNotifier
from worker.pipeline import JobPipeline, SearchCache

DESCRIPTION = (
    "We run Kubernetes and Terraform on AWS. You write Python and Go services, "
    "own PostgreSQL schemas and on-call. Fully remote within Europe. Salary €70.000 – €90.000."
)


class RecordingNotifier:
    """A channel that records what it sent, and can be told to fail (each send with an error)."""

    channel = "log"

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self.fail_with: Exception | None = None

    def send(self, notifications: Sequence[Notification]) -> list[Exception | None]:
        if self.fail_with is not None:
            return [self.fail_with] * len(notifications)
        self.sent.extend(notifications)
        return [None] * len(notifications)


@pytest.fixture
def pool(db: str) -> Iterator[ConnectionPool]:
    """A pool of two autocommit connections, as the worker's."""
    with open_pool(db, size=2, wait=True, autocommit=True) as pool:
        yield pool


def insert_job(
    url: str,
    *,
    title: str = "Senior Platform Engineer",
    description: str = DESCRIPTION,
    content_hash: str = "h1",
) -> uuid.UUID:
    """Store the job (or a new version of it: same source and id, new content); its id."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "INSERT INTO jobs (source, external_id, title, company, location, remote, url, "
            "description, content_hash) VALUES ('greenhouse:acme', %s, %s, 'Acme', "
            "'Remote, Europe', true, 'https://example.com/jobs/1', %s, %s) "
            "ON CONFLICT (source, external_id) DO UPDATE SET title = EXCLUDED.title, "
            "description = EXCLUDED.description, content_hash = EXCLUDED.content_hash "
            "RETURNING id",
            ("4012345", title, description, content_hash),
        ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def insert_search(url: str, email: str, name: str, **fields: Any) -> uuid.UUID:
    """A saved search `name` of the user `email` (created if new); `fields` are its columns."""
    with psycopg.connect(url) as conn:
        user = conn.execute(
            "INSERT INTO users (email, name) VALUES (%s, %s) ON CONFLICT (email) "
            "DO UPDATE SET name = EXCLUDED.name RETURNING id",
            (email, email.split("@", maxsplit=1)[0]),
        ).fetchone()
        assert user is not None
        row = conn.execute(
            "INSERT INTO saved_searches (user_id, name, keywords, locations, remote_only, "
            "min_salary, salary_currency, seniority) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "RETURNING id",
            (
                user[0],
                name,
                fields.get("keywords", []),
                fields.get("locations", []),
                fields.get("remote_only", False),
                fields.get("min_salary"),
                fields.get("salary_currency"),
                fields.get("seniority", []),
            ),
        ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def message(job_id: uuid.UUID) -> JobMessage:
    """The queue message for `job_id`."""
    return JobMessage(
        job_id=job_id,
        action="process_job",
        data=JobSummary(source="greenhouse:acme", external_id="4012345"),
    )


def _snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2".encode()).fetchall()
            for table in ("job_analyses", "matches", "notifications")
        }


def make_pipeline(
    pool: ConnectionPool,
    notifier: RecordingNotifier,
    sweep_interval_s: float = 3600,
    max_attempts: int = 5,
    analyzer: Analyzer | None = None,
) -> JobPipeline:
    """The pipeline with `notifier`, the rule analyzer unless given, and a fresh search index."""
    return JobPipeline(
        pool,
        analyzer or RuleAnalyzer(),
        NotificationSender(pool, notifier, max_attempts=max_attempts),
        searches=SearchCache(check_interval_s=0),
        sweep_interval_s=sweep_interval_s,
    )


def _job_for_ana_with_failing_channel(
    db: str, error: Exception
) -> tuple[uuid.UUID, RecordingNotifier]:
    """A job that matches one search of Ana's, and a channel whose sends fail with `error`."""
    job_id = insert_job(db)
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    notifier = RecordingNotifier()
    notifier.fail_with = error
    return job_id, notifier


def test_job_is_analyzed_matched_persisted_and_notified(db: str, pool: ConnectionPool) -> None:
    job_id = insert_job(db)
    kube = insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    insert_search(db, "ana@example.com", "remote python", keywords=["python"], remote_only=True)
    insert_search(db, "ben@example.com", "designers", keywords=["figma"])
    notifier = RecordingNotifier()
    make_pipeline(pool, notifier)(message(job_id))

    with psycopg.connect(db) as conn:
        analysis = conn.execute(
            "SELECT skills, work_mode, salary_min, salary_max, salary_currency "
            "FROM job_analyses WHERE job_id = %s",
            (job_id,),
        ).fetchone()
        matched = conn.execute(
            "SELECT saved_search_id FROM matches WHERE job_id = %s", (job_id,)
        ).fetchall()
        statuses = conn.execute("SELECT status, attempts FROM notifications").fetchall()
    assert analysis is not None
    assert {"kubernetes", "terraform", "python", "postgresql"} <= set(analysis[0])
    assert analysis[1] == "remote"
    assert (analysis[2], analysis[3], analysis[4]) == (70000, 90000, "EUR")
    assert len(matched) == 2
    assert (kube,) in matched
    assert statuses == [("sent", 1)]  # one per user, though two of ana's searches matched
    assert [n.email for n in notifier.sent] == ["ana@example.com"]
    assert notifier.sent[0].reasons


def test_same_message_twice_has_one_set_of_effects(db: str, pool: ConnectionPool) -> None:
    job_id = insert_job(db)
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    notifier = RecordingNotifier()
    pipeline = make_pipeline(pool, notifier)
    pipeline(message(job_id))
    first = _snapshot(db)
    pipeline(message(job_id))
    assert _snapshot(db) == first  # not even a timestamp moved
    assert len(notifier.sent) == 1


class SlowNotifier(RecordingNotifier):
    """Records, after a pause long enough for a second delivery to catch up."""

    def send(self, notifications: Sequence[Notification]) -> list[Exception | None]:
        time.sleep(0.3)
        return super().send(notifications)


def test_two_deliveries_at_once_notify_each_user_once(db: str) -> None:
    job_id = insert_job(db)
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    insert_search(db, "cy@example.com", "terraform", keywords=["terraform"])
    notifier = SlowNotifier()
    with open_pool(db, size=3, wait=True, autocommit=True) as pool:
        pipeline = make_pipeline(pool, notifier)
        with ThreadPoolExecutor(2) as threads:
            list(threads.map(pipeline, [message(job_id), message(job_id)]))
    assert sorted(n.email for n in notifier.sent) == ["ana@example.com", "cy@example.com"]
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM notifications").fetchone() == (2,)


class RaisingNotifier:
    """A channel that raises `error` instead of returning outcomes."""

    channel = "log"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def send(self, notifications: Sequence[Notification]) -> list[Exception | None]:
        raise self.error


def test_a_channel_that_provably_refused_leaves_every_notification_pending(
    db: str, pool: ConnectionPool
) -> None:
    job_id = insert_job(db)
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    insert_search(db, "cy@example.com", "terraform", keywords=["terraform"])
    channel = RaisingNotifier(NotSent("provider unreachable"))
    pipeline = JobPipeline(pool, RuleAnalyzer(), NotificationSender(pool, channel))
    pipeline(message(job_id))
    with psycopg.connect(db) as conn:
        assert (
            conn.execute("SELECT status, attempts, last_error FROM notifications").fetchall()
            == [("pending", 1, "provider unreachable")] * 2
        )


def test_a_send_with_an_unknown_outcome_is_never_sent_again(db: str, pool: ConnectionPool) -> None:
    job_id = insert_job(db)
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    channel = RaisingNotifier(TimeoutError("read timed out"))  # it may have been delivered
    pipeline = JobPipeline(pool, RuleAnalyzer(), NotificationSender(pool, channel))
    pipeline(message(job_id))
    with psycopg.connect(db) as conn:
        assert conn.execute(
            "SELECT status, attempts, last_error FROM notifications"
        ).fetchall() == [("sending", 1, "read timed out")]
    notifier = RecordingNotifier()
    make_pipeline(pool, notifier)(message(job_id))  # a redelivery
    assert NotificationSender(pool, notifier).send_pending() == (0, 0)  # and the sweep
    assert notifier.sent == []


def test_a_crash_while_sending_is_never_sent_again(db: str, pool: ConnectionPool) -> None:
    job_id = insert_job(db)
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])

    class CrashingNotifier(RecordingNotifier):
        def send(self, notifications: Sequence[Notification]) -> list[Exception | None]:
            raise SystemExit("worker killed mid-send")  # not an Exception: nothing catches it

    with pytest.raises(SystemExit):
        make_pipeline(pool, CrashingNotifier())(message(job_id))
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT status, attempts FROM notifications").fetchall() == [
            ("sending", 1)
        ]
    notifier = RecordingNotifier()
    make_pipeline(pool, notifier)(message(job_id))  # the re-delivery
    assert NotificationSender(pool, notifier).send_pending() == (0, 0)  # and the sweep
    assert notifier.sent == []  # may have reached Ana: not sent again


def test_missing_job_is_a_permanent_error(db: str, pool: ConnectionPool) -> None:
    with pytest.raises(PermanentError) as error:
        make_pipeline(pool, RecordingNotifier())(message(uuid.uuid4()))
    assert error.value.kind == "job_not_found"


def test_changed_job_drops_matches_that_no_longer_hold(db: str, pool: ConnectionPool) -> None:
    job_id = insert_job(db)
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    pipeline = make_pipeline(pool, RecordingNotifier())
    pipeline(message(job_id))
    insert_job(db, title="Office Manager", description="Run our Berlin office.", content_hash="h2")
    pipeline(message(job_id))
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM matches").fetchone() == (0,)
        assert conn.execute("SELECT content_hash FROM job_analyses").fetchone() == ("h2",)
        # the notification already sent for the old content stays on record
        assert conn.execute("SELECT status FROM notifications").fetchall() == [("sent",)]


def test_refused_send_stays_pending_and_is_retried(db: str, pool: ConnectionPool) -> None:
    job_id, notifier = _job_for_ana_with_failing_channel(db, NotSent("smtp down"))
    make_pipeline(pool, notifier)(message(job_id))
    with psycopg.connect(db) as conn:
        assert conn.execute(
            "SELECT status, attempts, last_error FROM notifications"
        ).fetchall() == [("pending", 1, "smtp down")]
    notifier.fail_with = None
    assert NotificationSender(pool, notifier).send_pending() == (1, 0)
    assert NotificationSender(pool, notifier).send_pending() == (0, 0)  # never twice
    assert len(notifier.sent) == 1


def test_failed_send_is_retried_by_the_sweep_with_no_newmessage(
    db: str, pool: ConnectionPool
) -> None:
    job_id, notifier = _job_for_ana_with_failing_channel(db, NotSent("smtp down"))
    pipeline = make_pipeline(pool, notifier, sweep_interval_s=0.2)
    pipeline(message(job_id))
    notifier.fail_with = None
    pipeline.start_sweeps()  # the worker is idle from here on
    try:
        deadline = time.monotonic() + 10
        while not notifier.sent and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        pipeline.stop_sweeps()
    assert [n.email for n in notifier.sent] == ["ana@example.com"]
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT status, attempts FROM notifications").fetchall() == [
            ("sent", 2)
        ]


def test_send_gives_up_after_max_attempts(db: str, pool: ConnectionPool) -> None:
    job_id, notifier = _job_for_ana_with_failing_channel(db, NotSent("quota exceeded"))
    make_pipeline(pool, notifier)(message(job_id))
    sender = NotificationSender(pool, notifier, max_attempts=3)
    assert sender.send_pending() == (0, 1)
    assert sender.send_pending() == (0, 1)
    assert sender.send_pending() == (0, 0)
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT status, attempts FROM notifications").fetchall() == [
            ("failed", 3)
        ]


def test_with_one_attempt_allowed_a_refused_send_is_failed_at_once(
    db: str, pool: ConnectionPool
) -> None:
    job_id, notifier = _job_for_ana_with_failing_channel(db, NotSent("quota exceeded"))
    make_pipeline(pool, notifier, max_attempts=1)(message(job_id))
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT status, attempts, sent_at FROM notifications").fetchall() == [
            ("failed", 1, None)
        ]
    sweep = NotificationSender(pool, notifier, max_attempts=1)
    assert sweep.send_pending() == (0, 0)  # never retried


def test_new_search_is_seen_without_restart(db: str, pool: ConnectionPool) -> None:
    job_id = insert_job(db)
    pipeline = make_pipeline(pool, RecordingNotifier())
    pipeline(message(job_id))
    insert_search(db, "cy@example.com", "terraform", keywords=["terraform"])
    pipeline(message(job_id))
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM matches").fetchone() == (1,)


def test_search_deleted_after_indexing_is_skipped(db: str, pool: ConnectionPool) -> None:
    job_id = insert_job(db)
    search = insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    cache = SearchCache(check_interval_s=3600)
    notifier = RecordingNotifier()
    pipeline = JobPipeline(pool, RuleAnalyzer(), NotificationSender(pool, notifier), searches=cache)
    with pool.connection() as conn:
        cache.get(conn)  # index built while the search exists
    with psycopg.connect(db) as conn:
        conn.execute("DELETE FROM saved_searches WHERE id = %s", (search,))
    pipeline(message(job_id))
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM matches").fetchone() == (0,)
    assert notifier.sent == []


def test_ses_notifier_sends_from_a_verified_identity(
    db: str, pool: ConnectionPool, aws_settings: AwsSettings
) -> None:
    ses = make_client("sesv2", aws_settings)
    sender_address = f"jobs-{uuid.uuid4().hex[:6]}@example.com"
    job_id = insert_job(db)
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    unverified = SesNotifier(ses, sender_address)
    sender = NotificationSender(pool, unverified)
    pipeline = JobPipeline(pool, RuleAnalyzer(), sender, searches=SearchCache(check_interval_s=0))
    pipeline(message(job_id))
    with psycopg.connect(db) as conn:
        status = conn.execute("SELECT status, last_error FROM notifications").fetchone()
    assert status is not None
    assert status[0] == "pending"
    assert "not verified" in str(status[1]).lower()

    ses.create_email_identity(EmailIdentity=sender_address)
    assert sender.send_pending() == (1, 0)
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT status, channel FROM notifications").fetchone() == (
            "sent",
            "ses",
        )
