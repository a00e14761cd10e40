"""`python -m worker` start-up: a bad setting stops it with one line, before the heavy imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: What `worker.main` wires and a misconfigured task must not wait for.
HEAVY = {"boto3", "botocore", "psycopg", "psycopg_pool", "worker.main", "worker.pipeline"}


def _worker_without_queue_url(*python_options: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "JOB_QUEUE_URL"}
    env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    return subprocess.run(
        [sys.executable, *python_options, "-m", "worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_missing_queue_url_exits_2_with_one_line() -> None:
    result = _worker_without_queue_url()
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["worker: missing setting JOB_QUEUE_URL: required"]
    assert result.stdout == ""


def test_bad_setting_exits_2_before_boto3_psycopg_and_the_pipeline_load() -> None:
    result = _worker_without_queue_url("-X", "importtime")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[-1] == "worker: missing setting JOB_QUEUE_URL: required"
    timed = [line for line in lines if line.startswith("import time:")]
    imported = {line.rsplit("|", 1)[-1].strip() for line in timed}
    assert "jobping.settings" in imported  # the importtime lines were read
    assert not HEAVY & imported, sorted(HEAVY & imported)
