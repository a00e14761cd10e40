"""The consumer's background loops, each on its own thread.

- heartbeat: gives up jobs past their deadline and extends the visibility of held messages
  (`worker.heartbeat`). Nothing else runs on it, so a slow delete or a slow ECS agent cannot
  delay an extension past the visibility timeout.
- deleters (one per poller): batched deletes (`worker.acks`).
- housekeeping: task protection, metric flushes.

Each comes round at least every tick and `beat()`s, which is what `GET /health` watches.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from worker.acks import Acker
from worker.heartbeat import Leases
from worker.metrics import Metrics
from worker.protection import TaskProtection
from worker.settle import Settler

log = logging.getLogger(__name__)


def heartbeat_loop(
    closed: threading.Event,
    *,
    beat: Callable[[], None],
    settler: Settler,
    leases: Leases,
) -> None:
    """Expire overdue jobs and extend held messages until `closed` is set."""
    # Often enough to keep deadlines within a second; an extension is due only at half the
    # visibility timeout.
    tick = max(0.05, min(1.0, leases.visibility_timeout / 10))
    while not closed.wait(tick):
        beat()
        try:
            settler.expire_overdue()
            leases.extend_due()
        except Exception:
            log.exception("heartbeat failed; continuing")


def delete_loop(
    closed: threading.Event, *, beat: Callable[[], None], acker: Acker, tick: float
) -> None:
    """Send each batch of deletes as it falls due until `closed` is set."""
    while not closed.is_set():
        batch = acker.next_batch(tick)
        beat()
        if not batch:
            continue
        try:
            acker.send(batch)
        except Exception:
            log.exception("sending deletes failed; continuing")


def housekeeping_loop(
    closed: threading.Event,
    *,
    beat: Callable[[], None],
    leases: Leases,
    protection: TaskProtection,
    metrics: Metrics | None,
    tick: float,
) -> None:
    """Keep task protection in step and flush metrics until `closed` is set."""
    while not closed.wait(tick):
        beat()
        try:
            protection.update(busy=len(leases) > 0)
            if metrics is not None:
                metrics.flush_due()
        except Exception:
            log.exception("housekeeping failed; continuing")
