"""Metrics as CloudWatch Embedded Metric Format (EMF) lines on stdout.

CloudWatch Logs turns each EMF line into metric data, so the worker makes no PutMetricData calls
and needs no extra IAM. Counts and processing times are aggregated in memory and written once per
`interval` per action: a handful of lines a minute, whatever the throughput.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

NAMESPACE = "JobPing"
#: EMF allows at most 100 values in one metric's array.
MAX_VALUES = 100
#: Outcome → counter metric; outcomes not listed here are not counted.
COUNTERS = {
    "processed": "Processed",
    "retried": "Failed",
    "kept": "Failed",
    "dead_lettered": "DeadLettered",
    "timed_out": "Failed",
    # Handed back unstarted or unfinished because a dependency is down (an outage, not a fault).
    "deferred": "Deferred",
}
TIMER = "ProcessingTime"


class StdoutWriter:
    """Writes whole lines to a stream (stdout by default), one writer at a time."""

    def __init__(self, stream: TextIO | None = None) -> None:
        """Write to `stream`, or to `sys.stdout` as it is at write time."""
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        """Write `line` and a newline, then flush so the log agent sees it."""
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(line + "\n")
            stream.flush()


@dataclass
class _Bucket:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS.values(), 0))
    times_ms: list[float] = field(default_factory=list)


class Metrics:
    """Per-action counters and timings, flushed as EMF lines."""

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        service: str = "worker",
        namespace: str = NAMESPACE,
        interval: float = 60.0,
    ) -> None:
        """Write EMF lines with `write` every `interval` seconds (see `flush_due`)."""
        self._write = write
        self._service = service
        self._namespace = namespace
        self._interval = interval
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    def record(self, action: str, outcome: str, duration_ms: float) -> None:
        """Count one message's `outcome` and its processing time under `action`."""
        with self._lock:
            if (bucket := self._buckets.get(action)) is None:
                bucket = self._buckets[action] = _Bucket()
            if (name := COUNTERS.get(outcome)) is not None:
                bucket.counts[name] += 1
            if outcome != "released":
                bucket.times_ms.append(round(duration_ms, 3))

    def flush_due(self, now: float | None = None) -> None:
        """Flush if `interval` seconds have passed since the last flush."""
        now = time.monotonic() if now is None else now
        if now - self._last_flush >= self._interval:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        """Write one EMF line per action seen since the last flush (more for >100 timings)."""
        with self._lock:
            buckets, self._buckets = self._buckets, {}
            self._last_flush = time.monotonic() if now is None else now
        timestamp = int(time.time() * 1000)
        for action, bucket in sorted(buckets.items()):
            for line in self.lines(action, bucket.counts, bucket.times_ms, timestamp):
                self._write(json.dumps(line, separators=(",", ":")))

    def lines(
        self, action: str, counts: dict[str, int], times_ms: list[float], timestamp: int
    ) -> list[dict[str, Any]]:
        """The EMF documents for one action: counts in the first, timings in chunks of 100."""
        chunks = [times_ms[i : i + MAX_VALUES] for i in range(0, len(times_ms), MAX_VALUES)]
        documents = []
        for index, chunk in enumerate(chunks or [[]]):
            values: dict[str, Any] = dict(counts) if index == 0 else {}
            if chunk:
                values[TIMER] = chunk
            if not values:
                continue
            units = {name: "Milliseconds" if name == TIMER else "Count" for name in values}
            documents.append(
                {
                    "_aws": {
                        "Timestamp": timestamp,
                        "CloudWatchMetrics": [
                            {
                                "Namespace": self._namespace,
                                "Dimensions": [["Service"], ["Service", "Action"]],
                                "Metrics": [{"Name": n, "Unit": u} for n, u in units.items()],
                            }
                        ],
                    },
                    "Service": self._service,
                    "Action": action,
                    **values,
                }
            )
        return documents
