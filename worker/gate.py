"""The dependency gate: stop receiving while a dependency every job needs is down.

Every receive counts toward the queue's `maxReceiveCount` (3 when deployed), whatever becomes of
the message. A worker that kept receiving while the database was down would fail each message,
back off a few seconds and receive it again, and a few minutes of outage would move it to the
DLQ. So an outage is not a job failure. The gate is up, checking or down:

- up: pollers receive. The probe (`SELECT 1` on a connection of its own) also runs every
  `check_interval` seconds, so an idle worker notices an outage before messages arrive.
- checking: a job failed the way an outage fails (`worker.errors.looks_like_outage`), or the
  worker has just started; the probe runs at once. Nothing is received, and handler threads wait
  for the verdict before starting a message.
- down: the probe failed. Nothing is received; messages held but not started, and those whose
  job fails, are handed back with a visibility of `hold_seconds`. The probe runs again after
  `probe_first`, then twice as long each time up to `probe_cap`; once it passes and `on_resume`
  (the pool's warm-up) does too, the gate is up and the worker resumes by itself. It never exits
  because of an outage.

So an outage costs a message at most one receive, however long it lasts: the one it was
received with as the outage began. A message handed back is visible again after `hold_seconds`,
but no paused worker receives it; the hold only keeps it from a worker that has not yet noticed.
Transitions are logged (`dependency_state`); `readiness()` reports the state for `GET /ready`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from worker.health import Check

log = logging.getLogger(__name__)


class GateState(StrEnum):
    """Whether the worker may receive."""

    UP = "up"
    CHECKING = "checking"
    DOWN = "down"


@dataclass(frozen=True, kw_only=True)
class OutagePolicy:
    """Timing of the outage handling; injectable, so a test can show a long outage quickly."""

    hold_seconds: int = 60
    """Visibility given to messages handed back during an outage (whole seconds, as SQS)."""
    probe_first: float = 1.0
    """Seconds before the second probe of an outage; each next wait doubles."""
    probe_cap: float = 30.0
    """Longest wait between two probes while down."""
    check_interval: float = 10.0
    """Seconds between probes while up (readiness, and noticing an outage while idle)."""
    verdict_timeout: float = 10.0
    """Most seconds a handler thread waits for the probe's verdict before handing back."""


class DependencyGate:
    """Probes a dependency from its own thread and tells the consumer whether to receive."""

    def __init__(
        self,
        probe: Check,
        *,
        policy: OutagePolicy | None = None,
        on_resume: Check | None = None,
        name: str = "database",
    ) -> None:
        """Gate on `probe` (None when the dependency answers, else why not).

        Args:
            probe: the dependency check; it must bound its own time (connect and query timeouts).
            policy: probe intervals and the hand-back visibility.
            on_resume: run once the probe passes after an outage, before receiving again (the
                pool's warm-up); a reason returned keeps the gate down.
            name: the dependency's name in logs and in the readiness answer.
        """
        self.policy = policy or OutagePolicy()
        self._probe, self._on_resume, self._name = probe, on_resume, name
        self._changed = threading.Condition()
        # Nothing is received before the first probe passes: a worker started (or scaled out)
        # during an outage must not spend a batch of receives to find out.
        self._state, self._reason = GateState.CHECKING, "not probed yet"
        self._down_since: float | None = None
        self._wake = False
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.outages = 0

    @property
    def state(self) -> GateState:
        """The current state."""
        with self._changed:
            return self._state

    def start(self) -> threading.Thread:
        """Start the probe thread (it probes at once); returns it, for the liveness check."""
        self._thread = threading.Thread(target=self._run, name="gate", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Stop the probe thread."""
        with self._changed:
            self._stopped.set()
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(5.0)

    def wait_up(self, timeout: float) -> bool:
        """Wait up to `timeout` s for the gate to be up; True if it is."""
        with self._changed:
            return self._changed.wait_for(lambda: self._state is GateState.UP, timeout)

    def verdict(self, timeout: float | None = None) -> GateState:
        """The state once any check in progress is over (waits up to `verdict_timeout` s)."""
        wait = self.policy.verdict_timeout if timeout is None else timeout
        with self._changed:
            self._changed.wait_for(lambda: self._state is not GateState.CHECKING, wait)
            return self._state

    def report(self, reason: str) -> None:
        """A job failed as if the dependency were down: stop receiving and probe now."""
        with self._changed:
            if self._state is not GateState.UP:
                return
            self._set(GateState.CHECKING, reason)
            self._wake = True
            self._changed.notify_all()
        log.warning(
            "a job failed as if the %s were down; checking",
            self._name,
            extra={"dependency": self._name, "dependency_state": "checking", "reason": reason},
        )

    def readiness(self) -> str | None:
        """None while up, else the state and why (for `GET /ready`)."""
        with self._changed:
            if self._state is GateState.UP:
                return None
            return f"{self._name} {self._state}: {self._reason}"

    # -- the probe thread --------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.policy.probe_first
        while True:
            with self._changed:
                wait = {
                    GateState.UP: self.policy.check_interval,
                    GateState.CHECKING: 0.0,
                    GateState.DOWN: delay,
                }[self._state]
                self._changed.wait_for(lambda: self._stopped.is_set() or self._wake, wait)
                if self._stopped.is_set():
                    return
                self._wake = False
                # Warm the pool only after an outage: on a false alarm, busy handlers may hold
                # every pooled connection, and waiting for one would fail the check.
                resuming = self._state is GateState.DOWN
            reason = self._check(resuming)
            with self._changed:
                if self._stopped.is_set():
                    return
                self._settle(reason)
                down = self._state is GateState.DOWN
            delay = min(self.policy.probe_cap, delay * 2) if down else self.policy.probe_first

    def _check(self, resuming: bool) -> str | None:
        try:
            reason = self._probe()
            if reason is None and resuming and self._on_resume is not None:
                reason = self._on_resume()
        except Exception as error:  # a probe that raises is a failed probe, never a dead thread
            reason = f"{type(error).__name__}: {error}"
        return reason

    def _settle(self, reason: str | None) -> None:
        """With the lock held: move to up or down after a probe, and log the transition."""
        was, extra = self._state, {"dependency": self._name}
        if reason is None:
            if was is GateState.UP:
                return
            outage = None if self._down_since is None else time.monotonic() - self._down_since
            self._set(GateState.UP, None)
            if outage is None:
                log.info("%s answers; receiving", self._name, extra=extra)
            else:
                log.warning(
                    "%s is back after %.1f s; resuming",
                    self._name,
                    outage,
                    extra={**extra, "dependency_state": "up", "outage_seconds": round(outage, 1)},
                )
            return
        if was is not GateState.DOWN:
            self.outages += 1
            log.error(
                "%s unavailable: %s; not receiving until it is back",
                self._name,
                reason,
                extra={**extra, "dependency_state": "down", "reason": reason},
            )
        else:
            log.info("%s still unavailable: %s", self._name, reason, extra=extra)
        self._set(GateState.DOWN, reason)

    def _set(self, state: GateState, reason: str | None) -> None:
        if state is GateState.DOWN and self._down_since is None:
            self._down_since = time.monotonic()
        elif state is GateState.UP:
            self._down_since = None
        self._state, self._reason = state, reason or ""
        self._changed.notify_all()
