"""The SQS transport: the only worker module that speaks SQS.

The consumer sees a `Queue` protocol of plain values (`Received`, `Entry`, `BatchFailure`), so
tests can hand it an in-memory fake; `SqsQueue` implements it with one boto3 client that is built
once in `main()` and shared by every thread (boto3 clients are thread-safe).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

log = logging.getLogger(__name__)

#: SQS's limit on entries per batch call and on messages per receive.
MAX_BATCH = 10
#: SQS's limit on a message's total visibility (from when it was sent).
MAX_VISIBILITY_SECONDS = 43_200
#: SQS's limit on message attributes per message.
MAX_MESSAGE_ATTRIBUTES = 10

#: The one system attribute the worker reads: retry delays and DLQ decisions depend on it.
_SYSTEM_ATTRIBUTES: list[Any] = ["ApproximateReceiveCount"]

MessageAttributes = Mapping[str, "MessageAttributeValueTypeDef"]


@dataclass(frozen=True)
class Received:
    """One received message, as plain values."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int = 1
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    """One entry of a batch call: a receipt handle and, for visibility changes, the timeout."""

    id: str
    receipt_handle: str
    visibility_timeout: int = 0


@dataclass(frozen=True)
class BatchFailure:
    """One `Failed` entry of a batch response."""

    id: str
    code: str
    message: str
    sender_fault: bool


@dataclass(frozen=True)
class QueueInfo:
    """What the consumer reads about its queue once at start."""

    url: str
    visibility_timeout: int
    dlq_url: str | None
    max_receive_count: int | None


class Queue(Protocol):
    """What the consumer needs from a queue; `SqsQueue` is the real one."""

    def describe(self) -> QueueInfo:
        """Visibility timeout and the dead-letter queue from the redrive policy."""
        ...

    def receive(self, max_messages: int, wait_seconds: int) -> list[Received]:
        """Long-poll for up to `max_messages` messages."""
        ...

    def delete_batch(self, entries: Sequence[Entry]) -> list[BatchFailure]:
        """Delete up to 10 messages; return the entries SQS reports as failed."""
        ...

    def change_visibility_batch(self, entries: Sequence[Entry]) -> list[BatchFailure]:
        """Set the visibility of up to 10 messages; return the failed entries."""
        ...

    def change_visibility(self, receipt_handle: str, timeout: int) -> None:
        """Set one message's visibility timeout (seconds from now)."""
        ...

    def send_to_dlq(self, dlq_url: str, body: str, attributes: MessageAttributes) -> str:
        """Send `body` unchanged to the DLQ with `attributes`; return the new message id."""
        ...


class SqsQueue:
    """`Queue` on a real SQS (or emulator) queue through one shared boto3 client."""

    def __init__(self, client: SQSClient, url: str) -> None:
        """Wrap `client` for the queue at `url`."""
        self._client = client
        self.url = url

    def describe(self) -> QueueInfo:
        """Read VisibilityTimeout and RedrivePolicy; resolve the DLQ's URL from its ARN."""
        attrs = self._client.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
        )["Attributes"]
        dlq_url, max_receives = None, None
        if policy_text := attrs.get("RedrivePolicy"):
            policy = json.loads(policy_text)
            max_receives = int(policy["maxReceiveCount"])
            # arn:aws:sqs:<region>:<account>:<name>
            _, _, _, _, account, name = str(policy["deadLetterTargetArn"]).split(":", 5)
            dlq_url = self._client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)[
                "QueueUrl"
            ]
        return QueueInfo(
            url=self.url,
            visibility_timeout=int(attrs.get("VisibilityTimeout", "30")),
            dlq_url=dlq_url,
            max_receive_count=max_receives,
        )

    def receive(self, max_messages: int, wait_seconds: int) -> list[Received]:
        """ReceiveMessage with the receive count and all message attributes (kept on the DLQ)."""
        response = self._client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=_SYSTEM_ATTRIBUTES,
            # Deprecated twin of the above; emulators that predate it (ElasticMQ) read only this.
            AttributeNames=_SYSTEM_ATTRIBUTES,
            MessageAttributeNames=["All"],
        )
        return [
            Received(
                message_id=m["MessageId"],
                receipt_handle=m["ReceiptHandle"],
                body=m["Body"],
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
                attributes=m.get("MessageAttributes", {}),
            )
            for m in response.get("Messages", [])
        ]

    def delete_batch(self, entries: Sequence[Entry]) -> list[BatchFailure]:
        """DeleteMessageBatch; every `Failed` entry is returned, never assumed deleted."""
        response = self._client.delete_message_batch(
            QueueUrl=self.url,
            Entries=[{"Id": e.id, "ReceiptHandle": e.receipt_handle} for e in entries],
        )
        return _failures(response.get("Failed", []))

    def change_visibility_batch(self, entries: Sequence[Entry]) -> list[BatchFailure]:
        """ChangeMessageVisibilityBatch; returns the `Failed` entries."""
        response = self._client.change_message_visibility_batch(
            QueueUrl=self.url,
            Entries=[
                {
                    "Id": e.id,
                    "ReceiptHandle": e.receipt_handle,
                    "VisibilityTimeout": e.visibility_timeout,
                }
                for e in entries
            ],
        )
        return _failures(response.get("Failed", []))

    def change_visibility(self, receipt_handle: str, timeout: int) -> None:
        """ChangeMessageVisibility for one message."""
        self._client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=timeout
        )

    def send_to_dlq(self, dlq_url: str, body: str, attributes: MessageAttributes) -> str:
        """SendMessage to the DLQ, body unchanged."""
        response = self._client.send_message(
            QueueUrl=dlq_url, MessageBody=body, MessageAttributes=dict(attributes)
        )
        return response["MessageId"]


def _failures(failed: Sequence[Mapping[str, Any]]) -> list[BatchFailure]:
    return [
        BatchFailure(
            id=str(f["Id"]),
            code=str(f.get("Code", "")),
            message=str(f.get("Message", "")),
            sender_fault=bool(f.get("SenderFault", False)),
        )
        for f in failed
    ]
