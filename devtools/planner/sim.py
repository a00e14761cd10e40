"""The discrete-event simulation of one stack: scans, the queue, CloudWatch, scaling and tasks.

Events happen at scans, at enqueues, at each minute (SQS and ECS publish the minute's metrics,
then every alarm is evaluated, and an alarm in ALARM invokes its scaling policy again: "For
Auto Scaling actions, the alarm continues to invoke the action for every period that the alarm
remains in the new state", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html),
at SQS's gauge samples, and at task transitions. Between events the backlog drains as a fluid.
Everything random (task start latency, metric delay, sample phase, Spot interruptions) comes
from one `random.Random(seed)`, so a seed gives the same day every time.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from typing import Any

from devtools.planner.alarms import ALARM, AlarmRuntime, ScalableTarget, policies_by_arn
from devtools.planner.cloudwatch import MetricStore
from devtools.planner.fleet import Backlog, Batch, Fleet, Task
from devtools.planner.load import DAY, Scan, ServiceRate
from devtools.planner.metrics import MinuteMetrics
from devtools.planner.stackmodel import StackModel

# Published measurement of Fargate task start (creation to start, 10 tasks, 413 MB image pulled
# through NAT, no SOCI): https://elasticscale.com/blog/reduce-aws-fargate-pull-times-with-soci
FARGATE_START_S = (61.0, 59.0, 53.0, 59.0, 62.0, 55.0, 55.0, 56.0, 56.0, 53.0)


@dataclass(frozen=True)
class SimParams:
    """Knobs of the simulation that are not in the stack (see docs/capacity.md)."""

    horizon: float = DAY
    seed: int = 1
    task_start_s: tuple[float, ...] = FARGATE_START_S
    metric_delay_s: tuple[float, float] = (30.0, 120.0)
    sqs_samples_per_minute: int = 1
    scan_fetch_s: float = 10.0
    stop_overhead_s: float = 2.0
    # Fargate Spot stops a task with a two-minute warning (SIGTERM) when AWS needs the capacity:
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html
    spot_interruptions_per_task_hour: float = 0.0


@dataclass
class ScanRecord:
    """One scan and what happened until the next one."""

    time: float
    jobs: int
    enqueued: float | None = None
    first_done: float | None = None
    last_done: float | None = None
    peak_desired: int = 0
    started_at_min: bool = False
    """At this scan's start the service was at minTasks with an empty queue."""


@dataclass
class SimResult:
    """What a simulated day produced."""

    stack: str
    min_tasks: int
    max_tasks: int
    horizon: float
    scans: list[ScanRecord]
    latencies: list[float] = field(default_factory=list)
    timeline: list[tuple[float, float, float, int, int]] = field(default_factory=list)
    scale_events: list[tuple[float, int, int, str]] = field(default_factory=list)
    worker_task_seconds: float = 0.0
    worker_spot_task_seconds: float = 0.0
    scanner_task_seconds: float = 0.0
    worker_launches: int = 0
    time_at_min: float = 0.0
    sqs_requests: float = 0.0


class Simulation:
    """One stack's service under one load, from midnight to `params.horizon`."""

    def __init__(
        self,
        model: StackModel,
        scans: list[Scan],
        rate: ServiceRate,
        params: SimParams | None = None,
    ) -> None:
        self.model, self.rate = model, rate
        self.params = params or SimParams()
        self.rng = random.Random(self.params.seed)  # noqa: S311  # a simulation, not secrets
        worker = model.worker
        self.mu = rate.per_task(worker.cpu_units / 1024)
        self.store = MetricStore(model.queue_name, worker.service_name)
        for alarm in model.alarms:
            for query in alarm.queries:
                if query.metric is not None:
                    self.store.check(query.metric)
        self.alarms = [AlarmRuntime(alarm) for alarm in model.alarms]
        self.policies = policies_by_arn(model.policies)
        self.target = ScalableTarget(worker.min_tasks, worker.max_tasks, worker.min_tasks)
        self.fleet, self.backlog = Fleet(), Backlog()
        self.metrics = MinuteMetrics(
            self, self.rng.uniform(0, 60 / self.params.sqs_samples_per_minute)
        )
        self.result = SimResult(
            model.stack,
            worker.min_tasks,
            worker.max_tasks,
            self.params.horizon,
            [ScanRecord(s.time, s.jobs) for s in scans],
        )
        self.events: list[tuple[float, int, str, Any]] = []
        self.sequence = 0
        self.now = 0.0
        self.window = -1
        self.launched = 0

    # -- the event loop -------------------------------------------------------------------------

    def run(self) -> SimResult:
        """Simulate until the horizon; the result."""
        for _ in range(self.model.worker.min_tasks):
            self._start_warm_task()
        self.metrics.prefill()
        for alarm in self.alarms:
            alarm.evaluate(self.store, 0.0)
        for index, scan in enumerate(self.result.scans):
            self._push(scan.time, "scan", index)
        self._push(60.0, "minute", 1)
        self.metrics.schedule_samples(0)
        while self.events and self.events[0][0] <= self.params.horizon:
            time, _, kind, payload = heapq.heappop(self.events)
            self._advance(time)
            getattr(self, f"_on_{kind}")(payload)
            self._observe()
        self._advance(self.params.horizon)
        return self._finish()

    def _push(self, time: float, kind: str, payload: Any) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (time, self.sequence, kind, payload))

    def _advance(self, time: float) -> None:
        elapsed = time - self.now
        if elapsed <= 0:
            return
        consumers = self.fleet.consumers()
        processed = 0.0
        if self.backlog.total > 0 and consumers:
            processed = self.backlog.drain(self.now, consumers * self.mu, elapsed, self._done)
        busy = processed / (consumers * self.mu) if consumers else 0.0
        self.metrics.accumulate(elapsed, processed, busy, consumers)
        if len(self.fleet.tasks) == self.model.worker.min_tasks:
            self.result.time_at_min += elapsed
        self.now = time

    def _done(self, batch: Batch, k: int, time: float) -> None:
        self.result.latencies.append(time - batch.scheduled)
        record = self.result.scans[batch.scan]
        if k == 1:
            record.first_done = time
        record.last_done = time

    def _observe(self) -> None:
        desired, tasks = self.target.desired, len(self.fleet.tasks)
        in_flight = min(self.backlog.total, self.fleet.consumers() * self.in_flight_cap)
        self.result.timeline.append(
            (self.now, self.backlog.total - in_flight, in_flight, desired, tasks)
        )
        if self.window >= 0:
            record = self.result.scans[self.window]
            record.peak_desired = max(record.peak_desired, desired)

    @property
    def in_flight_cap(self) -> int:
        """Messages one task holds at most: running plus prefetched."""
        return self.model.worker.concurrency + self.model.worker.prefetch

    # -- event handlers ------------------------------------------------------------------------

    def _on_scan(self, index: int) -> None:
        self.window = index
        scan = self.result.scans[index]
        minimum = self.model.worker.min_tasks
        scan.started_at_min = (
            self.target.desired == len(self.fleet.tasks) == minimum and self.backlog.total == 0
        )
        start = self.rng.choice(self.params.task_start_s)
        work = self.params.scan_fetch_s + scan.jobs * self.rate.scanner_seconds_per_job
        self._push(self.now + start + work, "enqueue", index)
        self.result.scanner_task_seconds += max(60.0, start + work + 1.0)

    def _on_enqueue(self, index: int) -> None:
        scan = self.result.scans[index]
        scan.enqueued = self.now
        self.backlog.add(Batch(index, scan.time, self.now, scan.jobs))
        self.metrics.sent(scan.jobs)

    def _on_sample(self, payload: tuple[int, int]) -> None:
        self.metrics.sample(*payload)

    def _on_minute(self, minute: int) -> None:
        self.metrics.publish(minute - 1)
        if minute * 60 < self.params.horizon:
            self._push((minute + 1) * 60.0, "minute", minute + 1)
            self.metrics.schedule_samples(minute)
        for runtime in self.alarms:
            if round(self.now) % runtime.alarm.period:
                continue
            points = runtime.evaluate(self.store, self.now)
            if runtime.state == ALARM:
                self._invoke(runtime, points)

    def _invoke(self, runtime: AlarmRuntime, points: list[float]) -> None:
        above = runtime.alarm.comparison.startswith("Greater")
        for arn in runtime.alarm.actions:
            policy = self.policies.get(arn)
            if policy is None:
                continue  # a notification, not a scaling action
            before = self.target.desired
            after = self.target.invoke(policy, points, runtime.alarm.threshold, above, self.now)
            if after is not None:
                self.result.scale_events.append((self.now, before, after, policy.name))
                self._reconcile()

    def _on_running(self, task: Task) -> None:
        if not task.stopping:
            task.running_at = self.now
            self._push(self.now + self.rate.start_to_first_poll_s, "consuming", task)

    def _on_consuming(self, task: Task) -> None:
        task.consuming = not task.stopping

    def _on_stopped(self, task: Task) -> None:
        self.fleet.remove(task, self.now)

    def _on_interrupt(self, task: Task) -> None:
        if task in self.fleet.tasks and not task.stopping:
            self._stop(task)
            self._reconcile()  # the service replaces the interrupted task

    # -- the ECS service scheduler -------------------------------------------------------------

    def _reconcile(self) -> None:
        active = self.fleet.active()
        for _ in range(self.target.desired - len(active)):
            self._launch(self.rng.choice(self.params.task_start_s))
        for task in self.fleet.to_stop(len(active) - self.target.desired):
            self._stop(task)

    def _spot_next(self) -> bool:
        share = self.model.worker.spot_share
        spot = round((self.launched + 1) * share) > round(self.launched * share)
        self.launched += 1
        return spot

    def _launch(self, start_latency: float) -> Task:
        task = self.fleet.launch(self.now, self._spot_next())
        self.result.worker_launches += 1
        self._push(self.now + start_latency, "running", task)
        self._arm_interruption(task)
        return task

    def _start_warm_task(self) -> None:
        task = self.fleet.launch(0.0, self._spot_next())
        task.running_at, task.consuming = 0.0, True
        self._arm_interruption(task)

    def _arm_interruption(self, task: Task) -> None:
        rate = self.params.spot_interruptions_per_task_hour
        if task.spot and rate > 0:
            self._push(self.now + self.rng.expovariate(rate / 3600), "interrupt", task)

    def _stop(self, task: Task) -> None:
        busy = task.consuming and self.backlog.total > 0
        task.stopping, task.consuming = True, False
        if task.running_at is None:
            self._push(self.now, "stopped", task)
            return
        # SIGTERM: running handlers finish (about one job's time) within the drain limit.
        worker = self.model.worker
        drain = min(worker.concurrency / self.mu, worker.drain_seconds) if busy else 0.0
        self._push(self.now + drain + self.params.stop_overhead_s, "stopped", task)

    def _finish(self) -> SimResult:
        result = self.result
        result.worker_task_seconds, result.worker_spot_task_seconds = self.fleet.billed_seconds(
            self.params.horizon
        )
        result.sqs_requests = self.metrics.sqs_requests(sum(s.jobs for s in result.scans))
        return result
