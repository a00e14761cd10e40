"""`ScannerSchedule`: the scanner task and the EventBridge Scheduler schedule that runs it.

Scheduler's retry policy and DLQ cover the RunTask call only. What happens to the task after
RunTask accepted it comes from ECS task state-change events (https://docs.aws.amazon.com/AmazonECS/
latest/developerguide/ecs_task_events.html), two EventBridge rules, each with an alarm:
- a scan that ran and failed stops with a non-zero container exit code;
- a task that never ran (image pull or secret retrieval failed, no capacity, ENI trouble) stops
  with `stopCode` `TaskFailedToStart` and no exit code at all, so the first rule cannot see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pulumi
import pulumi_aws as aws

from components.alerts import (
    event_rule_alarm,
    failed_task_pattern,
    metric_alarm,
    start_failed_pattern,
)
from components.containers import Container
from components.iam import Statement, allow, document, role_policy, service_role
from components.queue import tls_only_policy
from components.settings import ScannerStackSettings
from components.tasks import (
    TaskTarget,
    app_task_definition,
    app_task_role,
    execution_role,
    log_group,
    task_family,
)
from jobping import envvars


@dataclass(frozen=True, kw_only=True)
class ScannerScheduleArgs:
    """Inputs of `ScannerSchedule`."""

    settings: ScannerStackSettings
    """Schedule, time zone, task size, sources and Scheduler retries."""
    target: TaskTarget
    """Image, queue, database, subnets and account the scanner task runs with."""
    cluster_arn: pulumi.Input[str]
    """ARN of the ECS cluster the schedule runs the task on."""
    alarm_topic_arn: pulumi.Input[str]
    """SNS topic notified when a run fails or cannot start."""


class ScannerSchedule(pulumi.ComponentResource):
    """Scanner task definition, its schedule (with retries and a DLQ) and failure alarms."""

    schedule: aws.scheduler.Schedule
    task_definition: aws.ecs.TaskDefinition
    dead_letter_queue: aws.sqs.Queue

    def __init__(
        self, name: str, args: ScannerScheduleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jobping:index:ScannerSchedule", name, None, opts)
        target = args.target
        logs = log_group(name, target.log_retention_days, self)
        task_role = self._task_role(name, args)
        exec_role = execution_role(name, target, logs, self)
        self.task_definition = app_task_definition(
            name,
            scanner_container(args.settings),
            target,
            cpu=args.settings.cpu,
            memory=args.settings.memory,
            logs=logs,
            task_role=task_role,
            execution_role=exec_role,
            parent=self,
        )
        self.dead_letter_queue = self._dead_letter_queue(name)
        invoker = self._invoker_role(name, args, [task_role, exec_role])
        self.schedule = self._schedule(name, args, invoker)
        self._failure_alarms(name, args, task_family(target.environment, "scanner"))
        self.register_outputs({"schedule_name": self.schedule.name})

    def _task_role(self, name: str, args: ScannerScheduleArgs) -> aws.iam.Role:
        return app_task_role(
            name,
            args.target,
            "JobPing scanner: send to the job queue, connect to the database",
            self,
            lambda v: scanner_task_policy(v["queue"], v["database"]),
            queue=args.target.queue_arn,
        )

    def _dead_letter_queue(self, name: str) -> aws.sqs.Queue:
        child = pulumi.ResourceOptions(parent=self)
        queue = aws.sqs.Queue(
            f"{name}-schedule-dlq",
            sqs_managed_sse_enabled=True,
            message_retention_seconds=14 * 24 * 3600,
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-schedule-dlq-policy",
            queue_url=queue.url,
            policy=queue.arn.apply(tls_only_policy),
            opts=child,
        )
        return queue

    def _invoker_role(
        self, name: str, args: ScannerScheduleArgs, passed: list[aws.iam.Role]
    ) -> aws.iam.Role:
        role = service_role(
            f"{name}-scheduler-role",
            "scheduler.amazonaws.com",
            args.target.account_id,
            "EventBridge Scheduler: run the JobPing scanner task",
            self,
        )
        policy = pulumi.Output.all(
            # Every revision of the family: a new image is a new revision of the same family.
            family=self.task_definition.arn_without_revision,
            cluster=args.cluster_arn,
            dead_letter=self.dead_letter_queue.arn,
            roles=pulumi.Output.all(*(r.arn for r in passed)),
        ).apply(
            lambda v: scheduler_policy(
                task_family_arn=f"{v['family']}:*",
                cluster_arn=v["cluster"],
                dead_letter_arn=v["dead_letter"],
                passed_role_arns=v["roles"],
            )
        )
        role_policy(f"{name}-scheduler-policy", role, policy, self)
        return role

    def _schedule(
        self, name: str, args: ScannerScheduleArgs, invoker: aws.iam.Role
    ) -> aws.scheduler.Schedule:
        s, placement = args.settings, args.target.placement
        group = aws.scheduler.ScheduleGroup(
            f"{name}-group", opts=pulumi.ResourceOptions(parent=self)
        )
        return aws.scheduler.Schedule(
            f"{name}-schedule",
            group_name=group.name,
            description="Run the JobPing scanner once",
            schedule_expression=s.schedule,
            schedule_expression_timezone=s.timezone,
            flexible_time_window={"mode": "OFF"},
            state="ENABLED",
            target={
                "arn": args.cluster_arn,
                "role_arn": invoker.arn,
                "ecs_parameters": {
                    "task_definition_arn": self.task_definition.arn,
                    "launch_type": "FARGATE",
                    "platform_version": "LATEST",
                    "task_count": 1,
                    "network_configuration": {
                        "subnets": placement.subnet_ids,
                        "security_groups": [placement.security_group_id],
                        "assign_public_ip": placement.assign_public_ip,
                    },
                },
                "retry_policy": {
                    "maximum_retry_attempts": s.retry_attempts,
                    "maximum_event_age_in_seconds": s.max_event_age_seconds,
                },
                "dead_letter_config": {"arn": self.dead_letter_queue.arn},
            },
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _failure_alarms(self, name: str, args: ScannerScheduleArgs, family: str) -> None:
        task_events = {
            "failed": (
                "A JobPing scanner task stopped with a non-zero exit code",
                "The scanner exited non-zero (some source failed, or bad config).",
                failed_task_pattern,
            ),
            "start-failed": (
                "A JobPing scanner task stopped before it ran (TaskFailedToStart)",
                "A scanner task failed to start (image pull, secrets, capacity): no scan ran.",
                start_failed_pattern,
            ),
        }
        for kind, (rule_description, alarm_description, pattern) in task_events.items():
            event_rule_alarm(
                f"{name}-{kind}",
                rule_description=rule_description,
                alarm_description=alarm_description,
                pattern=pulumi.Output.from_input(args.cluster_arn).apply(
                    partial(pattern, family=family)
                ),
                topic_arn=args.alarm_topic_arn,
                parent=self,
            )
        metric_alarm(
            f"{name}-not-started",
            description="EventBridge Scheduler could not start the scanner (see its DLQ).",
            topic_arn=args.alarm_topic_arn,
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": self.dead_letter_queue.name},
            threshold=0,
            parent=self,
        )


def scanner_container(s: ScannerStackSettings) -> Container:
    """The scanner's own container settings; `task_containers` adds the queue and database."""
    return Container(
        name="scanner",
        command=["python", "-m", "scanner"],
        environment={envvars.SCANNER_SOURCES: s.sources},
    )


def scanner_task_policy(queue_arn: str, database: list[Statement]) -> str:
    """The scanner may send to the job queue and connect to the database; nothing else."""
    return document(allow("EnqueueJobs", ["sqs:SendMessage"], [queue_arn]), *database)


def scheduler_policy(
    *,
    task_family_arn: str,
    cluster_arn: str,
    dead_letter_arn: str,
    passed_role_arns: list[str],
) -> str:
    """RunTask of the scanner family on this cluster, PassRole of its two roles, the DLQ."""
    return document(
        allow(
            "RunScannerTask",
            ["ecs:RunTask"],
            [task_family_arn],
            {"ArnEquals": {"ecs:cluster": cluster_arn}},
        ),
        allow(
            "PassScannerRoles",
            ["iam:PassRole"],
            passed_role_arns,
            {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        ),
        allow("DeadLetter", ["sqs:SendMessage"], [dead_letter_arn]),
    )
