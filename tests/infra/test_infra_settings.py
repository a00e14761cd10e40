"""The typed stack settings: the real stack files load; a bad value fails with its key's name."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from infra_snapshot import ROOT, stack_file_config

from components.settings import Settings, SettingsError, load_settings, parse_settings


def parse(config: dict[str, Any]) -> Settings:
    """Settings from a stack file's config map, as the engine would pass it."""
    return parse_settings(lambda key: copy.deepcopy(config.get(f"jobping:{key}")))


def test_load_settings_reads_pulumi_config() -> None:
    config = stack_file_config("prod")
    engine = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    pulumi.runtime.set_all_config(engine)
    try:
        settings = load_settings()
    finally:
        pulumi.runtime.set_all_config({})
    assert settings.environment == "prod"
    assert settings.worker.min_tasks == 1
    assert settings.queue.max_receive_count == 3


def test_dev_is_cheap() -> None:
    s = parse(stack_file_config("dev"))
    assert (s.worker.min_tasks, s.worker.spot, s.network.mode) == (0, True, "defaultVpc")
    assert s.database.instance_class == "db.t4g.micro"
    assert s.log_retention_days < 365


def test_prod_is_safe() -> None:
    s = parse(stack_file_config("prod"))
    assert s.network.mode == "managed"
    assert s.worker.min_tasks >= 1
    assert s.database.multi_az
    assert s.database.deletion_protection
    assert s.log_retention_days >= 365
    assert s.policy_advisories == {}


def test_queue_settings_are_plain_integers_for_the_local_system() -> None:
    raw = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]["jobping:queue"]
    for key in (
        "visibilityTimeoutSeconds",
        "maxReceiveCount",
        "retentionSeconds",
        "dlqRetentionSeconds",
    ):
        assert isinstance(raw[key], int), key
    q = parse(stack_file_config("dev")).queue
    assert (q.visibility_timeout_seconds, q.max_receive_count) == (300, 3)
    assert (q.retention_seconds, q.dlq_retention_seconds) == (4 * 86400, 14 * 86400)


BAD_VALUES = [
    ("queue", "maxReceiveCount", 1, "jobping:queue.maxReceiveCount"),
    ("queue", "dlqRetentionSeconds", 3600, "jobping:queue.dlqRetentionSeconds"),
    ("queue", "visibilityTimeoutSeconds", "300", "jobping:queue.visibilityTimeoutSeconds"),
    ("worker", "memory", 300, "jobping:worker.memory"),
    ("worker", "cpu", 300, "jobping:worker.cpu"),
    ("worker", "architecture", "ARM", "jobping:worker.architecture"),
    ("worker", "stopTimeoutSeconds", 300, "jobping:worker.stopTimeoutSeconds"),
    ("worker", "scaleOutSteps", [{"backlog": 100, "tasks": 1}], "jobping:worker.scaleOutSteps"),
    ("worker", "spot", "yes", "jobping:worker.spot"),
    ("scanner", "schedule", "every 5 minutes", "jobping:scanner.schedule"),
    ("network", "mode", "public", "jobping:network.mode"),
    ("database", "backupRetentionDays", 3, "jobping:database.backupRetentionDays"),
    ("database", "mode", "serverless", "jobping:database.mode"),
]


@pytest.mark.parametrize(("section", "field", "value", "key"), BAD_VALUES)
def test_bad_value_fails_with_the_key_name(section: str, field: str, value: Any, key: str) -> None:
    config = stack_file_config("dev")
    config[f"jobping:{section}"][field] = value
    with pytest.raises(SettingsError, match=key.replace(".", r"\.")) as error:
        parse(config)
    assert error.value.key == key


@pytest.mark.parametrize(
    ("key", "value"),
    [("logRetentionDays", 13), ("alarmEmail", "not-an-address"), ("environment", None),
     ("sesIdentityArn", "arn:aws:sqs:us-east-1:1:q")],
)  # fmt: skip
def test_bad_top_level_value_fails_with_the_key_name(key: str, value: Any) -> None:
    config = stack_file_config("dev")
    config[f"jobping:{key}"] = value
    with pytest.raises(SettingsError, match=f"jobping:{key}"):
        parse(config)


@pytest.mark.parametrize(
    ("key", "change"),
    [
        ("jobping:policyAdvisories", lambda c: c.update({"jobping:policyAdvisories": {"x": "y"}})),
        ("jobping:worker.minTasks", lambda c: c["jobping:worker"].__setitem__("minTasks", 0)),
        ("jobping:network.mode", lambda c: c["jobping:network"].__setitem__("mode", "defaultVpc")),
        ("jobping:database.deletionProtection",
         lambda c: c["jobping:database"].__setitem__("deletionProtection", False)),
    ],
)  # fmt: skip
def test_production_refuses_unsafe_settings(key: str, change: Any) -> None:
    config = stack_file_config("prod")
    change(config)
    with pytest.raises(SettingsError, match=key.replace(".", r"\.")):
        parse(config)


def test_the_program_stops_with_the_key_name(tmp_path: Path) -> None:
    config = stack_file_config("dev")
    config["jobping:worker"]["maxTasks"] = 0
    stack_file = tmp_path / "Pulumi.broken.yaml"
    stack_file.write_text(yaml.safe_dump({"config": config}))
    result = subprocess.run(
        [sys.executable, "-m", "components.offline", str(stack_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "jobping:worker.maxTasks: must be at least 1, got 0" in result.stderr
