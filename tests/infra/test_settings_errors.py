"""A bad stack setting stops the program with one line: the `jobping:` key, and what is wrong."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from infra_snapshot import stack_file_config

from components.settings import SettingsError, parse_settings
from components.settings_types import CREATED_PORT, EXISTING_PORT

EXISTING_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"


def error_of(stack: str, change: dict[str, Any]) -> str:
    """The error line for `stack`'s settings with `change` (section -> fields) applied."""
    config = stack_file_config(stack)
    for section, values in change.items():
        if isinstance(values, dict) and isinstance(config.get(f"jobping:{section}"), dict):
            config[f"jobping:{section}"].update(values)
        else:
            config[f"jobping:{section}"] = values
    with pytest.raises(SettingsError) as error:
        parse_settings(lambda key: copy.deepcopy(config.get(f"jobping:{key}")))
    assert "\n" not in str(error.value)
    return str(error.value)


@pytest.mark.parametrize(
    ("change", "line"),
    [
        ({"worker": {"maxTasks": 0}}, "jobping:worker.maxTasks: must be at least 1, got 0"),
        ({"worker": {"minTasks": 3, "maxTasks": 2}},
         "jobping:worker.maxTasks: must be at least 3, got 2"),
        ({"worker": {"concurrency": 257}},
         "jobping:worker.concurrency: must be at most 256, got 257"),
        ({"queue": {"visibilityTimeoutSeconds": "300"}},
         "jobping:queue.visibilityTimeoutSeconds: must be an integer, got '300'"),
        ({"queue": {"maxReceiveCount": True}},
         "jobping:queue.maxReceiveCount: must be an integer, got True"),
        ({"queue": {"dlqRetentionSeconds": 3600}},
         "jobping:queue.dlqRetentionSeconds: must be at least 345601, got 3600"),
        ({"worker": {"spot": "yes"}}, "jobping:worker.spot: must be true or false, got 'yes'"),
        ({"worker": {"architecture": "ARM"}},
         "jobping:worker.architecture: must be one of ARM64, X86_64"),
        ({"worker": {"cpu": 300}},
         "jobping:worker.cpu: must be one of [256, 512, 1024, 2048, 4096, 8192, 16384]"),
        ({"worker": {"memory": 300}}, "jobping:worker.memory: must be at least 512, got 300"),
        ({"scanner": {"memory": 768}},
         "jobping:scanner.memory: must be a multiple of 512 MiB from 512"),
        ({"worker": {"drainSeconds": 118}},
         "jobping:worker.drainSeconds: must be at most 115, got 118"),
        ({"scanner": {"timezone": "  "}},
         "jobping:scanner.timezone: must be a non-empty string, got '  '"),
        ({"scanner": {"sources": []}},
         "jobping:scanner.sources: must be a path or a non-empty list of sources"),
        ({"network": {"cidr": "10.1.2.0/24"}}, "jobping:network.cidr: must be a 10.x.0.0/16 block"),
        ({"worker": 5}, "jobping:worker: must be an object"),
        ({"policyAdvisories": {"rds-multi-az": ""}},
         "jobping:policyAdvisories.rds-multi-az: must be a non-empty string, got ''"),
        ({"logRetentionDays": 13},
         "jobping:logRetentionDays: must be one of (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, "
         "365, 400, 545, 731, 1096, 1827)"),
        ({"sesIdentityArn": "arn:aws:sqs:us-east-1:1:q"},
         "jobping:sesIdentityArn: must be an arn:aws:ses:... ARN"),
        ({"database": {"mode": "existing", "secretArn": EXISTING_SECRET}},
         "jobping:database.host: is required with mode existing"),
        ({"environment": "Dev"}, "jobping:environment: must be a short lower-case name like dev"),
    ],
)  # fmt: skip
def test_a_bad_value_fails_with_one_line_naming_its_key(change: dict[str, Any], line: str) -> None:
    assert error_of("dev", change) == line


def test_a_missing_environment_is_named() -> None:
    assert error_of("dev", {"environment": None}) == "jobping:environment: is required"


def test_drain_defaults_below_a_short_stop_timeout() -> None:
    config = stack_file_config("dev")
    del config["jobping:worker"]["drainSeconds"]
    config["jobping:worker"]["stopTimeoutSeconds"] = 60
    settings = parse_settings(lambda key: copy.deepcopy(config.get(f"jobping:{key}")))
    assert settings.worker.drain_seconds == 50  # 10 s of the stop timeout left for the rest


def test_an_existing_server_defaults_to_postgresqls_port_a_created_one_does_not() -> None:
    config = stack_file_config("dev")
    created = parse_settings(lambda key: copy.deepcopy(config.get(f"jobping:{key}")))
    config["jobping:database"] = {"mode": "existing", "host": "db", "secretArn": EXISTING_SECRET}
    existing = parse_settings(lambda key: copy.deepcopy(config.get(f"jobping:{key}")))
    assert (created.database.port, existing.database.port) == (CREATED_PORT, EXISTING_PORT)
    assert (CREATED_PORT, EXISTING_PORT) == (5433, 5432)
