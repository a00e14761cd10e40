"""A simulated day in numbers (the summary and the checks) and as a picture (`--plot`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from devtools.planner.load import DAY
from devtools.planner.sim import SimResult

SMALL_SCAN_JOBS = 50


def percentile(values: list[float], share: float) -> float | None:
    """The `share` quantile (0..1) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def first_job_latencies(result: SimResult) -> list[float]:
    """Per scan with jobs: seconds from the scan's start to its first job processed."""
    return [s.first_done - s.time for s in result.scans if s.first_done is not None]


def scans_back_at_min(result: SimResult) -> tuple[int, int]:
    """How many scans (after the first) found the service back at minTasks, out of how many."""
    later = result.scans[1:]
    return sum(s.started_at_min for s in later), len(later)


def small_scans_at_max(result: SimResult, limit: int = SMALL_SCAN_JOBS) -> list[float]:
    """Start times of scans under `limit` jobs after which the service went up to maxTasks.

    Only scans that found the service at minTasks count: the scaling they caused is theirs.
    """
    if result.max_tasks <= result.min_tasks:
        return []
    return [
        s.time
        for s in result.scans
        if s.jobs < limit and s.started_at_min and s.peak_desired >= result.max_tasks
    ]


def summary(result: SimResult) -> dict[str, Any]:
    """The figures `devtools simulate` prints (and `--json` returns)."""
    per_day = DAY / result.horizon
    first = first_job_latencies(result)
    back, total = scans_back_at_min(result)
    return {
        "stack": result.stack,
        "hours": round(result.horizon / 3600, 2),
        "scans": len(result.scans),
        "jobs": sum(s.jobs for s in result.scans),
        "latency_p50_s": _round(percentile(result.latencies, 0.50)),
        "latency_p95_s": _round(percentile(result.latencies, 0.95)),
        "latency_max_s": _round(max(result.latencies, default=None)),
        "first_job_latency_p95_s": _round(percentile(first, 0.95)),
        "first_job_latency_max_s": _round(max(first, default=None)),
        "task_hours_per_day": round(result.worker_task_seconds / 3600 * per_day, 2),
        "spot_task_hours_per_day": round(result.worker_spot_task_seconds / 3600 * per_day, 2),
        "scanner_task_hours_per_day": round(result.scanner_task_seconds / 3600 * per_day, 2),
        "time_at_min_tasks_share": round(result.time_at_min / result.horizon, 4),
        "min_tasks": result.min_tasks,
        "max_tasks": result.max_tasks,
        "max_tasks_reached": sum(1 for e in result.scale_events if e[2] == result.max_tasks),
        "peak_tasks": max((e[2] for e in result.scale_events), default=result.min_tasks),
        "scale_events": len(result.scale_events),
        "task_launches": result.worker_launches,
        "scans_back_at_min_tasks": f"{back}/{total}",
        "small_scans_reaching_max_tasks": len(small_scans_at_max(result)),
        "sqs_requests_per_day": round(result.sqs_requests * per_day),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def render(figures: dict[str, Any]) -> str:
    """The summary as aligned text."""
    labels = {
        "latency_p50_s": "scan to processed, p50 (s)",
        "latency_p95_s": "scan to processed, p95 (s)",
        "latency_max_s": "scan to processed, max (s)",
        "first_job_latency_max_s": "first job of a scan, max (s)",
        "task_hours_per_day": "worker task-hours per day",
        "scanner_task_hours_per_day": "scanner task-hours per day",
        "time_at_min_tasks_share": "share of time at minTasks",
        "max_tasks_reached": "times maxTasks was reached",
        "scale_events": "scale events",
        "scans_back_at_min_tasks": "scans finding the service at minTasks",
        "small_scans_reaching_max_tasks": f"scans under {SMALL_SCAN_JOBS} jobs reaching maxTasks",
    }
    head = (
        f"stack {figures['stack']}: {figures['hours']} h, {figures['scans']} scans, "
        f"{figures['jobs']} jobs, tasks {figures['min_tasks']}..{figures['max_tasks']}"
    )
    width = max(len(label) for label in labels.values())
    lines = [head] + [f"  {label:<{width}}  {figures[key]}" for key, label in labels.items()]
    return "\n".join(lines)


def plot(result: SimResult, path: Path, title: str | None = None) -> None:
    """Queue depth, in-flight, desired and task counts over time, scans marked (PNG)."""
    import matplotlib  # noqa: PLC0415  # a dev tool: imported only for --plot

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    hours = [point[0] / 3600 for point in result.timeline]
    figure, (queue, tasks) = plt.subplots(2, 1, sharex=True, figsize=(11, 6), dpi=110)
    queue.step(hours, [p[1] for p in result.timeline], where="post", label="visible")
    queue.step(hours, [p[2] for p in result.timeline], where="post", label="in flight")
    queue.set_ylabel("messages")
    queue.set_yscale("symlog", linthresh=10)
    tasks.step(hours, [p[3] for p in result.timeline], where="post", label="desired")
    tasks.step(hours, [p[4] for p in result.timeline], where="post", label="tasks (billed)")
    tasks.set_ylabel("worker tasks")
    tasks.set_xlabel("hour of the simulated day")
    tasks.set_ylim(-0.2, result.max_tasks + 0.5)
    for scan in result.scans:
        for axis in (queue, tasks):
            axis.axvline(scan.time / 3600, color="grey", alpha=0.15 if scan.jobs else 0.05, lw=0.8)
    queue.legend(loc="upper right")
    tasks.legend(loc="upper right")
    queue.set_title(title or f"{result.stack}: one simulated day (grey lines: scans)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
