"""`QueueScaling`: the worker service's desired count, driven by the job queue.

Scale-out is a step policy on `ApproximateNumberOfMessagesVisible` whose alarm fires at one
visible message, so an idle service scaled to zero starts its first task at once; larger
backlogs add more tasks per step. Scale-in is a separate policy whose alarm watches visible
*plus in-flight* messages (metric math): only when both have been zero for the configured
minutes does the service drop to its minimum, so no worker is stopped in the middle of a job.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.settings import ScalingStep, WorkerSettings

StepArgs = aws.appautoscaling.PolicyStepScalingPolicyConfigurationStepAdjustmentArgs
QueryArgs = aws.cloudwatch.MetricAlarmMetricQueryArgs
StepConfigArgs = aws.appautoscaling.PolicyStepScalingPolicyConfigurationArgs
SCALE_OUT_THRESHOLD = 1
IDLE_EXPRESSION = "visible + inflight"


@dataclass(frozen=True, kw_only=True)
class QueueScalingArgs:
    """Inputs of `QueueScaling`."""

    settings: WorkerSettings
    """Min and max tasks, scale-out steps, cooldowns and idle minutes before scale-in."""
    cluster_name: pulumi.Input[str]
    """ECS cluster of the scaled service."""
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
        self._alarms(name, s, args.queue_name)
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

    def _alarms(self, name: str, s: WorkerSettings, queue_name: pulumi.Input[str]) -> None:
        child = pulumi.ResourceOptions(parent=self)
        aws.cloudwatch.MetricAlarm(
            f"{name}-backlog",
            alarm_description="Scale out: jobs are waiting on the queue.",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": queue_name},
            statistic="Maximum",
            period=60,
            evaluation_periods=1,
            threshold=SCALE_OUT_THRESHOLD,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            actions_enabled=True,
            alarm_actions=[self.scale_out.arn],
            opts=child,
        )
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
            opts=child,
        )


def step_adjustments(s: WorkerSettings) -> list[StepArgs]:
    """Scale-out steps, as offsets from the alarm threshold (one visible message)."""
    bounds: list[ScalingStep | None] = [*s.scale_out_steps[1:], None]
    return [
        StepArgs(
            metric_interval_lower_bound=str(step.backlog - SCALE_OUT_THRESHOLD),
            metric_interval_upper_bound=(
                None if following is None else str(following.backlog - SCALE_OUT_THRESHOLD)
            ),
            scaling_adjustment=step.tasks,
        )
        for step, following in zip(s.scale_out_steps, bounds, strict=True)
    ]


def idle_queries(queue_name: pulumi.Input[str]) -> list[QueryArgs]:
    """Metric math: visible + in-flight messages, per minute."""

    def metric(query_id: str, metric_name: str) -> QueryArgs:
        return QueryArgs(
            id=query_id,
            return_data=False,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace="AWS/SQS",
                metric_name=metric_name,
                dimensions={"QueueName": queue_name},
                stat="Maximum",
                period=60,
            ),
        )

    return [
        metric("visible", "ApproximateNumberOfMessagesVisible"),
        metric("inflight", "ApproximateNumberOfMessagesNotVisible"),
        QueryArgs(
            id="backlog",
            expression=IDLE_EXPRESSION,
            label="Visible plus in-flight jobs",
            return_data=True,
        ),
    ]
