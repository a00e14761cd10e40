"""`python -m worker`: wire settings, clients, the pool, handlers and the consumer, then run.

Everything is built once here and passed in, and everything wired is imported above.
`python -m worker` loads the settings before it imports this module (see `worker/__main__.py`),
so a bad setting exits 2 before these imports (boto3, psycopg, the pipeline) load. Signals are
handled here only, by `jobping.signals`: the first SIGTERM/SIGINT sets the stop event (the
consumer drains and this returns 0), a second one exits at once.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from psycopg_pool import ConnectionPool

from jobping.aws import count_requests, make_client
from jobping.db import ConnectOptions, conninfo_for, open_pool
from jobping.envvars import ECS_AGENT_URI
from jobping.logs import configure
from jobping.settings import WorkerSettings
from jobping.signals import install_signal_handlers
from worker import pipeline
from worker.backoff import Backoff
from worker.consumer import Consumer, Handler
from worker.gate import DependencyGate, OutagePolicy
from worker.health import DatabaseProbe, HealthServer, pool_warmup
from worker.metrics import Metrics, StdoutWriter
from worker.protection import TaskProtection
from worker.sqs import SqsQueue

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient  # type stubs: not in the image

log = logging.getLogger(__name__)

BuildHandlers = Callable[[WorkerSettings, ConnectionPool], Mapping[str, Handler]]
#: Exit code when running handlers did not finish within WORKER_DRAIN_SECONDS.
EXIT_UNCLEAN_DRAIN = 1


def main(settings: WorkerSettings) -> int:
    """Run the worker until SIGTERM/SIGINT; 0 after a clean drain.

    Args:
        settings: the worker's settings, loaded (and a bad one refused with exit 2) by
            `python -m worker` before it imported this module.
    """
    configure(settings.log_level, settings.log_format)
    stop = install_signal_handlers("worker")
    return serve(settings, pipeline.build_handlers, stop)


def serve(
    settings: WorkerSettings,
    build_handlers: BuildHandlers,
    stop: threading.Event,
    *,
    pollers: int | None = None,
    backoff: Backoff | None = None,
    pool_timeout: float = 10.0,
    outage: OutagePolicy | None = None,
) -> int:
    """Build the clients, pool and consumer from `settings` and consume until `stop` is set.

    Args:
        settings: the worker's settings.
        build_handlers: action → handler registry, given the settings and the pool.
        stop: set by the signal handler to start a graceful stop.
        pollers: poller threads (default: enough to fill `concurrency` slots in one poll round).
        backoff: retry delays (default `Backoff()`).
        pool_timeout: seconds a handler waits for a database connection before failing.
        outage: probe intervals and hand-back visibility while the database is down.
    """
    concurrency = settings.worker_concurrency
    pollers = pollers or max(1, math.ceil(concurrency / settings.worker_batch_size))
    sqs = make_client(
        "sqs",
        settings,
        max_pool_connections=concurrency + pollers + 2,
        read_timeout=settings.worker_wait_seconds + 10,  # a long poll must not time out
    )
    secrets = make_client("secretsmanager", settings) if settings.database_secret_arn else None
    requests = count_requests(sqs)
    conninfo, options = conninfo_for(settings, secrets), ConnectOptions.from_settings(settings)
    # One connection per handler thread, plus one for the notification sweep. The probe has its
    # own, outside the pool, so that neither can make it wait.
    pool = open_pool(
        conninfo, size=concurrency + 1, timeout=pool_timeout, autocommit=True, options=options
    )
    probe = DatabaseProbe(conninfo, options)
    gate = DependencyGate(probe, policy=outage, on_resume=pool_warmup(pool, pool_timeout))
    try:
        handlers = build_handlers(settings, pool)
        consumer = _consumer(settings, sqs, handlers, pollers, backoff=backoff, gate=gate)
        code = _run(consumer, gate, settings.health_port, stop)
        log.info(
            "worker stopped",
            extra={
                "exit_code": code,
                "outcomes": dict(consumer.outcomes),
                "sqs_requests": requests.count,
            },
        )
        return code
    finally:
        probe.close()
        pool.close(timeout=5.0)


def _consumer(
    settings: WorkerSettings,
    sqs: SQSClient,
    handlers: Mapping[str, Handler],
    pollers: int,
    *,
    backoff: Backoff | None,
    gate: DependencyGate,
) -> Consumer:
    return Consumer(
        SqsQueue(sqs, str(settings.job_queue_url)),
        handlers,
        concurrency=settings.worker_concurrency,
        batch_size=settings.worker_batch_size,
        wait_seconds=settings.worker_wait_seconds,
        drain_seconds=settings.worker_drain_seconds,
        pollers=pollers,
        prefetch=settings.worker_prefetch,
        backoff=backoff,
        metrics=Metrics(StdoutWriter()),
        protection=TaskProtection(os.environ.get(ECS_AGENT_URI)),
        gate=gate,
        job_timeout=settings.worker_job_timeout_seconds,
    )


def _run(consumer: Consumer, gate: DependencyGate, port: int, stop: threading.Event) -> int:
    # Liveness is the consumer's own loops only; the database is readiness (see worker.health).
    health = HealthServer(port, consumer.liveness, gate.readiness)
    health.start()
    try:
        clean = consumer.run(stop)
    finally:
        health.stop()
    return 0 if clean else EXIT_UNCLEAN_DRAIN
