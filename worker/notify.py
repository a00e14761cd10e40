"""Notifications: sent before the job's transaction commits, stored with their outcome.

`persist` inserts a job's new notifications as `sent`, in the pipeline's transaction, and
returns them; `NotificationSender.send_new` sends them and sets any that failed back to
`pending`, with the error and one attempt, before the transaction commits. So a row says `sent`
to anyone else only once the send has happened, and the uniqueness of (user, job) makes a second
delivery of the job wait for the first and then skip those users: one send per user. The window
left is a crash, or a failed commit, after the provider accepted a message: the job is processed
again and the user is notified again, so delivery is at least once. `send_pending`, the sweep,
retries `pending` rows (claimed `FOR UPDATE SKIP LOCKED`, so two sweeps never send one twice)
until `max_attempts`, after which they are `failed`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from worker.model import Notification

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

log = logging.getLogger(__name__)
Conn = psycopg.Connection[TupleRow]

_CLAIM = """
SELECT n.id, n.user_id, u.email, u.name, n.job_id, n.saved_search_id, j.title, j.company, j.url,
       coalesce(m.score, 0), coalesce(m.reasons, '[]'::jsonb)
FROM notifications n
JOIN users u ON u.id = n.user_id
JOIN jobs j ON j.id = n.job_id
LEFT JOIN matches m ON m.job_id = n.job_id AND m.saved_search_id = n.saved_search_id
WHERE n.status = 'pending' AND n.created_at <= now() - %(min_age)s * interval '1 second'
ORDER BY n.created_at
LIMIT %(limit)s
FOR UPDATE OF n SKIP LOCKED"""

# A send of `send_new` that failed: the row `persist` wrote as sent (its attempt already counted)
# is pending again, or failed if that was the last attempt allowed, as in `_MARK_FAILED`.
_UNSEND = """
UPDATE notifications
SET sent_at = NULL, last_error = %s,
    status = CASE WHEN attempts >= %s THEN 'failed' ELSE 'pending' END
WHERE id = %s"""

_MARK_SENT = """
UPDATE notifications SET status = 'sent', sent_at = now(), attempts = attempts + 1,
       last_error = NULL
WHERE id = ANY(%s)"""

_MARK_FAILED = """
UPDATE notifications
SET attempts = attempts + 1, last_error = %s,
    status = CASE WHEN attempts + 1 >= %s THEN 'failed' ELSE 'pending' END
WHERE id = %s"""


class Notifier(Protocol):
    """A channel that delivers notifications, a job's (or a sweep's) at a time."""

    channel: str

    def send(self, notifications: Sequence[Notification]) -> list[Exception | None]:
        """Deliver each notification; return its outcome, in order: None if sent, else why not.

        An exception raised instead fails every notification of the call with it.
        """


class LogNotifier:
    """The default channel: one structured log line per job, naming every recipient."""

    channel = "log"

    def send(self, notifications: Sequence[Notification]) -> list[Exception | None]:
        """Log the notifications, one line per job."""
        by_job: dict[uuid.UUID, list[Notification]] = {}
        for notification in notifications:
            by_job.setdefault(notification.job_id, []).append(notification)
        for job_id, group in by_job.items():
            log.info(
                "notify %d user(s): %s at %s",
                len(group),
                group[0].title,
                group[0].company,
                extra={
                    "job_id": str(job_id),
                    "notifications": [
                        {
                            "id": str(n.id),
                            "user_id": str(n.user_id),
                            "email": n.email,
                            "score": n.score,
                        }
                        for n in group
                    ],
                },
            )
        return [None] * len(notifications)


class SesNotifier:
    """Amazon SES v2 e-mail, one message per notification."""

    channel = "ses"

    def __init__(self, client: SESV2Client, from_address: str) -> None:
        self._client = client
        self._from = from_address

    def send(self, notifications: Sequence[Notification]) -> list[Exception | None]:
        """Send one plain-text e-mail per notification; a failed one does not stop the rest."""
        outcomes: list[Exception | None] = []
        for notification in notifications:
            try:
                self._send_one(notification)
            except Exception as error:  # any SES or transport error fails this one only
                outcomes.append(error)
            else:
                outcomes.append(None)
        return outcomes

    def _send_one(self, notification: Notification) -> None:
        reasons = "\n".join(f"  - {reason}" for reason in notification.reasons)
        body = (
            f"Hi {notification.name or notification.email},\n\n"
            f"A new job matches your saved search:\n\n"
            f"{notification.title} at {notification.company}\n{notification.url}\n\n"
            f"Why it matched:\n{reasons}\n"
        )
        self._client.send_email(
            FromEmailAddress=self._from,
            Destination={"ToAddresses": [notification.email]},
            Content={
                "Simple": {
                    "Subject": {"Data": f"New match: {notification.title}"[:200]},
                    "Body": {"Text": {"Data": body}},
                }
            },
        )


class NotificationSender:
    """Sends notifications through a `Notifier` and keeps their rows in step with the outcome."""

    def __init__(self, pool: ConnectionPool, notifier: Notifier, max_attempts: int = 5) -> None:
        self._pool = pool
        self._notifier = notifier
        self._max_attempts = max_attempts

    @property
    def channel(self) -> str:
        """The channel's name, stored on each notification."""
        return self._notifier.channel

    def send_new(self, conn: Conn, notifications: list[Notification]) -> tuple[int, int]:
        """Send the notifications `persist` stored as sent; return (sent, failed).

        Call it in the transaction `persist` ran in, before it commits: a failed send's row is
        set back to pending (or failed, if `max_attempts` is 1) with its error.
        """
        errors = self._deliver(notifications)
        for notification, error in zip(notifications, errors, strict=True):
            if error is not None:
                conn.execute(_UNSEND, (error, self._max_attempts, notification.id))
        failed = sum(error is not None for error in errors)
        return len(notifications) - failed, failed

    def send_pending(self, *, limit: int = 100, min_age_s: float = 0) -> tuple[int, int]:
        """The sweep: send up to `limit` pending notifications older than `min_age_s`.

        Returns (sent, failed). These are the ones whose earlier sends failed.
        """
        with self._pool.connection() as conn, conn.transaction():
            params = {"min_age": min_age_s, "limit": limit}
            claimed = [_notification(row) for row in conn.execute(_CLAIM, params)]
            errors = self._deliver(claimed)
            sent = [n.id for n, error in zip(claimed, errors, strict=True) if error is None]
            if sent:
                conn.execute(_MARK_SENT, (sent,))
            for notification, error in zip(claimed, errors, strict=True):
                if error is not None:
                    conn.execute(_MARK_FAILED, (error, self._max_attempts, notification.id))
            return len(sent), len(claimed) - len(sent)

    def _deliver(self, notifications: Sequence[Notification]) -> list[str | None]:
        """Send through the channel; per notification None if it went, else the error text."""
        if not notifications:
            return []
        try:
            outcomes = self._notifier.send(notifications)
        except Exception as error:  # the channel failed as a whole: every one stays pending
            outcomes = [error] * len(notifications)
        errors: list[str | None] = []
        for notification, outcome in zip(notifications, outcomes, strict=True):
            if outcome is not None:
                log.warning(
                    "notification failed",
                    extra={"notification_id": str(notification.id), "error": str(outcome)},
                )
            errors.append(None if outcome is None else str(outcome)[:500])
        return errors


def _notification(row: tuple[Any, ...]) -> Notification:
    return Notification(
        id=row[0],
        user_id=row[1],
        email=row[2],
        name=row[3],
        job_id=row[4],
        saved_search_id=row[5],
        title=row[6],
        company=row[7],
        url=row[8],
        score=float(row[9]),
        reasons=tuple(str(r) for r in row[10]),
    )
