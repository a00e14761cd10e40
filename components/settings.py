"""The typed stack settings: the only module that reads `pulumi.Config()`.

Every setting lives under the `jobping:` namespace of `Pulumi.<stack>.yaml`; structured ones are
objects read with `get_object`. `load_settings()` returns one frozen `StackSettings` or raises
`SettingsError` naming the key (`jobping:worker.maxTasks: must be at least 1, got 0`). The
shapes, defaults and ranges are in `components.settings_types` (the queue's in
`jobping.queueconfig`); pydantic checks each value, then the production rules below and the
rules across keys (`components.settings_rules`) check the stack as a whole. `Pulumi.yaml`'s
`config:` section documents each key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

import pulumi
from pydantic import TypeAdapter
from pydantic.alias_generators import to_camel

from components.settings_rules import check_capacity
from components.settings_types import (
    DatabaseStackSettings,
    ImageStackSettings,
    NetworkStackSettings,
    ScannerStackSettings,
    StackSettings,
    WorkerStackSettings,
)
from jobping.stackfile import SettingsError, validate

__all__ = [
    "DatabaseStackSettings",
    "ImageStackSettings",
    "NetworkStackSettings",
    "ScannerStackSettings",
    "SettingsError",
    "StackSettings",
    "WorkerStackSettings",
    "load_settings",
    "parse_settings",
]

NAMESPACE = "jobping"
#: The stack file's `jobping:` keys: every field of `StackSettings` but the provider's region.
STACK_KEYS = tuple(to_camel(f.name) for f in fields(StackSettings) if f.name != "region")
_STACK = TypeAdapter(StackSettings)


def load_settings(config: pulumi.Config | None = None) -> StackSettings:
    """Read and validate the `jobping:` settings of the current stack."""
    config = config or pulumi.Config(NAMESPACE)
    region = pulumi.Config("aws").get("region")
    return parse_settings(lambda key: _read(config, key), region=region)


def _read(config: pulumi.Config, key: str) -> Any:
    """Structured and numeric values are JSON in the engine's config; plain strings are not."""
    try:
        return config.get_object(key)
    except pulumi.ConfigTypeError:
        return config.get(key)


def parse_settings(read: Callable[[str], Any], region: str | None = None) -> StackSettings:
    """Build `StackSettings` from a `read(key) -> value` function (the stack file's values)."""
    values = {key: value for key in STACK_KEYS if (value := read(key)) is not None}
    settings = validate(_STACK, {**values, "region": region}, f"{NAMESPACE}:")
    _check_environment(settings)
    check_capacity(settings)
    return settings


def _check_environment(settings: StackSettings) -> None:
    if not settings.is_production:
        return
    if settings.policy_advisories:
        raise SettingsError("jobping:policyAdvisories", "must be empty in production")
    if settings.network.mode != "managed":
        raise SettingsError("jobping:network.mode", "production needs the managed VPC")
    if settings.worker.min_tasks < 1:
        raise SettingsError("jobping:worker.minTasks", "production keeps at least 1 task")
    if not settings.worker.wait_for_steady_state:
        # Without the wait a deployment the circuit breaker rolls back still reports success.
        raise SettingsError("jobping:worker.waitForSteadyState", "must be true in production")
    if settings.database.mode == "create" and not settings.database.deletion_protection:
        raise SettingsError("jobping:database.deletionProtection", "must be true in production")
    if settings.database.mode == "create" and not settings.database.final_snapshot:
        raise SettingsError("jobping:database.finalSnapshot", "must be true in production")
    if settings.image.force_delete:
        raise SettingsError("jobping:image.forceDelete", "must be false in production")
