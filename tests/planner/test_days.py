"""The checks `make test` runs on every stack file: a simulated day of its own schedule.

Each stack is simulated at the two loads of docs/capacity.md (100k and 1M jobs a month) for
three seeds, with the scans' sizes drawn from the default mix; the bounds are the ones that
page states.
"""

from __future__ import annotations

import pytest

from devtools.planner.load import Scan, ServiceRate, scan_times
from devtools.planner.report import first_job_latencies, scans_back_at_min, small_scans_at_max
from devtools.planner.scenario import simulate_stack
from devtools.planner.sim import SimResult
from devtools.planner.stackmodel import StackModel

LOADS = (100_000, 1_000_000)
SEEDS = (1, 2, 3)
# docs/capacity.md: the first job of every scan is processed within these bounds.
FIRST_JOB_BOUND_S = {"dev": 8 * 60, "prod": 2 * 60}
SMALL_SCAN = 49  # "no scan under 50 jobs drives the service to maxTasks"


Days = dict[str, list[tuple[str, SimResult]]]


@pytest.fixture(scope="module")
def days(models: dict[str, StackModel], rate: ServiceRate) -> Days:
    """Each stack's simulated days, once per module."""
    return {
        stack: [
            (f"{jobs:,} jobs/month, seed {seed}",
             simulate_stack(model, jobs_per_month=jobs, seed=seed, rate=rate))
            for jobs in LOADS
            for seed in SEEDS
        ]
        for stack, model in models.items()
    }  # fmt: skip


def assert_back_at_min_between_scans(model: StackModel, days: list[tuple[str, SimResult]]) -> None:
    for label, result in days:
        back, total = scans_back_at_min(result)
        late = [s.time for s in result.scans[1:] if not s.started_at_min]
        assert back == total, (
            f"{label}: {total - back} of {total} scans found the service above "
            f"{model.worker.min_tasks} tasks (at {late[:5]} s)"
        )


def test_dev_returns_to_zero_tasks_between_scans(models: dict[str, StackModel], days: Days) -> None:
    assert models["dev"].worker.min_tasks == 0
    assert_back_at_min_between_scans(models["dev"], days["dev"])


def test_prod_returns_to_min_tasks_between_scans(models: dict[str, StackModel], days: Days) -> None:
    assert models["prod"].worker.min_tasks >= 1
    assert_back_at_min_between_scans(models["prod"], days["prod"])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_first_job_of_every_scan_is_processed_within_the_readme_bound(
    stack: str, days: Days
) -> None:
    for label, result in days[stack]:
        worst = max(first_job_latencies(result))
        assert worst <= FIRST_JOB_BOUND_S[stack], f"{label}: a first job took {worst:.0f} s"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_scan_under_50_jobs_drives_the_service_to_max_tasks(
    stack: str, models: dict[str, StackModel], rate: ServiceRate, days: Days
) -> None:
    for label, result in days[stack]:
        reached = small_scans_at_max(result)
        assert not reached, f"{label}: {len(reached)} small scans reached maxTasks"
    # The worst small case: every scan of the day finds 49 new jobs.
    model = models[stack]
    scans = [Scan(t, SMALL_SCAN) for t in scan_times(model.scanner.schedule, 86_400.0)]
    result = simulate_stack(model, scans=scans, rate=rate)
    assert not small_scans_at_max(result), (
        f"scans of {SMALL_SCAN} jobs drove the service to maxTasks "
        f"({len(small_scans_at_max(result))} of {len(scans)} scans)"
    )
