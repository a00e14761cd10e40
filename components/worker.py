"""`WorkerService`: the ECS cluster and the Fargate service that consumes the job queue."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.containers import Container
from components.iam import Statement, allow, document
from components.scaling import QueueScaling, QueueScalingArgs
from components.settings import WorkerStackSettings
from components.settings_types import DEPLOYMENT_MAXIMUM_PERCENT
from components.tasks import (
    TaskTarget,
    app_task_definition,
    app_task_role,
    execution_role,
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
class WorkerServiceArgs:
    """Inputs of `WorkerService`."""

    settings: WorkerStackSettings
    """Task size, scaling, Spot, concurrency, stop and drain times."""
    target: TaskTarget
    """Image, queue, database, subnets and account the worker tasks run with."""
    partition: pulumi.Input[str]
    """Partition of the task ARNs (for scale-in protection)."""
    queue_name: pulumi.Input[str]
    """Name of the job queue whose backlog drives scaling."""
    dlq_arn: pulumi.Input[str]
    """ARN of the DLQ the worker may send permanent failures to."""
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
        self.cluster, providers = self._cluster(name)
        target = args.target
        self.log_group = log_group(name, target.log_retention_days, self)
        self.task_definition = app_task_definition(
            name,
            worker_container(args),
            target,
            cpu=args.settings.cpu,
            memory=args.settings.memory,
            logs=self.log_group,
            task_role=self._task_role(name, args),
            execution_role=execution_role(name, target, self.log_group, self),
            parent=self,
        )
        self.service = self._service(name, args, providers)
        deployed = self.service.task_definition
        if args.settings.wait_for_steady_state:
            deployed = pulumi.Output.all(
                requested=self.task_definition.arn, running=deployed
            ).apply(lambda v: deployed_revision(v["requested"], v["running"]))
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

    def _cluster(self, name: str) -> tuple[aws.ecs.Cluster, aws.ecs.ClusterCapacityProviders]:
        child = pulumi.ResourceOptions(parent=self)
        cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            settings=[{"name": "containerInsights", "value": "enabled"}],
            opts=child,
        )
        providers = aws.ecs.ClusterCapacityProviders(
            f"{name}-capacity",
            cluster_name=cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            opts=child,
        )
        return cluster, providers

    def _task_role(self, name: str, args: WorkerServiceArgs) -> aws.iam.Role:
        target = args.target
        tasks = pulumi.Output.format(
            "arn:{partition}:ecs:{region}:{account}:task/{cluster}/*",
            partition=args.partition,
            region=target.region,
            account=target.account_id,
            cluster=self.cluster.name,
        )
        return app_task_role(
            name,
            target,
            "JobPing worker: consume the job queue, dead-letter, connect to the database",
            self,
            lambda v: worker_task_policy(
                v["queue"], v["dlq"], v["database"], v["tasks"], args.ses_identity_arn
            ),
            queue=target.queue_arn,
            dlq=args.dlq_arn,
            tasks=tasks,
        )

    def _service(
        self, name: str, args: WorkerServiceArgs, providers: aws.ecs.ClusterCapacityProviders
    ) -> aws.ecs.Service:
        placement = args.target.placement
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
                subnets=placement.subnet_ids,
                security_groups=[placement.security_group_id],
                assign_public_ip=placement.assign_public_ip,
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


def worker_container(args: WorkerServiceArgs) -> Container:
    """The worker's own container settings; `task_containers` adds the queue and database."""
    s = args.settings
    environment = {
        envvars.WORKER_CONCURRENCY: str(s.concurrency),
        envvars.WORKER_DRAIN_SECONDS: str(s.drain_seconds),
        envvars.HEALTH_PORT: str(envvars.DEFAULT_HEALTH_PORT),
        envvars.NOTIFIER: "ses" if args.ses_identity_arn else "log",
    }
    if args.ses_identity_arn:
        environment[envvars.SES_FROM_ADDRESS] = ses_address(args.ses_identity_arn)
    return Container(
        name="worker",
        command=["python", "-m", "worker"],
        environment=environment,
        stop_timeout=s.stop_timeout_seconds,
        health_check=HEALTH_CHECK,
        port=envvars.DEFAULT_HEALTH_PORT,
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
