"""The container definitions of a JobPing task as JSON: the application and its `migrate` step.

The image runs as uid/gid 10001 with a read-only root filesystem; `/tmp` is its only writable
path (a task volume, since Fargate has no tmpfs). Database privileges are split: a non-essential
`migrate` container runs first with the owner's credentials (injected by ECS from the secret,
read by the execution role), and the application container connects as a least-privilege role,
with IAM tokens when the database supports them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.dbaccess import DatabaseEndpoint, endpoint_environment
from jobping import envvars

#: The image's non-root user (see the Dockerfile).
CONTAINER_USER = "10001:10001"
TMP_VOLUME = "tmp"
#: The only writable path in the container: a task volume (Fargate has no tmpfs).
TMP_PATH = "/tmp"  # noqa: S108  # a container path, not this machine's
#: The container that applies the migrations before the application starts.
MIGRATE_CONTAINER = "migrate"
MIGRATE_STOP_TIMEOUT = 30


@dataclass(frozen=True, kw_only=True)
class Container:
    """What one container runs: the parts that differ between the worker, scanner and migrate."""

    name: str
    """Container name; also the log stream prefix."""
    command: Sequence[str]
    """The command the container runs."""
    environment: Mapping[str, str]
    """Environment variables, by name (never a secret value)."""
    stop_timeout: int = 120
    """Seconds ECS waits after SIGTERM before killing the container."""
    health_check: Sequence[str] | None = None
    """Health check command (`CMD`, ...), or none."""
    port: int | None = None
    """TCP container port to map, or none."""


@dataclass(frozen=True, kw_only=True)
class Runtime:
    """Resolved values every container of a task shares: the image and where its logs go."""

    image: str
    """Image to run (`<repository>@sha256:<digest>`)."""
    log_group: str
    """Name of the CloudWatch log group the awslogs driver writes to."""
    region: str
    """Region of the log group."""


def _definition(c: Container, rt: Runtime) -> dict[str, Any]:
    """One essential, hardened container definition."""
    definition: dict[str, Any] = {
        "name": c.name,
        "image": rt.image,
        "essential": True,
        "command": list(c.command),
        "user": CONTAINER_USER,
        "readonlyRootFilesystem": True,
        "privileged": False,
        "mountPoints": [{"sourceVolume": TMP_VOLUME, "containerPath": TMP_PATH, "readOnly": False}],
        "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
        "environment": [{"name": k, "value": v} for k, v in sorted(c.environment.items())],
        "stopTimeout": c.stop_timeout,
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": rt.log_group,
                "awslogs-region": rt.region,
                "awslogs-stream-prefix": c.name,
            },
        },
    }
    if c.port is not None:
        definition["portMappings"] = [{"containerPort": c.port, "protocol": "tcp"}]
    if c.health_check is not None:
        definition["healthCheck"] = {
            "command": list(c.health_check),
            "interval": 30,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 30,
        }
    return definition


def container_definitions(app: Container, rt: Runtime, migrate: DatabaseEndpoint) -> str:
    """The task's `containerDefinitions` JSON: the application after its `migrate` step.

    A non-essential `migrate` container applies the schema with the owner's credentials (ECS
    injects them from the secret into that container only) and the application starts only after
    it exited 0 (`dependsOn` `SUCCESS`): new code never runs on an old schema, and the
    long-running application never holds the owner's password.
    """
    definition = _definition(app, rt)
    definition["dependsOn"] = [{"containerName": MIGRATE_CONTAINER, "condition": "SUCCESS"}]
    return json.dumps([definition, migrate_definition(rt, migrate)], sort_keys=True)


def migrate_definition(rt: Runtime, db: DatabaseEndpoint) -> dict[str, Any]:
    """`python -m jobping migrate` as the owner, in the application's image, logs and hardening."""
    migrate = Container(
        name=MIGRATE_CONTAINER,
        command=["python", "-m", "jobping", "migrate"],
        environment={
            envvars.AWS_REGION: rt.region,
            envvars.LOG_FORMAT: "json",
            **endpoint_environment(db),
        },
        stop_timeout=MIGRATE_STOP_TIMEOUT,
    )
    definition = _definition(migrate, rt)
    definition["essential"] = False
    # ECS reads the JSON keys of the secret at task start with the execution role
    # (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html).
    definition["secrets"] = [
        {"name": envvars.DATABASE_USER, "valueFrom": f"{db.secret_arn}:username::"},
        {"name": envvars.DATABASE_PASSWORD, "valueFrom": f"{db.secret_arn}:password::"},
    ]
    return definition
