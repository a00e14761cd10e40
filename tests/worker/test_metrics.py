"""Metrics: CloudWatch embedded metric format (EMF) lines, at most 100 timings each."""

from __future__ import annotations

import json

from worker.metrics import Metrics


def test_emf_lines_have_the_cloudwatch_shape() -> None:
    lines: list[str] = []
    metrics = Metrics(lines.append, service="worker")
    for _ in range(3):
        metrics.record("process_job", "processed", 12.5)
    metrics.record("process_job", "retried", 3.0)
    metrics.record("-", "dead_lettered", 1.0)
    metrics.record("process_job", "released", 0.0)
    metrics.flush()
    docs = [json.loads(line) for line in lines]
    assert [d["Action"] for d in docs] == ["-", "process_job"]
    doc = docs[1]
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "JobPing"
    assert directive["Dimensions"] == [["Service"], ["Service", "Action"]]
    assert isinstance(doc["_aws"]["Timestamp"], int)
    names = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert names == {
        "Processed": "Count",
        "Failed": "Count",
        "DeadLettered": "Count",
        "Deferred": "Count",
        "ProcessingTime": "Milliseconds",
    }
    assert (doc["Processed"], doc["Failed"], doc["DeadLettered"]) == (3, 1, 0)
    assert doc["ProcessingTime"] == [12.5, 12.5, 12.5, 3.0]  # a released message is not timed
    assert doc["Service"] == "worker"
    assert all(name in doc for name in names)  # every declared metric has a value
    metrics.flush()
    assert len(lines) == 2  # nothing new: no lines


def test_emf_splits_more_than_100_timings_into_several_lines() -> None:
    lines: list[str] = []
    metrics = Metrics(lines.append)
    for n in range(250):
        metrics.record("process_job", "processed", float(n))
    metrics.flush()
    docs = [json.loads(line) for line in lines]
    assert [len(d["ProcessingTime"]) for d in docs] == [100, 100, 50]
    assert docs[0]["Processed"] == 250
    assert "Processed" not in docs[1]
