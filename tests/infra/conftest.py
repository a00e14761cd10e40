"""Fixtures: the real program run once per stack file (in parallel subprocesses) per session."""

from __future__ import annotations

import pytest
from infra_snapshot import ROOT, STACKS, Snapshot, finish, start


@pytest.fixture(scope="session")
def snapshots() -> dict[str, Snapshot]:
    """`Pulumi.dev.yaml` and `Pulumi.prod.yaml`, each run under mocks in its own process."""
    running = {stack: start(ROOT / f"Pulumi.{stack}.yaml") for stack in STACKS}
    return {stack: finish(process) for stack, process in running.items()}


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest, snapshots: dict[str, Snapshot]) -> Snapshot:
    """Each stack in turn."""
    snapshot: Snapshot = snapshots[request.param]
    return snapshot


@pytest.fixture
def dev(snapshots: dict[str, Snapshot]) -> Snapshot:
    """The dev stack."""
    return snapshots["dev"]


@pytest.fixture
def prod(snapshots: dict[str, Snapshot]) -> Snapshot:
    """The prod stack."""
    return snapshots["prod"]
