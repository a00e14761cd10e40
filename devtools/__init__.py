"""Development tooling for JobPing: never in the container image (see `.dockerignore`).

`python -m devtools local|plan|simulate|cost` (`devtools.cli`); `local/` the local system (moto,
embedded PostgreSQL, `make run`), `plan` and `offline` the Pulumi program under mocks, `planner/`
the capacity and cost simulator, `samples/` the sample job boards. It imports the runtime
(`jobping`, `worker`, `scanner`); nothing the image ships imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: The repository root: the Pulumi project, where `Pulumi.<stack>.yaml` and `bench/` live.
REPO_ROOT: Final = Path(__file__).resolve().parent.parent
