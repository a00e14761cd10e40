"""`WorkerService`: the ECS cluster and the Fargate service that consumes the job queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.dbaccess import DatabaseEndpoint, app_database_grants, database_environment
from components.iam import Statement, allow, document, role_policy, service_role
from components.scaling import QueueScaling, QueueScalingArgs
from components.settings import WorkerStackSettings
from components.settings_types import DEPLOYMENT_MAXIMUM_PERCENT
from components.tasks import (
    Container,
    FargateTask,
    container_definitions,
    execution_role,
    fargate_task,
    log_group,
)
from jobping import envvars

HEALTH_CHECK = [
    "CMD",
    "python",
    "-c",
    "import urllib.request; urllib.request.urlopen("
    f"'http://127.0.0.1:{envvars.DEFAULT_HEALTH_PORT}{envvars.HEALTH_PATH}', timeout=3)",
]


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
class WorkerServiceArgs:
    """Inputs of `WorkerService`."""

    settings: WorkerStackSettings
    """Task size, scaling, Spot, architecture, concurrency, stop and drain times."""
    environment: str
    """Stack environment; names the task definition family."""
    account_id: pulumi.Input[str]
    """Account the worker roles trust and its task ARNs belong to."""
    region: pulumi.Input[str]
    """Region of the queue, the logs and the task ARNs."""
    partition: pulumi.Input[str]
    """Partition of the task ARNs (for scale-in protection)."""
    image_ref: pulumi.Input[str]
    """Image the worker runs (`<repository>@sha256:<digest>`)."""
    repository_arn: pulumi.Input[str]
    """ARN of the ECR repository the execution role may pull from."""
    queue_url: pulumi.Input[str]
    """URL of the job queue the worker consumes."""
    queue_arn: pulumi.Input[str]
    """ARN of the job queue the worker may consume from."""
    queue_name: pulumi.Input[str]
    """Name of the job queue whose backlog drives scaling."""
    dlq_arn: pulumi.Input[str]
    """ARN of the DLQ the worker may send permanent failures to."""
    database: DatabaseRef
    """Where the database is, and the secret the worker may read."""
    placement: Placement
    """Where tasks run: subnets, security group, public IP or not."""
    log_retention_days: int
    """Retention in days of the worker's log group."""
    ses_identity_arn: str | None = None
    """If set, the worker may send e-mail from this SES identity (NOTIFIER=ses)."""


class WorkerService(pulumi.ComponentResource):
    """Cluster (Container Insights), worker roles, task definition, service and scaling."""

    cluster: aws.ecs.Cluster
    service: aws.ecs.Service
    task_definition: aws.ecs.TaskDefinition
    log_group: aws.cloudwatch.LogGroup

    def __init__(
        self, name: str, args: WorkerServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jobping:index:WorkerService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            settings=[{"name": "containerInsights", "value": "enabled"}],
            opts=child,
        )
        providers = aws.ecs.ClusterCapacityProviders(
            f"{name}-capacity",
            cluster_name=self.cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            opts=child,
        )
        self.log_group = log_group(name, args.log_retention_days, self)
        self.task_definition = fargate_task(
            name,
            FargateTask(
                family=f"jobping-{args.environment}-worker",
                cpu=args.settings.cpu,
                memory=args.settings.memory,
                architecture=args.settings.architecture,
                containers=self._containers(args),
                task_role=self._task_role(name, args),
                execution_role=execution_role(
                    name,
                    args.account_id,
                    args.repository_arn,
                    self.log_group,
                    self,
                    secret_arn=args.database.secret_arn,
                    secret_kms_key_arn=args.database.secret_kms_key_arn,
                ),
            ),
            self,
        )
        self.service = self._service(name, args, providers)
        deployed = self.service.task_definition
        if args.settings.wait_for_steady_state:
            deployed = pulumi.Output.all(self.task_definition.arn, deployed).apply(
                lambda v: deployed_revision(v[0], v[1])
            )
        QueueScaling(
            f"{name}-scaling",
            QueueScalingArgs(
                settings=args.settings,
                cluster_name=self.cluster.name,
                service_name=self.service.name,
                queue_name=args.queue_name,
            ),
            opts=child,
        )
        outputs = {"cluster_name": self.cluster.name, "service_name": self.service.name}
        self.register_outputs({**outputs, "deployed_task_definition": deployed})

    def _containers(self, args: WorkerServiceArgs) -> pulumi.Output[str]:
        s, db = args.settings, args.database
        inputs: list[pulumi.Input[Any]] = [args.image_ref, self.log_group.name, args.region]
        inputs.append(args.queue_url)
        inputs += [db.host, db.port, db.secret_arn]

        def build(v: list[Any]) -> str:
            endpoint = DatabaseEndpoint(
                host=v[4], port=int(v[5]), name=db.name, secret_arn=v[6], app_user=db.app_user
            )
            environment = {
                envvars.JOB_QUEUE_URL: v[3],
                envvars.AWS_REGION: v[2],
                envvars.WORKER_CONCURRENCY: str(s.concurrency),
                envvars.WORKER_DRAIN_SECONDS: str(s.drain_seconds),
                envvars.HEALTH_PORT: str(envvars.DEFAULT_HEALTH_PORT),
                envvars.LOG_FORMAT: "json",
                envvars.NOTIFIER: "ses" if args.ses_identity_arn else "log",
                **database_environment(endpoint),
            }
            if args.ses_identity_arn:
                environment[envvars.SES_FROM_ADDRESS] = ses_address(args.ses_identity_arn)
            return container_definitions(
                Container(
                    name="worker",
                    image=v[0],
                    command=["python", "-m", "worker"],
                    environment=environment,
                    log_group=v[1],
                    region=v[2],
                    stop_timeout=s.stop_timeout_seconds,
                    health_check=HEALTH_CHECK,
                    port=envvars.DEFAULT_HEALTH_PORT,
                ),
                migrate=endpoint,
            )

        return pulumi.Output.all(*inputs).apply(build)

    def _task_role(self, name: str, args: WorkerServiceArgs) -> aws.iam.Role:
        role = service_role(
            f"{name}-task-role",
            "ecs-tasks.amazonaws.com",
            args.account_id,
            "JobPing worker: consume the job queue, dead-letter, connect to the database",
            self,
        )
        tasks = pulumi.Output.format(
            "arn:{0}:ecs:{1}:{2}:task/{3}/*",
            args.partition,
            args.region,
            args.account_id,
            self.cluster.name,
        )
        db = args.database
        database = app_database_grants(db.secret_arn, db.app_user_arn, db.secret_kms_key_arn)
        values = [args.queue_arn, args.dlq_arn, database, tasks]
        policy = pulumi.Output.all(*values).apply(
            lambda v: worker_task_policy(v[0], v[1], v[2], v[3], args.ses_identity_arn)
        )
        role_policy(f"{name}-task-policy", role, policy, self)
        return role

    def _service(
        self, name: str, args: WorkerServiceArgs, providers: aws.ecs.ClusterCapacityProviders
    ) -> aws.ecs.Service:
        return aws.ecs.Service(
            f"{name}-service",
            cluster=self.cluster.arn,
            task_definition=self.task_definition.arn,
            desired_count=args.settings.min_tasks,
            capacity_provider_strategies=capacity_strategy(args.settings.spot),
            # Flipping `worker.spot` changes the strategy, which replaces the service unless this
            # is set (pulumi-aws `capacity_provider_strategies` doc; terraform-provider-aws
            # ecs/service.go capacityProviderStrategyCustomizeDiff); with it ECS redeploys in place.
            force_new_deployment=True,
            platform_version="LATEST",
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=args.placement.subnet_ids,
                security_groups=[args.placement.security_group_id],
                assign_public_ip=args.placement.assign_public_ip,
            ),
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True
            ),
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=DEPLOYMENT_MAXIMUM_PERCENT,
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            enable_execute_command=False,
            # Prod waits for a steady state; `deployed_revision` then rejects a rollback.
            wait_for_steady_state=args.settings.wait_for_steady_state,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[providers], ignore_changes=["desiredCount"]
            ),
        )


class DeploymentRolledBack(RuntimeError):
    """The service is steady on another task definition than the one just deployed."""


def deployed_revision(requested: str, running: str) -> str:
    """The service's task definition after a waited deployment; raises if ECS rolled it back.

    The steady-state wait alone succeeds after a circuit-breaker rollback, because the service is
    steady again, on the old revision (terraform-provider-aws issues 19519 and 20858, whose
    workaround is this comparison). The provider reads the service back after the wait.
    """
    if running != requested:
        raise DeploymentRolledBack(
            f"the worker service runs {running}, not {requested}: the deployment failed and "
            "ECS rolled it back (see the service's events)"
        )
    return running


def capacity_strategy(spot: bool) -> list[aws.ecs.ServiceCapacityProviderStrategyArgs]:
    """Every task on Fargate Spot (interruptions are safe: jobs are redelivered), or on-demand."""
    provider = "FARGATE_SPOT" if spot else "FARGATE"
    return [aws.ecs.ServiceCapacityProviderStrategyArgs(capacity_provider=provider, weight=1)]


def ses_address(identity_arn: str) -> str:
    """The sender address of an SES identity ARN (`.../identity/<address or domain>`)."""
    identity = identity_arn.rsplit("/", 1)[-1]
    return identity if "@" in identity else f"jobping@{identity}"


def worker_task_policy(
    queue_arn: str,
    dlq_arn: str,
    database: list[Statement],
    tasks_arn: str,
    ses_identity_arn: str | None,
) -> str:
    """The worker's permissions: consume the queue, dead-letter, the database, own protection."""
    statements = [
        allow(
            "ConsumeJobQueue",
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            ],
            [queue_arn],
        ),
        allow(
            "DeadLetterPermanentFailures",
            ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"],
            [dlq_arn],
        ),
        *database,
        allow(
            "ScaleInProtection", ["ecs:GetTaskProtection", "ecs:UpdateTaskProtection"], [tasks_arn]
        ),
    ]
    if ses_identity_arn:
        statements.append(allow("SendNotifications", ["ses:SendEmail"], [ses_identity_arn]))
    return document(*statements)
