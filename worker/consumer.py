"""The consumer: receives messages, runs their handlers, and settles each one.

It knows nothing of jobs: a body is decoded into a `JobMessage` and given to the handler
registered for its action. Threads, all fixed at start (none per message):

- `pollers` poller threads: each takes as many free slots as it can (up to the batch size),
  long-polls for that many messages, and hands them to the handler threads. There are
  `concurrency + prefetch` slots: besides one per running message, up to `prefetch` messages may
  wait received for the next free handler thread, so the threads do not sit idle while a poller
  waits for SQS. With `prefetch=0` a message is never received before a thread is free for it.
- `concurrency` handler threads: decode, call the handler, settle the message (`worker.settle`:
  delete, DLQ, backoff or hand-back).
- `pollers` deleter threads: batched deletes (`worker.acks`), one batch in flight each, so
  deletes keep pace with the receives of as many pollers.
- one heartbeat thread: visibility extensions, and giving up jobs past their deadline
  (`worker.heartbeat`). Its own, so that a slow delete or agent call never delays an extension.
- one housekeeping thread: task protection, metric flushes.
- with a dependency gate (`worker.gate`), its probe thread: while the gate is not up, pollers do
  not receive and messages not yet started are handed back, so an outage costs no receives.

Stopping (`run` returns once `stop` is set): polling stops, messages not yet started (received
after that, or prefetched) are released (visibility 0), running handlers get `drain_seconds` to
finish, deletes are flushed.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from worker.acks import Acker
from worker.backoff import Backoff
from worker.gate import DependencyGate, GateState
from worker.heartbeat import Leases
from worker.liveness import Loops
from worker.metrics import Metrics
from worker.protection import TaskProtection
from worker.settle import Handler, Settler
from worker.slots import Slots, Waiting
from worker.sqs import MAX_BATCH, Queue, QueueInfo, Received
from worker.upkeep import delete_loop, heartbeat_loop, housekeeping_loop

__all__ = ["Consumer", "Handler"]

log = logging.getLogger(__name__)

#: Seconds past two long-poll waits after which a silent loop counts as dead.
LIVENESS_SLACK = 10.0
#: Seconds past its deadline a job may keep a handler thread before the thread counts as stuck.
STUCK_GRACE = 60.0
#: How long a poller waits for more free slots once one is free, to ask for a fuller batch:
#: fewer, fuller receives cost fewer SQS requests per job (figures in docs/benchmarks.md).
GATHER_SECONDS = 0.05


@dataclass(frozen=True)
class _Started:
    info: QueueInfo
    leases: Leases
    settler: Settler


class Consumer:
    """Consumes one queue with a fixed set of threads; see the module docstring."""

    def __init__(
        self,
        queue: Queue,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int = 8,
        batch_size: int = 10,
        wait_seconds: int = 20,
        drain_seconds: float = 90.0,
        pollers: int = 1,
        prefetch: int = 20,
        backoff: Backoff | None = None,
        metrics: Metrics | None = None,
        protection: TaskProtection | None = None,
        ack_interval: float = 0.2,
        gate: DependencyGate | None = None,
        job_timeout: float | None = 120.0,
    ) -> None:
        """Set up a consumer; nothing runs until `start()` (or `run()`).

        Args:
            queue: the transport (`worker.sqs.SqsQueue`, or a fake in tests).
            handlers: action → handler; decoding rejects any other action.
            concurrency: handler threads, i.e. messages processed at once.
            batch_size: most messages asked for per ReceiveMessage (1-10).
            wait_seconds: long-poll wait per ReceiveMessage.
            drain_seconds: how long running handlers get to finish on stop.
            pollers: poller threads.
            prefetch: most received messages waiting for a free handler thread.
            backoff: retry delays (default `Backoff()`).
            metrics: EMF metrics sink, or None.
            protection: ECS task protection, or None.
            ack_interval: most seconds a processed message waits for its batched delete.
            gate: pauses receiving while a dependency every job needs is down (None: never).
            job_timeout: seconds a job may run before its message is given up and retried
                (None: no deadline).
        """
        self._queue, self._handlers = queue, dict(handlers)
        self._concurrency, self._pollers = concurrency, pollers
        self._batch_size, self._wait, self._drain = batch_size, wait_seconds, drain_seconds
        self._backoff = backoff or Backoff()
        self._metrics = metrics
        self._protection = protection or TaskProtection(None)
        self._housekeeping_tick = max(0.05, ack_interval)
        self._gate, self._job_timeout = gate, job_timeout
        self._loops = Loops()
        # Deletes go out 10 at a time (SQS's batch maximum) or on the interval, whichever first.
        self._acker = Acker(queue, interval=ack_interval, full=MAX_BATCH)
        self._slots = Slots(concurrency + prefetch)
        self._work = Waiting()
        self._stopping, self._closed = threading.Event(), threading.Event()
        self._threads: list[threading.Thread] = []
        self._state: _Started | None = None

    @property
    def outcomes(self) -> Counter[str]:
        """How many messages ended how (processed, retried, deferred, timed_out, dead_lettered,
        released, kept)."""
        return self._state.settler.outcomes if self._state else Counter()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Read the queue's settings once, then start every thread."""
        info = self._queue.describe()
        leases = Leases(self._queue, info.visibility_timeout, job_timeout=self._job_timeout)
        settler = Settler(
            self._queue,
            info,
            self._handlers,
            leases=leases,
            acker=self._acker,
            backoff=self._backoff,
            metrics=self._metrics,
            gate=self._gate,
        )
        self._state = _Started(info, leases, settler)
        if self._gate is not None:  # it waits as long as it likes, but it must not die
            self._loops.watch(self._gate.start(), stall_after=math.inf)
        stall_after = 2 * self._wait + LIVENESS_SLACK
        threads = [(f"handler-{i}", self._handle_loop, False) for i in range(self._concurrency)]
        threads += [(f"poller-{i}", self._poll_loop, True) for i in range(self._pollers)]
        threads += [(f"deleter-{i}", self._delete, True) for i in range(self._pollers)]
        threads += [("heartbeat", self._heartbeat, True), ("housekeeping", self._housekeep, True)]
        for name, target, watched in threads:
            thread = threading.Thread(target=target, name=name, daemon=True)
            if watched:
                self._loops.watch(thread, stall_after)
            thread.start()
            self._threads.append(thread)
        log.info(
            "consumer started",
            extra={
                "queue_url": info.url,
                "dlq_url": info.dlq_url,
                "visibility_timeout": info.visibility_timeout,
                "concurrency": self._concurrency,
                "pollers": self._pollers,
            },
        )

    def run(self, stop: threading.Event) -> bool:
        """Start, consume until `stop` is set, then drain; True if every handler finished."""
        self.start()
        while not stop.wait(1.0):  # a timed wait keeps the main thread responsive to signals
            pass
        return self.shutdown()

    def shutdown(self) -> bool:
        """Stop polling, drain, release what is left, flush; True if the drain was clean."""
        state = self._started()
        self._stopping.set()
        log.info("stopping: draining running handlers", extra={"drain_seconds": self._drain})
        deadline = time.monotonic() + self._drain
        for thread in self._threads:  # a poller's last receive returns within the wait time
            if thread.name.startswith("poller-"):
                thread.join(max(0.0, deadline - time.monotonic()))
        # Only now, with no receive in flight, so that no poller receives them again at once.
        unstarted, queued = self._work.drain()
        if unstarted:
            self._release(unstarted)
        self._slots.give(queued)
        clean = self._slots.wait_all_free(max(0.0, deadline - time.monotonic()))
        if abandoned := state.leases.held():
            log.warning("drain time over; releasing %d running messages", len(abandoned))
            self._release(abandoned)
        for _ in range(self._concurrency):
            self._work.put(None)
        self._closed.set()
        self._acker.wake()
        for thread in self._threads:
            if thread.name in ("heartbeat", "housekeeping") or thread.name.startswith("deleter-"):
                thread.join(10.0)
        if self._gate is not None:
            self._gate.stop()
        self._acker.flush(force=True)
        if self._metrics is not None:
            self._metrics.flush()
        self._protection.close()
        log.info("consumer stopped", extra={"clean": clean, "outcomes": dict(self.outcomes)})
        return clean

    def liveness(self) -> str | None:
        """None while the consumer's own loops run, else why not (`GET /health`).

        Only this process's threads count, never a dependency: see `worker.health`.
        """
        if self._state is None:
            return "not started"
        if self._stopping.is_set():
            return "stopping"
        stuck_after = None if self._job_timeout is None else self._job_timeout + STUCK_GRACE
        return self._loops.problem(self._concurrency, stuck_after)

    # -- threads -----------------------------------------------------------------------------

    def _poll_loop(self) -> None:
        state = self._started()
        while not self._stopping.is_set():
            self._loops.beat()
            if self._gate is not None and not self._gate.wait_up(1.0):
                continue  # a dependency is down: a receive now would only be handed back
            wanted = self._slots.take(self._batch_size, timeout=1.0, gather=GATHER_SECONDS)
            if not wanted:
                continue
            received_at = time.monotonic()  # SQS starts the visibility clock after this
            try:
                messages = self._queue.receive(wanted, self._wait)
            except Exception:
                log.exception("receive failed; retrying in 1 s")
                self._slots.give(wanted)
                self._stopping.wait(1.0)
                continue
            self._loops.beat()
            self._slots.give(wanted - len(messages))
            if not messages:
                continue
            state.leases.add(messages, received_at)
            if self._stopping.is_set():  # received but not started: let another worker have them
                self._release(messages)
                self._slots.give(len(messages))
                return
            if self._gate is not None and self._gate.state is GateState.DOWN:
                state.settler.defer(messages)  # the outage began during this receive
                self._slots.give(len(messages))
                continue
            log.info("received batch", extra={"count": len(messages), "asked": wanted})
            for message in messages:
                self._work.put(message)

    def _handle_loop(self) -> None:
        state = self._started()
        while (message := self._work.get()) is not None:
            if self._stopping.is_set():  # received, never started: another worker may have it
                if not self._work.hold(message):
                    self._release([message])  # shutdown has released the others already
                self._slots.give(1)
                continue
            if self._gate is not None and self._gate.verdict() is not GateState.UP:
                state.settler.defer([message])  # a dependency is down: hand it back unstarted
                self._slots.give(1)
                continue
            self._loops.job_started()
            try:
                state.settler.process(message)
            except Exception:  # settling itself failed: let the visibility timeout retry it
                state.leases.finish(message)
                log.exception("settling a message failed", extra={"message_id": message.message_id})
            finally:
                self._loops.job_ended()
                self._slots.give(1)
            if not state.leases:  # the last message held: no more deletes to batch it with
                self._acker.hurry()

    def _heartbeat(self) -> None:
        state = self._started()
        heartbeat_loop(
            self._closed, beat=self._loops.beat, settler=state.settler, leases=state.leases
        )

    def _delete(self) -> None:
        delete_loop(
            self._closed, beat=self._loops.beat, acker=self._acker, tick=self._housekeeping_tick
        )

    def _housekeep(self) -> None:
        housekeeping_loop(
            self._closed,
            beat=self._loops.beat,
            leases=self._started().leases,
            protection=self._protection,
            metrics=self._metrics,
            tick=self._housekeeping_tick,
        )

    def _release(self, messages: list[Received]) -> None:
        state = self._started()
        for message in state.leases.release(messages, 0):
            state.settler.record(message, "released", "-", None, 0.0)

    def _started(self) -> _Started:
        if self._state is None:
            raise RuntimeError("consumer not started")
        return self._state
