"""Serve the bundled sample job boards over local HTTP, at the paths the real APIs use.

The scanner's adapters take a base URL, so locally they read these instead of the internet:
`make run` works offline. Responses carry an ETag and Last-Modified, and conditional requests get
a 304, so a second run costs one request per board and finds nothing new.

`python -m devtools.samples --sources-out FILE` serves them until stopped, writes a sources file
for them, and prints the base URL as its first line.
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from devtools.samples import SAMPLE_BOARDS, SAMPLES_DIR

_BY_PATH = {board.url_path: board for board in SAMPLE_BOARDS}


def route(path: str, samples: Path = SAMPLES_DIR) -> tuple[Path, str] | None:
    """The sample file and content type that answer `path` (query string ignored), if any."""
    board = _BY_PATH.get(path.split("?", 1)[0])
    if board is None:
        return None
    return samples / board.file, board.content_type


class _Handler(BaseHTTPRequestHandler):
    samples: Path = SAMPLES_DIR

    def do_GET(self) -> None:
        found = route(self.path, self.samples)
        if found is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        file, content_type = found
        body = file.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        modified = email.utils.formatdate(int(file.stat().st_mtime), usegmt=True)
        if self.headers.get("If-None-Match") == etag:
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
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
