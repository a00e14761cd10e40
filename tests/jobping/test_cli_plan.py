"""`jobping plan`: the stack previewed offline, as a tree with a count."""

from __future__ import annotations

import re

import pytest

from jobping.cli import main


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
    assert capsys.readouterr().err.strip() == "jobping plan: no stack file Pulumi.staging.yaml"
