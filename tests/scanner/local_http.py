"""A real local HTTP server for the scanner tests, with answers scripted per path, and the
two helpers that build a source from a sources-file entry and fetch it against the server.

`server.route("/path", Reply(...), Reply(...))` queues answers for a path (the last one
repeats); every request is recorded with its headers, so tests can assert what was sent.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from devtools.samples import SAMPLE_BOARDS, read_sample
from scanner.config import SourceConfig, parse_sources
from scanner.http import Fetcher, InMemoryValidatorStore
from scanner.sources import FetchOutcome, build_source


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    trickle: float = 0.0
    """Seconds between bytes: the body is sent one byte at a time (0: all at once)."""


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    method: str
    target: str
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up (the timeout tests) is expected; anything else is not."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1 with scripted per-path replies."""

    def __init__(self) -> None:
        self._routes: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self.requests: list[Seen] = []
        self.bytes_sent: dict[str, int] = {}
        """Body bytes written per path (a trickled body the client gave up on is short)."""
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def route(self, path: str, *replies: Reply) -> str:
        """Answer GETs of `path` with `replies` in order, the last one from then on."""
        with self._lock:
            self._routes[path] = list(replies)
        return self.url + path

    def serve_sample(self, file: str, **headers: str) -> str:
        """Serve a bundled sample at the path its real API uses; returns that URL."""
        board = next(board for board in SAMPLE_BOARDS if board.file == file)
        all_headers = {"Content-Type": board.content_type, **headers}
        return self.route(board.url_path, Reply(body=read_sample(file), headers=all_headers))

    def requests_to(self, path: str) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.requests if seen.path == path]

    def _next_reply(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            queue = self._routes.get(seen.path)
            if not queue:
                return Reply(status=404, body=b'{"error": "not found"}')
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                seen = Seen("GET", self.path, {k.lower(): v for k, v in self.headers.items()})
                reply = server._next_reply(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if reply.status != 304:
                        self._write(seen.path, body, reply.trickle)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to tell it

            def _write(self, path: str, body: bytes, trickle: float) -> None:
                step = 1 if trickle else max(1, len(body))
                for start in range(0, len(body), step):
                    if trickle:
                        time.sleep(trickle)
                    self.wfile.write(body[start : start + step])
                    self.wfile.flush()
                    with server._lock:
                        server.bytes_sent[path] = server.bytes_sent.get(path, 0) + min(
                            step, len(body) - start
                        )

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def config(entry: dict[str, Any]) -> SourceConfig:
    """One sources-file entry, validated."""
    (source,) = parse_sources([entry])
    return source


def fetch(entry: dict[str, Any], fetcher: Fetcher) -> FetchOutcome:
    """Build the source for `entry` and fetch it with no stored validators."""
    return build_source(config(entry)).fetch(fetcher, InMemoryValidatorStore())
