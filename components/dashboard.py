"""`Dashboard`: one CloudWatch dashboard for the queue, the workers and the jobs they process.

Jobs processed and failed come from the worker's JSON log lines (`outcome` field) through
log metric filters, so the worker needs no CloudWatch permission to publish them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

#: `outcome` values of the worker's per-message log line, and the metrics counting them.
PROCESSED_OUTCOMES = ("processed",)
FAILED_OUTCOMES = ("retried", "dead_lettered")
#: Container Insights' per-service task counts (the scale-out alarm reads RunningTaskCount).
TASK_COUNT_METRICS = ("DesiredTaskCount", "PendingTaskCount", "RunningTaskCount")


@dataclass(frozen=True, kw_only=True)
class DashboardArgs:
    """Inputs of `Dashboard`."""

    environment: str
    """Stack environment: names the dashboard and the job metrics' namespace."""
    region: pulumi.Input[str]
    """Region of the widgets' metrics and of the console link."""
    queue_name: pulumi.Input[str]
    """Job queue whose waiting, in-flight and oldest jobs are shown."""
    dlq_name: pulumi.Input[str]
    """Dead-letter queue whose visible messages are shown."""
    cluster_name: pulumi.Input[str]
    """ECS cluster of the worker service (a metric dimension)."""
    service_name: pulumi.Input[str]
    """Worker service whose running tasks, CPU and memory are shown."""
    worker_log_group: pulumi.Input[str]
    """Name of the worker's log group; the job metric filters read it."""


class Dashboard(pulumi.ComponentResource):
    """The dashboard and the job metrics behind it."""

    url: pulumi.Output[str]
    """Console address of the dashboard."""

    def __init__(
        self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jobping:index:Dashboard", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = f"JobPing/{args.environment}"
        for metric, outcomes in (
            ("JobsProcessed", PROCESSED_OUTCOMES),
            ("JobsFailed", FAILED_OUTCOMES),
        ):
            aws.cloudwatch.LogMetricFilter(
                f"{name}-{metric.lower()}",
                log_group_name=args.worker_log_group,
                pattern=outcome_pattern(outcomes),
                metric_transformation={
                    "name": metric,
                    "namespace": namespace,
                    "value": "1",
                    "default_value": "0",
                },
                opts=child,
            )
        dashboard_name = f"jobping-{args.environment}"
        body = pulumi.Output.all(
            region=args.region,
            queue=args.queue_name,
            dlq=args.dlq_name,
            cluster=args.cluster_name,
            service=args.service_name,
        ).apply(lambda v: dashboard_body(**v, jobs_namespace=namespace))
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=dashboard_name,
            dashboard_body=body,
            opts=child,
        )
        self.url = pulumi.Output.format(
            "https://{region}.console.aws.amazon.com/cloudwatch/home"
            "?region={region}#dashboards:name={name}",
            region=args.region,
            name=dashboard.dashboard_name,
        )
        self.register_outputs({"url": self.url})


def outcome_pattern(outcomes: tuple[str, ...]) -> str:
    """A JSON log filter matching any of `outcomes`."""
    return "{ " + " || ".join(f'$.outcome = "{o}"' for o in outcomes) + " }"


def dashboard_body(
    region: str, queue: str, dlq: str, cluster: str, service: str, *, jobs_namespace: str
) -> str:
    """The dashboard's widgets, two per row."""

    def sqs(metric: str, queue_name: str) -> list[str]:
        return ["AWS/SQS", metric, "QueueName", queue_name]

    svc = ["ClusterName", cluster, "ServiceName", service]
    visible = "ApproximateNumberOfMessagesVisible"
    widgets = [
        _widget("Jobs waiting", region, [sqs(visible, queue)]),
        _widget("Jobs in flight", region, [sqs("ApproximateNumberOfMessagesNotVisible", queue)]),
        _widget("Oldest job (s)", region, [sqs("ApproximateAgeOfOldestMessage", queue)]),
        _widget("Dead letters", region, [sqs(visible, dlq)]),
        # Desired against running shows tasks still starting: the gap scaling's cooldown covers.
        _widget(
            "Worker tasks: desired, pending, running",
            region,
            [["ECS/ContainerInsights", m, *svc] for m in TASK_COUNT_METRICS],
        ),
        _widget(
            "Worker CPU and memory (%)",
            region,
            [["AWS/ECS", "CPUUtilization", *svc], ["AWS/ECS", "MemoryUtilization", *svc]],
            stat="Average",
        ),
        _widget(
            "Jobs processed and failed",
            region,
            [[jobs_namespace, "JobsProcessed"], [jobs_namespace, "JobsFailed"]],
            stat="Sum",
        ),
    ]
    for i, widget in enumerate(widgets):
        widget.update(x=(i % 2) * 12, y=(i // 2) * 6, width=12, height=6)
    return json.dumps({"widgets": widgets}, sort_keys=True)


def _widget(title: str, region: str, metrics: list[list[str]], stat: str = "Maximum") -> Any:
    return {
        "type": "metric",
        "properties": {
            "title": title,
            "region": region,
            "metrics": metrics,
            "stat": stat,
            "period": 60,
            "view": "timeSeries",
        },
    }
