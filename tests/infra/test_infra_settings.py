"""The typed stack settings: the real stack files load; a bad value fails with its key's name."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
from infra_snapshot import refusal, stack_file_config, write_stack_file

from components.settings import SettingsError, StackSettings, load_settings, parse_settings
from components.settings_rules import max_connections, schedule_interval_seconds


def parse(config: dict[str, Any]) -> StackSettings:
    """StackSettings from a stack file's config map, as the engine would pass it."""
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
    assert s.worker.wait_for_steady_state


BAD_VALUES = [
    ("queue", "maxReceiveCount", 1, "jobping:queue.maxReceiveCount"),
    ("queue", "dlqRetentionSeconds", 3600, "jobping:queue.dlqRetentionSeconds"),
    ("queue", "visibilityTimeoutSeconds", "300", "jobping:queue.visibilityTimeoutSeconds"),
    ("worker", "memory", 300, "jobping:worker.memory"),
    ("worker", "cpu", 300, "jobping:worker.cpu"),
    ("worker", "architecture", "ARM", "jobping:worker.architecture"),
    ("worker", "stopTimeoutSeconds", 300, "jobping:worker.stopTimeoutSeconds"),
    ("worker", "scaleOutSteps", [{"backlog": 1, "tasks": 1}], "jobping:worker.scaleOutSteps"),
    ("worker", "scaleOutCooldownSeconds", 60, "jobping:worker.scaleOutCooldownSeconds"),
    ("worker", "backlogPerTask", 0, "jobping:worker.backlogPerTask"),
    ("worker", "waitForSteadyState", "yes", "jobping:worker.waitForSteadyState"),
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
        ("jobping:worker.waitForSteadyState",
         lambda c: c["jobping:worker"].__setitem__("waitForSteadyState", False)),
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
    stderr = refusal(write_stack_file(tmp_path, "broken", config))
    assert "jobping:worker.maxTasks: must be at least 1, got 0" in stderr


def test_a_stack_that_cannot_scale_in_between_scans_is_rejected() -> None:
    config = stack_file_config("prod")
    config["jobping:worker"]["scaleInIdleMinutes"] = 15  # prod's old value; it scans every 15 min
    with pytest.raises(SettingsError) as error:
        parse(config)
    assert error.value.key == "jobping:worker.scaleInIdleMinutes"
    assert "jobping:worker.drainSeconds" in str(error.value)
    assert "jobping:scanner.schedule" in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("schedule", "idle_minutes", "accepted"),
    [
        ("rate(15 minutes)", 9, True),  # 240 s busy + 540 s + 90 s drain < 900 s
        ("rate(15 minutes)", 10, False),  # 240 s + 600 s + 90 s >= 900 s
        ("cron(0/15 * * * ? *)", 14, False),
        ("cron(0,5 * * * ? *)", 4, False),  # the 5-minute gap counts, not the 55-minute one
        ("cron(0 8-18 ? * MON-FRI *)", 30, True),
        ("at(2026-12-01T00:00:00)", 60, True),  # runs once: no next scan
    ],
)
def test_scale_in_must_fit_between_two_runs_of_the_schedule(
    schedule: str, idle_minutes: int, accepted: bool
) -> None:
    config = stack_file_config("prod")
    config["jobping:scanner"]["schedule"] = schedule
    config["jobping:worker"]["scaleInIdleMinutes"] = idle_minutes
    if accepted:
        assert parse(config).worker.scale_in_idle_minutes == idle_minutes
    else:
        with pytest.raises(SettingsError, match=r"jobping:worker\.scaleInIdleMinutes"):
            parse(config)


@pytest.mark.parametrize(("idle_minutes", "accepted"), [(5, True), (6, False)])
def test_a_stack_at_zero_tasks_needs_time_to_scale_out_before_its_idle_window(
    idle_minutes: int, accepted: bool
) -> None:
    config = stack_file_config("dev")  # minTasks 0: each scan starts from a cold scale-out
    config["jobping:scanner"]["schedule"] = "rate(15 minutes)"
    config["jobping:worker"]["scaleInIdleMinutes"] = idle_minutes
    if accepted:  # 480 s busy + 300 s + 90 s drain < 900 s
        assert parse(config).worker.scale_in_idle_minutes == idle_minutes
    else:  # 480 s + 360 s + 90 s >= 900 s
        with pytest.raises(SettingsError, match=r"jobping:worker\.scaleInIdleMinutes"):
            parse(config)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(15 minutes)", 900),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        ("cron(0/15 * * * ? *)", 900),
        ("cron(*/10 * * * ? *)", 600),
        ("cron(0 9,17 * * ? *)", 8 * 3600),
        ("cron(30 6 ? * MON-FRI *)", 86400),
        ("at(2026-12-01T00:00:00)", None),
    ],
)
def test_schedule_interval_is_the_shortest_gap_between_runs(
    expression: str, seconds: int | None
) -> None:
    assert schedule_interval_seconds(expression) == seconds


def test_a_cron_field_that_is_not_understood_names_the_schedule() -> None:
    config = stack_file_config("prod")
    config["jobping:scanner"]["schedule"] = "cron(L * * * ? *)"
    with pytest.raises(SettingsError, match=r"jobping:scanner\.schedule"):
        parse(config)


@pytest.mark.parametrize(
    ("instance_class", "connections"),
    [("db.t4g.micro", 112), ("db.t4g.small", 225), ("db.t4g.medium", 450),
     ("db.m7g.large", 901), ("db.r7g.4xlarge", 5000)],
)  # fmt: skip
def test_max_connections_follow_the_rds_default(instance_class: str, connections: int) -> None:
    # LEAST({DBInstanceClassMemory/9531392}, 5000) on the class's memory.
    assert max_connections(instance_class) == connections


def test_more_workers_than_the_database_admits_are_rejected() -> None:
    config = stack_file_config("prod")
    config["jobping:worker"]["maxTasks"] = 20  # prod's old value, on db.t4g.small
    with pytest.raises(SettingsError) as error:
        parse(config)
    assert error.value.key == "jobping:worker.maxTasks"
    # 40 tasks mid-deployment x (8 + 2) + 3 = 403 connections; 75% of 225 is 168.
    assert "= 403 exceed 168" in str(error.value)
    assert "jobping:database.instanceClass" in str(error.value)


def test_a_deployment_doubles_the_workers_connections() -> None:
    config = stack_file_config("prod")
    config["jobping:worker"]["maxTasks"] = 10  # 10 x 10 + 3 = 103 fits; 20 x 10 + 3 = 203 does not
    with pytest.raises(SettingsError, match=r"jobping:worker\.maxTasks"):
        parse(config)


def test_a_larger_instance_class_admits_more_workers() -> None:
    config = stack_file_config("prod")
    config["jobping:worker"]["maxTasks"] = 20
    config["jobping:database"]["instanceClass"] = "db.t4g.large"  # 901 connections
    assert parse(config).worker.max_tasks == 20


def test_higher_concurrency_counts_against_the_budget() -> None:
    config = stack_file_config("dev")
    config["jobping:worker"]["concurrency"] = 16  # 6 x 17 + 3 = 105 > 84 on db.t4g.micro
    with pytest.raises(SettingsError, match=r"jobping:worker\.maxTasks"):
        parse(config)


def test_an_instance_class_without_a_known_memory_is_rejected() -> None:
    config = stack_file_config("dev")
    config["jobping:database"]["instanceClass"] = "db.t2.nano"
    with pytest.raises(SettingsError, match=r"jobping:database\.instanceClass"):
        parse(config)


def test_an_existing_database_has_no_class_to_budget() -> None:
    config = stack_file_config("dev")
    config["jobping:database"] = {
        "mode": "existing",
        "host": "db.example.internal",
        "secretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
    }
    config["jobping:worker"]["concurrency"] = 64
    assert parse(config).worker.concurrency == 64
