"""Batched acknowledgement: processed messages are deleted ten at a time.

Handlers only queue their message here. Deleter threads (one per poller, see `worker.consumer`)
each take a batch and send DeleteMessageBatch: a full batch of ten as soon as it is ready (one
deleter is woken per batch), a partial one once its oldest message has waited `interval`
seconds, or at once when the consumer holds no other message (`hurry`: no more are coming to
fill it). So deletes never hold up a poller's next receive, and they keep pace with as many
pollers as receive: one deleter would send one batch at a time while four pollers receive four.

Retries, one layer for each kind of failure: a call that fails (throttling, 5xx, a dropped
connection) is retried by botocore's standard retry mode (`jobping.aws.client_config`: 5
retries after the first call, with backoff); once it raises, those are spent and the batch is
given up here, not retried again. A 200 response can still carry `Failed` entries, which
botocore does not see: those alone are retried here (`attempts` calls in all, unless SQS calls
it the sender's fault). A delete given up is logged: that message will be delivered again and,
its effects being idempotent, processed to no effect.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from worker.sqs import MAX_BATCH, BatchFailure, Entry, Queue, Received

log = logging.getLogger(__name__)


class Acker:
    """Collects messages to delete and hands them out in batches to the deleter threads."""

    def __init__(
        self, queue: Queue, *, interval: float = 0.2, attempts: int = 3, full: int = MAX_BATCH
    ) -> None:
        """Delete via `queue`.

        Args:
            queue: the transport.
            interval: seconds after which a partial batch is due.
            attempts: calls per entry reported `Failed` in a response before it is logged and
                given up (a call that raises is retried by botocore, never here).
            full: pending deletes that make a batch worth sending at once (at most 10; a worker
                with fewer handler threads fills smaller batches per poll round).
        """
        self._queue = queue
        self._full = max(1, min(full, MAX_BATCH))
        self._interval = interval
        self._attempts = attempts
        self._pending: list[Received] = []
        self._oldest = 0.0
        self._ready = threading.Condition()
        self._wakes = 0  # bumped by `wake()`: every deleter waiting returns
        self._hurried = False
        self.deleted = 0
        self.failed = 0

    def add(self, message: Received) -> None:
        """Queue `message` for deletion; wakes one deleter for each full batch."""
        with self._ready:
            if not self._pending:
                self._oldest = time.monotonic()
            self._pending.append(message)
            if len(self._pending) % self._full == 0:
                self._ready.notify()

    def pending(self) -> int:
        """How many messages wait to be deleted."""
        with self._ready:
            return len(self._pending)

    def next_batch(self, timeout: float) -> list[Received]:
        """Wait up to `timeout` s for a batch to fall due and take it; [] if none did or on wake."""
        deadline = time.monotonic() + timeout
        with self._ready:
            wakes = self._wakes
            while not (batch := self._take(force=False)):
                now = time.monotonic()
                if self._wakes != wakes or now >= deadline:
                    return []
                due = self._oldest + self._interval if self._pending else deadline
                self._ready.wait(min(deadline, due) - now)
            if len(self._pending) >= self._full:  # another full batch: another deleter's
                self._ready.notify()
            return batch

    def hurry(self) -> None:
        """Make the partial batch due now and wake a deleter (nothing else is in progress)."""
        with self._ready:
            if self._pending:
                self._hurried = True
                self._ready.notify()

    def wake(self) -> None:
        """Make every deleter waiting in `next_batch()` return (shutdown)."""
        with self._ready:
            self._wakes += 1
            self._ready.notify_all()

    def flush(self, *, force: bool = False) -> None:
        """On the calling thread: delete every full batch, and the partial one if it is due or
        `force` is set."""
        while True:
            with self._ready:
                batch = self._take(force=force)
            if not batch:
                return
            self.send(batch)

    def send(self, batch: Sequence[Received]) -> None:
        """Delete `batch` (at most 10), retrying entries reported `Failed`; log what is given up."""
        remaining = {str(i): message for i, message in enumerate(batch)}
        failures: list[BatchFailure] = []
        for _ in range(self._attempts):
            entries = [Entry(key, m.receipt_handle) for key, m in remaining.items()]
            try:
                failures = self._queue.delete_batch(entries)
            except Exception as error:  # botocore has spent its attempts: give the batch up
                failures = [
                    BatchFailure(e.id, type(error).__name__, str(error), False) for e in entries
                ]
                break
            failed_ids = {f.id for f in failures}
            done = len(remaining) - len(failed_ids & remaining.keys())
            with self._ready:
                self.deleted += done
            remaining = {key: m for key, m in remaining.items() if key in failed_ids}
            # A sender fault (an expired receipt handle, say) fails the same way every time.
            if not remaining or all(f.sender_fault for f in failures):
                break
        self._give_up(remaining, failures)

    def _give_up(self, remaining: dict[str, Received], failures: list[BatchFailure]) -> None:
        for failure in failures:
            if (message := remaining.get(failure.id)) is not None:
                with self._ready:
                    self.failed += 1
                log.error(
                    "delete failed; the message will be delivered again",
                    extra={
                        "message_id": message.message_id,
                        "error_code": failure.code,
                        "error": failure.message,
                        "outcome": "delete_failed",
                    },
                )

    def _take(self, *, force: bool) -> list[Received]:
        """With the lock held: the next batch if one is due, else []."""
        due = self._hurried or time.monotonic() - self._oldest >= self._interval
        if len(self._pending) >= self._full or (self._pending and (force or due)):
            self._hurried = False
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            self._oldest = time.monotonic()
            return batch
        return []
