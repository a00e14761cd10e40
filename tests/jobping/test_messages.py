"""The queue message contract: valid, oversize, malformed, unknown action, schema errors."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobping.messages import (
    MAX_MESSAGE_BYTES,
    InvalidMessage,
    JobMessage,
    JobSummary,
    decode,
    encode,
)

JOB_ID = uuid.UUID("6f1c2b7e-2f4a-4c8e-9a53-0c1d2e3f4a5b")


def _valid() -> dict[str, object]:
    return {
        "job_id": str(JOB_ID),
        "action": "process_job",
        "data": {
            "source": "greenhouse:acme",
            "external_id": "4012345",
            "title": "Engineer",
            "company": "Acme",
            "location": "Berlin",
            "url": "https://example.com/j/1",
        },
        "enqueued_at": "2026-11-29T01:02:03Z",
    }


def _kind(body: str | bytes) -> str:
    with pytest.raises(InvalidMessage) as error:
        decode(body)
    return error.value.kind


def test_valid_message_round_trips() -> None:
    message = decode(json.dumps(_valid()))
    assert message.job_id == JOB_ID
    assert message.enqueued_at == datetime(2026, 11, 29, 1, 2, 3, tzinfo=UTC)
    assert decode(encode(message)) == message


def test_encoded_message_is_small() -> None:
    message = JobMessage(
        job_id=JOB_ID, action="process_job", data=JobSummary(source="s", external_id="1")
    )
    assert len(encode(message).encode()) < 400


def test_malformed_json_is_bad_json() -> None:
    assert _kind('{"job_id": ') == "bad_json"
    assert _kind("") == "bad_json"


def test_json_that_is_not_an_object_is_a_schema_error() -> None:
    assert _kind("[1, 2]") == "schema"
    assert _kind("null") == "schema"


def test_unknown_action_is_its_own_kind() -> None:
    body = {**_valid(), "action": "delete_everything"}
    with pytest.raises(InvalidMessage) as error:
        decode(json.dumps(body))
    assert error.value.kind == "unknown_action"
    assert "delete_everything" in error.value.reason
    assert decode(json.dumps(body), actions={"delete_everything"}).action == "delete_everything"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"job_id": "not-a-uuid"}, "job_id"),
        ({"data": {"source": "x"}}, "data.external_id"),
        ({"enqueued_at": "2026-11-29T01:02:03"}, "enqueued_at"),  # naive time
        ({"surprise": 1}, "surprise"),
        ({"action": "Process Job"}, "action"),
    ],
)
def test_schema_violation_names_the_field(change: dict[str, object], where: str) -> None:
    with pytest.raises(InvalidMessage) as error:
        decode(json.dumps({**_valid(), **change}))
    assert error.value.kind == "schema"
    assert error.value.reason.startswith(where)


def test_oversize_body_is_refused_on_both_sides() -> None:
    body = json.dumps({**_valid(), "padding": "x" * MAX_MESSAGE_BYTES})
    assert _kind(body) == "oversize"
    huge = JobMessage(
        job_id=JOB_ID, action="process_job", data=JobSummary(source="s", external_id="1")
    )
    object.__setattr__(huge, "action", "a" * (MAX_MESSAGE_BYTES + 1))  # bypass to test encode
    with pytest.raises(InvalidMessage, match="oversize"):
        encode(huge)


def test_invalid_utf8_is_an_encoding_error() -> None:
    assert _kind(b'{"job_id": "\xff"}') == "encoding"


@given(st.one_of(st.text(), st.binary()))
def test_any_body_decodes_or_raises_invalid_message(body: str | bytes) -> None:
    kinds = {"bad_json", "schema", "unknown_action", "oversize", "encoding"}
    try:
        decode(body)
        kind = "valid"
    except InvalidMessage as error:
        kind = error.kind
    assert kind in kinds | {"valid"}


def nested_body(depth: int = 100_000) -> str:
    """Fault "nested body": a JSON array nested `depth` deep (it raised RecursionError)."""
    return "[" * depth + "]" * depth


def test_a_body_nested_too_deeply_to_parse_is_bad_json() -> None:
    with pytest.raises(InvalidMessage) as error:
        decode(nested_body())
    assert error.value.kind == "bad_json"
    assert "nested" in error.value.reason


def test_deep_nesting_inside_a_valid_envelope_is_rejected_not_raised() -> None:
    body = json.dumps(_valid())[:-1] + ', "extra": ' + nested_body(100_000) + "}"
    assert _kind(body) == "bad_json"
    body = json.dumps(_valid())[:-1] + ', "extra": ' + nested_body(200) + "}"
    assert _kind(body) == "schema"  # parsed, then refused by the schema


def test_a_number_too_long_to_convert_is_bad_json() -> None:
    # json.loads raises a plain ValueError here, not a JSONDecodeError.
    assert _kind('{"job_id": ' + "1" * 5000 + "}") == "bad_json"


@given(st.recursive(st.none() | st.integers() | st.text(), st.lists, max_leaves=50))
def test_any_json_value_decodes_or_raises_invalid_message(value: object) -> None:
    for depth in (1, 2_000):
        with pytest.raises(InvalidMessage):
            decode("[" * depth + json.dumps(value) + "]" * depth)
