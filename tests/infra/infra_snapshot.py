"""A stack's registrations under mocks, with the look-ups the infra tests need."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from policy.model import Resource

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "prod")
#: An existing server whose secret is encrypted with a customer-managed key (`existing` stack).
EXISTING_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:jobping-db-AbCdEf"
EXISTING_KEY = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

Record = dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    """What one run of the program registered."""

    stack: str
    records: list[Record]
    outputs: dict[str, Any]
    calls: list[str]

    @property
    def config(self) -> dict[str, Any]:
        """The stack file's `config:` map, read from disk."""
        return stack_file_config(self.stack)

    def setting(self, key: str) -> Any:
        """One `jobping:` setting from the stack file."""
        return self.config.get(f"jobping:{key}")

    def of_type(self, typ: str) -> list[Record]:
        """Every registration of a type token."""
        return [r for r in self.records if r["type"] == typ]

    def named(self, name: str) -> Record:
        """The registration with this logical name."""
        (found,) = [r for r in self.records if r["name"] == name]
        return found

    def by_id(self, resource_id: str) -> Record:
        """The registration whose mocked physical id is `resource_id`."""
        (found,) = [r for r in self.records if r["id"] == resource_id]
        return found

    def parent_of(self, record: Record) -> Record | None:
        """The parent registration (None for children of the stack)."""
        parents = [r for r in self.records if r["urn"] == record["parent"]]
        return parents[0] if parents else None

    def resources(self) -> list[Resource]:
        """Custom resources and remote (multi-language) components, as the policy rules see them."""
        return [
            Resource(type=r["type"], name=r["name"], props=r["inputs"], state=r["outputs"])
            for r in self.records
            if r["custom"] or r.get("remote")
        ]


def stack_file_config(stack: str) -> dict[str, Any]:
    """`Pulumi.<stack>.yaml`'s config map."""
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    config: dict[str, Any] = yaml.safe_load(text)["config"]
    return config


def write_stack_file(directory: Path, stack: str, config: dict[str, object]) -> Path:
    """A `Pulumi.<stack>.yaml` holding `config`, for a variant of a real stack file."""
    path = directory / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def start(stack_file: Path) -> subprocess.Popen[str]:
    """Start the harness for one stack file in its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", "devtools.offline", str(stack_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def refusal(stack_file: Path) -> str:
    """Run the harness on a stack file the program must refuse; its stderr."""
    process = start(stack_file)
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0, "the program accepted the stack file"
    return err


def finish(process: subprocess.Popen[str]) -> Snapshot:
    """Wait for a harness run; fail with its stderr if the program failed."""
    out, err = process.communicate(timeout=120)
    if process.returncode != 0:
        raise RuntimeError(f"the program failed under mocks:\n{err[-4000:]}")
    data = json.loads(out)
    return Snapshot(data["stack"], data["resources"], data["outputs"], data["calls"])
