"""`python -m worker` with a setting missing: exit 2 and one line, before any connection."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_missing_queue_url_exits_2_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if k != "JOB_QUEUE_URL"}
    env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    result = subprocess.run(
        [sys.executable, "-m", "worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["worker: missing setting JOB_QUEUE_URL: required"]
    assert result.stdout == ""
