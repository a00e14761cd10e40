"""Fixtures: the real program run once per stack file (in parallel subprocesses) per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from infra_snapshot import ROOT, STACKS, Snapshot, finish, stack_file_config, start

#: An existing server whose secret is encrypted with a customer-managed key (`existing` stack).
EXISTING_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:jobping-db-AbCdEf"
EXISTING_KEY = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


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


def write_stack_file(directory: Path, stack: str, config: dict[str, object]) -> Path:
    """A `Pulumi.<stack>.yaml` holding `config`, for a variant of a real stack file."""
    path = directory / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


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
