"""Leases: the messages this worker holds, kept invisible while their handlers run.

A message's visibility timeout starts when SQS hands it out. A job that runs longer would be
delivered again to another worker, so once a held message is past half its timeout the
housekeeping thread extends it by a full timeout, ten per ChangeMessageVisibilityBatch call.
The clock starts before the ReceiveMessage call, so it never runs behind SQS's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from worker.sqs import MAX_BATCH, Entry, Queue, Received

log = logging.getLogger(__name__)


@dataclass
class _Lease:
    message: Received
    visible_since: float  # monotonic time the current visibility timeout started


class Leases:
    """The held messages and their visibility clocks."""

    def __init__(self, queue: Queue, visibility_timeout: int) -> None:
        """Extend through `queue` by `visibility_timeout` seconds at a time."""
        self._queue = queue
        self._timeout = visibility_timeout
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()
        self.extended = 0

    def add(self, messages: Iterable[Received], received_at: float) -> None:
        """Hold `messages`, whose visibility started no earlier than `received_at`."""
        with self._lock:
            for message in messages:
                self._leases[message.receipt_handle] = _Lease(message, received_at)

    def remove(self, message: Received) -> None:
        """Stop holding `message` (done, retried, dead-lettered or released)."""
        with self._lock:
            self._leases.pop(message.receipt_handle, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._leases)

    def held(self) -> list[Received]:
        """The messages held right now."""
        with self._lock:
            return [lease.message for lease in self._leases.values()]

    def extend_due(self, now: float | None = None) -> None:
        """Extend every message past half its visibility timeout by a full timeout."""
        now = time.monotonic() if now is None else now
        with self._lock:
            due = [
                lease
                for lease in self._leases.values()
                if now - lease.visible_since >= self._timeout / 2
            ]
        for start in range(0, len(due), MAX_BATCH):
            chunk = due[start : start + MAX_BATCH]
            ok = self._change([lease.message for lease in chunk], self._timeout, "extend")
            with self._lock:
                for lease in chunk:
                    if lease.message.receipt_handle in ok:
                        lease.visible_since = now
                        self.extended += 1

    def release(self, messages: Sequence[Received]) -> None:
        """Make `messages` visible at once (visibility 0) so another worker takes them now."""
        for message in messages:
            self.remove(message)
        for start in range(0, len(messages), MAX_BATCH):
            self._change(messages[start : start + MAX_BATCH], 0, "release")

    def _change(self, messages: Sequence[Received], timeout: int, why: str) -> set[str]:
        """Change visibility; return the receipt handles that succeeded."""
        entries = [Entry(str(i), m.receipt_handle, timeout) for i, m in enumerate(messages)]
        try:
            failures = self._queue.change_visibility_batch(entries)
        except Exception:
            log.exception("visibility %s failed for %d messages", why, len(entries))
            return set()
        failed = {f.id: f for f in failures}
        for entry, message in zip(entries, messages, strict=True):
            if (failure := failed.get(entry.id)) is not None:
                log.warning(
                    "visibility %s failed",
                    why,
                    extra={"message_id": message.message_id, "error_code": failure.code},
                )
        return {e.receipt_handle for e in entries if e.id not in failed}
