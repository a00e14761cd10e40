"""Scenario 5, searches: the worker at 1,000, 10,000 and 100,000 saved searches (5 per user).

At each size the full pipeline drains the same jobs; the figures are jobs/s per worker
process, matches and notifications per job (the fixture's match rate grows with the searches),
Postgres transactions per job (flat: a job is the same statements however many searches it
matches) and peak RSS. At the largest size, while the worker keeps taking a trickle of jobs,
searches are edited one at a time, 6 s apart (the worker looks every 5 s): each edit's cost is
the worker's own figure (`cpu_ms` of its "saved searches updated" log line: the thread CPU of
the look that applied it), and "seen" is that line's time minus the edit's commit. In this
process, the index is built from the same rows to take its memory (tracemalloc) and the match
time per job (the bench's rule analysis done beforehand).
"""

from __future__ import annotations

import functools
import gc
import json
import logging
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from bench import scenarios
from bench.env import BenchEnv, send_bodies
from bench.fixtures import seed_searches
from bench.procs import WorkerProcess
from devtools.local.queues import JobQueues
from worker.analyze import RuleAnalyzer
from worker.match import SearchIndex
from worker.model import JobPosting
from worker.searches import saved_search

log = logging.getLogger("bench")

SIZES = (1_000, 10_000, 100_000)
SEARCHES_PER_USER = 5
#: The edits made at the largest size, one per look: (label, SQL, parameters from a row id).
EDITS: tuple[tuple[str, str], ...] = (
    ("keywords", "UPDATE saved_searches SET keywords = '{rust,kubernetes}' WHERE id = %s"),
    ("filters", "UPDATE saved_searches SET locations = '{Lisbon}', seniority = '{}' WHERE id = %s"),
    ("new word", "UPDATE saved_searches SET keywords = '{zanzibar platform}' WHERE id = %s"),
    ("deactivate", "UPDATE saved_searches SET active = false WHERE id = %s"),
    ("delete", "DELETE FROM saved_searches WHERE id = %s"),
    (
        "insert",
        "INSERT INTO saved_searches (user_id, name, keywords) "
        "SELECT user_id, 'bench edit', '{python}' FROM saved_searches WHERE id = %s",
    ),
)
EDIT_SPACING_S = 6.0
SEEN_TIMEOUT_S = 60.0
TRICKLE_INTERVAL_S = 0.2
MATCH_SAMPLE = 300


def label(size: int) -> str:
    """`1k`, `10k`, `100k`."""
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def run(env: BenchEnv, args: Any, logdir: Path) -> dict[str, Any]:
    """Every size in turn; the edit figures and the in-process figures at the largest."""
    sizes = [int(s) for s in str(args.search_sizes).split(",")]
    bodies = scenarios.job_bodies(env.database_url)[: args.searches_jobs]
    figures: dict[str, Any] = {"jobs": len(bodies)}
    for size in sizes:
        reseed(env.database_url, size)
        largest = size == max(sizes)
        edits = functools.partial(edit_phase, env) if largest else None
        drained = _drain(env, bodies, logdir, f"searches-{label(size)}", args.concurrency, edits)
        tag = label(size)
        for key in ("messages_per_s", "messages_per_cpu_s", "peak_rss_mib", "matches_per_job",
                    "notifications_per_job", "transactions_per_job"):  # fmt: skip
            figures[f"{key}_{tag}"] = drained[key]
        if largest:
            figures.update({k: v for k, v in drained.items() if k.startswith(("edit", "load"))})
            figures.update(in_process(env.database_url, size))
        log.info("searches %s: %s", tag, {k: v for k, v in figures.items() if k.endswith(tag)})
    return figures


def reseed(conninfo: str, size: int) -> None:
    """Exactly `size` saved searches across `size / 5` users; no results left."""
    with psycopg.connect(conninfo) as conn:
        conn.execute("TRUNCATE saved_searches, matches, notifications, job_analyses CASCADE")
    seed_searches(conninfo, max(1, size // SEARCHES_PER_USER), size)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE saved_searches")


def _commits(conninfo: str) -> int:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def _drain(
    env: BenchEnv,
    bodies: list[str],
    logdir: Path,
    name: str,
    concurrency: int,
    after: Callable[[WorkerProcess, JobQueues], dict[str, Any]] | None,
) -> dict[str, Any]:
    before = _commits(env.database_url)
    figures = scenarios.worker_drain(
        env, "worker", bodies, logdir, name, concurrency=concurrency, after_drain=after
    )
    time.sleep(1.0)  # backends flush their statistics when they exit
    scenarios.pipeline_effects(env, figures)
    # Over every job the worker processed (the edit phase's trickle included).
    processed = figures["outcomes"].get("processed", len(bodies))
    figures["transactions_per_job"] = (_commits(env.database_url) - before) / processed
    return figures


def edit_phase(env: BenchEnv, worker: WorkerProcess, queues: JobQueues) -> dict[str, Any]:
    """Edit searches one at a time while a trickle of jobs keeps the worker looking."""
    stop = threading.Event()
    trickle = threading.Thread(target=_trickle, args=(env, queues, stop), daemon=True)
    tail = _LogTail(worker.log_path)
    loaded = tail.first("saved searches loaded")
    trickle.start()
    costs: list[float] = []
    seen: list[float] = []
    try:
        with psycopg.connect(env.database_url, autocommit=True) as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM saved_searches LIMIT %s", (20,))]
            for (kind, sql), search_id in zip(EDITS, ids, strict=False):
                time.sleep(EDIT_SPACING_S)
                conn.execute(sql.encode(), (search_id,))
                committed = time.time()
                record = _wait_for_look(tail, committed)
                costs.append(float(record["cpu_ms"]))
                seen.append(datetime.fromisoformat(record["time"]).timestamp() - committed)
                log.info("edit %s: %.2f ms CPU, seen after %.2f s", kind, costs[-1], seen[-1])
    finally:
        stop.set()
        trickle.join(10)
    scenarios.watch_until_empty(env.client(), queues.url, worker)
    return {
        "edits": len(costs),
        "edit_cpu_ms_median": statistics.median(costs),
        "edit_cpu_ms_max": max(costs),
        "edit_seen_s_median": statistics.median(seen),
        "edit_seen_s_max": max(seen),
        "load_cpu_ms": float(loaded["cpu_ms"]),
        "load_duration_ms": float(loaded["duration_ms"]),
    }


class _LogTail:
    """The worker's JSON log records with a given message, read once each (the log is large)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open(errors="replace")
        self._seen: list[dict[str, Any]] = []

    def _read(self) -> None:
        for line in self._file:
            if '"message": "saved searches' in line:
                self._seen.append(json.loads(line))

    def first(self, message: str) -> dict[str, Any]:
        """The first record with `message` so far."""
        self._read()
        return next(r for r in self._seen if r["message"] == message)

    def after(self, message: str, at: float) -> dict[str, Any] | None:
        """The first record with `message` and a change, logged at `at` or later."""
        self._read()
        for record in self._seen:
            when = datetime.fromisoformat(record["time"]).timestamp()
            if record["message"] == message and record.get("changed") and when >= at:
                return record
        return None


def _wait_for_look(tail: _LogTail, after: float) -> dict[str, Any]:
    deadline = time.monotonic() + SEEN_TIMEOUT_S
    while time.monotonic() < deadline:
        if (record := tail.after("saved searches updated", after)) is not None:
            return record
        time.sleep(0.05)
    raise TimeoutError(f"the worker did not apply an edit within {SEEN_TIMEOUT_S} s")


def _trickle(env: BenchEnv, queues: JobQueues, stop: threading.Event) -> None:
    bodies = scenarios.job_bodies(env.database_url)[:50]
    index = 0
    while not stop.wait(TRICKLE_INTERVAL_S):
        send_bodies(env.client(), queues.url, [bodies[index % len(bodies)]], threads=1)
        index += 1


def in_process(conninfo: str, size: int) -> dict[str, Any]:
    """Index memory (tracemalloc: the index and the searches it holds) and match time per job."""
    gc.collect()
    tracemalloc.start()
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT id, user_id, keywords, locations, remote_only, min_salary, salary_currency, "
            "seniority FROM saved_searches WHERE active"
        ).fetchall()
        jobs = conn.execute(
            "SELECT id, source, title, company, location, remote, url, description, "
            "salary_min, salary_max, salary_currency, content_hash FROM jobs ORDER BY id LIMIT %s",
            (MATCH_SAMPLE,),
        ).fetchall()
    shared: dict[Any, Any] = {}  # as the worker loads them
    index = SearchIndex.build([saved_search(row, shared) for row in rows])
    del shared
    del rows
    gc.collect()
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    postings = [_posting(row) for row in jobs]
    analyzer = RuleAnalyzer()
    analysed = [(job, analyzer.analyze(job)) for job in postings]
    cpu = time.process_time()
    matched = sum(len(index.match(job, analysis)) for job, analysis in analysed)
    per_job = (time.process_time() - cpu) / len(analysed)
    return {
        "index_searches": len(index),
        "index_mib": memory / 2**20,
        "match_ms_per_job": 1000 * per_job,
        "match_us_per_match": 1e6 * per_job * len(analysed) / max(1, matched),
        "size": size,
    }


def _posting(row: tuple[Any, ...]) -> JobPosting:
    return JobPosting(
        job_id=row[0], source=row[1], title=row[2], company=row[3], location=row[4],
        remote=row[5], url=row[6], description=row[7],
        salary_min=Decimal(row[8]) if row[8] is not None else None,
        salary_max=Decimal(row[9]) if row[9] is not None else None,
        salary_currency=row[10].strip() if row[10] else None, content_hash=row[11],
    )  # fmt: skip
