"""The shared stop-signal handling: the first signal asks to stop, a second one exits at once."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: A program that waits for the stop event, then "drains" in code that swallows every exception
#: (so an exception raised by a signal handler could not end it) for far longer than the test.
PROGRAM = """
import sys, time
from jobping.signals import install_signal_handlers

stop = install_signal_handlers("demo")
print("ready", flush=True)
stop.wait()
print("stopping", flush=True)
while True:
    try:
        time.sleep(60)
    except BaseException:
        pass
"""


def _start() -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", PROGRAM],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    return proc


@pytest.mark.parametrize("first", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT])
def test_first_signal_sets_stop_and_a_second_exits_at_once(
    first: signal.Signals, second: signal.Signals
) -> None:
    proc = _start()
    try:
        proc.send_signal(first)
        assert proc.stdout is not None
        assert proc.stdout.readline() == "stopping\n"  # the event was set; no exit yet
        assert proc.poll() is None
        proc.send_signal(second)
        assert proc.wait(timeout=10) == 128 + second  # not after the 60 s "drain"
        _, stderr = proc.communicate()
    finally:
        proc.kill()
    assert stderr.splitlines() == [f"demo: second signal {second.value}, exiting now"]
