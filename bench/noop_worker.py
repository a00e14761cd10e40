"""The real worker runtime with one action that does nothing: the runtime's own overhead.

`python -m bench.noop_worker` (from the repository root) is `python -m worker` with the handler
registry `{"noop": lambda message: None}`: the same settings, logging, signal handling and
`worker.main.serve` wiring (clients, pool, consumer, health server), through `serve`'s
`build_handlers` seam. Only the pipeline's work is left out (its modules load with
`worker.main`, as in `python -m worker`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from jobping.logs import configure
from jobping.settings import WorkerSettings, load
from jobping.signals import install_signal_handlers
from worker.main import serve

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

    from worker.consumer import Handler

NOOP = "noop"


def build_handlers(_settings: WorkerSettings, _pool: ConnectionPool) -> Mapping[str, Handler]:
    """The no-op registry."""
    return {NOOP: lambda message: None}


def main() -> int:
    """Run like `worker.main.main`, with the no-op registry."""
    settings = load(WorkerSettings, "bench.noop_worker")
    configure(settings.log_level, settings.log_format)
    return serve(settings, build_handlers, install_signal_handlers("worker"))


if __name__ == "__main__":
    raise SystemExit(main())
