"""What a dead-lettered message carries: its original body and attributes saying why.

The body is never changed, so `jobping dlq redrive` (or SQS's own redrive) can put it back as it
was. The reason travels in message attributes; SQS allows ten per message, so ours come first and
the message's own attributes fill what room is left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from worker.sqs import MAX_MESSAGE_ATTRIBUTES, Received

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

REASON = "jobping.error.reason"
ERROR_TYPE = "jobping.error.type"
ORIGINAL_MESSAGE_ID = "jobping.original_message_id"
RECEIVE_COUNT = "jobping.receive_count"
SOURCE_QUEUE = "jobping.source_queue"
OURS = (REASON, ERROR_TYPE, ORIGINAL_MESSAGE_ID, RECEIVE_COUNT, SOURCE_QUEUE)
#: Long reasons (a pydantic error on a huge body, say) are cut; the body tells the rest.
MAX_REASON_CHARS = 1024


def dlq_attributes(
    message: Received, *, reason: str, error_type: str, source_queue: str
) -> dict[str, MessageAttributeValueTypeDef]:
    """Attributes for `message` on its way to the DLQ: why, what, from where, how often."""
    attributes: dict[str, MessageAttributeValueTypeDef] = {
        REASON: _string(reason[:MAX_REASON_CHARS] or "-"),
        ERROR_TYPE: _string(error_type or "-"),
        ORIGINAL_MESSAGE_ID: _string(message.message_id),
        RECEIVE_COUNT: {"DataType": "Number", "StringValue": str(message.receive_count)},
        SOURCE_QUEUE: _string(source_queue),
    }
    for name, value in sorted(message.attributes.items()):
        if len(attributes) >= MAX_MESSAGE_ATTRIBUTES:
            break
        if name not in attributes and (kept := _copyable(value)) is not None:
            attributes[name] = kept
    return attributes


def _string(value: str) -> MessageAttributeValueTypeDef:
    return {"DataType": "String", "StringValue": value}


def _copyable(value: Any) -> MessageAttributeValueTypeDef | None:
    """The parts of a received attribute that SendMessage accepts (no empty list fields)."""
    if not isinstance(value, dict) or "DataType" not in value:
        return None
    if "StringValue" in value:
        return {"DataType": value["DataType"], "StringValue": value["StringValue"]}
    if "BinaryValue" in value:
        return {"DataType": value["DataType"], "BinaryValue": value["BinaryValue"]}
    return None
