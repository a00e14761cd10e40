"""What the worker and the scanner task definitions share: container definition, roles, task.

Pure functions build the JSON (container definitions, policy documents); `fargate_task` and
`execution_role` declare the resources. The image runs as uid/gid 10001 with a read-only root
filesystem; `/tmp` is its only writable path (a task volume, since Fargate has no tmpfs).

Database privileges are split: a non-essential `migrate` container runs first with the owner's
credentials (injected by ECS from the secret, read by the execution role), and the application
container connects as a least-privilege role, with IAM tokens when the database supports them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.dbaccess import DatabaseEndpoint, endpoint_environment, secret_statements
from components.iam import allow, document, role_policy, service_role
from jobping import envvars

#: The image's non-root user (see the Dockerfile).
CONTAINER_USER = "10001:10001"
TMP_VOLUME = "tmp"
#: The only writable path in the container: a task volume (Fargate has no tmpfs).
TMP_PATH = "/tmp"  # noqa: S108  # a container path, not this machine's
#: ECR's token call has no resource-level permission: the one action granted on "*".
ECR_TOKEN_ACTION = "ecr:GetAuthorizationToken"  # noqa: S105  # an action name
#: The container that applies the migrations before the application starts.
MIGRATE_CONTAINER = "migrate"
MIGRATE_STOP_TIMEOUT = 30


@dataclass(frozen=True, kw_only=True)
class Container:
    """The plain values of one container definition."""

    name: str
    """Container name; also the log stream prefix."""
    image: str
    """Image to run (`<repository>@sha256:<digest>`)."""
    command: Sequence[str]
    """The command the container runs."""
    environment: Mapping[str, str]
    """Environment variables, by name (never a secret value)."""
    log_group: str
    """Name of the CloudWatch log group the awslogs driver writes to."""
    region: str
    """Region of the log group."""
    stop_timeout: int = 120
    """Seconds ECS waits after SIGTERM before killing the container."""
    health_check: Sequence[str] | None = None
    """Health check command (`CMD`, ...), or none."""
    port: int | None = None
    """TCP container port to map, or none."""


def _definition(c: Container) -> dict[str, Any]:
    """One essential, hardened container definition."""
    definition: dict[str, Any] = {
        "name": c.name,
        "image": c.image,
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
                "awslogs-group": c.log_group,
                "awslogs-region": c.region,
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


def container_definitions(c: Container, migrate: DatabaseEndpoint | None = None) -> str:
    """The task's `containerDefinitions` JSON: the application, and its `migrate` step if given.

    With `migrate`, a non-essential `migrate` container applies the schema with the owner's
    credentials (ECS injects them from the secret into that container only) and the application
    starts only after it exited 0 (`dependsOn` `SUCCESS`): new code never runs on an old schema,
    and the long-running application never holds the owner's password.
    """
    app = _definition(c)
    if migrate is None:
        return json.dumps([app], sort_keys=True)
    app["dependsOn"] = [{"containerName": MIGRATE_CONTAINER, "condition": "SUCCESS"}]
    return json.dumps([app, migrate_definition(c, migrate)], sort_keys=True)


def migrate_definition(app: Container, db: DatabaseEndpoint) -> dict[str, Any]:
    """`python -m jobping migrate` as the owner, in the application's image, logs and hardening."""
    definition = _definition(
        Container(
            name=MIGRATE_CONTAINER,
            image=app.image,
            command=["python", "-m", "jobping", "migrate"],
            environment={
                envvars.AWS_REGION: app.region,
                envvars.LOG_FORMAT: "json",
                **endpoint_environment(db),
            },
            log_group=app.log_group,
            region=app.region,
            stop_timeout=MIGRATE_STOP_TIMEOUT,
        )
    )
    definition["essential"] = False
    # ECS reads the JSON keys of the secret at task start with the execution role
    # (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html).
    definition["secrets"] = [
        {"name": envvars.DATABASE_USER, "valueFrom": f"{db.secret_arn}:username::"},
        {"name": envvars.DATABASE_PASSWORD, "valueFrom": f"{db.secret_arn}:password::"},
    ]
    return definition


def execution_policy(
    repository_arn: str,
    log_group_arn: str,
    secret_arn: str | None = None,
    secret_kms_key_arn: str | None = None,
) -> str:
    """Pull from this one repository, write to this one log group, inject this one secret."""
    statements = [
        allow("EcrToken", [ECR_TOKEN_ACTION], ["*"]),
        allow(
            "PullImage",
            ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            [repository_arn],
        ),
        allow("WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"]),
    ]
    if secret_arn:
        statements += secret_statements("InjectOwnerSecret", secret_arn, secret_kms_key_arn)
    return document(*statements)


def execution_role(
    name: str,
    account_id: pulumi.Input[str],
    repository_arn: pulumi.Input[str],
    log_group: aws.cloudwatch.LogGroup,
    parent: pulumi.Resource,
    *,
    secret_arn: pulumi.Input[str] | None = None,
    secret_kms_key_arn: str | None = None,
) -> aws.iam.Role:
    """The role ECS uses to start the task (image pull, logs, the migrate container's secret)."""
    role = service_role(
        f"{name}-execution-role",
        "ecs-tasks.amazonaws.com",
        account_id,
        "ECS task execution: pull the JobPing image, write its logs, inject the owner secret",
        parent,
    )
    role_policy(
        f"{name}-execution-policy",
        role,
        pulumi.Output.all(repository_arn, log_group.arn, secret_arn).apply(
            lambda v: execution_policy(v[0], v[1], v[2], secret_kms_key_arn)
        ),
        parent,
    )
    return role


def log_group(name: str, retention_days: int, parent: pulumi.Resource) -> aws.cloudwatch.LogGroup:
    """A log group with the stack's retention."""
    return aws.cloudwatch.LogGroup(
        f"{name}-logs",
        retention_in_days=retention_days,
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass(frozen=True, kw_only=True)
class FargateTask:
    """The resources a Fargate task definition needs."""

    family: str
    """Task definition family, e.g. `jobping-dev-worker`."""
    cpu: int
    """Task CPU units."""
    memory: int
    """Task memory in MiB."""
    architecture: str
    """CPU architecture: `ARM64` or `X86_64`."""
    containers: pulumi.Input[str]
    """The `containerDefinitions` JSON."""
    task_role: aws.iam.Role
    """The role the application runs as."""
    execution_role: aws.iam.Role
    """The role ECS uses to pull the image and write the logs."""


def fargate_task(name: str, task: FargateTask, parent: pulumi.Resource) -> aws.ecs.TaskDefinition:
    """A Fargate, awsvpc task definition with the `/tmp` volume."""
    return aws.ecs.TaskDefinition(
        f"{name}-task",
        family=task.family,
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu=str(task.cpu),
        memory=str(task.memory),
        runtime_platform={
            "operating_system_family": "LINUX",
            "cpu_architecture": task.architecture,
        },
        container_definitions=task.containers,
        volumes=[{"name": TMP_VOLUME}],
        task_role_arn=task.task_role.arn,
        execution_role_arn=task.execution_role.arn,
        opts=pulumi.ResourceOptions(parent=parent),
    )
