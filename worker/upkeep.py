"""The consumer's two background loops, each on its own thread.

- heartbeat: gives up jobs past their deadline and extends the visibility of held messages
  (`worker.heartbeat`). Nothing else runs on it, so a slow delete or a slow ECS agent cannot
  delay an extension past the visibility timeout.
- housekeeping: batched deletes (`worker.acks`), task protection, metric flushes.

Both come round at least every tick and `beat()`, which is what `GET /health` watches.
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


def housekeeping_loop(
    closed: threading.Event,
    *,
    beat: Callable[[], None],
    acker: Acker,
    leases: Leases,
    protection: TaskProtection,
    metrics: Metrics | None,
    tick: float,
) -> None:
    """Send due deletes, keep task protection in step, flush metrics until `closed` is set."""
    while not closed.is_set():
        acker.wait(tick)
        beat()
        try:
            acker.flush()
            protection.update(busy=len(leases) > 0)
            if metrics is not None:
                metrics.flush_due()
        except Exception:
            log.exception("housekeeping failed; continuing")
