"""`make run`: the whole system on this machine, start to finish, then a summary.

Starts the local system (moto + embedded PostgreSQL), serves the sample job boards, runs the
scanner once, runs worker processes until the queue is drained, prints what happened and stops
everything it started. Ctrl-C at any point drains the workers and stops the servers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from devtools.local.report import print_summary, query_results
from devtools.local.system import LOCAL_CREDENTIALS, LocalState, LocalSystem
from jobping import ops
from jobping.aws import make_client
from jobping.settings import AwsSettings

DRAIN_TIMEOUT_S = 600


@dataclass
class RunResult:
    """What one `make run` did (the summary's inputs)."""

    scan: dict[str, Any] = field(default_factory=dict)
    worker_stats: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0
    drained: bool = False
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _env(state: LocalState, **extra: str) -> dict[str, str]:
    return {**os.environ, **state.env(), "LOG_FORMAT": "json", "LOG_LEVEL": "INFO", **extra}


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    # Own session: the terminal's Ctrl-C reaches only us, and we send each child one SIGTERM.
    return subprocess.Popen(
        [sys.executable, *args],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@contextmanager
def sample_boards(root: Path) -> Iterator[Path]:
    """Serve the sample boards (`python -m devtools.samples`); yields the sources file."""
    sources = root / "sources.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.samples", "--sources-out", str(sources)],
        stdout=subprocess.PIPE,
        stderr=(root / "boards.log").open("wb"),
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None  # PIPE
        if not proc.stdout.readline().startswith(b"http://"):
            raise RuntimeError(f"sample boards did not start; see {root / 'boards.log'}")
        yield sources
    finally:
        stop_processes([proc], timeout=10)


def run_scanner(state: LocalState, root: Path, sources: Path) -> dict[str, Any]:
    """Run `python -m scanner` once; return its JSON summary line."""
    log = root / "scanner.log"
    proc = _spawn(["-m", "scanner"], _env(state, SCANNER_SOURCES=str(sources)), log)
    try:
        code = proc.wait(timeout=300)
    finally:
        stop_processes([proc])
    summaries = [
        json.loads(line)
        for line in log.read_text().splitlines()
        if line.startswith("{") and '"scan_summary"' in line
    ]
    if not summaries:
        raise RuntimeError(f"scanner exited {code} without a summary; see {log}")
    return {**summaries[-1], "exit_code": code}


def drain(state: LocalState, root: Path, workers: int, result: RunResult, console: Console) -> None:
    """Run `workers` worker processes until the queue is empty, with a progress bar."""
    sqs = make_client("sqs", AwsSettings.for_endpoint(state.env()["AWS_ENDPOINT_URL"]))
    env = _env(state, WORKER_WAIT_SECONDS="1", WORKER_DRAIN_SECONDS="30", HEALTH_PORT="0")
    procs = [_spawn(["-m", "worker"], env, root / f"worker-{n}.log") for n in range(workers)]
    total = int(result.scan.get("enqueued", 0))
    columns = [
        TextColumn("[bold]processing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    ]
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("jobs", total=max(total, 1), detail="")
            began = time.monotonic()
            quiet_checks, deadline = 0, began + DRAIN_TIMEOUT_S
            while quiet_checks < 2 and time.monotonic() < deadline:
                time.sleep(0.5)
                if any(p.poll() is not None for p in procs):
                    raise RuntimeError("a worker exited early; see .local/worker-*.log")
                main, dlq = (
                    ops.queue_stats(sqs, state.queue_url),
                    ops.queue_stats(sqs, state.dlq_url),
                )
                done, matched = _progress_counts(state.database_url, result.started_at)
                elapsed = max(time.monotonic() - began, 1e-3)
                progress.update(
                    task,
                    completed=done + dlq.visible,
                    detail=(f"matched {matched} · DLQ {dlq.visible} · {done / elapsed:.0f} jobs/s"),
                )
                quiet_checks = quiet_checks + 1 if main.visible + main.in_flight == 0 else 0
            result.drained = quiet_checks >= 2
    finally:
        stop_processes(procs)
    result.worker_stats = [_worker_stats(root / f"worker-{n}.log") for n in range(workers)]


def stop_processes(procs: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    """One SIGTERM each (a clean drain), then wait; SIGKILL only past `timeout`."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _progress_counts(url: str, since: datetime) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM job_analyses WHERE analyzed_at >= %s), "
            "(SELECT count(*) FROM matches WHERE matched_at >= %s)",
            (since, since),
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _worker_stats(log: Path) -> dict[str, Any]:
    """The worker's final `worker stopped` line (its counters), if it wrote one."""
    for line in reversed(log.read_text(errors="replace").splitlines() if log.exists() else []):
        if line.startswith("{") and '"worker stopped"' in line:
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    return {}


def run(root: Path, workers: int = 2, console: Console | None = None) -> int:
    """`make run`: start, scan, drain, report, stop. Returns the exit code."""
    console = console or Console()
    os.environ.update(LOCAL_CREDENTIALS)  # moto takes any key; never the caller's real ones
    system, result, started = LocalSystem(root), RunResult(), time.monotonic()
    try:
        with console.status("starting moto (SQS) and the embedded PostgreSQL…"):
            state = system.up()
        console.print(
            f"local system up: SQS {state.env()['AWS_ENDPOINT_URL']}, PostgreSQL "
            f"127.0.0.1:{state.pg_port}, queue settings from Pulumi.dev.yaml"
        )
        with sample_boards(root) as sources, console.status("scanning the sample job boards…"):
            result.scan = run_scanner(state, root, sources)
        if int(result.scan.get("enqueued", 0)) or _queue_depth(state):
            drain(state, root, workers, result, console)
        else:
            result.drained = True
        result.wall_s = time.monotonic() - started
        print_summary(
            console,
            result,
            query_results(state.database_url, result.started_at),
            ops.queue_stats(_sqs(state), state.dlq_url).visible,
        )
        return 0 if result.drained and result.scan.get("exit_code") == 0 else 1
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: workers drained, stopping the local system[/]")
        return 130
    finally:
        system.down()


def _sqs(state: LocalState) -> Any:
    return make_client("sqs", AwsSettings.for_endpoint(state.env()["AWS_ENDPOINT_URL"]))


def _queue_depth(state: LocalState) -> int:
    stats = ops.queue_stats(_sqs(state), state.queue_url)
    return stats.visible + stats.in_flight
