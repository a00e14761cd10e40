"""Retry delays: exponential backoff with full jitter, from the message's receive count.

SQS keeps no retry state for us, but it counts receives (`ApproximateReceiveCount`), so the n-th
failure waits a random time in [0, min(cap, base * 2**(n-1))]. Full jitter spreads the retries of
a burst of failures (a database outage fails every message at once) instead of re-synchronising
them. The delay stays below the queue's visibility timeout, so a retry never waits longer than
it would have without backoff, and inside SQS's 12-hour visibility limit.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from worker.sqs import MAX_VISIBILITY_SECONDS


@dataclass(frozen=True)
class Backoff:
    """Backoff parameters.

    Attributes:
        base: seconds before the first retry's upper bound doubles.
        cap: largest delay in seconds, whatever the receive count.
        rand: returns a float in [0, 1); injectable for tests.
    """

    base: float = 2.0
    cap: float = 300.0
    rand: Callable[[], float] = field(default=random.random, compare=False)

    def ceiling(self, receive_count: int, visibility_timeout: int) -> float:
        """Upper bound of the delay after `receive_count` receives."""
        exponent = min(max(receive_count, 1) - 1, 32)  # 2**32 * base is past any cap
        limit = min(self.cap, float(visibility_timeout), float(MAX_VISIBILITY_SECONDS))
        return max(0.0, min(limit, self.base * 2.0**exponent))

    def delay(self, receive_count: int, visibility_timeout: int) -> int:
        """Seconds to hide the message before its next attempt (SQS wants whole seconds)."""
        ceiling = self.ceiling(receive_count, visibility_timeout)
        return min(int(ceiling), round(self.rand() * ceiling))
