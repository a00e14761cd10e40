"""`devtools plan`: the stack previewed offline, as a tree with a count."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devtools import REPO_ROOT, plan
from devtools.cli import main


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_plan_prints_the_stack_as_a_tree(stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", stack]) == 0
    out = capsys.readouterr().out
    header = re.match(
        r"stack (\w+): (\d+) resources \((\d+) cloud resources, (\d+) components\)", out
    )
    assert header
    assert header.group(1) == stack
    total, custom, components = (int(header.group(n)) for n in (2, 3, 4))
    assert total == custom + components
    tree = [line for line in out.splitlines() if "─ " in line]
    assert len(tree) == total
    assert "jobping:index:JobQueue  jobs" in out
    assert "visibilityTimeoutSeconds=300," in out
    assert (
        "├─ aws:sqs/queue:Queue  jobs-queue" in out or "└─ aws:sqs/queue:Queue  jobs-queue" in out
    )
    assert "outputs: " in out


def test_plan_for_a_missing_stack_fails_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "staging"]) == 1
    assert capsys.readouterr().err.strip() == "devtools plan: no stack file Pulumi.staging.yaml"


def test_snapshot_file_runs_the_program_with_a_stack_file_anywhere(tmp_path: Path) -> None:
    # The planner's validator-agreement check runs variants of a stack file kept elsewhere.
    variant = tmp_path / "Pulumi.variant.yaml"
    variant.write_text((REPO_ROOT / "Pulumi.dev.yaml").read_text())
    data = plan.snapshot_file(variant)
    assert data["stack"] == "variant"
    queues = [r for r in data["resources"] if r["type"] == "aws:sqs/queue:Queue"]
    assert any(r["name"] == "jobs-queue" for r in queues)
