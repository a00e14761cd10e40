"""`python -m jobping local|plan|simulate|cost` on a checkout: forwarded to `python -m devtools`.

The image has no `devtools`; that those commands exit 2 with one line there is proven against
the image's own file set in `test_runtime_image.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobping.cli import main


def test_plan_is_forwarded_to_devtools_and_names_the_command_typed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plan", "--stack", "staging"]) == 1
    assert capsys.readouterr().err.strip() == "jobping plan: no stack file Pulumi.staging.yaml"


def test_local_status_is_forwarded_with_its_arguments_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--log-level", "ERROR", "local", "status", "--root", str(tmp_path)]) == 3
    assert json.loads(capsys.readouterr().out) == {"running": False}


def test_forwarded_help_is_the_development_command_s(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["simulate", "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("usage: jobping simulate [-h] --stack STACK")


def test_a_runtime_command_still_refuses_unknown_arguments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["migrate", "--stack", "dev"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "jobping: error: unrecognized arguments: --stack dev"
    )
