"""Logging: JSON lines written by one writer thread, none lost at a normal exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROGRAM = """
import logging, sys, threading
from jobping.logs import configure
configure("INFO", "json")
log = logging.getLogger("test")

def burst(thread):
    for n in range(500):
        log.info("line %d", n, extra={"worker": thread, "n": n})

threads = [threading.Thread(target=burst, args=(t,)) for t in range(4)]
for t in threads: t.start()
for t in threads: t.join()
try:
    raise ValueError("boom")
except ValueError:
    log.exception("failed", extra={"job_id": "j1"})
sys.exit(3)
"""


def _run() -> tuple[int, list[dict[str, object]]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    return done.returncode, [json.loads(line) for line in done.stderr.splitlines()]


def test_every_record_from_many_threads_is_written_before_exit() -> None:
    code, lines = _run()
    assert code == 3
    lines_by_thread = {
        t: sorted(line["n"] for line in lines if line.get("worker") == t)  # type: ignore[type-var]
        for t in range(4)
    }
    assert lines_by_thread == {t: list(range(500)) for t in range(4)}
    assert lines[0]["level"] == "INFO"
    assert lines[0]["logger"] == "test"


def test_an_exception_keeps_its_traceback_and_fields() -> None:
    _, lines = _run()
    failed = lines[-1]
    assert failed["message"] == "failed"
    assert failed["job_id"] == "j1"
    assert "ValueError: boom" in str(failed["exception"])
