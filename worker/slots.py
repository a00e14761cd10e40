"""Free slots: how many more messages the pollers may receive now (running plus prefetched)."""

from __future__ import annotations

import threading
import time


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
            if any(self._free >= need for need in self._needs):
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
