"""Free slots: how many more messages the pollers may receive now (running plus prefetched).

And `Waiting`: the received messages that wait for a handler thread.
"""

from __future__ import annotations

import contextlib
import threading
import time
from queue import Empty, SimpleQueue

from worker.sqs import Received


class Slots:
    """A counting semaphore that hands out as many permits as are free, up to a limit."""

    def __init__(self, size: int) -> None:
        """`size` slots, all free."""
        self._size = size
        self._free = size
        self._changed = threading.Condition()
        # How many free slots each waiting thread waits for: `give` wakes them only when one
        # can go on (a poller gathering ten slots is not woken for each of the ten).
        self._needs: list[int] = []

    def take(self, most: int, timeout: float, gather: float = 0.0) -> int:
        """Wait up to `timeout` s for a free slot; take up to `most` free ones; 0 on timeout.

        With `gather` > 0, once one slot is free, wait up to `gather` s more for others, so one
        receive asks for a fuller batch (fewer, larger requests) instead of one message per
        slot freed. Only free slots are ever taken.
        """
        with self._changed:
            if not self._free and not self._wait_for(1, timeout):
                return 0
            want = min(most, self._size)
            if gather > 0 and self._free < want:
                self._wait_for(want, gather)
            taken = min(most, self._free)
            self._free -= taken
            return taken

    def give(self, count: int) -> None:
        """Return `count` slots."""
        if count <= 0:
            return
        with self._changed:
            self._free += count
            if self._needs and self._free >= min(self._needs):
                self._changed.notify_all()

    def busy(self) -> int:
        """Slots taken right now."""
        with self._changed:
            return self._size - self._free

    def wait_all_free(self, timeout: float) -> bool:
        """Wait until every slot is free or `timeout` s pass; True if all are free."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._free < self._size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                # Timed waits keep the main thread responsive to a second signal.
                self._wait_for(self._size, min(remaining, 1.0))
            return True

    def _wait_for(self, need: int, timeout: float) -> bool:
        """With the lock held: wait up to `timeout` s for `need` free slots; True if there are."""
        self._needs.append(need)
        try:
            return self._changed.wait_for(lambda: self._free >= need, timeout)
        finally:
            self._needs.remove(need)


class Waiting:
    """Received messages waiting for a handler thread, and those a handler got after stop.

    At shutdown, `drain` takes both at once, so they can be released in one go (visibility 0)
    once no receive is in flight, and no poller receives them again at once.
    """

    def __init__(self) -> None:
        """Nothing waiting."""
        self._queue: SimpleQueue[Received | None] = SimpleQueue()
        self._lock = threading.Lock()
        self._held: list[Received] | None = []  # None once drained

    def put(self, message: Received | None) -> None:
        """Queue `message` for a handler thread (None tells one thread to end)."""
        self._queue.put(message)

    def get(self) -> Received | None:
        """The next message, waiting for one; None: end the thread."""
        return self._queue.get()

    def hold(self, message: Received) -> bool:
        """Keep a message got after stop for `drain`; False if drained already (release it)."""
        with self._lock:
            if self._held is None:
                return False
            self._held.append(message)
            return True

    def drain(self) -> tuple[list[Received], int]:
        """Every message held or still queued, and how many of them were still queued."""
        with self._lock:
            held, self._held = self._held or [], None
        queued: list[Received] = []
        with contextlib.suppress(Empty):
            while (message := self._queue.get_nowait()) is not None:
                queued.append(message)
        return held + queued, len(queued)
