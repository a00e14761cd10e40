"""Leases: the messages this worker holds, kept invisible while their handlers run.

A message's visibility timeout starts when SQS hands it out. A job that runs longer would be
delivered again to another worker, so once a held message is past half its timeout the heartbeat
thread (its own: a slow delete or task-protection call never delays it) extends it by a full
timeout, ten per ChangeMessageVisibilityBatch call. The clock starts before the ReceiveMessage
call, so it never runs behind SQS's.

Every job has a deadline (`job_timeout` after its handler started). A lease past its deadline
is never extended again: `expire_due` gives it up and makes the message visible after a retry
delay, whatever its handler thread is stuck on, so a hung call cannot hold a message for hours.

An extension is sent outside the lock, so it can race with a release (a retry's backoff, a
hand-back in an outage, a release at shutdown) of the same message: if SQS applied the extension
last, the message would stay hidden for a full timeout. So each lease is checked under the lock
just before its extension is sent, and again after: a lease released meanwhile gets its
release's visibility applied once more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from worker.sqs import MAX_BATCH, Entry, Queue, Received

log = logging.getLogger(__name__)


@dataclass
class _Lease:
    message: Received
    visible_since: float  # monotonic time the current visibility timeout started
    deadline: float | None = None  # set when a handler starts the job
    extending: bool = False  # an extension is being sent
    released_to: int | None = None  # the visibility a release set while it was being sent


class Leases:
    """The held messages, their visibility clocks and their jobs' deadlines."""

    def __init__(
        self, queue: Queue, visibility_timeout: int, *, job_timeout: float | None = None
    ) -> None:
        """Extend through `queue` by `visibility_timeout` s; `job_timeout` s per job (or none)."""
        self._queue = queue
        self._timeout = self.visibility_timeout = visibility_timeout
        self._job_timeout = job_timeout
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()
        self.extended = 0
        self.expired = 0

    def add(self, messages: Iterable[Received], received_at: float) -> None:
        """Hold `messages`, whose visibility started no earlier than `received_at`."""
        with self._lock:
            for message in messages:
                self._leases[message.receipt_handle] = _Lease(message, received_at)

    def start(self, message: Received, now: float | None = None) -> None:
        """A handler starts `message`'s job: its deadline runs from now."""
        if self._job_timeout is None:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            if (lease := self._leases.get(message.receipt_handle)) is not None:
                lease.deadline = now + self._job_timeout

    def finish(self, message: Received) -> bool:
        """Stop holding `message` (done or dead-lettered); False if it was no longer held."""
        with self._lock:
            return self._leases.pop(message.receipt_handle, None) is not None

    def __len__(self) -> int:
        with self._lock:
            return len(self._leases)

    def held(self) -> list[Received]:
        """The messages held right now."""
        with self._lock:
            return [lease.message for lease in self._leases.values()]

    def release(self, messages: Sequence[Received], timeout: int) -> list[Received]:
        """Stop holding `messages` and make them visible after `timeout` s (0: at once).

        Returns the messages that were held; the others (given up at their deadline, say) are
        left alone.
        """
        with self._lock:
            released = []
            for message in messages:
                lease = self._leases.pop(message.receipt_handle, None)
                if lease is None:
                    continue
                if lease.extending:  # the heartbeat re-applies this once its extension is back
                    lease.released_to = timeout
                released.append(message)
        for start in range(0, len(released), MAX_BATCH):
            self._change(released[start : start + MAX_BATCH], timeout, "release")
        return released

    def extend_due(self, now: float | None = None) -> None:
        """Extend every message past half its visibility timeout, unless past its deadline."""
        now = time.monotonic() if now is None else now
        with self._lock:
            due = [
                lease
                for lease in self._leases.values()
                if now - lease.visible_since >= self._timeout / 2
                and (lease.deadline is None or now < lease.deadline)
            ]
        for start in range(0, len(due), MAX_BATCH):
            self._extend(due[start : start + MAX_BATCH], now)

    def expire_due(
        self, delay: Callable[[Received], int], now: float | None = None
    ) -> list[Received]:
        """Give up the messages whose job is past its deadline; visible again after `delay(m)` s.

        Their handler threads may still be running; what they end with is settled by the
        settler, which finds the lease gone.
        """
        now = time.monotonic() if now is None else now
        with self._lock:
            overdue = [
                lease.message
                for lease in self._leases.values()
                if lease.deadline is not None and now >= lease.deadline
            ]
        by_delay: dict[int, list[Received]] = defaultdict(list)
        for message in overdue:
            by_delay[delay(message)].append(message)
        expired = [m for timeout, group in by_delay.items() for m in self.release(group, timeout)]
        self.expired += len(expired)  # only the heartbeat thread writes it
        return expired

    def _extend(self, chunk: Sequence[_Lease], now: float) -> None:
        with self._lock:  # before: only leases still held, marked so a release can tell
            sending = [lease for lease in chunk if self._holds(lease)]
            for lease in sending:
                lease.extending = True
        if not sending:
            return
        ok = self._change([lease.message for lease in sending], self._timeout, "extend")
        redo: dict[int, list[Received]] = defaultdict(list)
        with self._lock:  # after: a lease released meanwhile may have been re-hidden by us
            for lease in sending:
                lease.extending = False
                if self._holds(lease):
                    if lease.message.receipt_handle in ok:
                        lease.visible_since = now
                        self.extended += 1
                elif lease.released_to is not None:  # even if it seemed to fail: it may have landed
                    redo[lease.released_to].append(lease.message)
        for timeout, messages in redo.items():
            log.info("re-applying %d releases an extension raced with", len(messages))
            for start in range(0, len(messages), MAX_BATCH):
                self._change(messages[start : start + MAX_BATCH], timeout, "release")

    def _holds(self, lease: _Lease) -> bool:
        """With the lock held: whether `lease` is still the current lease of its message."""
        return self._leases.get(lease.message.receipt_handle) is lease

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
