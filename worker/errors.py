"""The kinds of failure a handler can report; the consumer alone decides what follows.

`PermanentError`: retrying cannot help (bad message, a job that does not exist). The message is
sent to the DLQ with the reason, then deleted. `RetryableError`: try again later; the message's
visibility is set to a backoff delay, and SQS's redrive policy moves it to the DLQ after
`maxReceiveCount` receives. Any other exception is treated as retryable.

`DependencyUnavailable` (or anything `looks_like_outage` recognises) is different: it says a
dependency every job needs may be down, which is not this message's fault. The consumer then
asks its dependency gate (`worker.gate`) to check; if the dependency is down, it pauses instead
of spending the message's receives.
"""

from __future__ import annotations

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import PoolClosed, PoolTimeout


class PermanentError(Exception):
    """Processing this message can never succeed; it goes to the DLQ with `reason`."""

    def __init__(self, reason: str, *, kind: str = "permanent") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class RetryableError(Exception):
    """A transient failure (database away, throttling); the message is retried with backoff."""


class DependencyUnavailable(RetryableError):
    """A dependency every job needs is unreachable; the worker should pause, not retry."""


# psycopg's OperationalError covers connection loss (SQLSTATE class 08), "the database system is
# shutting down / starting up" (57P01-57P03), too many connections (53300) and statement
# timeouts (57014: a hung server looks like this). A writer that became a reader in a failover
# answers writes with read_only_sql_transaction (25006). PoolTimeout: no connection could be had.
# Each is only a suspicion: the gate's probe decides whether the dependency is really down.
_OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    DependencyUnavailable,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    pg_errors.ReadOnlySqlTransaction,
    PoolTimeout,
)
# OperationalErrors about this transaction or this process, not the dependency: deadlocks and
# serialization failures (SQLSTATE class 40), a lock wait given up (55P03), a pool closed at stop.
_NOT_OUTAGE_SQLSTATES = ("40", "55P03")
_NOT_OUTAGE: tuple[type[BaseException], ...] = (PoolClosed,)
#: How far along `__cause__`/`__context__` to look (a handler may wrap the driver's error).
_CHAIN_DEPTH = 8


def looks_like_outage(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from, suggests a dependency is down."""
    seen: set[int] = set()
    current: BaseException | None = error
    for _ in range(_CHAIN_DEPTH):
        if current is None or id(current) in seen:
            return False
        sqlstate = getattr(current, "sqlstate", None) or ""
        if isinstance(current, _NOT_OUTAGE) or sqlstate.startswith(_NOT_OUTAGE_SQLSTATES):
            return False
        if isinstance(current, _OUTAGE_TYPES):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
