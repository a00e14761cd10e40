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
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alerts import (
    event_rule_alarm,
    failed_task_pattern,
    metric_alarm,
    start_failed_pattern,
)
from components.dbaccess import DatabaseEndpoint, app_database_grants, database_environment
from components.iam import Statement, allow, document, role_policy, service_role
from components.queue import tls_only_policy
from components.settings import ScannerStackSettings
from components.tasks import (
    Container,
    FargateTask,
    container_definitions,
    execution_role,
    fargate_task,
    log_group,
)
from components.worker import DatabaseRef, Placement
from jobping import envvars


@dataclass(frozen=True, kw_only=True)
class ScannerScheduleArgs:
    """Inputs of `ScannerSchedule`."""

    settings: ScannerStackSettings
    """Schedule, time zone, task size, sources and Scheduler retries."""
    environment: str
    """Stack environment; names the task definition family."""
    architecture: str
    """CPU architecture of the image: `ARM64` or `X86_64`."""
    account_id: pulumi.Input[str]
    """Account the scanner and Scheduler roles trust."""
    region: pulumi.Input[str]
    """Region of the job queue and the logs."""
    image_ref: pulumi.Input[str]
    """Image the scanner runs (`<repository>@sha256:<digest>`)."""
    repository_arn: pulumi.Input[str]
    """ARN of the ECR repository the execution role may pull from."""
    cluster_arn: pulumi.Input[str]
    """ARN of the ECS cluster the schedule runs the task on."""
    queue_url: pulumi.Input[str]
    """URL of the job queue the scanner sends to."""
    queue_arn: pulumi.Input[str]
    """ARN of the job queue the scanner may send to."""
    database: DatabaseRef
    """Where the database is, and the secret the scanner may read."""
    placement: Placement
    """Where tasks run: subnets, security group, public IP or not."""
    log_retention_days: int
    """Retention in days of the scanner's log group."""
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
        family = f"jobping-{args.environment}-scanner"
        logs = log_group(name, args.log_retention_days, self)
        task_role = self._task_role(name, args)
        exec_role = execution_role(
            name,
            args.account_id,
            args.repository_arn,
            logs,
            self,
            secret_arn=args.database.secret_arn,
            secret_kms_key_arn=args.database.secret_kms_key_arn,
        )
        self.task_definition = fargate_task(
            name,
            FargateTask(
                family=family,
                cpu=args.settings.cpu,
                memory=args.settings.memory,
                architecture=args.architecture,
                containers=self._containers(args, logs),
                task_role=task_role,
                execution_role=exec_role,
            ),
            self,
        )
        self.dead_letter_queue = self._dead_letter_queue(name)
        invoker = self._invoker_role(name, args, family, [task_role, exec_role])
        self.schedule = self._schedule(name, args, invoker)
        self._failure_alarms(name, args, family)
        self.register_outputs({"schedule_name": self.schedule.name})

    def _containers(
        self, args: ScannerScheduleArgs, logs: aws.cloudwatch.LogGroup
    ) -> pulumi.Output[str]:
        db = args.database
        inputs: list[pulumi.Input[Any]] = [args.image_ref, logs.name, args.region, args.queue_url]
        inputs += [db.host, db.port, db.secret_arn]

        def build(v: list[Any]) -> str:
            endpoint = DatabaseEndpoint(
                host=v[4], port=int(v[5]), name=db.name, secret_arn=v[6], app_user=db.app_user
            )
            environment = {
                envvars.JOB_QUEUE_URL: v[3],
                envvars.AWS_REGION: v[2],
                envvars.SCANNER_SOURCES: args.settings.sources,
                envvars.LOG_FORMAT: "json",
                **database_environment(endpoint),
            }
            return container_definitions(
                Container(
                    name="scanner",
                    image=v[0],
                    command=["python", "-m", "scanner"],
                    environment=environment,
                    log_group=v[1],
                    region=v[2],
                ),
                migrate=endpoint,
            )

        return pulumi.Output.all(*inputs).apply(build)

    def _task_role(self, name: str, args: ScannerScheduleArgs) -> aws.iam.Role:
        role = service_role(
            f"{name}-task-role",
            "ecs-tasks.amazonaws.com",
            args.account_id,
            "JobPing scanner: send to the job queue, connect to the database",
            self,
        )
        db = args.database
        database = app_database_grants(db.secret_arn, db.app_user_arn, db.secret_kms_key_arn)
        policy = pulumi.Output.all(args.queue_arn, database).apply(
            lambda v: scanner_task_policy(v[0], v[1])
        )
        role_policy(f"{name}-task-policy", role, policy, self)
        return role

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
        self, name: str, args: ScannerScheduleArgs, family: str, passed: list[aws.iam.Role]
    ) -> aws.iam.Role:
        role = service_role(
            f"{name}-scheduler-role",
            "scheduler.amazonaws.com",
            args.account_id,
            "EventBridge Scheduler: run the JobPing scanner task",
            self,
        )
        values = [args.cluster_arn, self.dead_letter_queue.arn, *(r.arn for r in passed)]
        policy = pulumi.Output.all(*values).apply(
            lambda v: scheduler_policy(
                task_family_arn=f"{v[0].split(':cluster/')[0]}:task-definition/{family}:*",
                cluster_arn=v[0],
                dead_letter_arn=v[1],
                passed_role_arns=v[2:],
            )
        )
        role_policy(f"{name}-scheduler-policy", role, policy, self)
        return role

    def _schedule(
        self, name: str, args: ScannerScheduleArgs, invoker: aws.iam.Role
    ) -> aws.scheduler.Schedule:
        s = args.settings
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
                        "subnets": args.placement.subnet_ids,
                        "security_groups": [args.placement.security_group_id],
                        "assign_public_ip": args.placement.assign_public_ip,
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
