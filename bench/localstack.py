"""LocalStack's SQS on this host, without Docker: the benchmarks' endpoint, started from here.

moto is right for tests, but its ReceiveMessage scans every message, so it slows down as a queue
grows; LocalStack's SQS does not. Its Docker image needs an account token (since March 2026), so
the harness runs `localstack-core` in a virtual environment of its own under `.local/localstack`
(built once, outside the project's `.venv`: LocalStack 4.14 needs Python 3.13 and pins of its
own). `localstack-constraints.txt` beside this file pins every package to a set seen to start:
newer pyOpenSSL dropped `X509.add_extensions`, which LocalStack's certificate code calls, and
newer cbor2 dropped a module it imports.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOME = REPO / ".local" / "localstack"
CONSTRAINTS = Path(__file__).with_name("localstack-constraints.txt")
#: The last release that starts on a host this way (see the module docstring).
REQUIREMENT = "localstack-core[runtime]==4.14.0"
READY_TIMEOUT_S = 90


class LocalStackError(RuntimeError):
    """LocalStack could not be installed or did not start."""


def answers(url: str) -> bool:
    """True if a LocalStack health endpoint answers at `url`."""
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=2):
            return True
    except OSError:
        return False


def _python313() -> str:
    """A Python 3.13 interpreter: `python3.13` on PATH, or pyenv's 3.13.x."""
    if found := shutil.which("python3.13"):
        probe = subprocess.run([found, "-c", "pass"], capture_output=True, check=False)
        if probe.returncode == 0:
            return found
    for candidate in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python"))):
        return candidate
    raise LocalStackError("LocalStack needs Python 3.13 (python3.13 on PATH or pyenv 3.13.x)")


def _venv_python() -> Path:
    """The virtual environment's interpreter, installing LocalStack there on first use."""
    python = HOME / "venv" / "bin" / "python"
    check = [str(python), "-c", "import localstack.aws.components"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return python
    HOME.mkdir(parents=True, exist_ok=True)
    subprocess.run([_python313(), "-m", "venv", str(HOME / "venv")], check=True)
    install = ["-m", "pip", "install", "-q", "-c", str(CONSTRAINTS), REQUIREMENT]
    subprocess.run([str(python), *install, "service_identity"], check=True)
    return python


def start(port: int, certificate: Path) -> subprocess.Popen[bytes]:
    """Start LocalStack's SQS on 127.0.0.1:`port` and wait until it answers.

    `certificate` is a PEM the caller made: LocalStack 4.14 builds its own with a pyOpenSSL API
    that newer releases removed, but uses one that exists as it is.
    """
    python = _venv_python()
    env = {
        **os.environ,
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "SERVICES": "sqs",
        "LOCALSTACK_VOLUME_DIR": str(HOME / "state"),
        "DISABLE_EVENTS": "1",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "CUSTOM_SSL_CERT_PATH": str(certificate),
    }
    (HOME / "state").mkdir(parents=True, exist_ok=True)
    log = (HOME / "localstack.log").open("wb")
    process = subprocess.Popen(
        [str(python), "-m", "localstack.runtime.main"], env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if answers(f"http://127.0.0.1:{port}"):
            return process
        if process.poll() is not None:
            break
        time.sleep(1)
    stop(process)
    raise LocalStackError(f"LocalStack did not start on port {port}; see {HOME / 'localstack.log'}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a LocalStack that `start` started."""
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
