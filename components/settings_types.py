"""The shapes of the stack settings: frozen dataclasses with their defaults, ranges and rules.

`components.settings` reads them from the stack file with pydantic (`jobping.stackfile`): each
field's alias is its stack-file key (camelCase, named in its docstring), its type says its range,
and rules between fields of one object are that object's validators. Rules across objects are in
`components.settings_rules`, the production rules in `components.settings`. The job queue's
settings are `jobping.queueconfig.QueueSettings`, shared with the local system.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StrictBool, StrictInt, StrictStr, model_validator

from jobping.queueconfig import DAY, QueueSettings
from jobping.stackfile import STACK_FILE, Problem, Text, arn_of, matches, one_of

#: The worker service's `deployment_maximum_percent`: during a rolling deployment up to twice the
#: desired tasks run (and hold database connections) at once.
DEPLOYMENT_MAXIMUM_PERCENT = 200
#: Floor of `worker.scaleOutCooldownSeconds`. The scale-out metric counts RUNNING tasks only, so
#: the cooldown must outlast a task's start: Fargate finds capacity, attaches an ENI and pulls the
#: whole image for every task (no image cache; https://docs.aws.amazon.com/AmazonECS/latest/
#: bestpracticesguide/task.html), about a minute for this image, and Container Insights publishes
#: `RunningTaskCount` once a minute. A shorter cooldown adds the same tasks again while they start.
COLD_START_SECONDS = 120
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
#: A created instance's port: not PostgreSQL's default 5432 (Security Hub RDS.23).
CREATED_PORT = 5433
#: An existing server's port when the stack file names none: PostgreSQL's default.
EXISTING_PORT = 5432

TaskCpu = Annotated[StrictInt, one_of(sorted(FARGATE_SIZES))]
Schedule = Annotated[
    Text,
    matches(r"rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\)|at\(.+\)",
            "must be rate(...), cron(...) or at(...)"),
]  # fmt: skip


def _check_task_size(cpu: int, memory: int) -> None:
    low, high, step = FARGATE_SIZES[cpu]
    if not low <= memory <= high:
        bound = f"at least {low}" if memory < low else f"at most {high}"
        raise Problem(f"must be {bound}, got {memory}", "memory")
    if (memory - low) % step:
        raise Problem(f"must be a multiple of {step} MiB from {low}", "memory")


@dataclass(frozen=True, kw_only=True)
class WorkerStackSettings:
    """`jobping:worker`: the worker service and its scaling."""

    __pydantic_config__ = STACK_FILE

    cpu: TaskCpu = 256
    """`cpu`: task CPU units (a Fargate size; 256 is 0.25 vCPU)."""
    memory: StrictInt = 512
    """`memory`: task memory in MiB (valid for the chosen `cpu`)."""
    min_tasks: Annotated[StrictInt, Field(ge=0, le=100)] = 0
    """`minTasks`: the fewest tasks the service scales in to (0 lets it idle at zero)."""
    max_tasks: Annotated[StrictInt, Field(ge=1, le=100)] = 4
    """`maxTasks`: the most tasks the service scales out to (at least `minTasks`)."""
    backlog_per_task: Annotated[StrictInt, Field(ge=1, le=100_000)] = 500
    """`backlogPerTask`: visible jobs one running task clears before another could start."""
    scale_out_cooldown_seconds: Annotated[StrictInt, Field(ge=COLD_START_SECONDS, le=3600)] = 180
    """`scaleOutCooldownSeconds`: cooldown of the scale-out policy (at least a cold start)."""
    scale_in_cooldown_seconds: Annotated[StrictInt, Field(ge=0, le=3600)] = 300
    """`scaleInCooldownSeconds`: cooldown of the scale-in policy."""
    scale_in_idle_minutes: Annotated[StrictInt, Field(ge=1, le=1440)] = 10
    """`scaleInIdleMinutes`: minutes with no visible and no in-flight message before scale-in."""
    spot: StrictBool = False
    """`spot`: run every task on Fargate Spot instead of on-demand Fargate."""
    architecture: Literal["ARM64", "X86_64"] = "ARM64"
    """`architecture`: CPU architecture of the tasks and the image."""
    concurrency: Annotated[StrictInt, Field(ge=1, le=256)] = 8
    """`concurrency`: jobs one worker task processes at a time."""
    stop_timeout_seconds: Annotated[StrictInt, Field(ge=10, le=120)] = 120
    """`stopTimeoutSeconds`: how long ECS waits after SIGTERM before a kill."""
    drain_seconds: Annotated[StrictInt, Field(ge=1)] = 90
    """`drainSeconds`: time a stopping worker gives in-flight jobs: at most `stopTimeoutSeconds`
    - 5; when unset, 90 or `stopTimeoutSeconds` - 10, whichever is less."""
    wait_for_steady_state: StrictBool = False
    """`waitForSteadyState`: `pulumi up` waits for the deployment and fails if it rolled back."""

    @model_validator(mode="before")
    @classmethod
    def _as_written(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        if data.get("scaleOutSteps") is not None:
            raise Problem("was replaced by backlogPerTask (see README)", "scaleOutSteps")
        stop = data.get("stopTimeoutSeconds", cls.stop_timeout_seconds)
        if "drainSeconds" not in data and type(stop) is int:
            return {**data, "drainSeconds": min(cls.drain_seconds, stop - 10)}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> WorkerStackSettings:
        _check_task_size(self.cpu, self.memory)
        if self.max_tasks < self.min_tasks:
            raise Problem(f"must be at least {self.min_tasks}, got {self.max_tasks}", "maxTasks")
        if self.drain_seconds > self.stop_timeout_seconds - 5:
            most = self.stop_timeout_seconds - 5
            raise Problem(f"must be at most {most}, got {self.drain_seconds}", "drainSeconds")
        return self


def _sources(value: Any) -> Any:
    """A list of sources goes to the task as compact JSON; a string is a path in the image."""
    if value is None:
        return ScannerStackSettings.sources
    if isinstance(value, list) and value:
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, str) and value.strip():
        return value
    raise Problem("must be a path or a non-empty list of sources")


@dataclass(frozen=True, kw_only=True)
class ScannerStackSettings:
    """`jobping:scanner`: the scheduled scanner task."""

    __pydantic_config__ = STACK_FILE

    schedule: Schedule = "rate(15 minutes)"
    """`schedule`: the Scheduler expression, `rate(...)`, `cron(...)` or `at(...)`."""
    timezone: Text = "UTC"
    """`timezone`: the time zone the schedule expression is read in."""
    cpu: TaskCpu = 256
    """`cpu`: scanner task CPU units (a Fargate size)."""
    memory: StrictInt = 512
    """`memory`: scanner task memory in MiB (valid for the chosen `cpu`)."""
    sources: Annotated[StrictStr, BeforeValidator(_sources)] = "scanner/sources.yaml"
    """`sources`: a path in the image, or a list of sources (passed on as inline JSON)."""
    retry_attempts: Annotated[StrictInt, Field(ge=0, le=185)] = 2
    """`retryAttempts`: Scheduler's retries of a RunTask call that failed."""
    max_event_age_seconds: Annotated[StrictInt, Field(ge=60, le=DAY)] = 3600
    """`maxEventAgeSeconds`: how long Scheduler keeps retrying one run."""

    @model_validator(mode="after")
    def _consistent(self) -> ScannerStackSettings:
        _check_task_size(self.cpu, self.memory)
        return self


@dataclass(frozen=True, kw_only=True)
class NetworkStackSettings:
    """`jobping:network`: the default VPC (dev only) or a managed VPC with NAT."""

    __pydantic_config__ = STACK_FILE

    mode: Literal["defaultVpc", "managed"] = "managed"
    """`mode`: `managed` (a new VPC with NAT) or `defaultVpc` (dev only)."""
    cidr: Annotated[StrictStr, matches(r"10\.\d{1,3}\.0\.0/16", "must be a 10.x.0.0/16 block")] = (
        "10.40.0.0/16"
    )
    """`cidr` (managed): the VPC's 10.x.0.0/16 block."""
    az_count: Annotated[StrictInt, Field(ge=2, le=3)] = 2
    """`azCount` (managed): zones, each with one public and one private subnet."""
    nat_gateways: Annotated[StrictInt, Field(ge=1)] = 1
    """`natGateways` (managed): 1 (one shared NAT gateway) or `azCount` (one per zone)."""

    @model_validator(mode="after")
    def _consistent(self) -> NetworkStackSettings:
        if self.nat_gateways > self.az_count:
            problem = f"must be at most {self.az_count}, got {self.nat_gateways}"
            raise Problem(problem, "natGateways")
        if self.nat_gateways not in (1, self.az_count):
            # awsx's NAT strategies: Single or OnePerAz (components/network.py).
            raise Problem(f"must be 1 or azCount ({self.az_count})", "natGateways")
        return self


@dataclass(frozen=True, kw_only=True)
class DatabaseStackSettings:
    """`jobping:database`: a new RDS PostgreSQL instance, or an existing one."""

    __pydantic_config__ = STACK_FILE

    mode: Literal["create", "existing"] = "create"
    """`mode`: `create` a new RDS instance, or use an `existing` server."""
    name: Text = "jobping"
    """`name`: the database name."""
    port: Annotated[StrictInt, Field(ge=1150, le=65535)] = CREATED_PORT
    """`port`: the PostgreSQL port the tasks connect to (`EXISTING_PORT` for an existing one)."""
    instance_class: Text = "db.t4g.micro"
    """`instanceClass` (create only): the RDS instance class."""
    allocated_storage_gb: Annotated[StrictInt, Field(ge=20, le=65536)] = 20
    """`allocatedStorageGb` (create only): initial storage in GiB."""
    max_allocated_storage_gb: Annotated[StrictInt, Field(le=65536)] = 100
    """`maxAllocatedStorageGb` (create only): storage autoscaling cap, GiB (at least the above)."""
    multi_az: StrictBool = False
    """`multiAz` (create only): keep a standby in a second availability zone."""
    deletion_protection: StrictBool = True
    """`deletionProtection` (create only): block deletion (must be on in prod)."""
    backup_retention_days: Annotated[StrictInt, Field(ge=7, le=35)] = 7
    """`backupRetentionDays` (create only): days automated backups are kept."""
    apply_immediately: StrictBool = False
    """`applyImmediately` (create only): apply RDS changes now, not in the maintenance window."""
    host: Text | None = None
    """`host` (existing only, required): the endpoint address."""
    secret_arn: Annotated[Text, arn_of("secretsmanager")] | None = None
    """`secretArn` (existing only, required): the secret with `username`/`password`."""
    security_group_id: Text | None = None
    """`securityGroupId` (existing, optional): the DB's SG, to admit the task SG."""
    secret_kms_key_arn: (
        Annotated[StrictStr, matches(r"arn:aws[\w-]*:kms:[^:]*:\d*:key/.+",
                                     "must be a key ARN (…:key/<id>)")] | None
    ) = None  # fmt: skip
    """`secretKmsKeyArn` (existing, optional): the customer-managed KMS key (not an alias: IAM
    matches `kms:Decrypt` on the key's ARN) of `secretArn`."""
    final_snapshot: StrictBool = True
    """`finalSnapshot` (create only): snapshot on delete (must be on in prod; off: destroyable)."""

    @model_validator(mode="before")
    @classmethod
    def _existing_port(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("mode") == "existing" and "port" not in data:
            return {**data, "port": EXISTING_PORT}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> DatabaseStackSettings:
        if self.mode == "existing":
            for key, value in (("host", self.host), ("secretArn", self.secret_arn)):
                if value is None:
                    raise Problem("is required with mode existing", key)
        elif self.max_allocated_storage_gb < self.allocated_storage_gb:
            least, got = self.allocated_storage_gb, self.max_allocated_storage_gb
            raise Problem(f"must be at least {least}, got {got}", "maxAllocatedStorageGb")
        return self


@dataclass(frozen=True, kw_only=True)
class ImageStackSettings:
    """`jobping:image`: the ECR repository and the image build."""

    __pydantic_config__ = STACK_FILE

    force_delete: StrictBool = False
    """`forceDelete`: `pulumi destroy` deletes the repository with its images (never in prod)."""
    rds_ca_bundle_sha256: (
        Annotated[StrictStr, matches(r"[0-9a-f]{64}", "must be 64 lower-case hex digits")] | None
    ) = None
    """`rdsCaBundleSha256`: SHA-256 of the RDS CA bundle; the image build fails without it."""


@dataclass(frozen=True, kw_only=True)
class StackSettings:
    """Everything the program reads from the stack file."""

    __pydantic_config__ = STACK_FILE

    environment: Annotated[
        StrictStr, matches(r"[a-z][a-z0-9-]{1,15}", "must be a short lower-case name like dev")
    ]
    """`environment`: the short stack name (e.g. `dev`); `prod*` is production."""
    queue: QueueSettings = field(default_factory=QueueSettings)
    """`queue`: the job queue and its DLQ."""
    worker: WorkerStackSettings = field(default_factory=WorkerStackSettings)
    """`worker`: the worker service and its scaling."""
    scanner: ScannerStackSettings = field(default_factory=ScannerStackSettings)
    """`scanner`: the scheduled scanner task."""
    network: NetworkStackSettings = field(default_factory=NetworkStackSettings)
    """`network`: the VPC the tasks and the database run in."""
    database: DatabaseStackSettings = field(default_factory=DatabaseStackSettings)
    """`database`: the PostgreSQL database, new or existing."""
    log_retention_days: Annotated[StrictInt, one_of(LOG_RETENTION_DAYS)] = 365
    """`logRetentionDays`: retention in days of the stack's log groups."""
    alarm_email: (
        Annotated[StrictStr, matches(r"[^@\s]+@[^@\s]+\.[^@\s]+", "must be an e-mail address")]
        | None
    ) = None
    """`alarmEmail`: address subscribed to the alarm topic (none if unset)."""
    ses_identity_arn: Annotated[StrictStr, arn_of("ses")] | None = None
    """`sesIdentityArn`: the SES identity the worker may send from (notifier off if unset)."""
    policy_advisories: dict[str, Text] = field(default_factory=dict)
    """`policyAdvisories`: rule id -> why it is advisory here (never allowed in prod)."""
    region: str | None = None
    """`aws:region` (the provider's setting): names the managed VPC's S3 endpoint service."""
    image: ImageStackSettings = field(default_factory=ImageStackSettings)
    """`image`: the ECR repository and the image build."""

    @property
    def is_production(self) -> bool:
        """Prod-like stacks admit no advisories and no default VPC."""
        return self.environment.startswith("prod")
