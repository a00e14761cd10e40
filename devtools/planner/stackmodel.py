"""What the simulator needs, read from the resources the Pulumi program registers.

Nothing here is re-typed from a stack file: the alarms that drive scaling (plain metrics or
metric math), their periods, evaluation periods, datapoints to alarm, missing-data treatment and
thresholds; the step policies they invoke; the scalable target's bounds; the worker's task size,
platform, capacity providers and consumer settings; and the scanner's schedule all come from the
inputs of the resources the program registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devtools.planner import services
from devtools.planner.services import ModelError, ScannerDef, WorkerDef, of_type


@dataclass(frozen=True)
class MetricRef:
    """One CloudWatch metric with the statistic and period a query asks for."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    period: int


@dataclass(frozen=True)
class Query:
    """One entry of an alarm's metric queries: a metric or an expression over other ids."""

    id: str
    metric: MetricRef | None
    expression: str | None
    return_data: bool


@dataclass(frozen=True)
class AlarmDef:
    """A CloudWatch metric alarm as registered (single-metric alarms become one query `m1`)."""

    name: str
    queries: tuple[Query, ...]
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    """A step adjustment: bounds are offsets from the alarm threshold (None = unbounded)."""

    lower: float | None
    upper: float | None
    adjustment: float


@dataclass(frozen=True)
class PolicyDef:
    """An Application Auto Scaling step scaling policy."""

    name: str
    arn: str
    adjustment_type: str
    cooldown: int
    aggregation: str
    min_adjustment_magnitude: int | None
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class StackModel:
    """Everything the simulator reads from one stack's program run."""

    stack: str
    queue_name: str
    worker: WorkerDef
    scanner: ScannerDef
    alarms: tuple[AlarmDef, ...]
    policies: tuple[PolicyDef, ...]
    container_insights: bool


def build_model(snapshot: dict[str, Any]) -> StackModel:
    """Read the simulator's inputs from a `devtools.offline` snapshot."""
    policies = tuple(_policy(r) for r in of_type(snapshot, "aws:appautoscaling/policy:Policy"))
    arns = {policy.arn for policy in policies}
    alarms = tuple(
        _alarm(r)
        for r in of_type(snapshot, "aws:cloudwatch/metricAlarm:MetricAlarm")
        if arns & set(r["inputs"].get("alarmActions") or ())
    )
    if not alarms:
        raise ModelError("no CloudWatch alarm invokes a scaling policy")
    worker = services.worker(snapshot)
    return StackModel(
        stack=snapshot["stack"],
        queue_name=services.queue_name(snapshot, worker.service_name),
        worker=worker,
        scanner=services.scanner(snapshot),
        alarms=alarms,
        policies=policies,
        container_insights=services.container_insights(snapshot, worker.cluster_name),
    )


def _metric(raw: dict[str, Any], stat_key: str) -> MetricRef:
    dims = raw.get("dimensions") or {}
    return MetricRef(
        namespace=raw["namespace"],
        name=raw["metricName"],
        dimensions=tuple(sorted((str(k), str(v)) for k, v in dims.items())),
        stat=raw.get(stat_key) or "Average",
        period=int(raw["period"]),
    )


def _alarm(record: dict[str, Any]) -> AlarmDef:
    i = record["inputs"]
    if i.get("metricQueries"):
        queries = tuple(
            Query(
                id=q["id"],
                metric=_metric(q["metric"], "stat") if q.get("metric") else None,
                expression=q.get("expression"),
                return_data=bool(q.get("returnData", False)),
            )
            for q in i["metricQueries"]
        )
        periods = {q.metric.period for q in queries if q.metric}
        if len(periods) != 1:
            raise ModelError(f"alarm {record['name']}: its metrics must share one period")
        period = periods.pop()
    else:
        queries = (Query("m1", _metric(i, "statistic"), None, True),)
        period = int(i["period"])
    evaluation = int(i["evaluationPeriods"])
    return AlarmDef(
        name=record["name"],
        queries=queries,
        period=period,
        evaluation_periods=evaluation,
        datapoints_to_alarm=int(i.get("datapointsToAlarm") or evaluation),
        threshold=float(i["threshold"]),
        comparison=i["comparisonOperator"],
        # "If this parameter is omitted, the default behavior of missing is used."
        treat_missing=i.get("treatMissingData") or "missing",
        actions=tuple(i.get("alarmActions") or ()) if i.get("actionsEnabled", True) else (),
    )


def _bound(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def _policy(record: dict[str, Any]) -> PolicyDef:
    i = record["inputs"]
    if i.get("policyType", "StepScaling") != "StepScaling":
        raise ModelError(f"policy {record['name']}: only step scaling is simulated")
    config = i["stepScalingPolicyConfiguration"]
    magnitude = config.get("minAdjustmentMagnitude")
    return PolicyDef(
        name=record["name"],
        arn=record["outputs"]["arn"],
        adjustment_type=config["adjustmentType"],
        cooldown=int(config.get("cooldown") or 0),
        aggregation=config.get("metricAggregationType") or "Average",
        min_adjustment_magnitude=None if magnitude is None else int(magnitude),
        steps=tuple(
            Step(
                _bound(s.get("metricIntervalLowerBound")),
                _bound(s.get("metricIntervalUpperBound")),
                float(s["scalingAdjustment"]),
            )
            for s in config["stepAdjustments"]
        ),
    )
