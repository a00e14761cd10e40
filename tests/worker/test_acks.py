"""Acker: deletes in batches of ten or at the interval, retrying only the failed entries."""

from __future__ import annotations

import logging

import pytest

from tests.worker.conftest import FakeQueue, job_message
from worker.acks import Acker


def test_partially_failed_delete_batch_is_retried_not_assumed_deleted() -> None:
    queue = FakeQueue(fail={"h1": (1, False)})
    acker = Acker(queue, interval=0)
    for n in range(3):
        acker.add(job_message(n))
    acker.flush(force=True)
    assert queue.delete_calls == [["h0", "h1", "h2"], ["h1"]]  # only the failed entry again
    assert sorted(queue.deleted) == ["h0", "h1", "h2"]
    assert (acker.deleted, acker.failed, acker.pending()) == (3, 0, 0)


def test_delete_that_keeps_failing_is_logged_and_not_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = FakeQueue(fail={"h1": (99, False), "h2": (99, True)})
    acker = Acker(queue, interval=0, attempts=3)
    for n in range(3):
        acker.add(job_message(n))
    with caplog.at_level(logging.ERROR, logger="worker.acks"):
        acker.flush(force=True)
    assert queue.deleted == ["h0"]
    assert (acker.deleted, acker.failed) == (1, 2)
    assert len(queue.delete_calls) == 3  # retried, then given up
    logged = {r.message_id for r in caplog.records if getattr(r, "outcome", "") == "delete_failed"}  # type: ignore[attr-defined]
    assert logged == {"m1", "m2"}


def test_deletes_wait_for_a_full_batch_or_the_interval() -> None:
    queue = FakeQueue()
    acker = Acker(queue, interval=60)
    for n in range(13):
        acker.add(job_message(n))
    acker.flush()
    assert [len(call) for call in queue.delete_calls] == [10]  # the partial batch is not due
    acker.flush(force=True)
    assert [len(call) for call in queue.delete_calls] == [10, 3]
