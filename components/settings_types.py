"""The shapes of the stack settings: frozen dataclasses with their defaults.

`components.settings` fills them from the stack file and validates every value; the field
docstrings name the stack-file key (camelCase) each field comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DAY = 24 * 3600
#: The worker service's `deployment_maximum_percent`: during a rolling deployment up to twice the
#: desired tasks run (and hold database connections) at once.
DEPLOYMENT_MAXIMUM_PERCENT = 200


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
class WorkerSettings:
    """`jobping:worker`: the worker service and its scaling."""

    cpu: int = 256
    """`cpu`: task CPU units (a Fargate size; 256 is 0.25 vCPU)."""
    memory: int = 512
    """`memory`: task memory in MiB (valid for the chosen `cpu`)."""
    min_tasks: int = 0
    """`minTasks`: the fewest tasks the service scales in to (0 lets it idle at zero)."""
    max_tasks: int = 4
    """`maxTasks`: the most tasks the service scales out to."""
    backlog_per_task: int = 500
    """`backlogPerTask`: visible jobs one running task clears before another could start."""
    scale_out_cooldown_seconds: int = 180
    """`scaleOutCooldownSeconds`: cooldown of the scale-out policy (at least a cold start)."""
    scale_in_cooldown_seconds: int = 300
    """`scaleInCooldownSeconds`: cooldown of the scale-in policy."""
    scale_in_idle_minutes: int = 10
    """`scaleInIdleMinutes`: minutes with no visible and no in-flight message before scale-in."""
    spot: bool = False
    """`spot`: run every task on Fargate Spot instead of on-demand Fargate."""
    architecture: Literal["ARM64", "X86_64"] = "ARM64"
    """`architecture`: CPU architecture of the tasks and the image."""
    concurrency: int = 8
    """`concurrency`: jobs one worker task processes at a time."""
    stop_timeout_seconds: int = 120
    """`stopTimeoutSeconds`: how long ECS waits after SIGTERM before a kill."""
    drain_seconds: int = 90
    """`drainSeconds`: time a stopping worker gives in-flight jobs (below the stop timeout)."""
    wait_for_steady_state: bool = False
    """`waitForSteadyState`: `pulumi up` waits for the deployment and fails if it rolled back."""


@dataclass(frozen=True, kw_only=True)
class ScannerSettings:
    """`jobping:scanner`: the scheduled scanner task."""

    schedule: str = "rate(15 minutes)"
    """`schedule`: the Scheduler expression, `rate(...)`, `cron(...)` or `at(...)`."""
    timezone: str = "UTC"
    """`timezone`: the time zone the schedule expression is read in."""
    cpu: int = 256
    """`cpu`: scanner task CPU units (a Fargate size)."""
    memory: int = 512
    """`memory`: scanner task memory in MiB (valid for the chosen `cpu`)."""
    sources: str = "scanner/sources.yaml"
    """`sources`: a path in the image, or a list of sources (passed on as inline JSON)."""
    retry_attempts: int = 2
    """`retryAttempts`: Scheduler's retries of a RunTask call that failed."""
    max_event_age_seconds: int = 3600
    """`maxEventAgeSeconds`: how long Scheduler keeps retrying one run."""


@dataclass(frozen=True, kw_only=True)
class NetworkSettings:
    """`jobping:network`: the default VPC (dev only) or a managed VPC with NAT."""

    mode: Literal["defaultVpc", "managed"] = "managed"
    """`mode`: `managed` (a new VPC with NAT) or `defaultVpc` (dev only)."""
    cidr: str = "10.40.0.0/16"
    """`cidr` (managed): the VPC's 10.x.0.0/16 block."""
    az_count: int = 2
    """`azCount` (managed): zones, each with one public and one private subnet."""
    nat_gateways: int = 1
    """`natGateways` (managed): 1 (one shared NAT gateway) or `azCount` (one per zone)."""


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    """`jobping:database`: a new RDS PostgreSQL instance, or an existing one."""

    mode: Literal["create", "existing"] = "create"
    """`mode`: `create` a new RDS instance, or use an `existing` server."""
    name: str = "jobping"
    """`name`: the database name."""
    port: int = 5433
    """`port`: the PostgreSQL port the tasks connect to."""
    instance_class: str = "db.t4g.micro"
    """`instanceClass` (create only): the RDS instance class."""
    allocated_storage_gb: int = 20
    """`allocatedStorageGb` (create only): initial storage in GiB."""
    max_allocated_storage_gb: int = 100
    """`maxAllocatedStorageGb` (create only): storage autoscaling cap, GiB."""
    multi_az: bool = False
    """`multiAz` (create only): keep a standby in a second availability zone."""
    deletion_protection: bool = True
    """`deletionProtection` (create only): block deletion (must be on in prod)."""
    backup_retention_days: int = 7
    """`backupRetentionDays` (create only): days automated backups are kept."""
    apply_immediately: bool = False
    """`applyImmediately` (create only): apply RDS changes now, not in the maintenance window."""
    host: str | None = None
    """`host` (existing only): the endpoint address."""
    secret_arn: str | None = None
    """`secretArn` (existing only): the Secrets Manager secret with `username`/`password`."""
    security_group_id: str | None = None
    """`securityGroupId` (existing, optional): the DB's SG, to admit the task SG."""
    secret_kms_key_arn: str | None = None
    """`secretKmsKeyArn` (existing, optional): the customer-managed KMS key of `secretArn`."""
    final_snapshot: bool = True
    """`finalSnapshot` (create only): snapshot on delete (must be on in prod; off: destroyable)."""


@dataclass(frozen=True, kw_only=True)
class ImageSettings:
    """`jobping:image`: the ECR repository and the image build."""

    force_delete: bool = False
    """`forceDelete`: `pulumi destroy` deletes the repository with its images (never in prod)."""
    rds_ca_bundle_sha256: str | None = None
    """`rdsCaBundleSha256`: SHA-256 of the RDS CA bundle; the image build fails without it."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the program reads from the stack file."""

    environment: str
    """`environment`: the short stack name (e.g. `dev`); `prod*` is production."""
    queue: QueueSettings = field(default_factory=QueueSettings)
    """`queue`: the job queue and its DLQ."""
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    """`worker`: the worker service and its scaling."""
    scanner: ScannerSettings = field(default_factory=ScannerSettings)
    """`scanner`: the scheduled scanner task."""
    network: NetworkSettings = field(default_factory=NetworkSettings)
    """`network`: the VPC the tasks and the database run in."""
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    """`database`: the PostgreSQL database, new or existing."""
    log_retention_days: int = 365
    """`logRetentionDays`: retention in days of the stack's log groups."""
    alarm_email: str | None = None
    """`alarmEmail`: address subscribed to the alarm topic (none if unset)."""
    ses_identity_arn: str | None = None
    """`sesIdentityArn`: the SES identity the worker may send from (notifier off if unset)."""
    policy_advisories: dict[str, str] = field(default_factory=dict)
    """`policyAdvisories`: rule id -> why it is advisory here (never allowed in prod)."""
    region: str | None = None
    """`aws:region` (the provider's setting): names the managed VPC's S3 endpoint service."""
    image: ImageSettings = field(default_factory=ImageSettings)
    """`image`: the ECR repository and the image build."""

    @property
    def is_production(self) -> bool:
        """Prod-like stacks admit no advisories and no default VPC."""
        return self.environment.startswith("prod")
