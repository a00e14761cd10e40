"""Fixtures: each stack's program run under mocks once per session, and its simulator model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jobping.plan import REPO_ROOT
from jobping.planner.load import ServiceRate, read_bench
from jobping.planner.stackmodel import StackModel, build_model

STACKS = ("dev", "prod")


def run_programs(stack_files: list[Path]) -> list[dict[str, Any]]:
    """`python -m components.offline` for each file, in parallel processes; their snapshots."""
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "components.offline", str(path.resolve())],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in stack_files
    ]
    snapshots = []
    for path, process in zip(stack_files, running, strict=True):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{path.name} failed under mocks: {err[-2000:]}"
        snapshots.append(json.loads(out))
    return snapshots


@pytest.fixture(scope="session")
def snapshots() -> dict[str, dict[str, Any]]:
    """Both stack files' snapshots (the program run once per stack per session)."""
    files = [REPO_ROOT / f"Pulumi.{stack}.yaml" for stack in STACKS]
    return dict(zip(STACKS, run_programs(files), strict=True))


@pytest.fixture(scope="session")
def models(snapshots: dict[str, dict[str, Any]]) -> dict[str, StackModel]:
    """The simulator's model of each stack."""
    return {stack: build_model(snapshot) for stack, snapshot in snapshots.items()}


@pytest.fixture(scope="session")
def rate() -> ServiceRate:
    """The service rate from the committed benchmark results."""
    return read_bench()
