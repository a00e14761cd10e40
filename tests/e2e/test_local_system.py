"""The local system as a user runs it: `devtools local up/status/down` and `make run`'s flow."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _cli(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, "-m", "devtools", "local", *args, "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def _processes_using(root: Path) -> list[str]:
    """Command lines of live processes that mention `root` (servers, workers, scanner)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().split()[2]
        except OSError:
            continue
        if str(root) in cmdline and state != "Z":
            found.append(cmdline)
    return found


def _wait_until_gone(root: Path, timeout: float = 15) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := _processes_using(root)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def test_local_up_status_down(tmp_path: Path) -> None:
    root = tmp_path / "local"
    up = _cli(root, "up")
    assert up.returncode == 0, up.stderr
    env = dict(
        line.removeprefix("export ").split("=", 1)
        for line in (root / "env").read_text().splitlines()
    )
    assert env["JOB_QUEUE_URL"].endswith("/jobping-dev-jobs")
    assert _cli(root, "status").returncode == 0
    with psycopg.connect(env["DATABASE_URL"]) as conn:  # migrated and seeded
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (5,)
    assert _cli(root, "up").returncode == 0  # idempotent: already running
    down = _cli(root, "down")
    assert down.returncode == 0, down.stderr
    assert _cli(root, "status").returncode == 3
    assert _wait_until_gone(root) == []


def test_run_processes_every_sample_job_then_finds_nothing_new(tmp_path: Path) -> None:
    root = tmp_path / "local"
    first = _cli(root, "run")
    assert first.returncode == 0, first.stdout + first.stderr
    assert _wait_until_gone(root) == []
    out = first.stdout
    assert "jobs enqueued                     41" in out
    assert "jobs processed                    41" in out
    assert "messages in the DLQ               0" in out
    assert "Top matches per user" in out

    second = _cli(root, "run")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Nothing new" in second.stdout
    assert "jobs enqueued                     0" in second.stdout
    assert _wait_until_gone(root) == []


def test_ctrl_c_stops_everything_it_started(tmp_path: Path) -> None:
    root = tmp_path / "local"
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools", "local", "run", "--root", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (root / "state.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (root / "state.json").exists(), "the local system never came up"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode in (0, 130), out
    assert _wait_until_gone(root) == []
    assert not (root / "state.json").exists()
