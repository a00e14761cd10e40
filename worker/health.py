"""`GET /health`: 200 while the poll loop is alive and the database answers, else 503.

A stdlib `ThreadingHTTPServer` in a daemon thread: no dependency and nothing on the hot path.
The database probe is cached for a couple of seconds, so a health checker polling often costs
at most one `SELECT 1` per interval, and it uses a short timeout so a dead database makes the
endpoint answer 503 promptly instead of hanging.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from jobping.envvars import HEALTH_PATH

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

#: A check returns None when healthy, or the reason it is not.
Check = Callable[[], "str | None"]


def pool_probe(pool: ConnectionPool, timeout: float = 1.0) -> Check:
    """A check that runs `SELECT 1` on a pooled connection within `timeout` seconds."""

    def probe() -> str | None:
        try:
            with pool.connection(timeout=timeout) as conn:
                conn.execute("SELECT 1")
        except Exception as error:  # any failure is the reason for a 503
            return f"database unreachable: {type(error).__name__}: {error}".strip()
        return None

    return probe


class CachedCheck:
    """Runs `check` at most once per `ttl` seconds; callers in between get the last answer."""

    def __init__(self, check: Check, ttl: float = 2.0) -> None:
        """Cache `check`'s answer for `ttl` seconds."""
        self._check = check
        self._ttl = ttl
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._answer: str | None = None

    def __call__(self) -> str | None:
        """The cached answer, refreshed if older than `ttl`."""
        with self._lock:
            if time.monotonic() - self._at >= self._ttl:
                self._answer = self._check()
                self._at = time.monotonic()
            return self._answer


def all_of(*checks: Check) -> Check:
    """A check that fails with the first failing check's reason."""

    def combined() -> str | None:
        for check in checks:
            if (reason := check()) is not None:
                return reason
        return None

    return combined


class HealthServer:
    """Serves `GET /health` from a daemon thread."""

    def __init__(self, port: int, check: Check, host: str = "0.0.0.0") -> None:  # noqa: S104  # the container's health check must reach it
        """Listen on `host:port` (port 0 picks a free one) and answer with `check`."""
        self._server = ThreadingHTTPServer((host, port), _handler(check))
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


def _handler(check: Check) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != HEALTH_PATH:
                self._reply(404, {"status": "not found"})
                return
            reason = check()
            if reason is None:
                self._reply(200, {"status": "ok"})
            else:
                self._reply(503, {"status": "unhealthy", "reason": reason})

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
