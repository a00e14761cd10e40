"""The job queue's settings (`jobping:queue`) and its redrive policies: one definition for all.

The Pulumi program (`components/queue.py`) declares the queue and its DLQ from `QueueSettings`,
the local system (`devtools/local`) creates its queues from `Pulumi.dev.yaml` with it, and
compose's drift test holds `compose/elasticmq.conf` to it. `parse_queue_settings` is the one
validator of a stack file's `jobping:queue`; `redrive_policy_json` and
`redrive_allow_policy_json` are the one spelling of the two redrive attributes.

It lives in the runtime core, not in `components/`, because both sides import it: the image must
run without Pulumi, and `components` may import only plain definitions from the runtime. So it
needs nothing but the standard library and pydantic (via `jobping.stackfile`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, StrictInt, TypeAdapter, model_validator

from jobping.stackfile import STACK_FILE, Problem, validate

HOUR = 3600
DAY = 24 * HOUR


@dataclass(frozen=True, kw_only=True)
class QueueSettings:
    """`jobping:queue`: the job queue and its DLQ.

    The ranges are what a stack may deploy; tests may build shorter timeouts directly.
    """

    __pydantic_config__ = STACK_FILE

    visibility_timeout_seconds: Annotated[StrictInt, Field(ge=30, le=12 * HOUR)] = 300
    """`visibilityTimeoutSeconds`: how long a received message stays hidden."""
    max_receive_count: Annotated[StrictInt, Field(ge=2, le=1000)] = 3
    """`maxReceiveCount`: receives before SQS moves a message to the DLQ (never 1)."""
    retention_seconds: Annotated[StrictInt, Field(ge=60, le=14 * DAY)] = 4 * DAY
    """`retentionSeconds`: how long the main queue keeps a message."""
    dlq_retention_seconds: Annotated[StrictInt, Field(le=14 * DAY)] = 14 * DAY
    """`dlqRetentionSeconds`: how long the DLQ keeps a message (longer than the main queue)."""
    oldest_message_alarm_seconds: Annotated[StrictInt, Field(ge=60)] = 900
    """`oldestMessageAlarmSeconds`: alarm when the oldest message is older than this."""
    depth_alarm_threshold: Annotated[StrictInt, Field(ge=1)] = 1000
    """`depthAlarmThreshold`: alarm when more messages than this are visible."""

    @model_validator(mode="after")
    def _within_retention(self) -> QueueSettings:
        # A dead letter keeps its original enqueue time, so a DLQ that keeps messages no longer
        # than the main queue drops them soon after they arrive (https://docs.aws.amazon.com/
        # AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
        if self.dlq_retention_seconds <= self.retention_seconds:
            raise Problem(
                f"must be at least {self.retention_seconds + 1}, got {self.dlq_retention_seconds}",
                "dlqRetentionSeconds",
            )
        if self.oldest_message_alarm_seconds > self.retention_seconds:
            raise Problem(
                f"must be at most {self.retention_seconds}, "
                f"got {self.oldest_message_alarm_seconds}",
                "oldestMessageAlarmSeconds",
            )
        return self


_QUEUE = TypeAdapter(QueueSettings)


def parse_queue_settings(values: object, key: str = "jobping:queue") -> QueueSettings:
    """A stack file's `jobping:queue` object (None: every default), or a `SettingsError`."""
    return validate(_QUEUE, {} if values is None else values, f"{key}.")


def redrive_policy_json(dlq_arn: str, max_receive_count: int) -> str:
    """The job queue's `RedrivePolicy`: to `dlq_arn` after `max_receive_count` receives.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
    """
    return json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})


def redrive_allow_policy_json(source_queue_arn: str) -> str:
    """The DLQ's `RedriveAllowPolicy`: dead letters from the job queue only (`byQueue`)."""
    return json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [source_queue_arn]})
