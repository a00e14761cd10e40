"""`python -m worker` start-up: a bad setting stops it before the heavy imports load."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: What `worker.main` wires and a misconfigured task must not wait for.
HEAVY = {"boto3", "botocore", "psycopg", "psycopg_pool", "worker.main", "worker.pipeline"}


def test_bad_setting_exits_2_before_boto3_psycopg_and_the_pipeline_load() -> None:
    env = {k: v for k, v in os.environ.items() if k != "JOB_QUEUE_URL"}
    env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[-1] == "worker: missing setting JOB_QUEUE_URL: required"
    timed = [line for line in lines if line.startswith("import time:")]
    imported = {line.rsplit("|", 1)[-1].strip() for line in timed}
    assert "jobping.settings" in imported  # the importtime lines were read
    assert not HEAVY & imported, sorted(HEAVY & imported)
