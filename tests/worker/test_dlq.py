"""dlq_attributes: the reason a message was dead-lettered, within SQS's ten attributes."""

from __future__ import annotations

from worker.dlq import ERROR_TYPE, ORIGINAL_MESSAGE_ID, OURS, REASON, RECEIVE_COUNT, dlq_attributes
from worker.sqs import Received


def test_dlq_attributes_carry_the_reason_and_keep_room_for_the_originals() -> None:
    originals = {f"a{n}": {"DataType": "String", "StringValue": str(n)} for n in range(8)}
    message = Received("m1", "h1", "not json", receive_count=2, attributes=originals)
    attributes = dlq_attributes(message, reason="x" * 5000, error_type="bad_json", source_queue="q")
    assert len(attributes) == 10  # SQS's limit
    assert set(OURS) <= set(attributes)
    assert attributes[ERROR_TYPE] == {"DataType": "String", "StringValue": "bad_json"}
    assert attributes[ORIGINAL_MESSAGE_ID]["StringValue"] == "m1"
    assert attributes[RECEIVE_COUNT] == {"DataType": "Number", "StringValue": "2"}
    assert len(attributes[REASON]["StringValue"]) == 1024
