"""The fault matrix: one row per fault scenario, recorded by the tests that run it.

A fault test measures what happened to the messages it sent (processed, dead-lettered with the
reason the worker gave or set aside for a stated reason, dead-lettered by the queue's redrive
after `maxReceiveCount` receives, lost) and how many effects happened more than once, then calls
`fault_matrix.record(row)`. The measuring helpers are here: `drain_dlq`/`dlq_counts` (the DLQ),
`consumer_row` (messages run by the consumer test app, counted by its effects table),
`sent_twice` (notifications) and `listing_row` (a scan, whose unit is a listing).

The rows are written as JSON files under `.local/faults/` (one per row, so xdist workers never
share a file); at the end of the run the controller prints them as one table and writes
`.local/faults/table.md`. `make faults` runs only the tests marked `fault`; `make test` runs them
with everything else and prints the same table.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import psycopg

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

ERROR_TYPE_ATTRIBUTE = "jobping.error.type"  # worker/dlq.py: the kind of error
#: "DLQ / set aside": what the worker dead-lettered, by its reason, and what a test saw set aside
#: on purpose (a scanner's skipped listings, messages handed back to the queue), by its fate.
COLUMNS = (
    "fault",
    "in",
    "processed",
    "DLQ / set aside (why)",
    "DLQ by redrive",
    "lost",
    "dup. effects",
)


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
    """Messages the worker moved to the DLQ, counted by the reason it attached; also what was
    set aside on purpose, by its fate (`skipped: <reason>` for listings a scan refused,
    `on queue: <why>` for messages handed back to the queue and seen there)."""
    redriven: int = 0
    """Messages the queue moved to the DLQ after `maxReceiveCount` receives (no reason)."""
    duplicate_effects: int = 0
    """Effects (analyses, matches, notifications sent) that happened more than once."""
    expected_redriven: bool = False
    """True only where retries are meant to run out (a job that always fails)."""

    @property
    def lost(self) -> int:
        """Messages neither processed, nor in the DLQ, nor set aside where they were meant to be."""
        return self.messages_in - self.processed - sum(self.dead_lettered.values()) - self.redriven

    def cells(self) -> tuple[str, ...]:
        """The row as table cells, in `COLUMNS` order."""
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.dead_lettered.items()) if v)
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


def dlq_counts(messages: Sequence[Mapping[str, object]]) -> tuple[dict[str, int], int]:
    """Split drained DLQ messages into (reasons the worker gave, count moved by redrive)."""
    reasons: Counter[str] = Counter()
    redriven = 0
    for message in messages:
        attributes = message.get("MessageAttributes") or {}
        kind = attributes.get(ERROR_TYPE_ATTRIBUTE) if isinstance(attributes, Mapping) else None
        if isinstance(kind, Mapping) and kind.get("StringValue"):
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


class _Sent(Protocol):
    @property
    def user_id(self) -> uuid.UUID: ...
    @property
    def job_id(self) -> uuid.UUID: ...


def sent_twice(sent: Sequence[_Sent]) -> int:
    """Notifications a channel sent beyond one per user and job (what a user would see twice)."""
    return len(sent) - len({(n.user_id, n.job_id) for n in sent})


_EFFECTS = "SELECT job_id::text, count(*) FROM consumer_effects GROUP BY job_id"


def _job_id(body: str) -> str | None:
    try:
        return str(uuid.UUID(str(json.loads(body)["job_id"])))
    except (ValueError, TypeError, KeyError, RecursionError):
        return None


def consumer_effects(db: str, bodies: Sequence[str]) -> tuple[int, int]:
    """(Messages whose job's effect is written, effects written beyond one per job).

    For messages sent with `bodies` and run by the consumer test app
    (`tests/worker/consumer_app.py`), whose effects table is keyed by job: a job processed again
    must find its effect there and write nothing.
    """
    with psycopg.connect(db, autocommit=True) as conn:
        written = {str(job): int(n) for job, n in conn.execute(_EFFECTS).fetchall()}
    processed = sum(1 for body in bodies if _job_id(body) in written)
    return processed, sum(n - 1 for n in written.values())


def consumer_row(
    fault: str,
    db: str,
    bodies: Sequence[str],
    dlq: tuple[dict[str, int], int],
    *,
    set_aside: Mapping[str, int] | None = None,
    expected_redriven: bool = False,
) -> FaultRow:
    """A row for messages sent with `bodies` and run by the consumer test app.

    Args:
        fault: the scenario.
        db: the consumer test database (`consumer_effects` counts what was processed).
        bodies: every body the scenario sent, once per message.
        dlq: the DLQ, counted by `drain_dlq` or `dlq_counts`.
        set_aside: messages seen where the scenario meant them to be, by fate.
        expected_redriven: True only where retries are meant to run out.
    """
    processed, duplicates = consumer_effects(db, bodies)
    reasons, redriven = dlq
    return FaultRow(
        fault=fault,
        messages_in=len(bodies),
        processed=processed,
        dead_lettered=reasons | {why: n for why, n in (set_aside or {}).items() if n},
        redriven=redriven,
        duplicate_effects=duplicates,
        expected_redriven=expected_redriven,
    )


def listing_row(
    fault: str,
    db: str,
    *,
    served: Sequence[tuple[str, str]],
    queued: Sequence[str],
    skipped: Mapping[str, int] | None = None,
) -> FaultRow:
    """A scanner row, whose unit is a listing.

    Args:
        fault: the scenario.
        db: the scanned database.
        served: (configured source, external id) of every listing the boards served.
        queued: external ids of the messages drained from the job queue after the scan.
        skipped: listings the scanner refused, by reason (a refused board: all it served).

    `processed` counts the served listings stored under their own source, marked sent by the
    outbox and found on the queue; duplicate effects are queue messages beyond one per job.
    """
    with psycopg.connect(db, autocommit=True) as conn:
        sent = set(
            conn.execute("SELECT source, external_id FROM jobs WHERE enqueued_at IS NOT NULL")
        )
    on_queue = Counter(queued)
    return FaultRow(
        fault=fault,
        messages_in=len(served),
        processed=sum(1 for key in served if key in sent and on_queue[key[1]]),
        dead_lettered={f"skipped: {why}": n for why, n in (skipped or {}).items() if n},
        duplicate_effects=sum(n - 1 for n in on_queue.values()),
    )


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
