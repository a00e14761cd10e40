"""`QueueScaling`: the worker service's desired count, driven by the job queue.

**Scale-out sizes the service to its backlog.** The scale-out alarm watches, per minute, how
many tasks the backlog needs beyond those running (metric math, `SHORTFALL_EXPRESSION`):

    tasks_short = IF(visible >= 0, CEIL(visible / backlogPerTask) - FILL(running, REPEAT))

`visible` is the queue's `ApproximateNumberOfMessagesVisible` (AWS/SQS) and `running` the
service's `RunningTaskCount` (ECS/ContainerInsights, dimensions ClusterName and ServiceName;
Container Insights is enabled on the cluster; https://docs.aws.amazon.com/AmazonCloudWatch/latest/
monitoring/Container-Insights-metrics-ECS.html). The alarm fires at `tasks_short >= 1` and its
step policy adds exactly `tasks_short` tasks (one step per value, `ChangeInCapacity`, up to
`STEP_LIMIT`), so one invocation brings the service to what the backlog needs and no further.

Why this shape (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html):
- An empty service still starts its first task at once: with no task running, Container Insights
  may publish no `RunningTaskCount` at all, and arithmetic treats a missing value as 0, so one
  visible message gives `CEIL(1 / backlogPerTask) - 0 = 1`.
- `FILL(running, REPEAT)` carries the last known task count over a minute whose datapoint is late,
  so a delayed `RunningTaskCount` never reads as "no task running" and over-provisions.
- `IF(visible >= 0, ...)` keeps only the minutes SQS has published: without it the latest minute
  would read `0 - running` whenever the SQS datapoint is late, and the alarm would stay OK.

**Repeated invocations do not climb to maxTasks.** CloudWatch performs Auto Scaling actions again
every period while the alarm stays in ALARM, unlike other actions, which run only on a state
change (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html). The
metric counts RUNNING tasks, so tasks that are still starting look missing. Step scaling's
cooldown covers that gap: for a scale-out policy, while the cooldown runs the capacity its last
activity added counts as already there, and the policy adds more only for a larger step
(https://docs.aws.amazon.com/autoscaling/application/userguide/step-scaling-policy-overview.html).
The cooldown is at least a Fargate cold start (`settings_rules.COLD_START_SECONDS`), so by the
time it ends the new tasks are running and counted, and the shortfall is what is really missing.

**Scale-in waits for an idle queue.** A separate policy's alarm watches visible *plus in-flight*
messages: only when both have been zero for `scaleInIdleMinutes` does the service drop to its
minimum (`ExactCapacity`), so no worker is stopped in the middle of a job. Settings validation
makes that window plus the drain shorter than the scanner's interval, so scale-in happens between
two scans. Scale-in cooldowns block further scale-in only; a scale-out alarm acts at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.settings import WorkerStackSettings

StepArgs = aws.appautoscaling.PolicyStepScalingPolicyConfigurationStepAdjustmentArgs
QueryArgs = aws.cloudwatch.MetricAlarmMetricQueryArgs
MetricArgs = aws.cloudwatch.MetricAlarmMetricQueryMetricArgs
StepConfigArgs = aws.appautoscaling.PolicyStepScalingPolicyConfigurationArgs
#: The scale-out alarm fires when at least one more task is needed.
SCALE_OUT_THRESHOLD = 1
#: Step adjustments per step scaling policy (the default quota; https://docs.aws.amazon.com/
#: autoscaling/application/userguide/application-auto-scaling-quotas.html). A larger shortfall
#: adds this many tasks and the rest after the cooldown.
STEP_LIMIT = 20
SHORTFALL_EXPRESSION = "IF(visible >= 0, CEIL(visible / {per_task}) - FILL(running, REPEAT))"
IDLE_EXPRESSION = "visible + inflight"
PERIOD = 60


@dataclass(frozen=True, kw_only=True)
class QueueScalingArgs:
    """Inputs of `QueueScaling`."""

    settings: WorkerStackSettings
    """Min and max tasks, backlog per task, cooldowns and idle minutes before scale-in."""
    cluster_name: pulumi.Input[str]
    """ECS cluster of the scaled service (a dimension of its running-task metric)."""
    service_name: pulumi.Input[str]
    """The ECS service whose desired count is scaled."""
    queue_name: pulumi.Input[str]
    """Name of the job queue whose backlog drives the scaling alarms."""


class QueueScaling(pulumi.ComponentResource):
    """Step scaling of an ECS service on its SQS backlog, between min and max tasks."""

    target: aws.appautoscaling.Target
    scale_out: aws.appautoscaling.Policy
    scale_in: aws.appautoscaling.Policy

    def __init__(
        self, name: str, args: QueueScalingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jobping:index:QueueScaling", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        s = args.settings
        self.target = aws.appautoscaling.Target(
            f"{name}-target",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", args.cluster_name, "/", args.service_name),
            min_capacity=s.min_tasks,
            max_capacity=s.max_tasks,
            opts=child,
        )
        self.scale_out = self._policy(
            f"{name}-out", "ChangeInCapacity", s.scale_out_cooldown_seconds, step_adjustments(s)
        )
        self.scale_in = self._policy(
            f"{name}-in",
            "ExactCapacity",
            s.scale_in_cooldown_seconds,
            [StepArgs(metric_interval_upper_bound="0", scaling_adjustment=s.min_tasks)],
        )
        self._backlog_alarm(name, s, args)
        self._idle_alarm(name, s, args.queue_name)
        self.register_outputs({"resource_id": self.target.resource_id})

    def _policy(
        self, name: str, adjustment: str, cooldown: int, steps: list[StepArgs]
    ) -> aws.appautoscaling.Policy:
        return aws.appautoscaling.Policy(
            name,
            policy_type="StepScaling",
            service_namespace=self.target.service_namespace,
            scalable_dimension=self.target.scalable_dimension,
            resource_id=self.target.resource_id,
            step_scaling_policy_configuration=StepConfigArgs(
                adjustment_type=adjustment,
                cooldown=cooldown,
                metric_aggregation_type="Maximum",
                step_adjustments=steps,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _backlog_alarm(self, name: str, s: WorkerStackSettings, args: QueueScalingArgs) -> None:
        aws.cloudwatch.MetricAlarm(
            f"{name}-backlog",
            alarm_description=(
                f"Scale out: the backlog needs more tasks than run ({s.backlog_per_task} "
                "visible jobs per task)."
            ),
            metric_queries=shortfall_queries(s, args),
            evaluation_periods=1,
            datapoints_to_alarm=1,
            threshold=SCALE_OUT_THRESHOLD,
            comparison_operator="GreaterThanOrEqualToThreshold",
            # No datapoint: the queue is inactive, so SQS publishes nothing and nothing waits.
            treat_missing_data="notBreaching",
            actions_enabled=True,
            alarm_actions=[self.scale_out.arn],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _idle_alarm(self, name: str, s: WorkerStackSettings, queue_name: pulumi.Input[str]) -> None:
        aws.cloudwatch.MetricAlarm(
            f"{name}-idle",
            alarm_description=(
                f"Scale in: no job waiting or in flight for {s.scale_in_idle_minutes} minutes."
            ),
            metric_queries=idle_queries(queue_name),
            evaluation_periods=s.scale_in_idle_minutes,
            datapoints_to_alarm=s.scale_in_idle_minutes,
            threshold=0,
            comparison_operator="LessThanOrEqualToThreshold",
            treat_missing_data="missing",
            actions_enabled=True,
            alarm_actions=[self.scale_in.arn],
            opts=pulumi.ResourceOptions(parent=self),
        )


def step_adjustments(s: WorkerStackSettings) -> list[StepArgs]:
    """One step per shortfall value: `tasks_short == k` adds k tasks (bounds are offsets from 1).

    The last step is open-ended: a shortfall beyond it adds its size and the rest after the
    cooldown; capacity never exceeds `maxTasks` whatever the step says.
    """
    last = min(s.max_tasks, STEP_LIMIT)
    return [
        StepArgs(
            metric_interval_lower_bound=str(k - SCALE_OUT_THRESHOLD),
            metric_interval_upper_bound=None if k == last else str(k + 1 - SCALE_OUT_THRESHOLD),
            scaling_adjustment=k,
        )
        for k in range(1, last + 1)
    ]


def _metric(
    query_id: str,
    namespace: str,
    metric_name: str,
    dimensions: Mapping[str, pulumi.Input[str]],
) -> QueryArgs:
    return QueryArgs(
        id=query_id,
        return_data=False,
        metric=MetricArgs(
            namespace=namespace,
            metric_name=metric_name,
            dimensions=dimensions,
            stat="Maximum",
            period=PERIOD,
        ),
    )


def shortfall_queries(s: WorkerStackSettings, args: QueueScalingArgs) -> list[QueryArgs]:
    """Metric math: the tasks the backlog needs beyond those running, per minute."""
    service = {"ClusterName": args.cluster_name, "ServiceName": args.service_name}
    return [
        _metric(
            "visible",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": args.queue_name},
        ),
        _metric("running", "ECS/ContainerInsights", "RunningTaskCount", service),
        QueryArgs(
            id="tasks_short",
            expression=SHORTFALL_EXPRESSION.format(per_task=s.backlog_per_task),
            label="Tasks the backlog needs beyond those running",
            return_data=True,
        ),
    ]


def idle_queries(queue_name: pulumi.Input[str]) -> list[QueryArgs]:
    """Metric math: visible + in-flight messages, per minute."""
    queue = {"QueueName": queue_name}
    return [
        _metric("visible", "AWS/SQS", "ApproximateNumberOfMessagesVisible", queue),
        _metric("inflight", "AWS/SQS", "ApproximateNumberOfMessagesNotVisible", queue),
        QueryArgs(
            id="backlog",
            expression=IDLE_EXPRESSION,
            label="Visible plus in-flight jobs",
            return_data=True,
        ),
    ]
