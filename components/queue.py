"""`JobQueue`: the job queue, its dead-letter queue, their policies and alarms."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alerts import metric_alarm
from components.iam import secure_transport_only
from jobping.queueconfig import QueueSettings, redrive_allow_policy_json, redrive_policy_json


@dataclass(frozen=True, kw_only=True)
class JobQueueArgs:
    """Inputs of `JobQueue`."""

    settings: QueueSettings
    """Visibility timeout, redrive count, retention and alarm thresholds."""
    alarm_topic_arn: pulumi.Input[str]
    """SNS topic the queue alarms notify."""


class JobQueue(pulumi.ComponentResource):
    """An SSE-encrypted SQS queue with a DLQ, TLS-only policies and backlog alarms."""

    queue: aws.sqs.Queue
    """The job queue the scanner sends to and the workers consume."""
    dlq: aws.sqs.Queue
    """Where messages go after `maxReceiveCount` receives, or with a permanent error."""

    def __init__(
        self, name: str, args: JobQueueArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jobping:index:JobQueue", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        s = args.settings
        self.dlq = aws.sqs.Queue(
            f"{name}-dlq",
            sqs_managed_sse_enabled=True,
            message_retention_seconds=s.dlq_retention_seconds,
            opts=child,
        )
        self.queue = aws.sqs.Queue(
            f"{name}-queue",
            sqs_managed_sse_enabled=True,
            visibility_timeout_seconds=s.visibility_timeout_seconds,
            message_retention_seconds=s.retention_seconds,
            receive_wait_time_seconds=20,
            opts=child,
        )
        aws.sqs.RedrivePolicy(
            f"{name}-redrive",
            queue_url=self.queue.url,
            redrive_policy=self.dlq.arn.apply(
                lambda arn: redrive_policy_json(arn, s.max_receive_count)
            ),
            opts=child,
        )
        aws.sqs.RedriveAllowPolicy(
            f"{name}-redrive-allow",
            queue_url=self.dlq.url,
            redrive_allow_policy=self.queue.arn.apply(redrive_allow_policy_json),
            opts=child,
        )
        for suffix, queue in (("queue", self.queue), ("dlq", self.dlq)):
            aws.sqs.QueuePolicy(
                f"{name}-{suffix}-policy",
                queue_url=queue.url,
                policy=queue.arn.apply(tls_only_policy),
                opts=child,
            )
        self._alarms(name, s, args.alarm_topic_arn)
        self.register_outputs(
            {"queue_url": self.queue.url, "queue_arn": self.queue.arn, "dlq_url": self.dlq.url}
        )

    def _alarms(self, name: str, s: QueueSettings, topic_arn: pulumi.Input[str]) -> None:
        main = {"QueueName": self.queue.name}
        metric_alarm(
            f"{name}-dlq-not-empty",
            description="The job DLQ holds messages: jobs failed permanently or too often.",
            topic_arn=topic_arn,
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": self.dlq.name},
            threshold=0,
            parent=self,
        )
        metric_alarm(
            f"{name}-oldest-message",
            description=f"A job has waited more than {s.oldest_message_alarm_seconds} s.",
            topic_arn=topic_arn,
            namespace="AWS/SQS",
            metric_name="ApproximateAgeOfOldestMessage",
            dimensions=main,
            threshold=s.oldest_message_alarm_seconds,
            evaluation_periods=3,
            parent=self,
        )
        metric_alarm(
            f"{name}-depth",
            description=f"More than {s.depth_alarm_threshold} jobs are waiting.",
            topic_arn=topic_arn,
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions=main,
            threshold=s.depth_alarm_threshold,
            evaluation_periods=5,
            parent=self,
        )


def tls_only_policy(queue_arn: str) -> str:
    """Deny non-TLS access; same-account access is granted by IAM role policies."""
    statement = secure_transport_only("DenyInsecureTransport", "sqs:*", queue_arn)
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, sort_keys=True)
