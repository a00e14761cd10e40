"""The real worker runtime with test handlers, for the consumer tests.

Run from the repository root as `python -m tests.worker.consumer_app` (the tests start it as a
subprocess), or import `build_handlers` to run a `Consumer` in-process. The handlers keep their
state in three tables (`SCHEMA`):

- `consumer_runs`: one row per handler invocation (committed before the work starts);
- `consumer_jobs`: one row per job, `times` counts the committed processings (an upsert);
- `consumer_effects`: the job's one "effect" (think: the notification), under a unique key.

Actions (`data.title`, when numeric, overrides the sleep in seconds):

- `write`: sleep, then upsert the job row and insert the effect in one transaction;
- `fail_n_times`: raise RetryableError until invoked `int(data.location)` times, then `write`;
- `retry_always`: raise RetryableError; `permanent`: raise PermanentError;
- `hog_pool`: check out every pooled connection from a background thread and hold them for
  `data.title` seconds (a notification sweep stuck on a slow provider, busy handlers).

`CONSUMER_APP_*` variables set the test's backoff and outage timing (see `main`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING

from jobping.logs import configure
from jobping.messages import JobMessage
from jobping.settings import WorkerSettings, load
from jobping.signals import install_signal_handlers
from worker.backoff import Backoff
from worker.errors import PermanentError, RetryableError
from worker.gate import OutagePolicy
from worker.main import serve

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

    from worker.consumer import Handler

SCHEMA = """
CREATE TABLE IF NOT EXISTS consumer_runs (
    id bigserial PRIMARY KEY, job_id uuid NOT NULL, action text NOT NULL, pid int NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE IF NOT EXISTS consumer_jobs (
    job_id uuid PRIMARY KEY, times int NOT NULL, pid int NOT NULL);
CREATE TABLE IF NOT EXISTS consumer_effects (
    effect_key text PRIMARY KEY, job_id uuid NOT NULL);
"""

_RUN = "INSERT INTO consumer_runs (job_id, action, pid) VALUES (%s, %s, %s)"
_RUNS = "SELECT count(*) FROM consumer_runs WHERE job_id = %s"
_JOB = """
INSERT INTO consumer_jobs AS j (job_id, times, pid) VALUES (%s, 1, %s)
ON CONFLICT (job_id) DO UPDATE SET times = j.times + 1, pid = EXCLUDED.pid"""
_EFFECT = "INSERT INTO consumer_effects (effect_key, job_id) VALUES (%s, %s) ON CONFLICT DO NOTHING"


def build_handlers(settings: WorkerSettings, pool: ConnectionPool) -> Mapping[str, Handler]:
    """The test handler registry; `CONSUMER_APP_SLEEP` is the default sleep in seconds."""
    default_sleep = float(os.environ.get("CONSUMER_APP_SLEEP", "0"))
    pid = os.getpid()

    def record_run(message: JobMessage) -> int:
        with pool.connection() as conn:
            conn.execute(_RUN, (message.job_id, message.action, pid))
            row = conn.execute(_RUNS, (message.job_id,)).fetchone()
        return int(row[0]) if row else 0

    def write(message: JobMessage) -> None:
        record_run(message)
        title = message.data.title
        time.sleep(float(title) if title.replace(".", "", 1).isdigit() else default_sleep)
        with pool.connection() as conn, conn.transaction():
            conn.execute(_JOB, (message.job_id, pid))
            conn.execute(_EFFECT, (f"effect:{message.job_id}", message.job_id))

    def fail_n_times(message: JobMessage) -> None:
        if record_run(message) <= int(message.data.location or "1"):
            raise RetryableError("failing on purpose")
        write(message)

    def retry_always(message: JobMessage) -> None:
        record_run(message)
        raise RetryableError("always failing")

    def permanent(message: JobMessage) -> None:
        raise PermanentError("job cannot exist", kind="missing_job")

    def hog_pool(message: JobMessage) -> None:
        threading.Thread(target=_hog, args=(pool, float(message.data.title)), daemon=True).start()

    return {
        "write": write,
        "fail_n_times": fail_n_times,
        "retry_always": retry_always,
        "permanent": permanent,
        "hog_pool": hog_pool,
    }


def _hog(pool: ConnectionPool, seconds: float) -> None:
    with ExitStack() as stack:
        for _ in range(pool.max_size):
            stack.enter_context(pool.connection(timeout=10))
        logging.getLogger(__name__).info("pool hogged", extra={"connections": pool.max_size})
        time.sleep(seconds)


def _env(name: str, default: str) -> float:
    return float(os.environ.get(f"CONSUMER_APP_{name}", default))


def main() -> int:
    """Like `worker.main.main`, with the test handlers and a short test backoff."""
    settings = load(WorkerSettings, "consumer_app")
    configure(settings.log_level, settings.log_format)
    stop = install_signal_handlers("worker")
    backoff = Backoff(base=_env("BACKOFF_BASE", "1"), cap=_env("BACKOFF_CAP", "2"))
    defaults = OutagePolicy()
    outage = OutagePolicy(
        hold_seconds=int(_env("HOLD_SECONDS", str(defaults.hold_seconds))),
        probe_first=_env("PROBE_FIRST", str(defaults.probe_first)),
        probe_cap=_env("PROBE_CAP", str(defaults.probe_cap)),
        check_interval=_env("CHECK_INTERVAL", str(defaults.check_interval)),
    )
    return serve(settings, build_handlers, stop, backoff=backoff, pool_timeout=2.0, outage=outage)


if __name__ == "__main__":
    raise SystemExit(main())
