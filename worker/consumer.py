"""The consumer: receives messages, runs their handlers, and settles each one.

It knows nothing of jobs: a body is decoded into a `JobMessage` and given to the handler
registered for its action. Threads, all fixed at start (none per message):

- `pollers` poller threads: each takes as many free slots as it can (up to the batch size),
  long-polls for that many messages, and hands them to the handler threads. There are
  `concurrency + prefetch` slots: besides one per running message, up to `prefetch` messages may
  wait received for the next free handler thread, so the threads do not sit idle while a poller
  waits for SQS. With `prefetch=0` a message is never received before a thread is free for it.
- `concurrency` handler threads: decode, call the handler, settle the message (`worker.settle`:
  delete, DLQ or backoff).
- one housekeeping thread: batched deletes, visibility extension (heartbeat), task protection,
  metric flushes.

Stopping (`run` returns once `stop` is set): polling stops, messages not yet started (received
after that, or prefetched) are released (visibility 0), running handlers get `drain_seconds` to
finish, deletes are flushed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from queue import Empty, SimpleQueue

from worker.acks import Acker
from worker.backoff import Backoff
from worker.heartbeat import Leases
from worker.metrics import Metrics
from worker.protection import TaskProtection
from worker.settle import Handler, Settler
from worker.slots import Slots
from worker.sqs import Queue, QueueInfo, Received

__all__ = ["Consumer", "Handler"]

log = logging.getLogger(__name__)

#: Seconds past two long-poll waits after which a silent poll loop counts as dead.
LIVENESS_SLACK = 10.0
#: How long a poller waits for more free slots once one is free, to ask for a fuller batch
#: (measured: SQS requests per job 0.79 -> 0.26, no-op throughput 0.53x -> 0.74x the limit).
GATHER_SECONDS = 0.05
#: SQS's largest batch for ReceiveMessage, DeleteMessageBatch and the visibility calls.
MAX_BATCH = 10


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
        """
        self._queue, self._handlers = queue, dict(handlers)
        self._concurrency, self._pollers = concurrency, pollers
        self._batch_size, self._wait, self._drain = batch_size, wait_seconds, drain_seconds
        self._backoff = backoff or Backoff()
        self._metrics = metrics
        self._protection = protection or TaskProtection(None)
        self._ack_interval = ack_interval
        # Deletes go out 10 at a time (SQS's batch maximum) or on the interval, whichever first.
        self._acker = Acker(queue, interval=ack_interval, full=MAX_BATCH)
        self._slots = Slots(concurrency + prefetch)
        self._work: SimpleQueue[Received | None] = SimpleQueue()
        self._stopping, self._closed = threading.Event(), threading.Event()
        self._unstarted_lock = threading.Lock()
        self._unstarted: list[Received] | None = []  # None once released at shutdown
        self._threads: list[threading.Thread] = []
        self._beat = time.monotonic()
        self._state: _Started | None = None

    @property
    def outcomes(self) -> Counter[str]:
        """How many messages ended how (processed, retried, dead_lettered, released, kept)."""
        return self._state.settler.outcomes if self._state else Counter()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Read the queue's settings once, then start every thread."""
        info = self._queue.describe()
        leases = Leases(self._queue, info.visibility_timeout)
        settler = Settler(
            self._queue,
            info,
            self._handlers,
            leases=leases,
            acker=self._acker,
            backoff=self._backoff,
            metrics=self._metrics,
        )
        self._state = _Started(info, leases, settler)
        self._beat = time.monotonic()
        threads = [(f"handler-{i}", self._handle_loop) for i in range(self._concurrency)]
        threads += [(f"poller-{i}", self._poll_loop) for i in range(self._pollers)]
        threads.append(("housekeeping", self._housekeeping_loop))
        for name, target in threads:
            thread = threading.Thread(target=target, name=name, daemon=True)
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
        self._release_unstarted()
        clean = self._slots.wait_all_free(max(0.0, deadline - time.monotonic()))
        if abandoned := state.leases.held():
            log.warning("drain time over; releasing %d running messages", len(abandoned))
            self._release(abandoned)
        for _ in range(self._concurrency):
            self._work.put(None)
        self._closed.set()
        self._acker.wake()
        for thread in self._threads:
            if thread.name == "housekeeping":
                thread.join(10.0)
        self._acker.flush(force=True)
        if self._metrics is not None:
            self._metrics.flush()
        self._protection.close()
        log.info("consumer stopped", extra={"clean": clean, "outcomes": dict(self.outcomes)})
        return clean

    def liveness(self) -> str | None:
        """None while the poll loop runs, else why not (for the health check)."""
        if self._state is None:
            return "not started"
        if self._stopping.is_set():
            return "stopping"
        silent = time.monotonic() - self._beat
        if silent > 2 * self._wait + LIVENESS_SLACK:
            return f"poll loop silent for {silent:.0f} s"
        return None

    # -- threads -----------------------------------------------------------------------------

    def _poll_loop(self) -> None:
        leases = self._started().leases
        while not self._stopping.is_set():
            self._beat = time.monotonic()
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
            self._beat = time.monotonic()
            self._slots.give(wanted - len(messages))
            if not messages:
                continue
            leases.add(messages, received_at)
            if self._stopping.is_set():  # received but not started: let another worker have them
                self._release(messages)
                self._slots.give(len(messages))
                return
            log.info("received batch", extra={"count": len(messages), "asked": wanted})
            for message in messages:
                self._work.put(message)

    def _handle_loop(self) -> None:
        state = self._started()
        while (message := self._work.get()) is not None:
            if self._stopping.is_set():  # received, never started: another worker may have it
                self._hold_unstarted(message)
                self._slots.give(1)
                continue
            try:
                state.settler.process(message)
            except Exception:  # settling itself failed: let the visibility timeout retry it
                state.leases.remove(message)
                log.exception("settling a message failed", extra={"message_id": message.message_id})
            finally:
                self._slots.give(1)
            if not state.leases:  # the last message held: no more deletes to batch it with
                self._acker.hurry()

    def _housekeeping_loop(self) -> None:
        leases = self._started().leases
        tick = max(0.05, min(self._ack_interval, self._started().info.visibility_timeout / 4))
        while not self._closed.is_set():
            self._acker.wait(tick)
            try:
                self._acker.flush()
                leases.extend_due()
                self._protection.update(busy=len(leases) > 0)
                if self._metrics is not None:
                    self._metrics.flush_due()
            except Exception:
                log.exception("housekeeping failed; continuing")

    def _hold_unstarted(self, message: Received) -> None:
        """Keep a message a handler thread got after stop for `_release_unstarted`."""
        with self._unstarted_lock:
            if self._unstarted is not None:
                self._unstarted.append(message)
                return
        self._release([message])  # shutdown has released the others already

    def _release_unstarted(self) -> None:
        """Release, in one go, every received message no handler thread has started."""
        with self._unstarted_lock:
            waiting, self._unstarted = self._unstarted or [], None
        queued: list[Received] = []
        with contextlib.suppress(Empty):
            while (message := self._work.get_nowait()) is not None:
                queued.append(message)
        if waiting or queued:
            self._release(waiting + queued)
        self._slots.give(len(queued))

    def _release(self, messages: list[Received]) -> None:
        state = self._started()
        state.leases.release(messages)
        for message in messages:
            state.settler.record(message, "released", "-", None, 0.0)

    def _started(self) -> _Started:
        if self._state is None:
            raise RuntimeError("consumer not started")
        return self._state
