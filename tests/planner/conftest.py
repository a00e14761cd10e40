"""Fixtures: each stack's program run under mocks once per session, and its simulator model."""

from __future__ import annotations

from typing import Any

import pytest
from planner_programs import run_programs

from devtools import REPO_ROOT
from devtools.planner.load import ServiceRate, read_bench
from devtools.planner.stackmodel import StackModel, build_model

STACKS = ("dev", "prod")


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
