"""JobPing's version is written once, in `jobping.__version__`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import jobping


def test_the_version_is_written_once_in_the_runtime_package(repo_root: Path) -> None:
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", jobping.__version__)
