"""What the worker and the scanner tasks share: where they run, their containers, roles and task.

`TaskTarget` is everything a JobPing task reaches (image, queue, database, subnets, account);
`task_containers` builds the application's container definitions, after its `migrate` step
(`components.containers`), once those values are known. `app_task_definition`,
`app_task_role`, `execution_role` and `log_group` declare the resources.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_aws as aws

from components.containers import TMP_VOLUME, Container, Runtime, container_definitions
from components.dbaccess import (
    DatabaseEndpoint,
    app_database_grants,
    database_environment,
    secret_statements,
)
from components.iam import allow, document, role_policy, service_role
from jobping import envvars

#: ECR's token call has no resource-level permission: the one action granted on "*".
ECR_TOKEN_ACTION = "ecr:GetAuthorizationToken"  # noqa: S105  # an action name


@dataclass(frozen=True, kw_only=True)
class DatabaseRef:
    """Where the database is, and the secret with its credentials (never the password)."""

    host: pulumi.Input[str]
    """Endpoint address of the database."""
    port: pulumi.Input[int]
    """PostgreSQL port."""
    name: str
    """Database name."""
    secret_arn: pulumi.Input[str]
    """ARN of the Secrets Manager secret with the owner's `username` and `password`."""
    app_user: str | None = None
    """IAM database user the application connects as (None: it reads `secret_arn`)."""
    app_user_arn: pulumi.Input[str] | None = None
    """The `rds-db:connect` resource of `app_user`."""
    secret_kms_key_arn: str | None = None
    """Customer-managed KMS key of `secret_arn`, if any."""


@dataclass(frozen=True, kw_only=True)
class Placement:
    """Where tasks run: subnets, the task security group, and whether they get a public IP."""

    subnet_ids: pulumi.Input[list[str]]
    """Subnets the tasks run in."""
    security_group_id: pulumi.Input[str]
    """The task security group."""
    assign_public_ip: bool
    """Whether tasks get a public IP (default VPC only: it has no NAT)."""


@dataclass(frozen=True, kw_only=True)
class TaskTarget:
    """What every JobPing task runs and reaches: the same for the worker and the scanner."""

    environment: str
    """Stack environment; names the task definition families (`jobping-<env>-worker`)."""
    account_id: pulumi.Input[str]
    """Account the task roles trust."""
    region: pulumi.Input[str]
    """Region of the queue and the logs."""
    image_ref: pulumi.Input[str]
    """Image the tasks run (`<repository>@sha256:<digest>`)."""
    architecture: str
    """CPU architecture the image is built for: `ARM64` or `X86_64`."""
    repository_arn: pulumi.Input[str]
    """ARN of the ECR repository the execution roles may pull from."""
    queue_url: pulumi.Input[str]
    """URL of the job queue."""
    queue_arn: pulumi.Input[str]
    """ARN of the job queue."""
    database: DatabaseRef
    """Where the database is, and the secret the tasks may read."""
    placement: Placement
    """Where tasks run: subnets, security group, public IP or not."""
    log_retention_days: int
    """Retention in days of the tasks' log groups."""


def task_containers(
    app: Container, target: TaskTarget, logs: aws.cloudwatch.LogGroup
) -> pulumi.Output[str]:
    """`app`'s container definitions, with what every task gets: queue, region, logs, database."""
    db = target.database

    def build(v: dict[str, Any]) -> str:
        endpoint = DatabaseEndpoint(
            host=v["db_host"],
            port=int(v["db_port"]),
            name=db.name,
            secret_arn=v["db_secret_arn"],
            app_user=db.app_user,
        )
        environment = {
            envvars.JOB_QUEUE_URL: v["queue_url"],
            envvars.AWS_REGION: v["region"],
            envvars.LOG_FORMAT: "json",
            **app.environment,
            **database_environment(endpoint),
        }
        runtime = Runtime(image=v["image"], log_group=v["log_group"], region=v["region"])
        return container_definitions(replace(app, environment=environment), runtime, endpoint)

    return pulumi.Output.all(
        image=target.image_ref,
        log_group=logs.name,
        region=target.region,
        queue_url=target.queue_url,
        db_host=db.host,
        db_port=db.port,
        db_secret_arn=db.secret_arn,
    ).apply(build)


def app_task_role(
    name: str,
    target: TaskTarget,
    purpose: str,
    parent: pulumi.Resource,
    policy: Callable[[dict[str, Any]], str],
    **inputs: pulumi.Input[Any],
) -> aws.iam.Role:
    """The role the application runs as; its policy is `policy` of `inputs` and `database`.

    `database` is the statements the application needs to log in (`app_database_grants`).
    """
    role = service_role(
        f"{name}-task-role", "ecs-tasks.amazonaws.com", target.account_id, purpose, parent
    )
    db = target.database
    database = app_database_grants(db.secret_arn, db.app_user_arn, db.secret_kms_key_arn)
    document = pulumi.Output.all(database=database, **inputs).apply(policy)
    role_policy(f"{name}-task-policy", role, document, parent)
    return role


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
    name: str, target: TaskTarget, logs: aws.cloudwatch.LogGroup, parent: pulumi.Resource
) -> aws.iam.Role:
    """The role ECS uses to start the task (image pull, logs, the migrate container's secret)."""
    role = service_role(
        f"{name}-execution-role",
        "ecs-tasks.amazonaws.com",
        target.account_id,
        "ECS task execution: pull the JobPing image, write its logs, inject the owner secret",
        parent,
    )
    kms_key_arn = target.database.secret_kms_key_arn
    policy = pulumi.Output.all(
        repository=target.repository_arn, logs=logs.arn, secret=target.database.secret_arn
    ).apply(lambda v: execution_policy(v["repository"], v["logs"], v["secret"], kms_key_arn))
    role_policy(f"{name}-execution-policy", role, policy, parent)
    return role


def log_group(name: str, retention_days: int, parent: pulumi.Resource) -> aws.cloudwatch.LogGroup:
    """A log group with the stack's retention."""
    return aws.cloudwatch.LogGroup(
        f"{name}-logs",
        retention_in_days=retention_days,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def task_family(environment: str, app: str) -> str:
    """The task definition family of one application in one stack: `jobping-dev-worker`."""
    return f"jobping-{environment}-{app}"


def app_task_definition(
    name: str,
    app: Container,
    target: TaskTarget,
    *,
    cpu: int,
    memory: int,
    logs: aws.cloudwatch.LogGroup,
    task_role: aws.iam.Role,
    execution_role: aws.iam.Role,
    parent: pulumi.Resource,
) -> aws.ecs.TaskDefinition:
    """A Fargate, awsvpc task definition running `app` after its `migrate` step, with `/tmp`."""
    return aws.ecs.TaskDefinition(
        f"{name}-task",
        family=task_family(target.environment, app.name),
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu=str(cpu),
        memory=str(memory),
        runtime_platform={
            "operating_system_family": "LINUX",
            "cpu_architecture": target.architecture,
        },
        container_definitions=task_containers(app, target, logs),
        volumes=[{"name": TMP_VOLUME}],
        task_role_arn=task_role.arn,
        execution_role_arn=execution_role.arn,
        opts=pulumi.ResourceOptions(parent=parent),
    )
