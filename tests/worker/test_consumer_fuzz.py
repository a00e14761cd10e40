"""Random bodies never crash the consumer; each ends processed or in the DLQ."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.local.queues import JobQueues
from jobping.messages import InvalidMessage, JobMessage, decode
from tests.faultmatrix import FaultMatrix, FaultRow, dlq_counts
from tests.worker.conftest import queue_counts, send_all, wait_for
from worker.dlq import ORIGINAL_MESSAGE_ID

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

    from worker.consumer import Consumer

ACTIONS = ("process_job", "write")
# Characters SQS accepts in a body (#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | beyond).
_sqs_chars = st.characters(
    codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"
) | st.sampled_from("\t\n\r")
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(_sqs_chars, max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
_field_values = {
    "job_id": st.uuids().map(str) | _json,
    "action": st.sampled_from([*ACTIONS, "nope", "BAD action"]) | _json,
    "data": st.fixed_dictionaries(
        {"source": st.text(_sqs_chars, max_size=5), "external_id": st.text(_sqs_chars, max_size=5)},
        optional={"title": st.text(_sqs_chars, max_size=20), "extra": _json},
    )
    | _json,
    "enqueued_at": st.sampled_from(["2026-11-29T01:02:03Z", "yesterday", "2026-11-29T01:02:03"]),
}
_message_like = st.fixed_dictionaries(
    {k: v for k, v in _field_values.items() if k != "enqueued_at"},
    optional={"enqueued_at": _field_values["enqueued_at"], "surprise": _json},
).map(json.dumps)
_printable = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Z")), min_size=1, max_size=8
)
# Valid messages among the hostile ones, so the processed path is exercised as often as the DLQ.
_valid = st.fixed_dictionaries(
    {
        "job_id": st.uuids().map(str),
        "action": st.sampled_from(ACTIONS),
        "data": st.fixed_dictionaries(
            {"source": _printable, "external_id": _printable},
            optional={"title": st.text(_sqs_chars, max_size=20)},
        ),
        "enqueued_at": st.just("2026-11-29T01:02:03Z"),
    }
).map(json.dumps)
bodies = (
    _valid | st.text(_sqs_chars, min_size=1, max_size=300) | _message_like | _json.map(json.dumps)
)


class Recorder:
    """Handlers that record the job ids they saw; and, over every example, the totals of the
    fault matrix's row (messages sent, handled once, handled again, found in the DLQ)."""

    def __init__(self) -> None:
        self.seen: list[uuid.UUID] = []
        self._lock = threading.Lock()
        self.sent = self.handled = self.handled_again = 0
        self.dead: list[MessageTypeDef] = []

    def tally(self, batch: list[str], expected_ok: list[uuid.UUID]) -> None:
        """Add one example's outcome: each decodable message handled once, none twice."""
        expected, seen = Counter(expected_ok), Counter(self.seen)
        self.sent += len(batch)
        self.handled += sum((expected & seen).values())
        self.handled_again += sum((seen - expected).values())

    def __call__(self, message: JobMessage) -> None:
        with self._lock:
            self.seen.append(message.job_id)


@pytest.fixture
def fuzz_consumer(
    sqs: SQSClient,
    make_queues: Callable[..., JobQueues],
    run_consumer: Callable[..., Any],
    fault_matrix: FaultMatrix,
) -> Iterator[tuple[JobQueues, Consumer, Recorder]]:
    queues = make_queues()  # the deployed settings
    recorder = Recorder()
    with run_consumer(queues.url, handlers=dict.fromkeys(ACTIONS, recorder)) as consumer:
        yield queues, consumer, recorder
    # One row for every example hypothesis ran (recorded once they have all run).
    reasons, redriven = dlq_counts(recorder.dead)
    row = fault_matrix.record(
        FaultRow(
            fault="worker: random message bodies (hypothesis)",
            messages_in=recorder.sent,
            processed=recorder.handled,
            dead_lettered=reasons,
            redriven=redriven,
            duplicate_effects=recorder.handled_again,
        )
    )
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row


def _dlq_messages(sqs: SQSClient, url: str) -> list[MessageTypeDef]:
    response = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
    )
    messages = response.get("Messages", [])
    if messages:
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )
    return messages


@pytest.mark.fault
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(bodies, min_size=1, max_size=6))
def test_random_bodies_end_processed_or_in_the_dlq(
    sqs: SQSClient, fuzz_consumer: tuple[JobQueues, Consumer, Recorder], batch: list[str]
) -> None:
    queues, consumer, recorder = fuzz_consumer
    expected_ok, poison = [], []
    for index, body in enumerate(batch):
        try:
            expected_ok.append(decode(body, actions=ACTIONS).job_id)
        except InvalidMessage:
            poison.append(index)
    before = dict(consumer.outcomes)
    recorder.seen.clear()
    ids = send_all(sqs, queues.url, batch)

    def settled() -> bool:
        done = sum(consumer.outcomes[o] - before.get(o, 0) for o in ("processed", "dead_lettered"))
        return done == len(batch)

    dead: list[MessageTypeDef] = []

    def all_dead_lettered() -> bool:
        dead.extend(_dlq_messages(sqs, queues.dlq_url))
        return len(dead) >= len(poison)

    wait_for(settled, 15, "every message to settle", interval=0.02)
    wait_for(all_dead_lettered, 10, "the DLQ", interval=0.02)
    recorder.tally(batch, expected_ok)
    recorder.dead += dead
    dead_ids = [m["MessageAttributes"][ORIGINAL_MESSAGE_ID]["StringValue"] for m in dead]
    assert sorted(recorder.seen) == sorted(expected_ok)
    assert sorted(dead_ids) == sorted(ids[i] for i in poison)
    assert consumer.outcomes["retried"] == before.get("retried", 0)
    assert consumer.liveness() is None  # the poll loop is still alive
    wait_for(lambda: queue_counts(sqs, queues.url) == (0, 0), 5, "deletes", interval=0.05)
