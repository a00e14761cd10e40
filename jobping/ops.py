"""Everyday queue tools for operators: stats, DLQ peek, DLQ redrive.

They work against AWS or any SQS-compatible endpoint (moto, ElasticMQ, LocalStack). The DLQ is
always found from the main queue's RedrivePolicy, as the worker finds it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef, SendMessageBatchRequestEntryTypeDef

log = logging.getLogger(__name__)

#: Attributes the worker adds when it dead-letters a message; dropped on redrive.
ERROR_ATTRIBUTE_PREFIX = "jobping."
_UNSUPPORTED = {
    "InvalidAction",
    "UnsupportedOperation",
    "NotImplemented",
    "InternalFailure",
    "AWS.SimpleQueueService.UnsupportedOperation",
    "500",
}


class QueueError(RuntimeError):
    """The queue cannot be found or used; the message says which and why."""


@dataclass(frozen=True)
class QueueStats:
    """Depths of a queue (SQS's approximate counts)."""

    url: str
    visible: int
    in_flight: int
    delayed: int


@dataclass(frozen=True)
class PeekedMessage:
    """A DLQ message with the failure reason the worker attached."""

    message_id: str
    body: str
    receive_count: int
    attributes: dict[str, str]


@dataclass(frozen=True)
class RedriveResult:
    """What a redrive did: moved messages, or the SQS move task it started."""

    moved: int
    method: str  # "move-task" or "copy"
    task_handle: str | None = None


def resolve_queue_url(sqs: SQSClient, url: str | None, name: str | None) -> str:
    """The queue's URL, from a URL or a name; QueueError if neither works."""
    if url:
        return url
    if not name:
        raise QueueError("no queue: pass --queue-url or --queue-name, or set JOB_QUEUE_URL")
    try:
        return sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as error:
        raise QueueError(f"queue {name!r} not found: {_code(error)}") from None


def queue_stats(sqs: SQSClient, url: str) -> QueueStats:
    """Visible, in-flight and delayed counts of `url`."""
    attrs = _attributes(sqs, url)
    return QueueStats(
        url=url,
        visible=int(attrs.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
        delayed=int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
    )


def oldest_age_seconds(cloudwatch: CloudWatchClient, url: str) -> float | None:
    """ApproximateAgeOfOldestMessage over the last 15 minutes (CloudWatch), None if no data.

    SQS's API has no such attribute and receiving would count as a delivery, so the metric is
    the only honest source; local emulators usually have no data points.
    """
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": url.rstrip("/").rsplit("/", 1)[-1]}],
        StartTime=now - timedelta(minutes=15),
        EndTime=now,
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    if not points:
        return None
    return float(max(points, key=lambda p: p["Timestamp"]).get("Maximum", 0.0))


def dlq_url_of(sqs: SQSClient, url: str) -> str | None:
    """The DLQ named by `url`'s RedrivePolicy, or None if it has none."""
    policy = _attributes(sqs, url).get("RedrivePolicy")
    if not policy:
        return None
    arn = str(json.loads(policy)["deadLetterTargetArn"])
    account, name = arn.split(":")[4], arn.split(":")[5]
    try:
        return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    except ClientError as error:
        raise QueueError(f"DLQ {arn} not found: {_code(error)}") from None


def peek(sqs: SQSClient, dlq_url: str, count: int) -> list[PeekedMessage]:
    """Show up to `count` DLQ messages without deleting them (visible again at once)."""
    seen: dict[str, PeekedMessage] = {}
    handles: list[str] = []
    for _ in range(max(1, (count + 9) // 10) * 2):  # a few empty receives are normal
        if len(seen) >= count:
            break
        for message in _receive(sqs, dlq_url, min(10, count - len(seen)), visibility=30):
            handles.append(message["ReceiptHandle"])
            seen.setdefault(message["MessageId"], _peeked(message))
    _release(sqs, dlq_url, handles)
    return list(seen.values())[:count]


def redrive(
    sqs: SQSClient, dlq_url: str, source_url: str, max_messages: int | None = None
) -> RedriveResult:
    """Move DLQ messages back to `source_url`.

    Uses SQS's StartMessageMoveTask when the endpoint has it (and no `max_messages` is given);
    otherwise copies in batches: send, and delete from the DLQ only what SQS accepted.

    The move task is given `source_url`'s ARN as `DestinationArn`. Without it, SQS sends each
    message back to the queue named by its `DeadLetterQueueSourceArn`, which only messages SQS
    itself dead-lettered carry; those the worker moved (permanent failures) have none.
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html
    """
    if max_messages is None:
        dlq_arn = _attributes(sqs, dlq_url)["QueueArn"]
        source_arn = _attributes(sqs, source_url)["QueueArn"]
        try:
            handle = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=source_arn)[
                "TaskHandle"
            ]
            return RedriveResult(moved=0, method="move-task", task_handle=handle)
        except ClientError as error:
            if _code(error) not in _UNSUPPORTED:
                raise
            log.info("StartMessageMoveTask unavailable (%s); copying instead", _code(error))
    return RedriveResult(moved=_copy(sqs, dlq_url, source_url, max_messages), method="copy")


def _copy(sqs: SQSClient, dlq_url: str, source_url: str, max_messages: int | None) -> int:
    moved = 0
    while max_messages is None or moved < max_messages:
        want = 10 if max_messages is None else min(10, max_messages - moved)
        messages = _receive(sqs, dlq_url, want, visibility=60)
        if not messages:
            break
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "MessageBody": m["Body"], "MessageAttributes": _kept_attributes(m)}
            for i, m in enumerate(messages)
        ]
        sent = sqs.send_message_batch(QueueUrl=source_url, Entries=entries)
        ok = {entry["Id"] for entry in sent.get("Successful", [])}
        done = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(messages)
            if str(i) in ok
        ]
        if done:
            deleted = sqs.delete_message_batch(QueueUrl=dlq_url, Entries=done)  # type: ignore[arg-type]
            moved += len(deleted.get("Successful", []))
        _release(
            sqs, dlq_url, [m["ReceiptHandle"] for i, m in enumerate(messages) if str(i) not in ok]
        )
        if len(ok) < len(messages):
            raise QueueError(f"{len(messages) - len(ok)} message(s) could not be sent; left in DLQ")
    return moved


def _receive(sqs: SQSClient, url: str, count: int, visibility: int) -> list[MessageTypeDef]:
    return sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=count,
        VisibilityTimeout=visibility,
        WaitTimeSeconds=1,
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])


def _release(sqs: SQSClient, url: str, handles: list[str]) -> None:
    for start in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for i, h in enumerate(handles[start : start + 10])
            ],
        )


def _kept_attributes(message: MessageTypeDef) -> dict[str, Any]:
    return {
        key: value
        for key, value in message.get("MessageAttributes", {}).items()
        if not key.startswith(ERROR_ATTRIBUTE_PREFIX)
    }


def _peeked(message: MessageTypeDef) -> PeekedMessage:
    attributes = {
        key: str(value.get("StringValue", value.get("BinaryValue", "")))
        for key, value in message.get("MessageAttributes", {}).items()
    }
    return PeekedMessage(
        message_id=message["MessageId"],
        body=message["Body"],
        receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
        attributes=attributes,
    )


def _attributes(sqs: SQSClient, url: str) -> dict[str, str]:
    try:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return {str(key): value for key, value in attributes.items()}
    except ClientError as error:
        raise QueueError(f"queue {url} not usable: {_code(error)}") from None


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "unknown"))
