"""What the Dockerfile installs is enough, and what it downloads is what was verified.

Docker cannot run here, so this builds the image's Python layer the same way (a clean venv with
only requirements-runtime.txt) and imports the entry points with it; and it reads the
Dockerfile: every file fetched from the network is checked against a pinned SHA-256 before
anything else runs.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from components.image import CA_BUNDLE_ARG

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


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction; comments dropped, continuation lines joined."""
    found: list[tuple[str, str]] = []
    current = ""
    for line in dockerfile.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue  # Docker drops comment lines, also inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        keyword, _, arguments = (current + stripped).partition(" ")
        found.append((keyword.upper(), arguments.strip()))
        current = ""
    return found


def final_stage(dockerfile: str) -> list[tuple[str, str]]:
    """The instructions after the last FROM: what the image is made of."""
    steps = instructions(dockerfile)
    last = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last + 1 :]


def remote_download_problems(dockerfile: str) -> list[str]:
    """Each `ADD <url>` must be checked by the very next instruction, against a build ARG."""
    problems: list[str] = []
    stage = final_stage(dockerfile)
    declared = {args.split("=", 1)[0] for keyword, args in stage if keyword == "ARG"}
    for index, (keyword, args) in enumerate(stage):
        if keyword != "ADD" or not re.search(r"\bhttps?://", args):
            continue
        if re.search(r"--checksum=sha256:[0-9a-f]{64}\b", args):
            continue
        destination = args.split()[-1]
        check = stage[index + 1] if index + 1 < len(stage) else ("", "")
        used = set(re.findall(r"\$\{?(\w+)", check[1]))
        if check[0] != "RUN" or not re.search(r"sha256sum\b[^|&;]*\s-c\b", check[1]):
            problems.append(f"{destination}: not checked with sha256sum -c right after ADD")
        elif destination not in check[1] or not used & declared:
            problems.append(f"{destination}: the check names neither it nor a build ARG")
    return problems


def test_dockerfile_verifies_the_rds_ca_bundle_before_use(repo_root: Path) -> None:
    dockerfile = (repo_root / "Dockerfile").read_text()
    assert remote_download_problems(dockerfile) == []
    stage = final_stage(dockerfile)
    # The digest comes from the build (jobping:image.rdsCaBundleSha256), never a made-up default.
    assert ("ARG", CA_BUNDLE_ARG) in stage
    assert any(k == "ADD" and "rds-global-bundle.pem" in a for k, a in stage)


def test_an_unverified_download_is_reported() -> None:
    """The control: the Dockerfile as it was (ADD, then straight on) fails the check."""
    unverified = (
        "FROM python:3.11-slim\n"
        "ADD --chmod=444 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem \\\n"
        "    /etc/ssl/certs/rds-global-bundle.pem\n"
        "RUN groupadd --system --gid 10001 jobping\n"
    )
    assert remote_download_problems(unverified) == [
        "/etc/ssl/certs/rds-global-bundle.pem: not checked with sha256sum -c right after ADD"
    ]
    checked_without_arg = unverified.replace(
        "RUN groupadd --system --gid 10001 jobping",
        "RUN echo 'abc  /etc/ssl/certs/rds-global-bundle.pem' | sha256sum -c -",
    )
    assert remote_download_problems(checked_without_arg) == [
        "/etc/ssl/certs/rds-global-bundle.pem: the check names neither it nor a build ARG"
    ]
