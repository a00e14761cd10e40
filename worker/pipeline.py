"""`process_job`: load the job, analyze and match it, persist the results, then notify.

Takes plain values and a connection pool and knows nothing of SQS (STYLE #10): the consumer
calls the handler with a decoded `JobMessage`, and maps `PermanentError` to the DLQ and any
other exception to a retry with backoff.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from psycopg_pool import PoolClosed

from jobping.aws import make_client
from jobping.messages import PROCESS_JOB, JobMessage
from worker.analyze import Analyzer, RuleAnalyzer
from worker.errors import PermanentError
from worker.notify import LogNotifier, NotificationSender, Notifier, SesNotifier
from worker.searches import SearchCache
from worker.settle import Handler
from worker.store import load_job, persist

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

    from jobping.settings import WorkerSettings
    from worker.model import JobPosting

log = logging.getLogger(__name__)


class JobPipeline:
    """The `process_job` handler."""

    def __init__(
        self,
        pool: ConnectionPool,
        analyzer: Analyzer,
        sender: NotificationSender,
        *,
        searches: SearchCache | None = None,
        sweep_interval_s: float = 60.0,
    ) -> None:
        self._pool = pool
        self._analyzer = analyzer
        self._sender = sender
        self._searches = searches or SearchCache()
        self._sweep_interval = sweep_interval_s
        self._sweeps_stopped = threading.Event()

    def __call__(self, message: JobMessage) -> None:
        """Process one job message; raises PermanentError if the job does not exist.

        On one autocommit connection: read the job (no transaction is open while it is
        analyzed), write analysis, matches and new notifications (as `sending`) in one
        statement, which commits on its own, and only then send the notifications and record
        how each went. A delivery of a version of the job older than the stored one writes and
        sends nothing (see `persist`).
        """
        with self._pool.connection() as conn:
            if not conn.autocommit:
                raise RuntimeError("JobPipeline needs a pool of autocommit connections")
            job = load_job(conn, message.job_id)
            index = self._searches.get(conn)
            if job is None:
                raise PermanentError(f"job {message.job_id} does not exist", kind="job_not_found")
            analysis = self._analyzer.analyze(job)
            matches = index.match(job, analysis)
            persisted = persist(conn, job, analysis, matches, self._sender.channel)
            if not persisted.current:
                _log_stale(job)
                return
            self._sender.send_claimed(conn, persisted.notifications)
        if log.isEnabledFor(logging.DEBUG):  # the settler logs every message at INFO already
            log.debug(
                "job processed",
                extra={
                    "job_id": str(job.job_id),
                    "matches": len(matches),
                    "notifications": len(persisted.notifications),
                },
            )

    def start_sweeps(self) -> threading.Thread:
        """Retry refused notifications every `sweep_interval_s`, busy or idle (a daemon thread).

        The sweep takes `pending` notifications (those the channel provably refused) whose last
        attempt is at least half an interval old, never `sending` ones; it ends with
        `stop_sweeps()` or once the pool is closed.
        """
        thread = threading.Thread(target=self._sweep_loop, name="notification-sweep", daemon=True)
        thread.start()
        return thread

    def stop_sweeps(self) -> None:
        """End the sweep thread after its current sweep."""
        self._sweeps_stopped.set()

    def _sweep_loop(self) -> None:
        while not self._sweeps_stopped.wait(self._sweep_interval):
            try:
                sent, not_sent = self._sender.send_pending(min_age_s=self._sweep_interval / 2)
            except PoolClosed:  # the worker is stopping
                return
            except Exception:  # the database may be back next time
                log.exception("notification sweep failed; trying again later")
                continue
            if sent or not_sent:
                log.info("notification sweep", extra={"sent": sent, "not_sent": not_sent})


def _log_stale(job: JobPosting) -> None:
    # Not an error: the newer version's own message brings (or brought) its results.
    log.info(
        "stale delivery: the job changed since it was read; nothing written",
        extra={"job_id": str(job.job_id), "content_hash": job.content_hash},
    )


def build_analyzer(settings: WorkerSettings) -> Analyzer:
    """Rules by default; Bedrock (falling back to the rules) when configured."""
    rules = RuleAnalyzer()
    if settings.analyzer != "bedrock" or not settings.bedrock_model_id:
        return rules
    from worker.bedrock import BedrockAnalyzer  # noqa: PLC0415  # only when configured

    # Two attempts of at most 6 s each stay inside the analyzer's 15 s wall-clock budget, so a
    # stuck call never outlives the job that already fell back to the rules.
    client = make_client("bedrock-runtime", settings, read_timeout=6, max_attempts=2)
    return BedrockAnalyzer(client, settings.bedrock_model_id, fallback=rules, timeout=15.0)


def build_notifier(settings: WorkerSettings) -> Notifier:
    """Log lines by default; SES v2 e-mail when configured."""
    if settings.notifier == "ses" and settings.ses_from_address:
        # No botocore retries: a retry after a read timeout would send the e-mail twice; the
        # sweep retries what SES provably refused (`worker.notify.ses_outcome`).
        client = make_client("sesv2", settings, max_attempts=1)
        return SesNotifier(client, settings.ses_from_address)
    return LogNotifier()


def build_handlers(settings: WorkerSettings, pool: ConnectionPool) -> Mapping[str, Handler]:
    """The worker's action registry: `process_job` → the job pipeline."""
    notifier = build_notifier(settings)
    pipeline = JobPipeline(pool, build_analyzer(settings), NotificationSender(pool, notifier))
    pipeline.start_sweeps()
    return {PROCESS_JOB: pipeline}
