"""What the Dockerfile installs is enough: the runtime set alone runs every entry point.

Docker cannot run here, so this builds the image's Python layer the same way (a clean venv with
only requirements-runtime.txt) and imports the entry points with it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ENTRY_MODULES = ["jobping.cli", "worker.main", "worker.pipeline", "scanner.main", "scanner.sources"]
NOT_IN_IMAGE = ["pulumi", "pulumi_aws", "pytest", "moto", "pgserver", "rich"]


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("image") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    root = Path(__file__).resolve().parents[2]
    subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            str(root / "requirements-runtime.txt"),
        ],
        check=True,
        timeout=600,
    )
    return venv


@pytest.mark.slow
def test_entry_points_import_with_only_the_runtime_requirements(
    runtime_venv: Path, repo_root: Path
) -> None:
    imports = "; ".join(f"import {module}" for module in ENTRY_MODULES)
    result = subprocess.run(
        [str(runtime_venv / "bin" / "python"), "-c", imports],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_image_has_no_pulumi_or_test_tools(runtime_venv: Path) -> None:
    check = f"import importlib.util as u; print([m for m in {NOT_IN_IMAGE!r} if u.find_spec(m)])"
    result = subprocess.run(
        [str(runtime_venv / "bin" / "python"), "-c", check],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_cli_help_runs_in_the_image_environment(runtime_venv: Path, repo_root: Path) -> None:
    result = subprocess.run(
        [str(runtime_venv / "bin" / "python"), "-m", "jobping", "--help"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "migrate" in result.stdout
