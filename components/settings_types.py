"""The shapes of the stack settings: frozen dataclasses with their defaults.

`components.settings` fills them from the stack file and validates every value; the field
docstrings name the stack-file key (camelCase) each field comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DAY = 24 * 3600


@dataclass(frozen=True, kw_only=True)
class QueueSettings:
    """`jobping:queue`: the job queue and its DLQ (also read by the local system)."""

    visibility_timeout_seconds: int = 300
    """`visibilityTimeoutSeconds`: how long a received message stays hidden."""
    max_receive_count: int = 3
    """`maxReceiveCount`: receives before SQS moves a message to the DLQ."""
    retention_seconds: int = 4 * DAY
    """`retentionSeconds`: how long the main queue keeps a message."""
    dlq_retention_seconds: int = 14 * DAY
    """`dlqRetentionSeconds`: how long the DLQ keeps a message (longer than the main queue)."""
    oldest_message_alarm_seconds: int = 900
    """`oldestMessageAlarmSeconds`: alarm when the oldest message is older than this."""
    depth_alarm_threshold: int = 1000
    """`depthAlarmThreshold`: alarm when more messages than this are visible."""


@dataclass(frozen=True, kw_only=True)
class ScalingStep:
    """One scale-out step: at `backlog` visible messages or more, add `tasks` tasks."""

    backlog: int
    tasks: int


@dataclass(frozen=True, kw_only=True)
class WorkerSettings:
    """`jobping:worker`: the worker service and its scaling."""

    cpu: int = 256
    memory: int = 512
    min_tasks: int = 0
    max_tasks: int = 4
    scale_out_steps: tuple[ScalingStep, ...] = (ScalingStep(backlog=1, tasks=1),)
    scale_out_cooldown_seconds: int = 60
    scale_in_cooldown_seconds: int = 300
    scale_in_idle_minutes: int = 10
    """`scaleInIdleMinutes`: minutes with no visible and no in-flight message before scale-in."""
    spot: bool = False
    architecture: Literal["ARM64", "X86_64"] = "ARM64"
    concurrency: int = 8
    stop_timeout_seconds: int = 120
    drain_seconds: int = 90
    """`drainSeconds`: time a stopping worker gives in-flight jobs (below the stop timeout)."""


@dataclass(frozen=True, kw_only=True)
class ScannerSettings:
    """`jobping:scanner`: the scheduled scanner task."""

    schedule: str = "rate(15 minutes)"
    timezone: str = "UTC"
    cpu: int = 256
    memory: int = 512
    sources: str = "scanner/sources.yaml"
    """`sources`: a path in the image, or a list of sources (passed on as inline JSON)."""
    retry_attempts: int = 2
    max_event_age_seconds: int = 3600


@dataclass(frozen=True, kw_only=True)
class NetworkSettings:
    """`jobping:network`: the default VPC (dev only) or a managed VPC with NAT."""

    mode: Literal["defaultVpc", "managed"] = "managed"
    cidr: str = "10.40.0.0/16"
    az_count: int = 2
    nat_gateways: int = 1


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    """`jobping:database`: a new RDS PostgreSQL instance, or an existing one."""

    mode: Literal["create", "existing"] = "create"
    name: str = "jobping"
    port: int = 5433
    instance_class: str = "db.t4g.micro"
    allocated_storage_gb: int = 20
    max_allocated_storage_gb: int = 100
    multi_az: bool = False
    deletion_protection: bool = True
    backup_retention_days: int = 7
    host: str | None = None
    """`host` (existing only): the endpoint address."""
    secret_arn: str | None = None
    """`secretArn` (existing only): the Secrets Manager secret with `username`/`password`."""
    security_group_id: str | None = None
    """`securityGroupId` (existing, optional): the DB's SG, to admit the task SG."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the program reads from the stack file."""

    environment: str
    queue: QueueSettings = field(default_factory=QueueSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    scanner: ScannerSettings = field(default_factory=ScannerSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    log_retention_days: int = 365
    alarm_email: str | None = None
    ses_identity_arn: str | None = None
    """`sesIdentityArn`: the SES identity the worker may send from (notifier off if unset)."""
    policy_advisories: dict[str, str] = field(default_factory=dict)
    """`policyAdvisories`: rule id -> why it is advisory here (never allowed in prod)."""

    @property
    def is_production(self) -> bool:
        """Prod-like stacks admit no advisories and no default VPC."""
        return self.environment.startswith("prod")
