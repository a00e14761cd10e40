"""Turn rounds of figures into medians and spreads, the targets table, and the result files."""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- bench:latest:start -->", "<!-- bench:latest:end -->"


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, min, max and the spread (max - min) as a percentage of the median."""
    median = statistics.median(values)
    return {
        "median": median,
        "min": min(values),
        "max": max(values),
        "spread_pct": 100 * (max(values) - min(values)) / median if median else 0.0,
        "n": len(values),
    }


def summarize(rounds: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """`spread` of every numeric figure present in every round."""
    keys = [
        k for k, v in rounds[0].items() if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    return {
        key: spread([float(r[key]) for r in rounds])
        for key in keys
        if all(isinstance(r.get(key), int | float) for r in rounds)
    }


@dataclass(frozen=True)
class Target:
    """One figure of the issue's targets."""

    label: str
    scenario: str
    figure: str
    better: str  # ">=" or "<="
    bound: float
    unit: str
    use_max: bool = False  # a peak is judged by its worst round

    def value(self, summary: dict[str, Any]) -> dict[str, float] | None:
        """The figure's statistics, if the scenario ran."""
        stats: dict[str, float] | None = summary.get(self.scenario, {}).get(self.figure)
        return stats

    def judged(self, stats: dict[str, float]) -> float:
        """The value compared with the bound."""
        return stats["max"] if self.use_max else stats["median"]

    def met(self, stats: dict[str, float]) -> bool:
        """Whether the target is met."""
        value = self.judged(stats)
        return value >= self.bound if self.better == ">=" else value <= self.bound


TARGETS = (
    Target(
        "worker no-op vs limit, 1 poller (concurrency 8)", "noop", "ratio_to_limit", ">=", 0.95, "x"
    ),
    Target(
        "worker no-op vs limit, 4 pollers (concurrency 32)",
        "noop32",
        "ratio_to_limit",
        ">=",
        0.95,
        "x",
    ),
    Target("full pipeline, jobs/s per worker process", "pipeline", "messages_per_s", ">=", 300, ""),
    Target("SQS requests per job, scanner + worker", "e2e", "sqs_requests_per_job", "<=", 0.35, ""),
    Target(
        "worker peak RSS, concurrency 8",
        "pipeline",
        "peak_rss_mib",
        "<=",
        150,
        " MiB",
        use_max=True,
    ),
    Target("process start to first poll", "pipeline", "start_to_first_poll_s", "<=", 1.5, " s"),
    Target(
        "one search edit at 100k searches, worker CPU (worst edit)",
        "searches",
        "edit_cpu_ms_max",
        "<=",
        20,
        " ms",
    ),
    Target(
        "search edit seen by the worker (worst edit)", "searches", "edit_seen_s_max", "<=", 10, " s"
    ),
    Target("worker peak RSS at 100k searches", "searches", "peak_rss_mib_100k", "<=", 250, " MiB"),
)

#: Detail rows: (scenario, figure, label, format).
DETAILS: tuple[tuple[str, str, str, str], ...] = (
    ("limit", "messages_per_s", "limit: bare boto3 loop, messages/s", "{:.0f}"),
    ("noop", "messages_per_s", "worker, no-op action, messages/s", "{:.0f}"),
    ("noop", "ratio_to_limit", "worker no-op / limit (same round)", "{:.2f}"),
    ("noop", "messages_per_cpu_s", "worker no-op, messages per worker CPU-s", "{:.0f}"),
    ("noop", "sqs_requests_per_message", "worker no-op, SQS requests per message", "{:.3f}"),
    ("noop", "peak_rss_mib", "worker no-op, peak RSS (MiB)", "{:.1f}"),
    ("noop", "start_to_first_poll_s", "worker no-op, start to first poll (s)", "{:.2f}"),
    ("limit32", "messages_per_s", "limit, 4 threads: bare boto3 loop, messages/s", "{:.0f}"),
    ("noop32", "messages_per_s", "worker no-op, concurrency 32 (4 pollers), messages/s", "{:.0f}"),
    ("noop32", "ratio_to_limit", "worker no-op / limit, 4 pollers (same round)", "{:.2f}"),
    ("noop32", "messages_per_cpu_s", "worker no-op c32, messages per worker CPU-s", "{:.0f}"),
    ("noop32", "sqs_requests_per_message", "worker no-op c32, SQS requests per message", "{:.3f}"),
    ("pipeline", "messages_per_s", "full pipeline, jobs/s per worker process", "{:.0f}"),
    ("pipeline", "messages_per_cpu_s", "full pipeline, jobs per worker CPU-s", "{:.0f}"),
    ("pipeline", "sqs_requests_per_message", "full pipeline, SQS requests per job", "{:.3f}"),
    ("pipeline", "matches_per_job", "full pipeline, matches written per job", "{:.1f}"),
    ("pipeline", "notifications_per_job", "full pipeline, notifications sent per job", "{:.1f}"),
    ("pipeline", "peak_rss_mib", "worker peak RSS, concurrency 8 (MiB)", "{:.1f}"),
    ("pipeline", "start_to_first_poll_s", "worker start to first poll (s)", "{:.2f}"),
    ("e2e", "sqs_requests_per_job", "end to end: SQS requests per job", "{:.3f}"),
    ("e2e", "scanner_requests_per_job", "  of which scanner", "{:.3f}"),
    ("e2e", "worker_requests_per_job", "  of which worker", "{:.3f}"),
    ("e2e", "scan_to_persisted_p50_s", "end to end: scan to persisted p50 (s)", "{:.2f}"),
    ("e2e", "scan_to_persisted_p95_s", "end to end: scan to persisted p95 (s)", "{:.2f}"),
    ("e2e", "enqueue_to_persisted_p50_s", "end to end: enqueue to persisted p50 (s)", "{:.2f}"),
    ("e2e", "enqueue_to_persisted_p95_s", "end to end: enqueue to persisted p95 (s)", "{:.2f}"),
    *(
        row
        for size in ("1k", "10k", "100k")
        for row in (
            ("searches", f"messages_per_s_{size}", f"{size} searches: jobs/s per worker", "{:.0f}"),
            ("searches", f"matches_per_job_{size}", f"{size} searches: matches per job", "{:.0f}"),
            (
                "searches",
                f"notifications_per_job_{size}",
                f"{size} searches: notifications per job",
                "{:.0f}",
            ),
            (
                "searches",
                f"messages_per_cpu_s_{size}",
                f"{size} searches: jobs per worker CPU-s",
                "{:.0f}",
            ),
            (
                "searches",
                f"transactions_per_job_{size}",
                f"{size} searches: Postgres transactions per job",
                "{:.2f}",
            ),
            (
                "searches",
                f"peak_rss_mib_{size}",
                f"{size} searches: worker peak RSS (MiB)",
                "{:.1f}",
            ),
        )
    ),
    ("searches", "index_mib", "largest size: index memory, searches included (MiB)", "{:.1f}"),
    ("searches", "match_ms_per_job", "largest size: match time per job (ms)", "{:.2f}"),
    ("searches", "match_us_per_match", "largest size: match time per match (µs)", "{:.1f}"),
    ("searches", "load_cpu_ms", "largest size: worker CPU of the first full load (ms)", "{:.0f}"),
    ("searches", "edit_cpu_ms_median", "largest size: one edit, worker CPU, median (ms)", "{:.2f}"),
    ("searches", "edit_cpu_ms_max", "largest size: one edit, worker CPU, worst (ms)", "{:.2f}"),
    (
        "searches",
        "edit_seen_s_median",
        "largest size: edit seen by the worker, median (s)",
        "{:.2f}",
    ),
    ("searches", "edit_seen_s_max", "largest size: edit seen by the worker, worst (s)", "{:.2f}"),
)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "nproc": os.cpu_count(),
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "cpu": _cpu_model(),
    }


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else platform.processor()


def _fmt(stats: dict[str, float], pattern: str) -> str:
    median = pattern.format(stats["median"])
    if stats["n"] < 2:
        return median
    return f"{median} ({pattern.format(stats['min'])}-{pattern.format(stats['max'])})"


def table(result: dict[str, Any]) -> str:
    """The Markdown table of one run: targets first, then every figure."""
    m = result["machine"]
    summary = result["summary"]
    lines = [
        f"Run {result['finished_at']} on {m['nproc']} x {m['machine']} ({m['cpu']}), "
        f"{m['system']}, Python {m['python']}; SQS endpoint: {result['config']['endpoint']}. "
        "Median of the rounds (min-max).",
        "",
        "| target | measured | target | met |",
        "|---|---|---|---|",
    ]
    for target in TARGETS:
        stats = target.value(summary)
        if stats is None:
            lines.append(f"| {target.label} | not run | {target.better} {target.bound} | |")
            continue
        shown = (
            f"{target.judged(stats):.2f}{target.unit} (worst round)"
            if target.use_max
            else f"{_fmt(stats, '{:.2f}')}{target.unit}"
        )
        ok = "yes" if target.met(stats) else "**no**"
        lines.append(
            f"| {target.label} | {shown} | {target.better} {target.bound:g}{target.unit} | {ok} |"
        )
    lines += ["", "| figure | median (min-max) | spread |", "|---|---|---|"]
    for scenario, figure, label, pattern in DETAILS:
        stats = summary.get(scenario, {}).get(figure)
        if stats is not None:
            shown = f"{stats['spread_pct']:.0f}%" if stats["n"] > 1 else "one round"
            lines.append(f"| {label} | {_fmt(stats, pattern)} | {shown} |")
    return "\n".join(lines) + "\n"


def write(
    result: dict[str, Any],
    out: Path,
    *,
    name: str = "latest",
    readme: bool,
    say: Callable[[str], None],
) -> None:
    """Write `<name>.json`, `<name>.md`, a dated copy, and the README's latest-results section."""
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, default=str) + "\n"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"run-{stamp}.json").write_text(text)
    (out / f"{name}.json").write_text(text)
    rendered = table(result)
    (out / f"{name}.md").write_text("# Latest benchmark run\n\n" + rendered)
    say(rendered)
    if readme and README.exists():
        current = README.read_text()
        if START in current and END in current:
            head, rest = current.split(START, 1)
            _, tail = rest.split(END, 1)
            README.write_text(f"{head}{START}\n{rendered}{END}{tail}")
