"""Notifications, sent after the pipeline's transaction commits.

Rows in `notifications` start `pending`. `NotificationSender.send_pending` locks a job's pending
rows with `FOR UPDATE SKIP LOCKED` (so two workers holding the same re-delivered message never
both send), calls the `Notifier` for each, and marks the sent ones `sent` in the same short
transaction. A failed send stays `pending` with its error and attempt count and is retried by a
later sweep, until `max_attempts`, after which it is `failed`. The one window left is a crash
after the provider accepted messages and before the commit: that batch (one job's
notifications, usually one to a few) is sent again, so delivery is at least once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

log = logging.getLogger(__name__)
Conn = psycopg.Connection[TupleRow]

_CLAIM = """
SELECT n.id, n.user_id, u.email, u.name, n.job_id, j.title, j.company, j.url,
       coalesce(m.score, 0), coalesce(m.reasons, '[]'::jsonb)
FROM notifications n
JOIN users u ON u.id = n.user_id
JOIN jobs j ON j.id = n.job_id
LEFT JOIN matches m ON m.job_id = n.job_id AND m.saved_search_id = n.saved_search_id
WHERE n.status = 'pending' AND (%(job_id)s::uuid IS NULL OR n.job_id = %(job_id)s::uuid)
  AND n.created_at <= now() - %(min_age)s * interval '1 second'
ORDER BY n.created_at
LIMIT %(limit)s
FOR UPDATE OF n SKIP LOCKED"""

_MARK_SENT = """
UPDATE notifications SET status = 'sent', sent_at = now(), attempts = attempts + 1,
       last_error = NULL
WHERE id = ANY(%s)"""

_MARK_FAILED = """
UPDATE notifications
SET attempts = attempts + 1, last_error = %s,
    status = CASE WHEN attempts + 1 >= %s THEN 'failed' ELSE 'pending' END
WHERE id = %s"""


@dataclass(frozen=True)
class Notification:
    """Everything a channel needs to tell a user about a matching job."""

    id: uuid.UUID
    user_id: uuid.UUID
    email: str
    name: str
    job_id: uuid.UUID
    title: str
    company: str
    url: str
    score: float
    reasons: tuple[str, ...]


class Notifier(Protocol):
    """A channel that delivers one notification or raises."""

    channel: str

    def send(self, notification: Notification) -> None:
        """Deliver `notification`; raise on failure (it stays pending)."""


class LogNotifier:
    """The default channel: one structured log line per notification."""

    channel = "log"

    def send(self, notification: Notification) -> None:
        """Log the notification."""
        log.info(
            "notify %s: %s at %s",
            notification.email,
            notification.title,
            notification.company,
            extra={
                "notification_id": str(notification.id),
                "job_id": str(notification.job_id),
                "user_id": str(notification.user_id),
                "score": notification.score,
            },
        )


class SesNotifier:
    """Amazon SES v2 e-mail."""

    channel = "ses"

    def __init__(self, client: SESV2Client, from_address: str) -> None:
        self._client = client
        self._from = from_address

    def send(self, notification: Notification) -> None:
        """Send one plain-text e-mail."""
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
    """Sends pending notifications through a `Notifier`, exactly once per successful send."""

    def __init__(self, pool: ConnectionPool, notifier: Notifier, max_attempts: int = 5) -> None:
        self._pool = pool
        self._notifier = notifier
        self._max_attempts = max_attempts

    def send_pending(
        self, job_id: uuid.UUID | None = None, *, limit: int = 100, min_age_s: float = 0
    ) -> tuple[int, int]:
        """Send up to `limit` pending notifications (of one job, or any); return (sent, failed).

        One short transaction claims the rows (`SKIP LOCKED`), sends them, and marks the sent
        ones with a single UPDATE: four statements for a job's notifications instead of three
        per notification, which profiling showed was the pipeline's largest cost.
        """
        sent: list[uuid.UUID] = []
        failed = 0
        with self._pool.connection() as conn, conn.transaction():
            params = {"job_id": job_id, "min_age": min_age_s, "limit": limit}
            for row in conn.execute(_CLAIM, params).fetchall():
                notification = _notification(row)
                if self._send_one(conn, notification):
                    sent.append(notification.id)
                else:
                    failed += 1
            if sent:
                conn.execute(_MARK_SENT, (sent,))
        return len(sent), failed

    def _send_one(self, conn: Conn, notification: Notification) -> bool:
        try:
            self._notifier.send(notification)
        except Exception as error:  # any channel failure: keep it pending, retry later
            log.warning(
                "notification failed",
                extra={"notification_id": str(notification.id), "error": str(error)},
            )
            conn.execute(_MARK_FAILED, (str(error)[:500], self._max_attempts, notification.id))
            return False
        return True


def _notification(row: tuple[Any, ...]) -> Notification:
    return Notification(
        id=row[0],
        user_id=row[1],
        email=row[2],
        name=row[3],
        job_id=row[4],
        title=row[5],
        company=row[6],
        url=row[7],
        score=float(row[8]),
        reasons=tuple(str(r) for r in row[9]),
    )
