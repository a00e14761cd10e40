"""Create the job queue and its DLQ the way the Pulumi `JobQueue` component does.

Used by test fixtures and the local system, so that locally the redrive policy, visibility timeout
and retention are the deployed ones (read from `Pulumi.dev.yaml` by the caller). The settings and
the redrive attributes are `jobping.queueconfig`'s, the ones the stack uses; `QueueSettings` is
named here too for the fixtures that build queues.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobping.queueconfig import QueueSettings, redrive_allow_policy_json, redrive_policy_json

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = ["JobQueues", "QueueSettings", "create_job_queues"]


@dataclass(frozen=True)
class JobQueues:
    """URLs and ARNs of a job queue and its dead-letter queue."""

    url: str
    arn: str
    dlq_url: str
    dlq_arn: str


def create_job_queues(sqs: SQSClient, name: str, settings: QueueSettings) -> JobQueues:
    """Create (or find) `name` and `name-dlq` with the redrive policy; idempotent."""
    dlq_url = sqs.create_queue(
        QueueName=f"{name}-dlq",
        Attributes={"MessageRetentionPeriod": str(settings.dlq_retention_seconds)},
    )["QueueUrl"]
    dlq_arn = _arn(sqs, dlq_url)
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(settings.visibility_timeout_seconds),
            "MessageRetentionPeriod": str(settings.retention_seconds),
            "RedrivePolicy": redrive_policy_json(dlq_arn, settings.max_receive_count),
        },
    )["QueueUrl"]
    arn = _arn(sqs, url)
    sqs.set_queue_attributes(
        QueueUrl=dlq_url,
        Attributes={"RedriveAllowPolicy": redrive_allow_policy_json(arn)},
    )
    return JobQueues(url=url, arn=arn, dlq_url=dlq_url, dlq_arn=dlq_arn)


def _arn(sqs: SQSClient, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
