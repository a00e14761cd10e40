"""The metrics the simulated services publish, and what CloudWatch holds at a given time.

Publication rules, each from the page that states it:
- SQS pushes its metrics "to CloudWatch at one-minute intervals", only for queues that are
  *active*: "CloudWatch considers a queue to be active for up to six hours if it contains any
  messages or if any action accesses it", and "a delay of up to 15 minutes occurs in CloudWatch
  metrics when a queue is activated from an inactive state"
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-monitoring-using-cloudwatch.html).
  The reactivation delay is taken at its 15-minute maximum.
- Per metric (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html):
  ApproximateNumberOfMessagesVisible "if the queue is active"; ApproximateNumberOfMessagesNotVisible
  "if in-flight messages exist"; ApproximateAgeOfOldestMessage "if the queue contains at least
  one active message"; ApproximateNumberOfMessagesDelayed only if delayed messages exist (never
  here); the counters while the queue is active.
- AWS/ECS CPUUtilization and MemoryUtilization: "If a cluster, service, or other resource has no
  running tasks, no metrics will be reported"
  (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/available-metrics.html).
- ECS/ContainerInsights task counts: every minute while Container Insights is on (an assumption:
  the page does not say whether a service with no task reports them).

How long after its minute a datapoint reaches CloudWatch is not published by AWS; it is an
assumption here (`SimParams.metric_delay_s`, default 30-120 s, drawn per datapoint).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from devtools.planner.stackmodel import MetricRef

SQS_GAUGES = (
    "ApproximateNumberOfMessagesVisible",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateAgeOfOldestMessage",
    "ApproximateNumberOfMessagesDelayed",
)
SQS_COUNTERS = (
    "NumberOfMessagesSent",
    "NumberOfMessagesReceived",
    "NumberOfMessagesDeleted",
    "NumberOfEmptyReceives",
)
ECS_INSIGHTS = ("RunningTaskCount", "DesiredTaskCount", "PendingTaskCount")
ECS_UTILIZATION = ("CPUUtilization", "MemoryUtilization")
SUPPORTED = {
    "AWS/SQS": SQS_GAUGES + SQS_COUNTERS,
    "ECS/ContainerInsights": ECS_INSIGHTS,
    "AWS/ECS": ECS_UTILIZATION,
}


class UnsupportedMetric(ValueError):
    """A scaling alarm watches a metric the simulator does not produce."""


@dataclass
class MetricStore:
    """Minute datapoints per metric, each with the time it becomes visible to alarms."""

    queue_name: str
    service_name: str
    _points: dict[tuple[str, str], dict[int, tuple[tuple[float, ...], float]]] = field(
        default_factory=lambda: defaultdict(dict)
    )

    def check(self, metric: MetricRef) -> None:
        """Fail unless `metric` is one this simulation publishes, for this queue or service."""
        if metric.name not in SUPPORTED.get(metric.namespace, ()):
            raise UnsupportedMetric(f"{metric.namespace} {metric.name} is not simulated")
        dims = dict(metric.dimensions)
        wanted = self.queue_name if metric.namespace == "AWS/SQS" else self.service_name
        key = "QueueName" if metric.namespace == "AWS/SQS" else "ServiceName"
        if dims.get(key) != wanted:
            raise UnsupportedMetric(f"{metric.name} for {key}={dims.get(key)} is not simulated")
        if metric.period % 60:
            raise UnsupportedMetric(f"{metric.name}: periods are whole minutes for these metrics")

    def publish(
        self, namespace: str, name: str, minute: int, samples: tuple[float, ...], arrival: float
    ) -> None:
        """Record the samples of `minute`, visible to alarms from `arrival` on."""
        self._points[(namespace, name)][minute] = (samples, arrival)

    def series(
        self, metric: MetricRef, first_period: int, count: int, now: float
    ) -> list[float | None]:
        """The statistic per period, from minute datapoints that have arrived by `now`."""
        points = self._points.get((metric.namespace, metric.name), {})
        per = metric.period // 60
        result: list[float | None] = []
        for period in range(first_period, first_period + count):
            values = [
                sample
                for minute in range(period * per, (period + 1) * per)
                if (point := points.get(minute)) is not None and point[1] <= now
                for sample in point[0]
            ]
            result.append(_statistic(values, metric.stat) if values else None)
        return result

    def published(self, namespace: str, name: str, minute: int) -> tuple[float, ...] | None:
        """The samples published for `minute`, arrived or not (for tests and reports)."""
        point = self._points.get((namespace, name), {}).get(minute)
        return None if point is None else point[0]


def _statistic(values: list[float], stat: str) -> float:
    if stat == "Maximum":
        return max(values)
    if stat == "Minimum":
        return min(values)
    if stat == "Sum":
        return sum(values)
    if stat == "SampleCount":
        return float(len(values))
    return sum(values) / len(values)
