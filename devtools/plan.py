"""`devtools plan --stack dev|prod`: what the Pulumi program would create, without credentials.

Runs `python -m devtools.offline Pulumi.<stack>.yaml` (the real program under Pulumi's mocks, in
its own process) and prints the registered resources as a tree with their key settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devtools import REPO_ROOT

# The inputs worth showing per resource type (wire names, as the engine sees them).
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "aws:sqs/queue:Queue": (
        "visibilityTimeoutSeconds",
        "messageRetentionSeconds",
        "sqsManagedSseEnabled",
    ),
    "aws:ecs/service:Service": ("launchType", "capacityProviderStrategies", "desiredCount"),
    "aws:ecs/taskDefinition:TaskDefinition": ("family", "cpu", "memory", "runtimePlatform"),
    "aws:appautoscaling/target:Target": ("minCapacity", "maxCapacity"),
    "aws:appautoscaling/policy:Policy": ("policyType",),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("metricName", "comparisonOperator", "threshold"),
    "aws:cloudwatch/logGroup:LogGroup": ("retentionInDays",),
    "aws:rds/instance:Instance": (
        "engine",
        "engineVersion",
        "instanceClass",
        "multiAz",
        "deletionProtection",
        "storageEncrypted",
    ),
    "aws:scheduler/schedule:Schedule": ("scheduleExpression", "scheduleExpressionTimezone"),
    "aws:ecr/repository:Repository": ("imageTagMutability",),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "availabilityZone", "mapPublicIpOnLaunch"),
}


class PlanError(RuntimeError):
    """The program failed under mocks, or the stack file is missing."""


def snapshot(stack: str, root: Path = REPO_ROOT) -> dict[str, Any]:
    """Run the program for `Pulumi.<stack>.yaml` under mocks; return its snapshot."""
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        raise PlanError(f"no stack file {stack_file.name}")
    return snapshot_file(stack_file, root)


def snapshot_file(stack_file: Path, root: Path = REPO_ROOT) -> dict[str, Any]:
    """Run the program under mocks with any stack file (`Pulumi.<name>.yaml`, anywhere)."""
    result = subprocess.run(  # noqa: S603  # our own module, a stack file that exists
        [sys.executable, "-m", "devtools.offline", str(stack_file.resolve())],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise PlanError(f"the program failed under mocks: {result.stderr.strip()[-2000:]}")
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _plain(value: Any) -> Any:
    """Whole floats as ints: the engine's wire format turns every number into a float."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _settings(record: dict[str, Any]) -> str:
    keys = KEY_SETTINGS.get(record["type"], ())
    shown = [
        f"{key}={json.dumps(_plain(record['inputs'][key]), separators=(',', ':'))}"
        for key in keys
        if record["inputs"].get(key) is not None
    ]
    return f"  [{', '.join(shown)}]" if shown else ""


def tree_lines(records: list[dict[str, Any]]) -> Iterator[str]:
    """The registrations as an indented tree (children under their component)."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    urns = {record["urn"] for record in records}
    for record in records:
        parent = record["parent"] if record["parent"] in urns else None
        children.setdefault(parent, []).append(record)

    def walk(parent: str | None, prefix: str) -> Iterator[str]:
        nodes = children.get(parent, [])
        for index, record in enumerate(nodes):
            last = index == len(nodes) - 1
            yield f"{prefix}{'└─ ' if last else '├─ '}{record['type']}  {record['name']}" + (
                _settings(record)
            )
            yield from walk(record["urn"], prefix + ("   " if last else "│  "))

    yield from walk(None, "")


def render(data: dict[str, Any]) -> str:
    """The plan as text: tree, counts and stack outputs."""
    records = data["resources"]
    custom = sum(1 for record in records if record["custom"])
    lines = [
        f"stack {data['stack']}: {len(records)} resources "
        f"({custom} cloud resources, {len(records) - custom} components)",
        "",
    ]
    lines += tree_lines(records)
    lines += ["", "outputs: " + ", ".join(sorted(data["outputs"]))]
    return "\n".join(lines)
