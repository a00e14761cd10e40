"""Settings validation and the simulator agree: a stack the validator accepts can scale in.

Variants of `Pulumi.dev.yaml` differ only in the scan interval and the idle minutes before
scale-in, around the point where scale-in between scans stops being possible. Each variant the
settings validation accepts is run through the real program under mocks and simulated for a day
in which every scan finds 30 jobs (so every scan scales the service out): the service must be
back at minTasks when each next scan starts.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from planner_programs import run_programs

from components.settings import SettingsError, parse_settings
from devtools import REPO_ROOT
from devtools.planner.load import Scan, ServiceRate, scan_times
from devtools.planner.report import scans_back_at_min
from devtools.planner.scenario import simulate_stack
from devtools.planner.stackmodel import build_model

# (scan interval in minutes, scaleInIdleMinutes)
VARIANTS = [(15, 5), (15, 10), (15, 14), (20, 15), (30, 25)]
JOBS_PER_SCAN = 30


def variant_config(minutes: int, idle: int) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())
    config["config"]["jobping:scanner"]["schedule"] = f"rate({minutes} minutes)"
    config["config"]["jobping:worker"]["scaleInIdleMinutes"] = idle
    return config


def accepted(config: dict[str, Any]) -> bool:
    values = config["config"]
    try:
        parse_settings(lambda key: copy.deepcopy(values.get(f"jobping:{key}")))
    except SettingsError:
        return False
    return True


def test_every_stack_the_validator_accepts_scales_in_between_scans(
    tmp_path: Path, rate: ServiceRate
) -> None:
    files: list[Path] = []
    for minutes, idle in VARIANTS:
        config = variant_config(minutes, idle)
        if accepted(config):
            path = tmp_path / f"Pulumi.every{minutes}idle{idle}.yaml"
            path.write_text(yaml.safe_dump(config))
            files.append(path)
    assert files, "the validator accepted none of the variants"
    failures = []
    for path, snapshot in zip(files, run_programs(files), strict=True):
        model = build_model(snapshot)
        scans = [Scan(t, JOBS_PER_SCAN) for t in scan_times(model.scanner.schedule, 86_400.0)]
        back, total = scans_back_at_min(simulate_stack(model, scans=scans, rate=rate))
        if back < total:
            failures.append(f"{path.stem[len('Pulumi.') :]}: {total - back} of {total} scans")
    assert not failures, f"accepted, yet found the service above minTasks: {failures}"
