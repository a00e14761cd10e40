"""Fixtures: the real program run once per stack file (in parallel subprocesses) per session."""

from __future__ import annotations

import pytest
from infra_snapshot import (
    EXISTING_KEY,
    EXISTING_SECRET,
    ROOT,
    STACKS,
    Snapshot,
    finish,
    stack_file_config,
    start,
    write_stack_file,
)


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


@pytest.fixture(scope="session")
def existing(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """Dev's stack file, but on an existing server whose secret a customer-managed key protects."""
    config = stack_file_config("dev")
    config["jobping:database"] = {
        "mode": "existing",
        "host": "db.example.internal",
        "port": 5432,
        "name": "jobping",
        "secretArn": EXISTING_SECRET,
        "secretKmsKeyArn": EXISTING_KEY,
        "securityGroupId": "sg-0123456789abcdef0",
    }
    path = write_stack_file(tmp_path_factory.mktemp("stacks"), "existing", config)
    return finish(start(path))
