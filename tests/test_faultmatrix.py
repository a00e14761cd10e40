"""The fault matrix's own arithmetic: lost messages and DLQ reasons are counted, not assumed."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.faultmatrix import (
    COLUMNS,
    FaultMatrix,
    FaultRow,
    consumer_row,
    dlq_counts,
    listing_row,
    load_rows,
    render,
    sent_twice,
)
from tests.worker.consumer_app import SCHEMA


def test_lost_is_what_is_neither_processed_nor_dead_lettered() -> None:
    row = FaultRow(
        fault="x", messages_in=10, processed=6, dead_lettered={"bad_json": 2}, redriven=1
    )
    assert row.lost == 1


def test_dlq_messages_without_a_reason_count_as_redriven() -> None:
    typed = {"MessageAttributes": {"jobping.error.type": {"StringValue": "bad_json"}}}
    assert dlq_counts([typed, typed, {"MessageAttributes": {}}, {}]) == ({"bad_json": 2}, 2)


def test_recorded_rows_render_as_one_table(tmp_path: Path) -> None:
    matrix = FaultMatrix(tmp_path)
    matrix.record(FaultRow(fault="b", messages_in=3, processed=3))
    matrix.record(
        FaultRow(fault="a", messages_in=2, processed=1, redriven=1, expected_redriven=True)
    )
    matrix.record(FaultRow(fault="c", messages_in=4, processed=1, dead_lettered={"x": 3, "y": 0}))
    table = render(load_rows(tmp_path))
    assert table.splitlines()[0] == "| " + " | ".join(COLUMNS) + " |"
    assert "DLQ / set aside (why)" in COLUMNS
    assert table.splitlines()[2] == "| a | 2 | 1 | 0 | 1 (expected) | 0 | 0 |"
    assert table.splitlines()[3] == "| b | 3 | 3 | 0 | 0 | 0 | 0 |"
    assert table.splitlines()[4] == "| c | 4 | 1 | 3 (x 3) | 0 | 0 | 0 |"


def test_consumer_rows_count_messages_by_their_jobs_effects(db: str) -> None:
    done, twice, poison = uuid.uuid4(), uuid.uuid4(), "{not json"
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute(
            "INSERT INTO consumer_effects (effect_key, job_id) VALUES (%s, %s), (%s, %s)",
            ("a", done, "b", twice),
        )
    bodies = [json.dumps({"job_id": str(job)}) for job in (done, done, uuid.uuid4())]
    row = consumer_row("x", db, [*bodies, poison], ({"bad_json": 1}, 0))
    # Both messages of the done job are processed; the job without an effect is lost.
    assert (row.messages_in, row.processed, row.lost) == (4, 2, 1)
    assert row.duplicate_effects == 0
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("INSERT INTO consumer_effects (effect_key, job_id) VALUES ('c', %s)", (done,))
    assert consumer_row("x", db, bodies, ({}, 0)).duplicate_effects == 1


def test_listing_rows_count_what_was_stored_and_enqueued(db: str) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        for source, external_id, enqueued in [
            ("s", "1", True),
            ("s", "2", True),
            ("s", "3", False),
        ]:
            conn.execute(
                "INSERT INTO jobs (source, external_id, title, content_hash, enqueued_at) "
                "VALUES (%s, %s, 't', 'h', CASE WHEN %s THEN now() END)",
                (source, external_id, enqueued),
            )
    served = [("s", "1"), ("s", "2"), ("s", "3"), ("other", "1"), ("s", "4")]
    row = listing_row("x", db, served=served, queued=["1", "1", "3"], skipped={"bad": 1, "no": 0})
    # "2" never reached the queue, "3" is still in the outbox, "other"'s "1" was not stored.
    assert (row.processed, row.dead_lettered, row.lost) == (1, {"skipped: bad": 1}, 3)
    assert row.duplicate_effects == 1  # "1" was enqueued twice


@dataclass
class _Sent:
    user_id: uuid.UUID
    job_id: uuid.UUID


def test_a_notification_sent_again_to_the_same_user_for_the_same_job_is_a_duplicate() -> None:
    ana, ben, job = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert sent_twice([_Sent(ana, job), _Sent(ben, job)]) == 0
    assert sent_twice([_Sent(ana, job), _Sent(ben, job), _Sent(ana, job)]) == 1
