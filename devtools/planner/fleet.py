"""The job queue's backlog and the worker service's tasks, as the simulator moves them.

The backlog is a fluid: between two events the consuming tasks take jobs at a constant rate, in
the order scans enqueued them, so each job's completion time is exact for that rate. A task
holds at most `concurrency + prefetch` received messages (in flight); the rest are visible.

Task lifecycle (ECS on Fargate): launched (PROVISIONING/PENDING, billed from here) -> RUNNING
after a start latency -> consuming once the process reaches its first poll -> on stop, ECS sends
SIGTERM and the worker drains: it stops receiving, releases prefetched messages, and gives
running handlers up to its drain time before it exits; ECS sends SIGKILL after the container's
stop timeout (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-considerations.html,
"When Amazon ECS stops a task, it first sends a SIGTERM ... and then ... SIGKILL"). Fargate bills
per second from the image pull until the task stops, with a one-minute minimum
(https://aws.amazon.com/fargate/pricing/).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

MIN_BILLED_SECONDS = 60.0


@dataclass
class Batch:
    """The jobs one scan enqueued, and how many of them are done (fractional while in progress)."""

    scan: int
    scheduled: float
    enqueued: float
    jobs: int
    done: float = 0.0


@dataclass
class Backlog:
    """Jobs enqueued and not yet processed, oldest scan first."""

    batches: deque[Batch] = field(default_factory=deque)
    total: float = 0.0

    def add(self, batch: Batch) -> None:
        """Enqueue a scan's jobs."""
        if batch.jobs:
            self.batches.append(batch)
            self.total += batch.jobs

    def oldest_enqueued(self) -> float | None:
        """When the oldest waiting job was sent."""
        return self.batches[0].enqueued if self.batches else None

    def drain(
        self,
        start: float,
        rate: float,
        seconds: float,
        on_done: Callable[[Batch, int, float], None],
    ) -> float:
        """Process for `seconds` at `rate` jobs/s from `start`; call `on_done(batch, k, t)` for
        each job k (1-based) finished at t. Returns the jobs processed."""
        budget = rate * seconds
        clock = start
        processed = 0.0
        while budget > 1e-9 and self.batches:
            batch = self.batches[0]
            take = min(batch.jobs - batch.done, budget)
            for k in range(math.floor(batch.done) + 1, math.floor(batch.done + take + 1e-9) + 1):
                on_done(batch, k, clock + (k - batch.done) / rate)
            batch.done += take
            clock += take / rate
            budget -= take
            processed += take
            if batch.jobs - batch.done < 1e-9:
                self.batches.popleft()
        self.total = max(0.0, self.total - processed)
        if not self.batches:
            self.total = 0.0
        return processed


@dataclass
class Task:
    """One worker (or scanner) task."""

    id: int
    launched: float
    spot: bool
    running_at: float | None = None
    consuming: bool = False
    stopping: bool = False
    stopped_at: float | None = None

    def billed_seconds(self, until: float) -> float:
        """Fargate's bill for this task up to `until`: per second, one-minute minimum."""
        end = self.stopped_at if self.stopped_at is not None else until
        return max(MIN_BILLED_SECONDS, end - self.launched)


@dataclass
class Fleet:
    """The worker service's tasks."""

    tasks: list[Task] = field(default_factory=list)
    retired: list[Task] = field(default_factory=list)
    next_id: int = 0

    def launch(self, now: float, spot: bool) -> Task:
        """A new task, billed from now."""
        task = Task(self.next_id, now, spot)
        self.next_id += 1
        self.tasks.append(task)
        return task

    def active(self) -> list[Task]:
        """Tasks ECS counts toward the desired count (not stopping)."""
        return [t for t in self.tasks if not t.stopping]

    def consumers(self) -> int:
        """Tasks receiving from the queue now."""
        return sum(1 for t in self.tasks if t.consuming and not t.stopping)

    def running(self) -> int:
        """Tasks in the RUNNING state (draining ones included), as Container Insights counts."""
        return sum(1 for t in self.tasks if t.running_at is not None)

    def pending(self) -> int:
        """Tasks launched and not yet RUNNING."""
        return sum(1 for t in self.tasks if t.running_at is None and not t.stopping)

    def to_stop(self, count: int) -> list[Task]:
        """Which tasks a scale-in stops: ones not yet running first, then the newest."""
        if count <= 0:
            return []
        candidates = sorted(self.active(), key=lambda t: (t.running_at is not None, -t.launched))
        return candidates[:count]

    def remove(self, task: Task, now: float) -> None:
        """The task has stopped."""
        task.stopped_at = now
        self.tasks.remove(task)
        self.retired.append(task)

    def billed_seconds(self, until: float) -> tuple[float, float]:
        """Billed task-seconds up to `until`: (all, Fargate Spot only)."""
        every = self.tasks + self.retired
        total = sum(t.billed_seconds(until) for t in every)
        return total, sum(t.billed_seconds(until) for t in every if t.spot)
