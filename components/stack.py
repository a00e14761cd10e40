"""`build_stack`: wire the components together from one `StackSettings` object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components.alerts import AlarmTopic, AlarmTopicArgs
from components.context import AwsContext
from components.dashboard import Dashboard, DashboardArgs
from components.database import Database, DatabaseArgs
from components.image import ContainerImage, ContainerImageArgs
from components.network import Network, NetworkArgs
from components.queue import JobQueue, JobQueueArgs
from components.scanner import ScannerSchedule, ScannerScheduleArgs
from components.settings import StackSettings
from components.tasks import DatabaseRef, Placement, TaskTarget
from components.worker import WorkerService, WorkerServiceArgs

#: The repository root: the Docker build context.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def build_stack(settings: StackSettings, context: AwsContext | None = None) -> dict[str, Any]:
    """Declare every resource of the stack; return the stack outputs by name."""
    aws_ctx = context or AwsContext.current()
    alarms = AlarmTopic("alarms", AlarmTopicArgs(context=aws_ctx, email=settings.alarm_email))
    jobs = JobQueue("jobs", JobQueueArgs(settings=settings.queue, alarm_topic_arn=alarms.topic.arn))
    network = Network("network", NetworkArgs(settings=settings.network, region=settings.region))
    database = _database(settings, aws_ctx, network)
    image = ContainerImage(
        "image",
        ContainerImageArgs(
            context=PROJECT_ROOT,
            architecture=settings.worker.architecture,
            settings=settings.image,
        ),
    )
    target = _task_target(
        settings, aws_ctx, image=image, jobs=jobs, database=database, network=network
    )
    worker = WorkerService(
        "worker",
        WorkerServiceArgs(
            settings=settings.worker,
            target=target,
            partition=aws_ctx.partition,
            queue_name=jobs.queue.name,
            dlq_arn=jobs.dlq.arn,
            ses_identity_arn=settings.ses_identity_arn,
        ),
    )
    scanner = ScannerSchedule(
        "scanner",
        ScannerScheduleArgs(
            settings=settings.scanner,
            target=target,
            cluster_arn=worker.cluster.arn,
            alarm_topic_arn=alarms.topic.arn,
        ),
    )
    dashboard = _dashboard(settings.environment, aws_ctx, jobs, worker)
    return {
        "queueUrl": jobs.queue.url,
        "queueArn": jobs.queue.arn,
        "dlqUrl": jobs.dlq.url,
        "clusterName": worker.cluster.name,
        "serviceName": worker.service.name,
        "imageDigest": image.image_ref,
        "dashboardUrl": dashboard.url,
        "scannerScheduleName": scanner.schedule.name,
        "alarmTopicArn": alarms.topic.arn,
    }


def _database(settings: StackSettings, aws_ctx: AwsContext, network: Network) -> Database:
    return Database(
        "db",
        DatabaseArgs(
            settings=settings.database,
            identifier=f"jobping-{settings.environment}",
            vpc_id=network.vpc_id,
            subnet_ids=network.subnet_ids,
            subnets_private=network.private,
            task_security_group_id=network.task_security_group.id,
            account_id=aws_ctx.account_id,
            region=aws_ctx.region,
            partition=aws_ctx.partition,
            log_retention_days=settings.log_retention_days,
        ),
    )


def _task_target(
    settings: StackSettings,
    aws_ctx: AwsContext,
    *,
    image: ContainerImage,
    jobs: JobQueue,
    database: Database,
    network: Network,
) -> TaskTarget:
    """What the worker and the scanner tasks both run with."""
    return TaskTarget(
        environment=settings.environment,
        account_id=aws_ctx.account_id,
        region=aws_ctx.region,
        image_ref=image.image_ref,
        architecture=settings.worker.architecture,
        repository_arn=image.repository.arn,
        queue_url=jobs.queue.url,
        queue_arn=jobs.queue.arn,
        database=DatabaseRef(
            host=database.host,
            port=database.port,
            name=database.name,
            secret_arn=database.secret_arn,
            app_user=database.app_user,
            app_user_arn=database.app_user_arn,
            secret_kms_key_arn=database.secret_kms_key_arn,
        ),
        # The default VPC has public subnets and no NAT: tasks there need a public IP (dev only).
        placement=Placement(
            subnet_ids=network.subnet_ids,
            security_group_id=network.task_security_group.id,
            assign_public_ip=not network.private,
        ),
        log_retention_days=settings.log_retention_days,
    )


def _dashboard(env: str, aws_ctx: AwsContext, jobs: JobQueue, worker: WorkerService) -> Dashboard:
    return Dashboard(
        "dashboard",
        DashboardArgs(
            environment=env,
            region=aws_ctx.region,
            queue_name=jobs.queue.name,
            dlq_name=jobs.dlq.name,
            cluster_name=worker.cluster.name,
            service_name=worker.service.name,
            worker_log_group=worker.log_group.name,
        ),
    )
