"""`GET /health` (liveness) and `GET /ready` (dependencies), and the database probe.

Liveness is the consumer's own loops only (pollers, heartbeat, housekeeping: alive and making
progress). The container health check and ECS act on it by replacing the task, so it must not
depend on the database: during an RDS failover (60-120 s) every worker would be replaced at
once, for nothing a new task could fix. `GET /health` answers 200 while the loops are fine, with
`"status": "degraded"` and the reason when a dependency is down, and 503 only when a loop is
not. `GET /ready` answers 200 or 503 on the dependencies alone.

Neither endpoint touches the database: the dependency gate (`worker.gate`) probes from its own
thread with `DatabaseProbe`, which has a connection of its own, never one of the pool's, so a
slow notification sweep or busy handlers holding every pooled connection cannot fail it.

A stdlib `ThreadingHTTPServer` in a daemon thread: no dependency and nothing on the hot path.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from jobping.db import ConnectOptions, connect
from jobping.envvars import HEALTH_PATH

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

#: A check returns None when healthy, or the reason it is not.
Check = Callable[[], "str | None"]
#: Path of the readiness endpoint (dependencies only).
READY_PATH = "/ready"


def all_of(*checks: Check) -> Check:
    """A check that fails with the first failing check's reason."""

    def combined() -> str | None:
        for check in checks:
            if (reason := check()) is not None:
                return reason
        return None

    return combined


class DatabaseProbe:
    """`SELECT 1` on a connection of its own, kept open between probes and bounded in time."""

    def __init__(
        self,
        conninfo: str | Callable[[], str],
        options: ConnectOptions | None = None,
        *,
        timeout_s: int = 3,
    ) -> None:
        """Probe the database at `conninfo`; each probe gives up after about `timeout_s` s."""
        self._conninfo = conninfo
        # The probe's bounds are its own: shorter than a job's, so a verdict comes quickly.
        self._options = dataclasses.replace(
            options or ConnectOptions(),
            connect_timeout_s=max(2, timeout_s),  # libpq treats less than 2 s as 2 s
            statement_timeout_ms=timeout_s * 1000,
            tcp_user_timeout_ms=timeout_s * 1000,
        )
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str | None:
        """None if the database answers, else why not."""
        with self._lock:
            reused = self._conn is not None
            reason = self._try()
            if reason is not None and reused:  # the kept connection died: try a new one once
                reason = self._try()
            return reason

    def close(self) -> None:
        """Close the probe's connection."""
        with self._lock:
            self._drop()

    def _try(self) -> str | None:
        try:
            if self._conn is None:
                self._conn = connect(self._conninfo, self._options, name="jobping-probe")
            self._conn.execute("SELECT 1")
        except Exception as error:  # any failure is the reason
            self._drop()
            return f"database unreachable: {type(error).__name__}: {error}".strip()
        return None

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # closing a broken connection may fail; it is gone either way
                log.debug("closing the probe connection failed", exc_info=True)
            self._conn = None


def pool_warmup(pool: ConnectionPool, timeout: float = 5.0) -> Check:
    """A check run once before resuming after an outage: the pool can hand out a connection.

    The pool's connections broke during the outage, and its own reconnection attempts back off;
    `check()` replaces the broken idle ones (and refills an emptied pool) now, so the first jobs
    after an outage do not fail on a dead connection and spend another receive.
    """

    def warm() -> str | None:
        try:
            pool.check()
            with pool.connection(timeout=timeout) as conn:
                conn.execute("SELECT 1")
        except Exception as error:  # the gate stays down and tries again later
            return f"pool not ready: {type(error).__name__}: {error}".strip()
        return None

    return warm


class HealthServer:
    """Serves `GET /health` and `GET /ready` from a daemon thread."""

    def __init__(
        self,
        port: int,
        liveness: Check,
        readiness: Check | None = None,
        host: str = "0.0.0.0",  # noqa: S104  # the container's health check must reach it
    ) -> None:
        """Listen on `host:port` (port 0 picks a free one).

        Args:
            port: TCP port.
            liveness: the consumer's own loops; a reason makes `/health` answer 503.
            readiness: the dependencies; a reason makes `/ready` answer 503 and `/health` say
                `degraded` (still 200).
            host: interface to listen on.
        """
        handler = _handler(liveness, readiness or (lambda: None))
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health", daemon=True
        )

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Start serving."""
        self._thread.start()
        log.info("health server listening", extra={"health_port": self.port})

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()


def health_answer(liveness: Check, readiness: Check) -> tuple[int, dict[str, str]]:
    """Status code and body of `GET /health`."""
    if (reason := liveness()) is not None:
        return 503, {"status": "unhealthy", "reason": reason}
    if (degraded := readiness()) is not None:
        return 200, {"status": "degraded", "reason": degraded}
    return 200, {"status": "ok"}


def ready_answer(readiness: Check) -> tuple[int, dict[str, str]]:
    """Status code and body of `GET /ready`."""
    if (reason := readiness()) is not None:
        return 503, {"status": "not ready", "reason": reason}
    return 200, {"status": "ready"}


def _handler(liveness: Check, readiness: Check) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == HEALTH_PATH:
                self._reply(*health_answer(liveness, readiness))
            elif path == READY_PATH:
                self._reply(*ready_answer(readiness))
            else:
                self._reply(404, {"status": "not found"})

        def _reply(self, status: int, payload: dict[str, str]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # a health checker polls often; access lines would drown the job logs

    return Handler
