"""The typed stack settings: the only module that reads `pulumi.Config()`.

Every setting lives under the `jobping:` namespace of `Pulumi.<stack>.yaml`; structured ones are
objects read with `get_object`. `load_settings()` returns one frozen `Settings` or raises
`SettingsError` naming the key (`jobping:worker.maxTasks: must be at least 1, got 0`).
Defaults live in the dataclasses below; `Pulumi.yaml`'s `config:` section documents each key.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi

from components._fields import Fields, SettingsError
from components.settings_rules import COLD_START_SECONDS, check_capacity
from components.settings_types import (
    DAY,
    DatabaseSettings,
    ImageSettings,
    NetworkSettings,
    QueueSettings,
    ScannerSettings,
    Settings,
    WorkerSettings,
)

__all__ = [
    "DatabaseSettings",
    "NetworkSettings",
    "QueueSettings",
    "ScannerSettings",
    "Settings",
    "SettingsError",
    "WorkerSettings",
    "load_settings",
]

NAMESPACE = "jobping"
#: Fargate task sizes: cpu units -> (lowest, highest, step) memory in MiB.
FARGATE_SIZES = {
    256: (512, 2048, 512),
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}
#: Values CloudWatch Logs accepts for retention_in_days.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827)
_SCHEDULE = re.compile(r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\)|at\(.+\))$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def load_settings(config: pulumi.Config | None = None) -> Settings:
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


def parse_settings(read: Any, region: str | None = None) -> Settings:
    """Build `Settings` from a `read(key) -> value` function (the stack file's values)."""
    environment = read("environment")
    if not isinstance(environment, str) or not re.fullmatch(r"[a-z][a-z0-9-]{1,15}", environment):
        raise SettingsError("jobping:environment", "must be a short lower-case name like dev")
    settings = Settings(
        environment=environment,
        queue=_queue(Fields("jobping:queue", read("queue"))),
        worker=_worker(Fields("jobping:worker", read("worker"))),
        scanner=_scanner(Fields("jobping:scanner", read("scanner"))),
        network=_network(Fields("jobping:network", read("network"))),
        database=_database(Fields("jobping:database", read("database"))),
        log_retention_days=_log_retention(read("logRetentionDays")),
        alarm_email=_email(read("alarmEmail")),
        ses_identity_arn=_optional_arn("jobping:sesIdentityArn", read("sesIdentityArn")),
        policy_advisories=_advisories(read("policyAdvisories")),
        region=region,
        image=_image(Fields("jobping:image", read("image"))),
    )
    _check_environment(settings)
    check_capacity(settings)
    return settings


def _queue(f: Fields) -> QueueSettings:
    d = QueueSettings()
    retention = f.integer("retentionSeconds", d.retention_seconds, 60, 14 * DAY)
    return QueueSettings(
        visibility_timeout_seconds=f.integer(
            "visibilityTimeoutSeconds", d.visibility_timeout_seconds, 30, 12 * 3600
        ),
        max_receive_count=f.integer("maxReceiveCount", d.max_receive_count, 2, 1000),
        retention_seconds=retention,
        dlq_retention_seconds=f.integer(
            "dlqRetentionSeconds", d.dlq_retention_seconds, retention + 1, 14 * DAY
        ),
        oldest_message_alarm_seconds=f.integer(
            "oldestMessageAlarmSeconds", d.oldest_message_alarm_seconds, 60, retention
        ),
        depth_alarm_threshold=f.integer("depthAlarmThreshold", d.depth_alarm_threshold, 1),
    )


def _worker(f: Fields) -> WorkerSettings:
    d = WorkerSettings()
    if f.has("scaleOutSteps"):
        raise SettingsError(f.path("scaleOutSteps"), "was replaced by backlogPerTask (see README)")
    cpu, memory = _task_size(f, d.cpu, d.memory)
    min_tasks = f.integer("minTasks", d.min_tasks, 0, 100)
    stop_timeout = f.integer("stopTimeoutSeconds", d.stop_timeout_seconds, 10, 120)
    return WorkerSettings(
        cpu=cpu,
        memory=memory,
        min_tasks=min_tasks,
        max_tasks=f.integer("maxTasks", d.max_tasks, max(1, min_tasks), 100),
        backlog_per_task=f.integer("backlogPerTask", d.backlog_per_task, 1, 100_000),
        scale_out_cooldown_seconds=f.integer(
            "scaleOutCooldownSeconds", d.scale_out_cooldown_seconds, COLD_START_SECONDS, 3600
        ),
        scale_in_cooldown_seconds=f.integer("scaleInCooldownSeconds", 300, 0, 3600),
        scale_in_idle_minutes=f.integer("scaleInIdleMinutes", d.scale_in_idle_minutes, 1, 1440),
        spot=f.boolean("spot", d.spot),
        architecture="X86_64" if f.text("architecture", "ARM64", ("ARM64", "X86_64")) != "ARM64"
        else "ARM64",
        concurrency=f.integer("concurrency", d.concurrency, 1, 256),
        stop_timeout_seconds=stop_timeout,
        drain_seconds=f.integer("drainSeconds", min(d.drain_seconds, stop_timeout - 10), 1,
                                stop_timeout - 5),
        wait_for_steady_state=f.boolean("waitForSteadyState", d.wait_for_steady_state),
    )  # fmt: skip


def _task_size(f: Fields, cpu_default: int, memory_default: int) -> tuple[int, int]:
    cpu = f.integer("cpu", cpu_default)
    if cpu not in FARGATE_SIZES:
        raise SettingsError(f.path("cpu"), f"must be one of {sorted(FARGATE_SIZES)}")
    low, high, step = FARGATE_SIZES[cpu]
    memory = f.integer("memory", memory_default, low, high)
    if (memory - low) % step:
        raise SettingsError(f.path("memory"), f"must be a multiple of {step} MiB from {low}")
    return cpu, memory


def _scanner(f: Fields) -> ScannerSettings:
    d = ScannerSettings()
    schedule = f.text("schedule", d.schedule)
    if not _SCHEDULE.match(schedule):
        raise SettingsError(f.path("schedule"), "must be rate(...), cron(...) or at(...)")
    cpu, memory = _task_size(f, d.cpu, d.memory)
    sources = f.raw("sources")
    if isinstance(sources, list) and sources:
        sources = json.dumps(sources, separators=(",", ":"))
    elif sources is not None and not (isinstance(sources, str) and sources.strip()):
        raise SettingsError(f.path("sources"), "must be a path or a non-empty list of sources")
    return ScannerSettings(
        schedule=schedule,
        timezone=f.text("timezone", d.timezone),
        cpu=cpu,
        memory=memory,
        sources=sources or d.sources,
        retry_attempts=f.integer("retryAttempts", d.retry_attempts, 0, 185),
        max_event_age_seconds=f.integer("maxEventAgeSeconds", d.max_event_age_seconds, 60, DAY),
    )


def _network(f: Fields) -> NetworkSettings:
    d = NetworkSettings()
    mode = f.text("mode", d.mode, ("defaultVpc", "managed"))
    cidr = f.text("cidr", d.cidr)
    if not re.fullmatch(r"10\.\d{1,3}\.0\.0/16", cidr):
        raise SettingsError(f.path("cidr"), "must be a 10.x.0.0/16 block")
    az_count = f.integer("azCount", d.az_count, 2, 3)
    nat_gateways = f.integer("natGateways", d.nat_gateways, 1, az_count)
    if nat_gateways not in (1, az_count):
        # awsx's NAT strategies: Single or OnePerAz (components/network.py).
        raise SettingsError(f.path("natGateways"), f"must be 1 or azCount ({az_count})")
    return NetworkSettings(
        mode="managed" if mode == "managed" else "defaultVpc",
        cidr=cidr,
        az_count=az_count,
        nat_gateways=nat_gateways,
    )


def _database(f: Fields) -> DatabaseSettings:
    d = DatabaseSettings()
    if f.text("mode", d.mode, ("create", "existing")) == "existing":
        return DatabaseSettings(
            mode="existing",
            name=f.text("name", d.name),
            port=f.integer("port", 5432, 1150, 65535),
            host=f.text("host"),
            secret_arn=_arn(f.path("secretArn"), f.text("secretArn"), "secretsmanager"),
            security_group_id=f.optional_text("securityGroupId"),
            secret_kms_key_arn=_optional_key_arn(f),
        )
    return DatabaseSettings(
        name=f.text("name", d.name),
        port=f.integer("port", d.port, 1150, 65535),
        instance_class=f.text("instanceClass", d.instance_class),
        allocated_storage_gb=f.integer("allocatedStorageGb", d.allocated_storage_gb, 20, 65536),
        max_allocated_storage_gb=f.integer("maxAllocatedStorageGb", d.max_allocated_storage_gb,
                                           f.integer("allocatedStorageGb", 20), 65536),
        multi_az=f.boolean("multiAz", d.multi_az),
        deletion_protection=f.boolean("deletionProtection", d.deletion_protection),
        backup_retention_days=f.integer("backupRetentionDays", d.backup_retention_days, 7, 35),
        apply_immediately=f.boolean("applyImmediately", d.apply_immediately),
        final_snapshot=f.boolean("finalSnapshot", d.final_snapshot),
    )  # fmt: skip


def _optional_key_arn(f: Fields) -> str | None:
    """A KMS key ARN (not an alias: IAM matches `kms:Decrypt` on the key's ARN)."""
    value = f.optional_text("secretKmsKeyArn")
    if value is not None and ":key/" not in _arn(f.path("secretKmsKeyArn"), value, "kms"):
        raise SettingsError(f.path("secretKmsKeyArn"), "must be a key ARN (…:key/<id>)")
    return value


def _image(f: Fields) -> ImageSettings:
    digest = f.optional_text("rdsCaBundleSha256")
    if digest is not None and not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise SettingsError(f.path("rdsCaBundleSha256"), "must be 64 lower-case hex digits")
    return ImageSettings(
        force_delete=f.boolean("forceDelete", ImageSettings.force_delete),
        rds_ca_bundle_sha256=digest,
    )


def _log_retention(value: Any) -> int:
    days = 365 if value is None else value
    if days not in LOG_RETENTION_DAYS or isinstance(days, bool):
        raise SettingsError("jobping:logRetentionDays", f"must be one of {LOG_RETENTION_DAYS}")
    return int(days)


def _email(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _EMAIL.match(value):
        raise SettingsError("jobping:alarmEmail", "must be an e-mail address")
    return value


def _arn(key: str, value: str, service: str) -> str:
    if not value.startswith(("arn:aws:", "arn:aws-")) or f":{service}:" not in value:
        raise SettingsError(key, f"must be an arn:aws:{service}:... ARN")
    return value


def _optional_arn(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SettingsError(key, "must be an ARN")
    return _arn(key, value, "ses")


def _advisories(value: Any) -> dict[str, str]:
    fields = Fields("jobping:policyAdvisories", value)
    return {rule: fields.text(rule) for rule in (value or {})}


def _check_environment(settings: Settings) -> None:
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
