"""Serve the bundled sample job boards over local HTTP, shaped like the real APIs.

The scanner's adapters take a base URL, so locally they read these instead of the internet:
`make run` works offline. Responses carry an ETag and Last-Modified, and conditional requests get
a 304, so a second run costs one request per board and finds nothing new.
"""

from __future__ import annotations

import email.utils
import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "scanner" / "samples"

# URL path (as the real API shapes it) → sample file name.
_ROUTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/v1/boards/(?P<key>[\w-]+)/jobs$"), "greenhouse_{key}.json"),
    (re.compile(r"^/v0/postings/(?P<key>[\w-]+)$"), "lever_{key}.json"),
    (re.compile(r"^/posting-api/job-board/(?P<key>[\w-]+)$"), "ashby_{key}.json"),
    (re.compile(r"^/files/(?P<key>[\w.-]+)$"), "{key}"),
)
_TYPES = {".json": "application/json", ".xml": "application/xml"}


def route(path: str, samples: Path = SAMPLES_DIR) -> Path | None:
    """The sample file that answers `path` (query string ignored), if any."""
    bare = path.split("?", 1)[0]
    for pattern, template in _ROUTES:
        match = pattern.match(bare)
        if match:
            candidate = samples / template.format(key=match.group("key"))
            return candidate if candidate.is_file() else None
    return None


class _Handler(BaseHTTPRequestHandler):
    samples: Path = SAMPLES_DIR

    def do_GET(self) -> None:
        file = route(self.path, self.samples)
        if file is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        body = file.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        modified = email.utils.formatdate(int(file.stat().st_mtime), usegmt=True)
        if self.headers.get("If-None-Match") == etag:
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", _TYPES.get(file.suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", modified)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # stdlib's name
        """Quiet: the scanner logs what it fetched."""


@contextmanager
def serve_samples(samples: Path = SAMPLES_DIR) -> Iterator[str]:
    """Serve `samples` on a free loopback port for the duration; yields the base URL."""
    handler = type("SampleHandler", (_Handler,), {"samples": samples})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="sample-boards", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
