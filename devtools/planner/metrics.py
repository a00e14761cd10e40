"""Each simulated minute's SQS and ECS metrics: sampled, summed and published to the store.

SQS's gauges (visible, in flight, age of oldest) are sampled `sqs_samples_per_minute` times a
minute at a fixed random phase (an assumption: AWS does not document how SQS samples them); the
counters are sums over the minute. See `cloudwatch` for which metric is published when.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devtools.planner.sim import Simulation

SQS, INSIGHTS, ECS = "AWS/SQS", "ECS/ContainerInsights", "AWS/ECS"
# "CloudWatch considers a queue to be active for up to six hours if it contains any messages or
# if any action accesses it"; reactivated queues' metrics arrive up to 15 minutes late.
ACTIVE_FOR_S = 6 * 3600.0
REACTIVATION_DELAY_S = 900.0
HISTORY_MINUTES = 30


class MinuteMetrics:
    """Collects one minute of samples and counts, then publishes them with their delay."""

    def __init__(self, sim: Simulation, phase: float) -> None:
        self.sim, self.phase = sim, phase
        self.gauges: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.counters: dict[str, float] = defaultdict(float)
        self.busy_task_seconds = self.running_task_seconds = 0.0
        self.empty_receives = 0.0
        self.last_access = 0.0
        self.active, self.reactivated_at = True, -math.inf
        worker = sim.model.worker
        self.pollers = max(1, math.ceil(worker.concurrency / worker.batch_size))

    def schedule_samples(self, minute: int) -> None:
        """Queue the gauge samples of `minute`."""
        count = self.sim.params.sqs_samples_per_minute
        for j in range(count):
            self.sim._push(minute * 60 + self.phase + j * 60 / count, "sample", (minute, j))

    def sample(self, minute: int, _index: int) -> None:
        """Take one sample of every gauge now."""
        sim = self.sim
        total = sim.backlog.total
        in_flight = min(total, sim.fleet.consumers() * sim.in_flight_cap)
        self.gauges[(SQS, "ApproximateNumberOfMessagesVisible")].append(total - in_flight)
        if in_flight > 0:
            self.gauges[(SQS, "ApproximateNumberOfMessagesNotVisible")].append(in_flight)
        oldest = sim.backlog.oldest_enqueued()
        if oldest is not None:
            self.gauges[(SQS, "ApproximateAgeOfOldestMessage")].append(sim.now - oldest)
        self.gauges[(INSIGHTS, "RunningTaskCount")].append(sim.fleet.running())
        self.gauges[(INSIGHTS, "DesiredTaskCount")].append(sim.target.desired)
        self.gauges[(INSIGHTS, "PendingTaskCount")].append(sim.fleet.pending())

    def accumulate(self, elapsed: float, processed: float, busy: float, consumers: int) -> None:
        """Count what happened over `elapsed` seconds ending now."""
        worker = self.sim.model.worker
        idle = elapsed - busy
        empty = consumers * self.pollers * idle / max(worker.wait_seconds, 1)
        self.counters["NumberOfMessagesReceived"] += processed
        self.counters["NumberOfMessagesDeleted"] += processed
        self.counters["NumberOfEmptyReceives"] += empty
        self.empty_receives += empty
        self.busy_task_seconds += busy * consumers
        self.running_task_seconds += elapsed * self.sim.fleet.running()
        if consumers:
            self.last_access = self.sim.now + elapsed

    def sent(self, jobs: int) -> None:
        """The scanner sent `jobs` messages now."""
        self.counters["NumberOfMessagesSent"] += jobs
        self.last_access = self.sim.now

    def publish(self, minute: int) -> None:
        """Publish `minute`'s datapoints (at the end of that minute) and start a new one."""
        sim = self.sim
        low, high = sim.params.metric_delay_s
        arrival = sim.now + sim.rng.uniform(low, high)
        active = sim.backlog.total > 0 or sim.now - self.last_access <= ACTIVE_FOR_S
        if active and not self.active:
            self.reactivated_at = sim.now
        self.active = active
        arrival = max(arrival, self.reactivated_at + REACTIVATION_DELAY_S)
        for (namespace, name), samples in self.gauges.items():
            sqs_ok = namespace != SQS or active
            if sqs_ok and (namespace != INSIGHTS or sim.model.container_insights):
                sim.store.publish(namespace, name, minute, tuple(samples), arrival)
        if active:
            for name, value in self.counters.items():
                sim.store.publish(SQS, name, minute, (value,), arrival)
        if self.running_task_seconds > 0:
            cpu = 100 * self.busy_task_seconds / self.running_task_seconds
            memory = 100 * sim.rate.worker_rss_mib / sim.model.worker.memory_mib
            sim.store.publish(ECS, "CPUUtilization", minute, (cpu,), arrival)
            sim.store.publish(ECS, "MemoryUtilization", minute, (memory,), arrival)
        self.gauges.clear()
        self.counters = defaultdict(float, dict.fromkeys(self.counters, 0.0))
        self.busy_task_seconds = self.running_task_seconds = 0.0

    def prefill(self) -> None:
        """The idle history before midnight, already in CloudWatch, so alarms start informed."""
        sim = self.sim
        worker = sim.model.worker
        idle_receives = worker.min_tasks * self.pollers * 60 / max(worker.wait_seconds, 1)
        for minute in range(-HISTORY_MINUTES, 0):
            publish = sim.store.publish
            publish(SQS, "ApproximateNumberOfMessagesVisible", minute, (0.0,), -1.0)
            for name in (
                "NumberOfMessagesSent",
                "NumberOfMessagesReceived",
                "NumberOfMessagesDeleted",
            ):
                publish(SQS, name, minute, (0.0,), -1.0)
            publish(SQS, "NumberOfEmptyReceives", minute, (idle_receives,), -1.0)
            if sim.model.container_insights:
                for name, value in (
                    ("RunningTaskCount", worker.min_tasks),
                    ("DesiredTaskCount", worker.min_tasks),
                    ("PendingTaskCount", 0),
                ):
                    publish(INSIGHTS, name, minute, (float(value),), -1.0)
            if worker.min_tasks:
                publish(ECS, "CPUUtilization", minute, (0.0,), -1.0)

    def sqs_requests(self, jobs: int) -> float:
        """SQS requests over the run: per job as benchmarked, plus idle long polls."""
        rate = self.sim.rate
        return (
            jobs * (rate.worker_requests_per_job + rate.scanner_requests_per_job)
            + self.empty_receives
        )
