"""The fault matrix: one row per fault scenario, recorded by the tests that run it.

A fault test measures what happened to the messages it sent (processed, dead-lettered with the
reason the worker gave, dead-lettered by the queue's redrive after `maxReceiveCount` receives,
lost) and how many effects happened more than once, then calls `fault_matrix.record(row)`. The
rows are written as JSON files under `.local/faults/` (one per row, so xdist workers never share
a file); at the end of the run the controller prints them as one table and writes
`.local/faults/table.md`. `make faults` runs only the tests marked `fault`; `make test` runs them
with everything else and prints the same table.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

ERROR_TYPE_ATTRIBUTE = "jobping.error.type"  # worker/dlq.py: the kind of error
COLUMNS = ("fault", "in", "processed", "DLQ with reason", "DLQ by redrive", "lost", "dup. effects")


@dataclass(frozen=True, kw_only=True)
class FaultRow:
    """What one fault scenario did to the messages it sent."""

    fault: str
    """The scenario, as a reader would name it (`database down 10 min (simulated)`)."""
    messages_in: int
    """Messages (or listings, for the scanner) the scenario put in."""
    processed: int
    """How many ended with their effects written."""
    dead_lettered: dict[str, int] = field(default_factory=dict)
    """Messages the worker moved to the DLQ, counted by the reason it attached."""
    redriven: int = 0
    """Messages the queue moved to the DLQ after `maxReceiveCount` receives (no reason)."""
    duplicate_effects: int = 0
    """Effects (analyses, matches, notifications sent) that happened more than once."""
    expected_redriven: bool = False
    """True only where retries are meant to run out (a job that always fails)."""

    @property
    def lost(self) -> int:
        """Messages neither processed nor in the DLQ."""
        return self.messages_in - self.processed - sum(self.dead_lettered.values()) - self.redriven

    def cells(self) -> tuple[str, ...]:
        """The row as table cells, in `COLUMNS` order."""
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.dead_lettered.items()))
        total = sum(self.dead_lettered.values())
        redriven = f"{self.redriven}{' (expected)' if self.expected_redriven else ''}"
        return (
            self.fault,
            str(self.messages_in),
            str(self.processed),
            f"{total} ({reasons})" if reasons else "0",
            redriven,
            str(self.lost),
            str(self.duplicate_effects),
        )


def dlq_counts(messages: list[dict[str, object]]) -> tuple[dict[str, int], int]:
    """Split drained DLQ messages into (reasons the worker gave, count moved by redrive)."""
    reasons: Counter[str] = Counter()
    redriven = 0
    for message in messages:
        attributes = message.get("MessageAttributes") or {}
        kind = attributes.get(ERROR_TYPE_ATTRIBUTE) if isinstance(attributes, dict) else None
        if isinstance(kind, dict) and kind.get("StringValue"):
            reasons[str(kind["StringValue"])] += 1
        else:
            redriven += 1
    return dict(reasons), redriven


def drain_dlq(sqs: SQSClient, url: str) -> tuple[dict[str, int], int]:
    """Receive every message on the DLQ (leaving them there) and count them with `dlq_counts`."""
    seen: dict[str, dict[str, object]] = {}
    for _ in range(100):
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=30,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            seen[message["MessageId"]] = dict(message)
    return dlq_counts(list(seen.values()))


class FaultMatrix:
    """Records rows into `directory`; one JSON file per row."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def record(self, row: FaultRow) -> FaultRow:
        """Write `row` for the end-of-run table and return it (for the test's own asserts)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        data = asdict(row) | {"lost": row.lost}
        path = self.directory / f"{uuid.uuid4().hex}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        return row


def load_rows(directory: Path) -> list[FaultRow]:
    """Every row recorded under `directory`, sorted by fault name."""
    rows = []
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("lost", None)
        rows.append(FaultRow(**data))
    return sorted(rows, key=lambda r: r.fault)


def render(rows: list[FaultRow]) -> str:
    """The rows as a Markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)
