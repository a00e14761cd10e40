"""CloudWatch alarm evaluation and Application Auto Scaling step policies, as AWS documents them.

Alarm rules (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html):
- each evaluation retrieves more datapoints than Evaluation Periods (N), the *evaluation range*;
  the documented example retrieves 5 for N = 3, so the range here is N + 2;
- with at least N real datapoints in the range, the most recent N real ones are evaluated and the
  missing-data setting is not used; with fewer, missing ones are filled per `treatMissingData`;
- the alarm is ALARM when at least Datapoints to Alarm (M) of the N are breaching, else OK;
- "For Auto Scaling actions, the alarm continues to invoke the action for every period that the
  alarm remains in the new state" (the simulator invokes the policy at each evaluation in ALARM).

Step policies (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepAdjustment.html
and API_StepScalingPolicyConfiguration.html): bounds are offsets of the aggregated metric from
the threshold, the lower bound inclusive above the threshold and exclusive below it; during a
scale-out cooldown the capacity added by the initiating scale-out counts as part of the capacity
for the next one, so only a larger step adds more; a scale-in cooldown blocks further scale-in,
and a scale-out during it ends it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from devtools.planner import metricmath
from devtools.planner.stackmodel import AlarmDef, MetricRef, PolicyDef, Query, Step

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
EXTRA_RANGE = 2
COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


def alarm_state(
    values: Sequence[float | None],
    *,
    n: int,
    m: int,
    breaching: Callable[[float], bool],
    treat_missing: str,
    current: str,
) -> str:
    """The alarm state for one evaluation range (oldest first; None = missing datapoint)."""
    real = [v for v in values if v is not None]
    if len(real) >= n:
        return ALARM if sum(breaching(v) for v in real[-n:]) >= m else OK
    flags = [breaching(v) for v in real]
    fill = n - len(real)
    if treat_missing == "breaching":
        return ALARM if sum(flags) + fill >= m else OK
    if treat_missing == "notBreaching":
        return ALARM if sum(flags) >= m else OK
    # `missing` and `ignore`: only real datapoints count. Enough breaching ones alarm; any
    # non-breaching one (with too few breaching) is OK; otherwise the data cannot decide.
    if sum(flags) >= m:
        return ALARM
    if real and not all(flags):
        return OK
    return INSUFFICIENT_DATA if treat_missing == "missing" else current


class MetricSource(Protocol):
    """Where alarms read datapoints: what CloudWatch holds at a given time."""

    def series(
        self, metric: MetricRef, first_period: int, count: int, now: float
    ) -> list[float | None]:
        """Datapoints of `count` periods from `first_period` (period index), as known at `now`."""
        ...


@dataclass
class AlarmRuntime:
    """One alarm's definition and current state."""

    alarm: AlarmDef
    state: str = OK
    _parsed: dict[str, metricmath.Node] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for query in self.alarm.queries:
            if query.expression is not None:
                self._parsed[query.id] = metricmath.parse(query.expression)

    def evaluate(self, source: MetricSource, now: float) -> list[float]:
        """Evaluate at `now`; update the state; return the N datapoints evaluated (real ones)."""
        alarm = self.alarm
        span = alarm.evaluation_periods + EXTRA_RANGE
        # The newest period in the range is the last one that has ended.
        last = math.floor(now / alarm.period) - 1
        values = self.values(source, last - span + 1, span, now)
        threshold = alarm.threshold
        compare = COMPARE[alarm.comparison]
        self.state = alarm_state(
            values,
            n=alarm.evaluation_periods,
            m=alarm.datapoints_to_alarm,
            breaching=lambda v: compare(v, threshold),
            treat_missing=alarm.treat_missing,
            current=self.state,
        )
        return [v for v in values if v is not None][-alarm.evaluation_periods :]

    def values(
        self, source: MetricSource, first: int, count: int, now: float
    ) -> list[float | None]:
        """The returned query's datapoints over `count` periods from period index `first`."""
        metric_ids = {q.id: q.metric for q in self.alarm.queries if q.metric is not None}
        series = {
            qid: source.series(metric, first, count, now) for qid, metric in metric_ids.items()
        }
        for query in self._in_order():
            value = metricmath.evaluate(self._parsed[query.id], series)
            series[query.id] = _as_series(value, count, query.id)
        returned = [q for q in self.alarm.queries if q.return_data]
        if len(returned) != 1:
            raise metricmath.MetricMathError(f"alarm {self.alarm.name} must return one series")
        return series[returned[0].id]

    def _in_order(self) -> list[Query]:
        done = {q.id for q in self.alarm.queries if q.metric is not None}
        pending = [q for q in self.alarm.queries if q.expression is not None]
        ordered: list[Query] = []
        while pending:
            ready = [q for q in pending if metricmath.ids_in(self._parsed[q.id]) <= done]
            if not ready:
                raise metricmath.MetricMathError(
                    f"alarm {self.alarm.name}: circular or unknown ids"
                )
            ordered += ready
            done |= {q.id for q in ready}
            pending = [q for q in pending if q not in ready]
        return ordered


def _as_series(value: metricmath.Value, count: int, query_id: str) -> list[float | None]:
    if isinstance(value, tuple):
        raise metricmath.MetricMathError(f"{query_id}: an alarm needs one time series")
    if isinstance(value, float):
        return [value] * count
    return list(value)


def aggregate(values: Sequence[float], how: str) -> float | None:
    """The policy's MetricAggregationType over the evaluated datapoints."""
    if not values:
        return None
    if how == "Maximum":
        return max(values)
    if how == "Minimum":
        return min(values)
    return sum(values) / len(values)


def pick_step(steps: Sequence[Step], delta: float, above: bool) -> Step | None:
    """The step whose interval holds `delta` (metric minus threshold)."""
    for step in steps:
        low = -math.inf if step.lower is None else step.lower
        high = math.inf if step.upper is None else step.upper
        # Above the threshold the lower bound is inclusive; below it the upper bound is.
        if (low <= delta < high) if above else (low < delta <= high):
            return step
    return None


def adjusted(policy: PolicyDef, step: Step, capacity: int) -> int:
    """The capacity a step asks for, before the target's bounds."""
    if policy.adjustment_type == "ExactCapacity":
        return int(step.adjustment)
    if policy.adjustment_type == "ChangeInCapacity":
        return capacity + int(step.adjustment)
    change = capacity * step.adjustment / 100  # PercentChangeInCapacity
    # Rounding as the API documents it: away from zero between -1 and 1, toward zero beyond.
    rounded = math.copysign(1, change) if 0 < abs(change) < 1 else math.trunc(change)
    magnitude = policy.min_adjustment_magnitude or 0
    if rounded and abs(rounded) < magnitude:
        rounded = math.copysign(magnitude, rounded)
    return capacity + int(rounded)


@dataclass
class ScalableTarget:
    """The service's desired count between min and max, with the cooldown bookkeeping."""

    min_capacity: int
    max_capacity: int
    desired: int
    out_base: int = 0
    out_until: float = -math.inf
    in_until: float = -math.inf

    def invoke(
        self,
        policy: PolicyDef,
        datapoints: Sequence[float],
        threshold: float,
        above: bool,
        now: float,
    ) -> int | None:
        """Run `policy` for an alarm in ALARM; the new desired count, or None if unchanged."""
        value = aggregate(datapoints, policy.aggregation)
        if value is None:
            return None
        step = pick_step(policy.steps, value - threshold, above)
        if step is None:
            return None
        wanted = self._clamp(adjusted(policy, step, self.desired))
        if wanted > self.desired:
            if now < self.out_until:
                # The initiating scale-out's capacity counts: only a larger step adds more.
                wanted = self._clamp(adjusted(policy, step, self.out_base))
                if wanted <= self.desired:
                    return None
            else:
                self.out_base = self.desired
            self.out_until = now + policy.cooldown
            self.in_until = -math.inf  # a scale-out ends a scale-in cooldown
        elif wanted < self.desired:
            if now < self.in_until:
                return None
            self.in_until = now + policy.cooldown
        else:
            return None
        self.desired = wanted
        return wanted

    def _clamp(self, capacity: int) -> int:
        return max(self.min_capacity, min(self.max_capacity, capacity))


def policies_by_arn(policies: Sequence[PolicyDef]) -> Mapping[str, PolicyDef]:
    """Policies keyed by the ARN alarm actions name."""
    return {policy.arn: policy for policy in policies}
