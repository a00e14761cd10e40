"""The four scenarios. Each fills a fresh queue, then drains it, timing only the drain.

A drain starts when the first ReceiveMessage returns messages and ends when the queue reports
nothing visible, in flight or delayed (every message deleted), polled every `WATCH_INTERVAL`
seconds by the same watcher for the bare loop and for the worker.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from bench.env import BenchEnv, queue_depth, send_bodies
from bench.fixtures import make_jobs, reset_all, reset_results
from bench.procs import Finished, WorkerProcess
from jobping.aws import count_requests, make_client
from jobping.messages import PROCESS_JOB, JobMessage, JobSummary, encode

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from devtools.local.queues import JobQueues

#: How often the worker's CPU is sampled (a read of /proc, which costs the machine nothing).
WATCH_INTERVAL = 0.02
#: How often the queue's depth is asked for: GetQueueAttributes costs the endpoint and this
#: process CPU that the worker would otherwise have, so it is asked rarely until the end is near.
DEPTH_INTERVAL_FAR, DEPTH_INTERVAL_NEAR, NEAR_EMPTY = 0.25, 0.02, 200
DRAIN_TIMEOUT = 300.0
MIB = 1024


@dataclass
class Drain:
    """When a drain started and ended, and the worker's CPU seconds sampled along the way."""

    started: float = 0.0
    ended: float = 0.0
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (wall time, CPU seconds)

    @property
    def seconds(self) -> float:
        """Drain duration."""
        return self.ended - self.started

    def cpu_between(self, start: float, end_cpu: float) -> float:
        """CPU seconds spent from wall time `start` to the end."""
        before = [cpu for at, cpu in self.cpu if at <= start]
        return end_cpu - (before[-1] if before else 0.0)


def watch_until_empty(
    sqs: SQSClient, url: str, worker: WorkerProcess | None = None, timeout: float = DRAIN_TIMEOUT
) -> Drain:
    """Poll the queue until it is empty (20 ms apart near the end); sample the worker's CPU."""
    drain = Drain()
    deadline = time.monotonic() + timeout
    next_depth = 0.0
    while time.monotonic() < deadline:
        now = time.time()
        if worker is not None:
            if not worker.alive():
                raise RuntimeError(f"{worker.name} exited; see {worker.log_path}")
            drain.cpu.append((now, worker.cpu_seconds()))
        if now >= next_depth:
            depth = queue_depth(sqs, url)
            if depth == 0:
                drain.ended = time.time()
                return drain
            next_depth = now + (DEPTH_INTERVAL_NEAR if depth < NEAR_EMPTY else DEPTH_INTERVAL_FAR)
        time.sleep(WATCH_INTERVAL)
    raise TimeoutError(f"queue {url} not drained in {timeout} s")


def noop_bodies(count: int) -> list[str]:
    """Bodies for the no-op action, shaped and sized like real job messages."""
    return [
        encode(
            JobMessage(
                job_id=uuid.uuid4(),
                action="noop",
                data=JobSummary(
                    source="jobping:bench",
                    external_id=f"noop-{index}",
                    title="Senior Backend Engineer",
                    company="Company 1",
                    location="Berlin, Germany",
                    url=f"https://jobs.example.com/bench/{index}",
                ),
            )
        )
        for index in range(count)
    ]


def job_bodies(conninfo: str) -> list[str]:
    """One `process_job` message per stored job."""
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT id, source, external_id, title, company, location, url FROM jobs ORDER BY id"
        ).fetchall()
    return [
        encode(
            JobMessage(
                job_id=row[0],
                action=PROCESS_JOB,
                data=JobSummary(
                    source=row[1],
                    external_id=row[2],
                    title=row[3],
                    company=row[4],
                    location=row[5],
                    url=row[6],
                ),
            )
        )
        for row in rows
    ]


# -- 1. limit ------------------------------------------------------------------------------------


def limit(env: BenchEnv, bodies: list[str], threads: int) -> dict[str, Any]:
    """A bare boto3 loop: ReceiveMessage 10 + DeleteMessageBatch, on `threads` threads."""
    queues = env.new_queues()
    try:
        send_bodies(env.client(), queues.url, bodies)
        sqs = make_client("sqs", env.aws, max_pool_connections=threads + 2, read_timeout=30)
        requests = count_requests(sqs)
        first: list[float] = []
        done = threading.Event()

        def loop() -> None:
            while not done.is_set():
                messages = sqs.receive_message(
                    QueueUrl=queues.url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                ).get("Messages", [])
                if not messages:
                    continue
                first.append(time.time())
                entries: list[Any] = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ]
                sqs.delete_message_batch(QueueUrl=queues.url, Entries=entries)

        pollers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
        for poller in pollers:
            poller.start()
        drain = watch_until_empty(env.client(), queues.url)
        done.set()
        for poller in pollers:
            poller.join(5)
        drain.started = min(first)
        return {
            "messages": len(bodies),
            "threads": threads,
            "seconds": drain.seconds,
            "messages_per_s": len(bodies) / drain.seconds,
            "sqs_requests": requests.count,
        }
    finally:
        env.delete_queues(queues)


# -- 2. and 3. the worker process -----------------------------------------------------------------


def worker_drain(
    env: BenchEnv,
    module: str,
    bodies: list[str],
    logdir: Path,
    name: str,
    *,
    concurrency: int,
    profile_to: Path | None = None,
    after_drain: Callable[[WorkerProcess, JobQueues], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Fill a queue, start `python -m module` on it, time the drain, stop it cleanly.

    `after_drain` runs once the drain is timed, before the worker stops; its figures are added.
    """
    queues = env.new_queues()
    worker = WorkerProcess(
        module,
        env.process_env(queues, WORKER_CONCURRENCY=str(concurrency)),
        logdir,
        name,
    )
    profiler: subprocess.Popen[bytes] | None = None
    try:
        send_bodies(env.client(), queues.url, bodies)
        worker.start()
        if profile_to is not None:
            profiler = start_profiler(worker.pid, profile_to)
        drain = watch_until_empty(env.client(), queues.url, worker)
        end_cpu = drain.cpu[-1][1]
        if profiler is not None:
            stop_profiler(profiler)
        extra = after_drain(worker, queues) if after_drain is not None else {}
        finished = worker.stop()
    except BaseException:
        worker.kill()
        raise
    finally:
        env.delete_queues(queues)
    return {**_worker_figures(worker, finished, drain, end_cpu, len(bodies)), **extra}


def _worker_figures(
    worker: WorkerProcess, finished: Finished, drain: Drain, end_cpu: float, total: int
) -> dict[str, Any]:
    received = worker_first_receive(finished)
    drain.started = received
    stopped = finished.stopped_record()
    outcomes = stopped.get("outcomes", {})
    cpu = drain.cpu_between(received, end_cpu)
    if outcomes.get("processed", 0) < total or finished.exit_code != 0:
        raise RuntimeError(f"{worker.name}: exit {finished.exit_code}, outcomes {outcomes}")
    return {
        "messages": total,
        "seconds": drain.seconds,
        "messages_per_s": total / drain.seconds,
        "cpu_s": cpu,
        "messages_per_cpu_s": total / cpu if cpu > 0 else None,
        "start_to_first_poll_s": received - worker.started_at,
        "peak_rss_mib": finished.peak_rss_kib / MIB,
        "sqs_requests": stopped.get("sqs_requests"),
        "sqs_requests_per_message": (stopped.get("sqs_requests") or 0) / total,
        "outcomes": outcomes,
    }


def worker_first_receive(finished: Finished) -> float:
    """Wall time of the worker's first `received batch` record."""
    from datetime import datetime  # noqa: PLC0415

    record = finished.first("received batch")
    if record is None:
        raise RuntimeError("the worker never logged a received batch")
    return datetime.fromisoformat(record["time"]).timestamp()


def start_profiler(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling `pid` until SIGINT: the thread holding the GIL, i.e. where CPU goes."""
    py_spy = Path(sys.executable).parent / "py-spy"
    return subprocess.Popen(
        [
            *(str(py_spy), "record", "--pid", str(pid), "--rate", "200", "--format", "raw"),
            *("--output", str(out), "--nonblocking", "--gil"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profiler(profiler: subprocess.Popen[bytes]) -> None:
    """Let py-spy write its output and exit."""
    import signal  # noqa: PLC0415

    profiler.send_signal(signal.SIGINT)
    profiler.wait(60)


# -- 4. end to end ---------------------------------------------------------------------------------

_LATENCY = """
SELECT count(*),
       percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (
           ORDER BY extract(epoch FROM a.analyzed_at - j.first_seen_at)),
       percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (
           ORDER BY extract(epoch FROM a.analyzed_at - j.enqueued_at))
FROM jobs j JOIN job_analyses a ON a.job_id = j.id"""


def end_to_end(
    env: BenchEnv, jobs: int, logdir: Path, name: str, *, workers: int, concurrency: int
) -> dict[str, Any]:
    """Scanner over `jobs` new listings, then `workers` workers drain; requests and latency."""
    reset_all(env.database_url)
    jobs_file = logdir / "e2e-jobs.json"
    if not jobs_file.exists():
        jobs_file.write_text(json.dumps(make_jobs(jobs, seed=7)))
    queues = env.new_queues()
    processes = [
        WorkerProcess(
            "worker",
            env.process_env(queues, WORKER_CONCURRENCY=str(concurrency)),
            logdir,
            f"{name}-worker{i}",
        )
        for i in range(workers)
    ]
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.wait_for_log("consumer started", 60)
        scan = run_scanner(env, queues, jobs_file)
        _wait_all_persisted(env, queues, jobs, processes)
        finished = [process.stop() for process in processes]
    except BaseException:
        for process in processes:
            process.kill()
        raise
    finally:
        env.delete_queues(queues)
    with psycopg.connect(env.database_url) as conn:
        row = conn.execute(_LATENCY).fetchone()
    assert row is not None
    worker_requests = sum(f.stopped_record().get("sqs_requests", 0) for f in finished)
    scanner_requests = int(scan["sqs_requests"])
    return {
        "jobs": jobs,
        "workers": workers,
        "persisted": row[0],
        "scanner_sqs_requests": scanner_requests,
        "worker_sqs_requests": worker_requests,
        "sqs_requests_per_job": (scanner_requests + worker_requests) / jobs,
        "scanner_requests_per_job": scanner_requests / jobs,
        "worker_requests_per_job": worker_requests / jobs,
        "scan_to_persisted_p50_s": row[1][0],
        "scan_to_persisted_p95_s": row[1][1],
        "enqueue_to_persisted_p50_s": row[2][0],
        "enqueue_to_persisted_p95_s": row[2][1],
        "scanner_duration_s": scan["duration_ms"] / 1000,
        "worker_peak_rss_mib": max(f.peak_rss_kib for f in finished) / MIB,
    }


def run_scanner(env: BenchEnv, queues: JobQueues, jobs_file: Path) -> dict[str, Any]:
    """`python -m scanner` once over the jobs file; its JSON summary."""
    sources = json.dumps([{"type": "jobping", "name": "jobping:bench", "path": str(jobs_file)}])
    result = subprocess.run(
        [sys.executable, "-m", "scanner"],
        env=env.process_env(queues, SCANNER_SOURCES=sources),
        cwd=env.workdir,
        capture_output=True,
        text=True,
        check=False,
        timeout=DRAIN_TIMEOUT,
    )
    if result.returncode != 0:
        raise RuntimeError(f"scanner exited {result.returncode}: {result.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    if summary.get("enqueued", 0) == 0:
        raise RuntimeError(f"scanner enqueued nothing: {summary}")
    return summary


def _wait_all_persisted(
    env: BenchEnv, queues: JobQueues, jobs: int, processes: list[WorkerProcess]
) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT
    with psycopg.connect(env.database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM job_analyses").fetchone()
            if row and row[0] >= jobs and queue_depth(env.client(), queues.url) == 0:
                return
            if not all(process.alive() for process in processes):
                raise RuntimeError("a worker exited during the end-to-end run")
            time.sleep(0.2)
    raise TimeoutError(f"not every job persisted within {DRAIN_TIMEOUT} s")


def pipeline_effects(env: BenchEnv, figures: dict[str, Any]) -> None:
    """Add what the drain wrote per job (how heavy the fixture's matching is) to `figures`."""
    with psycopg.connect(env.database_url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM job_analyses), (SELECT count(*) FROM matches), "
            "(SELECT count(*) FROM notifications WHERE status = 'sent')"
        ).fetchone()
    assert row is not None
    analyses, matches, sent = row
    if analyses < figures["messages"]:
        raise RuntimeError(f"only {analyses} of {figures['messages']} jobs were analyzed")
    figures["matches_per_job"] = matches / analyses
    figures["notifications_per_job"] = sent / analyses


def pipeline_reset(env: BenchEnv) -> None:
    """Before a pipeline round: no analysis, match or notification left from the last one."""
    reset_results(env.database_url)
