"""The load: when scans run, how many new jobs each finds, and how fast a worker task works.

Scan times come from the schedule expression the program gave EventBridge Scheduler. New jobs
per scan follow `JobMix` unless a trace file is given. The default mix is grounded in the sample
boards (`devtools/samples`): a board lists 6 to 8 open postings, and most of them are unchanged
from one scan to the next. So half the scans find nothing new, 45% find a handful (lognormal,
median 5: about one sample board's worth), and 5% are bursts (median 200: a new or reshuffled
board's whole listing). `JobMix.scaled` keeps that shape and sets the mean, so a monthly volume
(`--jobs-per-month`) picks the size of scans, not how often they run.

The worker's service rate is read from the benchmark (`bench/results/latest.json`): the full
pipeline's jobs per worker CPU-second, times the task's vCPU, capped at what one worker process
reached; SQS requests per job and process start to first poll come from the same file.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from devtools import REPO_ROOT

DAY = 86_400.0
BENCH_RESULTS = REPO_ROOT / "bench" / "results" / "latest.json"
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT = {"minute": 60, "hour": 3600, "day": 86_400}


class LoadError(ValueError):
    """A schedule, trace or benchmark file the planner cannot use."""


@dataclass(frozen=True)
class Scan:
    """One scheduled scan and the number of new jobs it enqueues."""

    time: float
    jobs: int


@dataclass(frozen=True)
class JobMix:
    """New jobs per scan: none, a handful (lognormal) or a burst (lognormal)."""

    zero_share: float = 0.50
    small_share: float = 0.45
    small_median: float = 5.0
    small_sigma: float = 0.8
    burst_median: float = 200.0
    burst_sigma: float = 0.6

    def mean(self) -> float:
        """Expected new jobs per scan."""
        burst_share = 1.0 - self.zero_share - self.small_share
        return self.small_share * self.small_median * math.exp(
            self.small_sigma**2 / 2
        ) + burst_share * self.burst_median * math.exp(self.burst_sigma**2 / 2)

    def scaled(self, mean: float) -> JobMix:
        """The same shape with the given mean jobs per scan."""
        factor = mean / self.mean()
        return replace(
            self, small_median=self.small_median * factor, burst_median=self.burst_median * factor
        )

    def draw(self, rng: random.Random) -> int:
        """New jobs found by one scan."""
        pick = rng.random()
        if pick < self.zero_share:
            return 0
        if pick < self.zero_share + self.small_share:
            return round(rng.lognormvariate(math.log(self.small_median), self.small_sigma))
        return round(rng.lognormvariate(math.log(self.burst_median), self.burst_sigma))


def scan_times(expression: str, horizon: float) -> list[float]:
    """Times (seconds from midnight) at which the schedule starts the scanner, up to `horizon`."""
    rate = _RATE.match(expression)
    if rate:
        every = int(rate.group(1)) * _UNIT[rate.group(2).rstrip("s")]
        return [float(t) for t in range(0, int(horizon), every)]
    if expression.startswith("cron(") and expression.endswith(")"):
        return _cron_times(expression[5:-1].split(), horizon)
    raise LoadError(f"schedule {expression!r}: only rate(...) and cron(...) are simulated")


def _cron_times(fields: list[str], horizon: float) -> list[float]:
    if len(fields) != 6:
        raise LoadError("a cron expression has six fields: minutes hours day month weekday year")
    if any(field not in ("*", "?") for field in fields[2:]):
        raise LoadError("cron day, month, weekday and year fields must be * or ? to simulate")
    minutes, hours = _cron_field(fields[0], 60), _cron_field(fields[1], 24)
    times = [
        float(day * DAY + hour * 3600 + minute * 60)
        for day in range(math.ceil(horizon / DAY))
        for hour in hours
        for minute in minutes
    ]
    return [t for t in times if t < horizon]


def _cron_field(field: str, size: int) -> list[int]:
    values: set[int] = set()
    for part in field.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            low, high = 0, size - 1
        elif "-" in body:
            low, high = (int(x) for x in body.split("-"))
        else:
            low = int(body)
            high = size - 1 if step_text else low
        values.update(range(low, high + 1, step))
    return sorted(v for v in values if 0 <= v < size)


def planned_scans(times: list[float], mix: JobMix, rng: random.Random) -> list[Scan]:
    """One `Scan` per start time, its new jobs drawn from `mix`."""
    return [Scan(t, mix.draw(rng)) for t in times]


def read_trace(path: Path) -> list[Scan]:
    """A CSV of `time,new_jobs` rows; time in seconds from the start or as HH:MM[:SS]."""
    scans: list[Scan] = []
    with path.open(newline="") as handle:
        for row in csv.reader(handle):
            if not row or row[0].strip().startswith("#") or not row[0].strip()[0].isdigit():
                continue  # blank lines, comments and a header row
            if len(row) < 2:
                raise LoadError(f"{path}: each row needs a time and a number of new jobs")
            scans.append(Scan(_trace_time(row[0].strip()), int(row[1])))
    if not scans:
        raise LoadError(f"{path}: no scans in the trace")
    return sorted(scans, key=lambda scan: scan.time)


def _trace_time(text: str) -> float:
    if ":" not in text:
        return float(text)
    parts = [float(p) for p in text.split(":")]
    return parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0.0)


@dataclass(frozen=True)
class ServiceRate:
    """What the benchmark measured for one worker process and for the scanner."""

    jobs_per_cpu_second: float
    jobs_per_second_cap: float
    worker_requests_per_job: float
    scanner_requests_per_job: float
    start_to_first_poll_s: float
    scanner_seconds_per_job: float
    worker_rss_mib: float

    def per_task(self, vcpu: float) -> float:
        """Jobs per second one task of `vcpu` vCPU processes."""
        return min(self.jobs_per_cpu_second * vcpu, self.jobs_per_second_cap)


def read_bench(path: Path = BENCH_RESULTS) -> ServiceRate:
    """The service rate from a `make bench` results file."""
    try:
        summary = json.loads(path.read_text())["summary"]
        pipeline, e2e = summary["pipeline"], summary["e2e"]
        return ServiceRate(
            jobs_per_cpu_second=_median(pipeline, "messages_per_cpu_s"),
            jobs_per_second_cap=_median(pipeline, "messages_per_s"),
            worker_requests_per_job=_median(e2e, "worker_requests_per_job"),
            scanner_requests_per_job=_median(e2e, "scanner_requests_per_job"),
            start_to_first_poll_s=_median(pipeline, "start_to_first_poll_s"),
            scanner_seconds_per_job=_median(e2e, "scanner_duration_s") / _median(e2e, "jobs"),
            worker_rss_mib=_median(pipeline, "peak_rss_mib"),
        )
    except (OSError, KeyError, TypeError, ValueError, ZeroDivisionError) as error:
        raise LoadError(f"{path}: not a usable benchmark result ({error})") from error


def _median(section: dict[str, Any], key: str) -> float:
    return float(section[key]["median"])
