"""A total time limit for everything one source does: every attempt, read and backoff.

Per-read timeouts alone let a board trickle one byte per read timeout for as long as it likes;
a deadline ends that. Requests made under it get their timeouts cut to the time left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Deadline:
    """Ends `seconds` after it was started on `clock` (monotonic seconds)."""

    seconds: float
    at: float
    clock: Callable[[], float]

    @classmethod
    def start(cls, seconds: float, clock: Callable[[], float]) -> Deadline:
        """A deadline `seconds` from now."""
        return cls(seconds=seconds, at=clock() + seconds, clock=clock)

    @property
    def reason(self) -> str:
        """What a source that ran out of time failed with."""
        return f"source deadline of {self.seconds:g} s exceeded"

    def expired(self) -> bool:
        """Whether the time is up."""
        return self.clock() >= self.at

    def allows(self, wait: float) -> bool:
        """Whether waiting `wait` seconds still ends before the deadline."""
        return self.clock() + wait < self.at

    def cap(self, timeout: httpx.Timeout) -> httpx.Timeout:
        """`timeout` with each limit cut to the time left."""
        left = max(0.001, self.at - self.clock())

        def at_most(value: float | None) -> float:
            return left if value is None else min(value, left)

        return httpx.Timeout(
            connect=at_most(timeout.connect),
            read=at_most(timeout.read),
            write=at_most(timeout.write),
            pool=at_most(timeout.pool),
        )
