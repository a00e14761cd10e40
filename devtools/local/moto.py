"""moto's server as a local AWS endpoint (SQS, Secrets Manager, SES), in its own process.

A separate process rather than moto's in-process ThreadedMotoServer: the worker and scanner
under test run as subprocesses too, and the server must not compete for the test's GIL.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from devtools.local.postgres import free_port


def answers(url: str) -> bool:
    """Whether a moto server answers on `url` (its `/moto-api/` page, within a second)."""
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):  # noqa: S310
            return True
    except OSError:
        return False


@dataclass
class MotoServer:
    """`python -m moto.server` on 127.0.0.1:`port`; `url` is the AWS endpoint to use."""

    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        """The endpoint URL (AWS_ENDPOINT_URL)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self._process else None

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it answers; raise with its output if it doesn't."""
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._process.returncode}")
            if answers(self.url):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        """Terminate the server and wait for it."""
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
