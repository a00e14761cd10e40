"""Notifications: a state machine that never sends again what may have been sent.

A notification row moves through these states (its `status`):

* `sending`: claimed for one attempt (`attempts` counts it, `attempted_at` says when). The
  claim commits *before* the channel is called: `persist` inserts a job's new notifications as
  `sending` in the job's own statement, the sweep claims `pending` rows in a statement of its
  own. Nothing ever claims a `sending` row, so no retry, redelivery or sweep sends it again.
* `sent`: the channel accepted it.
* `pending`: the channel *provably* did not accept it (`NotSent`: the provider refused the
  request, or no connection was ever made). The sweep claims it again after a pause.
* `failed`: refused like that on the last of `max_attempts` attempts; never tried again.

An attempt whose outcome is not provable (a timeout after the request went out, a dropped
connection, any other error) stays `sending` with its `last_error`. So does an attempt whose
outcome was never recorded: the worker died, or lost the database, anywhere between the commit
of the claim and the update after the send. That is the one window left, and in it delivery is
*at most* once: a `sending` row older than a few minutes may or may not have reached the user,
and only an operator decides whether to send it again (`status = 'pending'`). Every other path
sends each (user, job) at most once and, while the channel keeps refusing provably, retries up
to `max_attempts`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol

import psycopg
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError
from psycopg.rows import TupleRow, dict_row
from psycopg_pool import ConnectionPool

from jobping.logs import mask_email, redact_emails
from worker.model import Notification

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

log = logging.getLogger(__name__)
Conn = psycopg.Connection[TupleRow]
Outcome = Literal["sent", "not_sent", "unknown"]

# The sweep's claim: one autocommit statement, so the `sending` state is committed before any
# send. SKIP LOCKED lets two sweeps claim disjoint rows; a pending row waits `min_age` after its
# last attempt (a provider that refused a moment ago likely refuses again).
_CLAIM = """
WITH claimed AS (
    UPDATE notifications n
    SET status = 'sending', attempts = n.attempts + 1, attempted_at = now()
    WHERE n.id IN (
        SELECT id FROM notifications
        WHERE status = 'pending'
          AND coalesce(attempted_at, created_at) <= now() - %(min_age)s * interval '1 second'
        ORDER BY created_at
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ) AND n.status = 'pending'
    RETURNING n.id, n.user_id, n.job_id, n.saved_search_id
)
SELECT c.id, c.user_id, u.email, u.name, c.job_id, c.saved_search_id, j.title, j.company, j.url,
       coalesce(m.score, 0) AS score, coalesce(m.reasons, '[]'::jsonb) AS reasons
FROM claimed c
JOIN users u ON u.id = c.user_id
JOIN jobs j ON j.id = c.job_id
LEFT JOIN matches m ON m.job_id = c.job_id AND m.saved_search_id = c.saved_search_id"""

# The outcomes of one attempt each, in one statement. Only rows still `sending` change.
_RECORD = """
UPDATE notifications n
SET status = CASE o.outcome
                 WHEN 'sent' THEN 'sent'
                 WHEN 'not_sent' THEN
                     CASE WHEN n.attempts >= %(max_attempts)s THEN 'failed' ELSE 'pending' END
                 ELSE 'sending'
             END,
    sent_at = CASE WHEN o.outcome = 'sent' THEN now() END,
    last_error = o.error
FROM unnest(%(ids)s::uuid[], %(outcomes)s::text[], %(errors)s::text[]) AS o(id, outcome, error)
WHERE n.id = o.id AND n.status = 'sending'"""


class NotSent(Exception):
    """The channel provably did not accept the notification, so sending it again is safe."""


class Notifier(Protocol):
    """A channel that delivers notifications, a job's (or a sweep's) at a time."""

    channel: str

    def send(self, notifications: Sequence[Notification]) -> list[Exception | None]:
        """Deliver each notification; return its outcome, in order: None if sent, else why not.

        Return (or raise) `NotSent` only when the notification provably was not accepted; any
        other error leaves it `sending`, never sent again. An exception raised instead of
        returning fails every notification of the call with it.
        """


class LogNotifier:
    """The default channel: one structured log line per job, with masked recipients."""

    channel = "log"

    def send(self, notifications: Sequence[Notification]) -> list[Exception | None]:
        """Log the notifications, one line per job (user ids and masked addresses only)."""
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
                            "email": mask_email(n.email),
                            "score": n.score,
                        }
                        for n in group
                    ],
                },
            )
        return [None] * len(notifications)


class SesNotifier:
    """Amazon SES v2 e-mail, one message per notification.

    Build its client without retries (`max_attempts=1`): botocore would retry a read timeout by
    sending the e-mail again. The state machine retries what SES provably refused instead.
    """

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
                outcomes.append(ses_outcome(error))
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


def ses_outcome(error: Exception) -> Exception:
    """`error` as `NotSent` when SES provably did not accept the e-mail, else unchanged.

    Provable: no connection was made, or SES answered with a 4xx error (the request was refused:
    MessageRejected, a throttling or quota error, an unverified identity). SES sends nothing
    for a refused request, e.g. "Amazon SES drops the message and doesn't attempt to redeliver
    it" on a quota error (https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html;
    errors: https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html).
    A 5xx answer, a read timeout or a dropped connection may follow an accepted e-mail.
    """
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        return NotSent(str(error))
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
        if 400 <= status < 500:
            return NotSent(str(error))
    return error


class NotificationSender:
    """Sends claimed notifications through a `Notifier` and records each attempt's outcome."""

    def __init__(self, pool: ConnectionPool, notifier: Notifier, max_attempts: int = 5) -> None:
        self._pool = pool
        self._notifier = notifier
        self._max_attempts = max_attempts

    @property
    def channel(self) -> str:
        """The channel's name, stored on each notification."""
        return self._notifier.channel

    def send_claimed(self, conn: Conn, notifications: Sequence[Notification]) -> tuple[int, int]:
        """Send notifications whose `sending` claim has committed; return (sent, not sent).

        `conn` must be in autocommit mode: the outcomes are recorded in one statement of
        their own. If that fails, the rows stay `sending` (never sent again) and it raises.
        """
        if not notifications:
            return 0, 0
        outcomes = self._deliver(notifications)
        params = {
            "ids": [n.id for n in notifications],
            "outcomes": [outcome for outcome, _ in outcomes],
            "errors": [error for _, error in outcomes],
            "max_attempts": self._max_attempts,
        }
        try:
            conn.execute(_RECORD, params)
        except Exception:
            log.error(
                "outcome of %d notification send(s) not recorded; they stay 'sending' and are "
                "not sent again",
                len(notifications),
                extra={"notification_ids": [str(n.id) for n in notifications]},
            )
            raise
        sent = sum(outcome == "sent" for outcome, _ in outcomes)
        return sent, len(notifications) - sent

    def send_pending(self, *, limit: int = 100, min_age_s: float = 0) -> tuple[int, int]:
        """The sweep: claim up to `limit` pending notifications, send them, record the outcomes.

        Pending rows are those the channel provably refused, at least `min_age_s` ago. Returns
        (sent, not sent). Never touches a `sending` row.
        """
        with self._pool.connection() as conn:
            if not conn.autocommit:
                raise RuntimeError("the sweep needs a pool of autocommit connections")
            params = {"min_age": min_age_s, "limit": limit}
            with conn.cursor(row_factory=dict_row) as cur:
                claimed = [Notification.from_row(row) for row in cur.execute(_CLAIM, params)]
            return self.send_claimed(conn, claimed)

    def _deliver(self, notifications: Sequence[Notification]) -> list[tuple[Outcome, str | None]]:
        """Send through the channel; per notification its outcome and error text."""
        try:
            results = self._notifier.send(notifications)
        except Exception as error:  # the channel failed as a whole: the same for every one
            results = [error] * len(notifications)
        outcomes: list[tuple[Outcome, str | None]] = []
        for notification, result in zip(notifications, results, strict=True):
            if result is None:
                outcomes.append(("sent", None))
                continue
            outcome: Outcome = "not_sent" if isinstance(result, NotSent) else "unknown"
            # A provider's error may quote the recipient: the database keeps it, logs do not.
            why = str(result)[:500] or type(result).__name__
            log.warning(
                "notification %s",
                "not sent" if outcome == "not_sent" else "outcome unknown; not sent again",
                extra={"notification_id": str(notification.id), "error": redact_emails(why)},
            )
            outcomes.append((outcome, why))
        return outcomes
