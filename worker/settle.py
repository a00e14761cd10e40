"""One message, start to finish: decode, run its handler, and settle it.

Settling is the consumer's one rule set (STYLE #11): success → batched delete; a permanent
error (bad body, unknown action, `PermanentError`) → the DLQ with the reason, and only then a
delete; anything else → a backoff visibility, so SQS redelivers it soon and its redrive policy
moves it to the DLQ after `maxReceiveCount` receives. Nothing is deleted that is not done or
safely in the DLQ.

A failure that looks like an outage (`worker.errors.looks_like_outage`) is reported to the
dependency gate; if the gate finds the dependency down, the message is handed back for the
gate's hold time (`deferred`) instead of backed off: the worker stops receiving until the
dependency is back, so the outage costs the message no further receive. A job past its deadline
is given up by the heartbeat (`timed_out`, retried after a backoff); if its handler returns
later, a success is still deleted (its effects are committed) and anything else is left to that
retry.
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
from worker.errors import PermanentError, looks_like_outage
from worker.gate import DependencyGate, GateState
from worker.heartbeat import Leases
from worker.metrics import Metrics
from worker.sqs import MAX_VISIBILITY_SECONDS, Queue, QueueInfo, Received

log = logging.getLogger(__name__)

Handler = Callable[[JobMessage], None]
#: Tells whether an exception suggests a dependency every job needs is down.
OutageClassifier = Callable[[BaseException], bool]


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
        gate: DependencyGate | None = None,
        is_outage: OutageClassifier = looks_like_outage,
    ) -> None:
        """Settle messages of the queue described by `info` with these collaborators."""
        self._queue = queue
        self._gate = gate
        self._is_outage = is_outage
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
        self._leases.start(message)
        try:
            job = decode(message.body, actions=self._handlers.keys())
            action, job_id = job.action, str(job.job_id)
            self._handlers[job.action](job)
        except (InvalidMessage, PermanentError) as error:
            outcome = self._dead_letter(message, error.reason, error.kind)
        except Exception as error:  # the runner alone catches Exception: unknown → retry
            outcome = self._fail(message, error)
        else:
            held = self._leases.finish(message)
            self._acker.add(message)  # even if given up at its deadline: its effects are done
            outcome = "processed" if held else None
        elapsed_ms = (time.perf_counter() - started) * 1000
        if outcome is None:  # the heartbeat gave it up and recorded `timed_out` for this receive
            log.warning(
                "job ended after its deadline had given it up",
                extra={"message_id": message.message_id, "job_id": job_id, "late_ms": elapsed_ms},
            )
            return
        self.record(message, outcome, action, job_id, elapsed_ms)

    def defer(self, messages: list[Received]) -> None:
        """Hand back messages not started because a dependency is down (see `worker.gate`)."""
        for message in self._leases.release(messages, self._hold_seconds()):
            self.record(message, "deferred", "-", None, 0.0)

    def expire_overdue(self) -> None:
        """Give up held messages whose job is past its deadline: they are retried."""
        for message in self._leases.expire_due(self._expiry_delay):
            log.warning(
                "job past its deadline; retrying it", extra={"message_id": message.message_id}
            )
            self.record(message, "timed_out", "-", None, 0.0)

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

    def _dead_letter(self, message: Received, reason: str, kind: str) -> str | None:
        log.warning(
            "permanent failure: %s", reason, extra={"message_id": message.message_id, "kind": kind}
        )
        dlq_url = self._info.dlq_url
        if dlq_url is None:
            # Deleting would lose it: leave it for a redrive policy added later, or an operator.
            self._leases.finish(message)
            log.error("no DLQ configured; message left on the queue")
            return "kept"
        attributes = dlq_attributes(
            message, reason=reason, error_type=kind, source_queue=self._info.url
        )
        try:
            self._queue.send_to_dlq(dlq_url, message.body, attributes)
        except Exception as error:  # not in the DLQ, so not deleted: try again later
            return self._retry(message, error)
        self._leases.finish(message)
        self._acker.add(message)
        return "dead_lettered"

    def _fail(self, message: Received, error: Exception) -> str | None:
        """A failed job: hand it back if a dependency is down, else retry it with backoff."""
        if self._gate is None or not self._is_outage(error):
            return self._retry(message, error)
        self._gate.report(f"{type(error).__name__}: {error}".strip())
        if self._gate.verdict() is GateState.UP:  # the dependency answers: this job's failure
            return self._retry(message, error)
        if not self._leases.release([message], self._hold_seconds()):
            return None  # given up at its deadline meanwhile; that retry stands
        log.warning(
            "dependency down; handing the message back: %s: %s",
            type(error).__name__,
            error,
            extra={"message_id": message.message_id, "retry_in_s": self._hold_seconds()},
        )
        return "deferred"

    def _retry(self, message: Received, error: Exception) -> str | None:
        delay = self._backoff.delay(message.receive_count, self._info.visibility_timeout)
        # Through the leases, so an extension in flight cannot land after the backoff.
        if not self._leases.release([message], delay):
            return None  # given up at its deadline meanwhile; that retry stands
        log.warning(
            "retryable failure: %s: %s",
            type(error).__name__,
            error,
            extra={"message_id": message.message_id, "retry_in_s": delay},
        )
        return "retried"

    def _hold_seconds(self) -> int:
        hold = self._gate.policy.hold_seconds if self._gate is not None else 0
        return min(hold, MAX_VISIBILITY_SECONDS)

    def _expiry_delay(self, message: Received) -> int:
        if self._gate is not None and self._gate.state is not GateState.UP:
            return self._hold_seconds()
        return self._backoff.delay(message.receive_count, self._info.visibility_timeout)
