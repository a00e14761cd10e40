"""`python -m worker`: load the settings, then run `worker.main`.

`worker.main` is imported only once the settings are loaded: the one import kept lazy, for a fast
exit 2. That module imports everything it wires at its top, boto3, psycopg and the pipeline with
it, and a bad setting must stop the task with one line on stderr and exit code 2 before any of
that loads (`tests/worker/test_main.py`).
"""

from __future__ import annotations

from jobping.settings import WorkerSettings, load

settings = load(WorkerSettings, "worker")  # a bad setting: one line, exit 2

from worker.main import main  # noqa: E402  # the one lazy import (see above)

raise SystemExit(main(settings))
