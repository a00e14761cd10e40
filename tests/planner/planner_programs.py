"""Running the Pulumi program under mocks for several stack files at once (planner tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from devtools import REPO_ROOT


def run_programs(stack_files: list[Path]) -> list[dict[str, Any]]:
    """`python -m devtools.offline` for each file, in parallel processes; their snapshots."""
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "devtools.offline", str(path.resolve())],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in stack_files
    ]
    snapshots = []
    for path, process in zip(stack_files, running, strict=True):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{path.name} failed under mocks: {err[-2000:]}"
        snapshots.append(json.loads(out))
    return snapshots
