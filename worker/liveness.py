"""Liveness of the consumer's own loops, for `GET /health`.

Each watched loop calls `beat()` every time round. A loop whose thread has died, or that has not
come round for its `stall_after` seconds, makes the worker not live, and so does a worker whose
handler threads are all stuck in jobs long past their deadline (nothing it holds can progress).
Nothing here looks at a dependency: a database outage pauses the loops' work, never their beat.
"""

from __future__ import annotations

import threading
import time


class Loops:
    """The consumer's watched threads and when each last came round its loop."""

    def __init__(self) -> None:
        """Nothing watched yet."""
        self._watched: dict[str, tuple[threading.Thread, float]] = {}
        self._beats: dict[str, float] = {}
        self._jobs: dict[str, float] = {}  # handler thread -> when its current job started
        self._lock = threading.Lock()

    def watch(self, thread: threading.Thread, stall_after: float) -> None:
        """Watch `thread`: it must stay alive and beat at least every `stall_after` s."""
        with self._lock:
            self._watched[thread.name] = (thread, stall_after)
            self._beats[thread.name] = time.monotonic()

    def beat(self) -> None:
        """The calling thread came round its loop."""
        name = threading.current_thread().name
        with self._lock:
            self._beats[name] = time.monotonic()

    def job_started(self) -> None:
        """The calling handler thread started a job."""
        with self._lock:
            self._jobs[threading.current_thread().name] = time.monotonic()

    def job_ended(self) -> None:
        """The calling handler thread finished its job."""
        with self._lock:
            self._jobs.pop(threading.current_thread().name, None)

    def problem(
        self, handlers: int, stuck_after: float | None, now: float | None = None
    ) -> str | None:
        """None while every loop is fine, else the first thing wrong.

        Args:
            handlers: handler threads the consumer runs.
            stuck_after: seconds in one job after which a handler thread counts as stuck
                (None: never).
            now: monotonic time (default: now).
        """
        now = time.monotonic() if now is None else now
        with self._lock:
            for name, (thread, stall_after) in sorted(self._watched.items()):
                if not thread.is_alive():
                    return f"{name} thread died"
                if (silent := now - self._beats.get(name, now)) > stall_after:
                    return f"{name} loop silent for {silent:.0f} s"
            running = list(self._jobs.values())
        if stuck_after is None or not running or len(running) < handlers:
            return None
        if (shortest := now - max(running)) > stuck_after:
            return f"every handler thread stuck in one job for {shortest:.0f} s or more"
        return None
