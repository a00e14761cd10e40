"""One stack under one load: the model from the program, the scans, the simulated day."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from devtools import REPO_ROOT, plan
from devtools.planner.load import (
    DAY,
    JobMix,
    Scan,
    ServiceRate,
    planned_scans,
    read_bench,
    scan_times,
)
from devtools.planner.sim import SimParams, SimResult, Simulation
from devtools.planner.stackmodel import StackModel, build_model

DAYS_PER_MONTH = 365.25 / 12
DEFAULT_JOBS_PER_MONTH = 100_000


def load_model(stack: str, root: Path = REPO_ROOT) -> tuple[StackModel, dict[str, Any]]:
    """The simulator's model of `Pulumi.<stack>.yaml`, and the snapshot it came from."""
    snapshot = plan.snapshot(stack, root)
    return build_model(snapshot), snapshot


def scans_for(
    model: StackModel, jobs_per_month: float, seed: int, horizon: float = DAY
) -> list[Scan]:
    """The stack's own schedule over `horizon`, each scan's jobs drawn from the default mix
    scaled to `jobs_per_month`."""
    times = scan_times(model.scanner.schedule, horizon)
    if not times:
        raise ValueError(f"the schedule {model.scanner.schedule} starts no scan in the horizon")
    scans_per_day = len(times) * DAY / horizon
    mean = jobs_per_month / DAYS_PER_MONTH / scans_per_day
    return planned_scans(times, JobMix().scaled(mean), random.Random(seed))  # noqa: S311  # a simulation, not secrets


def simulate_stack(
    model: StackModel,
    *,
    jobs_per_month: float = DEFAULT_JOBS_PER_MONTH,
    seed: int = 1,
    scans: list[Scan] | None = None,
    params: SimParams | None = None,
    rate: ServiceRate | None = None,
) -> SimResult:
    """Simulate `model` for `params.horizon` under the given scans (or the default mix)."""
    params = replace(params or SimParams(), seed=seed)
    planned = scans if scans is not None else scans_for(model, jobs_per_month, seed, params.horizon)
    return Simulation(model, planned, rate or read_bench(), params).run()
