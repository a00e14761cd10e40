"""How hard the scanner retries a GET: attempts, backoff, and what `Retry-After` asks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetryPolicy:
    """How hard `Fetcher` tries before it gives up."""

    attempts: int = 4
    """Total attempts per GET, the first one included."""
    base_delay: float = 0.5
    """Backoff before the second attempt, in seconds; doubles for each one after."""
    max_delay: float = 30.0
    """Longest backoff between attempts."""
    max_retry_after: float = 60.0
    """Longest wait a `Retry-After` header can ask for; longer requests are cut to this."""

    def delay(self, attempt: int, retry_after: float | None, jitter: float) -> float:
        """`Retry-After` when the server gave one (capped), else exponential backoff.

        Args:
            attempt: the attempt that just failed, from 1.
            retry_after: seconds the server asked for, if any.
            jitter: a number in [0, 1): the backoff is between half and all of its step.
        """
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        backoff = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return backoff / 2 + backoff / 2 * jitter


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or HTTP-date); None if invalid."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
