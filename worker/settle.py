"""One message, start to finish: decode, run its handler, and settle it.

Settling is the consumer's one rule set (STYLE #11): success → batched delete; a permanent
error (bad body, unknown action, `PermanentError`) → the DLQ with the reason, and only then a
delete; anything else → a backoff visibility, so SQS redelivers it soon and its redrive policy
moves it to the DLQ after `maxReceiveCount` receives. Nothing is deleted that is not done or
safely in the DLQ.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping

from jobping.messages import InvalidMessage, JobMessage, decode
from worker.acks import Acker
from worker.backoff import Backoff
from worker.dlq import dlq_attributes
from worker.errors import PermanentError
from worker.heartbeat import Leases
from worker.metrics import Metrics
from worker.sqs import Queue, QueueInfo, Received

log = logging.getLogger(__name__)

Handler = Callable[[JobMessage], None]


class Settler:
    """Processes and settles messages for one queue; called from the handler threads."""

    def __init__(
        self,
        queue: Queue,
        info: QueueInfo,
        handlers: Mapping[str, Handler],
        *,
        leases: Leases,
        acker: Acker,
        backoff: Backoff,
        metrics: Metrics | None,
    ) -> None:
        """Settle messages of the queue described by `info` with these collaborators."""
        self._queue = queue
        self._info = info
        self._handlers = dict(handlers)
        self._leases = leases
        self._acker = acker
        self._backoff = backoff
        self._metrics = metrics
        self._lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()

    def process(self, message: Received) -> None:
        """Decode `message`, run its handler, settle it, and log and count the outcome."""
        started = time.perf_counter()
        action, job_id = "-", None
        try:
            job = decode(message.body, actions=self._handlers.keys())
            action, job_id = job.action, str(job.job_id)
            self._handlers[job.action](job)
        except (InvalidMessage, PermanentError) as error:
            outcome = self._dead_letter(message, error.reason, error.kind)
        except Exception as error:  # the runner alone catches Exception: unknown → retry
            outcome = self._retry(message, error)
        else:
            self._leases.remove(message)
            self._acker.add(message)
            outcome = "processed"
        self.record(message, outcome, action, job_id, (time.perf_counter() - started) * 1000)

    def record(
        self, message: Received, outcome: str, action: str, job_id: str | None, elapsed_ms: float
    ) -> None:
        """Log one message's outcome (one JSON line) and count it."""
        with self._lock:
            self.outcomes[outcome] += 1
        log.info(
            "message %s",
            outcome,
            extra={
                "message_id": message.message_id,
                "job_id": job_id,
                "action": action,
                "receive_count": message.receive_count,
                "outcome": outcome,
                "duration_ms": round(elapsed_ms, 3),
            },
        )
        if self._metrics is not None:
            self._metrics.record(action, outcome, elapsed_ms)

    def _dead_letter(self, message: Received, reason: str, kind: str) -> str:
        log.warning(
            "permanent failure: %s", reason, extra={"message_id": message.message_id, "kind": kind}
        )
        dlq_url = self._info.dlq_url
        if dlq_url is None:
            # Deleting would lose it: leave it for a redrive policy added later, or an operator.
            self._leases.remove(message)
            log.error("no DLQ configured; message left on the queue")
            return "kept"
        attributes = dlq_attributes(
            message, reason=reason, error_type=kind, source_queue=self._info.url
        )
        try:
            self._queue.send_to_dlq(dlq_url, message.body, attributes)
        except Exception as error:  # not in the DLQ, so not deleted: try again later
            return self._retry(message, error)
        self._leases.remove(message)
        self._acker.add(message)
        return "dead_lettered"

    def _retry(self, message: Received, error: Exception) -> str:
        # Drop the lease first, so the heartbeat does not extend over the backoff.
        self._leases.remove(message)
        delay = self._backoff.delay(message.receive_count, self._info.visibility_timeout)
        log.warning(
            "retryable failure: %s: %s",
            type(error).__name__,
            error,
            extra={"message_id": message.message_id, "retry_in_s": delay},
        )
        try:
            self._queue.change_visibility(message.receipt_handle, delay)
        except Exception:
            log.exception("backoff not set; the message returns after its visibility timeout")
        return "retried"
