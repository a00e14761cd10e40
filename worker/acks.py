"""Batched acknowledgement: processed messages are deleted ten at a time.

Handlers only queue their message here. The housekeeping thread sends DeleteMessageBatch when a
full batch of ten is ready (it is woken for it), once the oldest has waited `interval` seconds,
or at once when the consumer holds no other message (`hurry`: no more are coming to fill the
batch), so deletes never hold up a poller's next receive. A 200 response
can still carry `Failed` entries, so each one is retried and, if it still fails, logged: that
message will be delivered again and, its effects being idempotent, processed to no effect.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from worker.sqs import MAX_BATCH, BatchFailure, Entry, Queue, Received

log = logging.getLogger(__name__)


class Acker:
    """Collects messages to delete and deletes them in batches."""

    def __init__(
        self, queue: Queue, *, interval: float = 0.2, attempts: int = 3, full: int = MAX_BATCH
    ) -> None:
        """Delete via `queue`.

        Args:
            queue: the transport.
            interval: seconds after which a partial batch is due.
            attempts: tries per entry before a failed delete is logged and given up.
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
        self._woken = False
        self._hurried = False
        self.deleted = 0
        self.failed = 0

    def add(self, message: Received) -> None:
        """Queue `message` for deletion; wakes the flusher once a full batch is ready."""
        with self._ready:
            if not self._pending:
                self._oldest = time.monotonic()
            self._pending.append(message)
            if len(self._pending) >= self._full:
                self._woken = True
                self._ready.notify()

    def pending(self) -> int:
        """How many messages wait to be deleted."""
        with self._ready:
            return len(self._pending)

    def wait(self, timeout: float) -> None:
        """Block until a full batch is ready, `wake()` is called, or `timeout` passes."""
        with self._ready:
            if not self._woken and len(self._pending) < self._full:
                self._ready.wait(timeout)
            self._woken = False

    def hurry(self) -> None:
        """Make the partial batch due now and wake the flusher (nothing else is in progress)."""
        with self._ready:
            if self._pending:
                self._hurried = self._woken = True
                self._ready.notify_all()

    def wake(self) -> None:
        """Wake whoever is in `wait()` (shutdown)."""
        with self._ready:
            self._woken = True
            self._ready.notify_all()

    def flush(self, *, force: bool = False) -> None:
        """Delete every full batch, and the partial one if it is due or `force` is set."""
        while batch := self._take(force=force):
            self._delete(batch)

    def _take(self, *, force: bool) -> list[Received]:
        with self._ready:
            due = self._hurried or time.monotonic() - self._oldest >= self._interval
            if len(self._pending) >= self._full or (self._pending and (force or due)):
                self._hurried = False
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                self._oldest = time.monotonic()
                return batch
            return []

    def _delete(self, batch: Sequence[Received]) -> None:
        remaining = {str(i): message for i, message in enumerate(batch)}
        failures: list[BatchFailure] = []
        for _ in range(self._attempts):
            entries = [Entry(key, m.receipt_handle) for key, m in remaining.items()]
            try:
                failures = self._queue.delete_batch(entries)
            except Exception as error:  # transport errors: retry, then log
                failures = [
                    BatchFailure(e.id, type(error).__name__, str(error), False) for e in entries
                ]
            failed_ids = {f.id for f in failures}
            self.deleted += len(remaining) - len(failed_ids & remaining.keys())
            remaining = {key: m for key, m in remaining.items() if key in failed_ids}
            # A sender fault (an expired receipt handle, say) fails the same way every time.
            if not remaining or all(f.sender_fault for f in failures):
                break
        for failure in failures:
            if (message := remaining.get(failure.id)) is not None:
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
