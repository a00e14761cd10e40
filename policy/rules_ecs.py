"""ECR, ECS clusters, services, task definitions and the scanner schedule (ECR.*, ECS.*)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from policy import tokens as t
from policy.model import Props, Resource, as_json, as_list, of_type, resource_rule, stack_rule

#: Environment variable names that suggest a secret value (an ARN of a secret is fine).
_SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET(?!_ARN$)|TOKEN|ACCESS_KEY|PRIVATE_KEY|API_KEY|CREDENTIAL"
)
_SECRET_VALUE = re.compile(r"(AKIA|ASIA)[0-9A-Z]{16}|://[^/\s:@]+:[^/\s@]+@|-----BEGIN")


def containers(props: Props) -> list[dict[str, Any]]:
    """The task definition's container definitions."""
    return [dict(c) for c in as_list(as_json(props.get("containerDefinitions")))]


@resource_rule("ecr-scan-on-push", "ECR.1, CKV_AWS_163", t.REPOSITORY)
def ecr_scan_on_push(_: str, props: Props) -> Iterable[str]:
    """Images are scanned on push."""
    if (props.get("imageScanningConfiguration") or {}).get("scanOnPush") is not True:
        yield "imageScanningConfiguration.scanOnPush must be true"


@resource_rule("ecr-immutable-tags", "ECR.2, CKV_AWS_51", t.REPOSITORY)
def ecr_immutable_tags(_: str, props: Props) -> Iterable[str]:
    """Image tags are immutable."""
    if props.get("imageTagMutability") != "IMMUTABLE":
        yield "imageTagMutability must be IMMUTABLE"


@resource_rule("ecs-image-pinned", "ECR.2", t.TASK_DEFINITION)
def ecs_image_pinned(_: str, props: Props) -> Iterable[str]:
    """Task definitions run an image by digest, never a mutable tag such as latest."""
    for c in containers(props):
        image = str(c.get("image", ""))
        if "@sha256:" not in image:
            yield f"container {c.get('name')} image {image!r} is not pinned by digest"


@resource_rule("ecr-lifecycle", "ECR.3", t.LIFECYCLE)
def ecr_lifecycle(_: str, props: Props) -> Iterable[str]:
    """A lifecycle policy has at least one rule."""
    if not as_json(props.get("policy")).get("rules"):
        yield "lifecycle policy has no rules"


@stack_rule("ecr-lifecycle-attached", "ECR.3")
def ecr_lifecycle_attached(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    """Every repository has a lifecycle policy."""
    covered = {r.props.get("repository") for r in of_type(resources, t.LIFECYCLE)}
    for repo in of_type(resources, t.REPOSITORY):
        if repo.value("name") not in covered:
            yield repo.name, "repository has no lifecycle policy"


@resource_rule("ecs-container-insights", "ECS.12, CKV_AWS_65", t.CLUSTER)
def ecs_container_insights(_: str, props: Props) -> Iterable[str]:
    """Clusters have Container Insights on."""
    settings = {s.get("name"): s.get("value") for s in as_list(props.get("settings"))}
    if settings.get("containerInsights") not in ("enabled", "enhanced"):
        yield "containerInsights is not enabled"


def _network(resource_type: str, props: Props) -> dict[str, Any]:
    if resource_type == t.SCHEDULE:
        ecs = (props.get("target") or {}).get("ecsParameters") or {}
        return dict(ecs.get("networkConfiguration") or {})
    return dict(props.get("networkConfiguration") or {})


@resource_rule(
    "ecs-no-public-ip", "ECS.2, CKV_AWS_333", t.SERVICE, t.SCHEDULE, may_be_advisory=True
)
def ecs_no_public_ip(resource_type: str, props: Props) -> Iterable[str]:
    """Tasks get no public IP."""
    if _network(resource_type, props).get("assignPublicIp") is not False:
        yield "assignPublicIp must be false"


@resource_rule("ecs-fargate-latest", "ECS.10, CKV_AWS_332", t.SERVICE, t.SCHEDULE)
def ecs_fargate_latest(resource_type: str, props: Props) -> Iterable[str]:
    """Tasks run on Fargate at the LATEST platform version."""
    spec = props
    if resource_type == t.SCHEDULE:
        spec = (props.get("target") or {}).get("ecsParameters") or {}
    providers = [s.get("capacityProvider") for s in as_list(spec.get("capacityProviderStrategies"))]
    on_fargate = spec.get("launchType") == "FARGATE" or (
        providers and all(p in ("FARGATE", "FARGATE_SPOT") for p in providers)
    )
    if not on_fargate:
        yield "must run on FARGATE (launch type or FARGATE/FARGATE_SPOT capacity providers)"
    if spec.get("platformVersion") not in (None, "LATEST"):
        yield f"platformVersion {spec.get('platformVersion')!r} is pinned below LATEST"


@resource_rule("ecs-circuit-breaker", "ECS deployment reliability", t.SERVICE)
def ecs_circuit_breaker(_: str, props: Props) -> Iterable[str]:
    """Deployments roll back on failure."""
    breaker = props.get("deploymentCircuitBreaker") or {}
    if breaker.get("enable") is not True or breaker.get("rollback") is not True:
        yield "deploymentCircuitBreaker must have enable and rollback true"


@resource_rule("ecs-readonly-root", "ECS.5, CKV_AWS_336", t.TASK_DEFINITION)
def ecs_readonly_root(_: str, props: Props) -> Iterable[str]:
    """Containers have a read-only root filesystem; writable paths come from task volumes."""
    volumes = {v.get("name") for v in as_list(props.get("volumes"))}
    for c in containers(props):
        if c.get("readonlyRootFilesystem") is not True:
            yield f"container {c.get('name')}: readonlyRootFilesystem must be true"
        for mount in as_list(c.get("mountPoints")):
            if mount.get("sourceVolume") not in volumes:
                yield f"container {c.get('name')}: unknown volume {mount.get('sourceVolume')}"


@resource_rule("ecs-no-privileged", "ECS.4, CKV_AWS_334, ECS.3, CKV_AWS_335", t.TASK_DEFINITION)
def ecs_no_privileged(_: str, props: Props) -> Iterable[str]:
    """No privileged containers and no host PID namespace."""
    if props.get("pidMode") == "host":
        yield "pidMode must not be host"
    for c in containers(props):
        if c.get("privileged") is True:
            yield f"container {c.get('name')} is privileged"


@resource_rule("ecs-non-root-user", "ECS.20, ECS.21", t.TASK_DEFINITION)
def ecs_non_root_user(_: str, props: Props) -> Iterable[str]:
    """Containers run as a non-root user on Linux."""
    platform = props.get("runtimePlatform") or {}
    if platform.get("operatingSystemFamily") != "LINUX":
        yield "runtimePlatform.operatingSystemFamily must be LINUX"
    for c in containers(props):
        user = str(c.get("user") or "")
        if not user or user.split(":", maxsplit=1)[0] in ("root", "0"):
            yield f"container {c.get('name')} runs as {user or 'the image default'}, not non-root"


@resource_rule("ecs-awsvpc", "ECS.17", t.TASK_DEFINITION)
def ecs_awsvpc(_: str, props: Props) -> Iterable[str]:
    """Task definitions use awsvpc networking."""
    if props.get("networkMode") != "awsvpc":
        yield "networkMode must be awsvpc"


@resource_rule("ecs-awslogs", "ECS.9", t.TASK_DEFINITION)
def ecs_awslogs(_: str, props: Props) -> Iterable[str]:
    """Every container logs with awslogs to a named group, region and stream prefix."""
    needed = ("awslogs-group", "awslogs-region", "awslogs-stream-prefix")
    for c in containers(props):
        config = c.get("logConfiguration") or {}
        options = config.get("options") or {}
        if config.get("logDriver") != "awslogs" or not all(options.get(k) for k in needed):
            yield f"container {c.get('name')} lacks an awslogs logConfiguration"


@resource_rule("ecs-no-secrets-in-env", "ECS.8", t.TASK_DEFINITION)
def ecs_no_secrets_in_env(_: str, props: Props) -> Iterable[str]:
    """No secret, key or credential-bearing URL in container environment variables."""
    for c in containers(props):
        for variable in as_list(c.get("environment")):
            name, value = str(variable.get("name", "")), str(variable.get("value", ""))
            if _SECRET_NAME.search(name.upper()) or _SECRET_VALUE.search(value):
                yield f"container {c.get('name')}: environment variable {name} looks secret"


#: Names the owner's credentials are injected under (jobping.envvars: DATABASE_USER/PASSWORD).
_OWNER_SECRETS = frozenset({"DATABASE_USER", "DATABASE_PASSWORD"})


@resource_rule("ecs-db-owner-init-only", "ECS.8, RDS least privilege (IAM DB auth)",
               t.TASK_DEFINITION)  # fmt: skip
def ecs_db_owner_init_only(_: str, props: Props) -> Iterable[str]:
    """The database owner's credentials reach only a non-essential step the app waits for."""
    cs = containers(props)
    owners = [c for c in cs if {s.get("name") for s in as_list(c.get("secrets"))} & _OWNER_SECRETS]
    for owner in owners:
        name = owner.get("name")
        if owner.get("essential") is not False:
            yield f"container {name} holds the database owner's credentials and is essential"
        for app in (c for c in cs if c.get("essential") is not False and c is not owner):
            waits = {"containerName": name, "condition": "SUCCESS"}
            if waits not in as_list(app.get("dependsOn")):
                yield f"container {app.get('name')} does not wait for {name} to succeed"


@resource_rule("ecs-separate-roles", "CKV_AWS_249", t.TASK_DEFINITION)
def ecs_separate_roles(_: str, props: Props) -> Iterable[str]:
    """The execution role and the task role are set and different."""
    task_role, exec_role = props.get("taskRoleArn"), props.get("executionRoleArn")
    if not task_role or not exec_role or task_role == exec_role:
        yield "taskRoleArn and executionRoleArn must both be set and differ"


@resource_rule("scheduler-reliability", "CKV_AWS_297, Scheduler", t.SCHEDULE)
def scheduler_reliability(_: str, props: Props) -> Iterable[str]:
    """Schedules state their window and timezone, retry, and keep failed runs in a DLQ."""
    window = props.get("flexibleTimeWindow") or {}
    if window.get("mode") not in ("OFF", "FLEXIBLE") or (
        window.get("mode") == "FLEXIBLE" and not window.get("maximumWindowInMinutes")
    ):
        yield "flexibleTimeWindow must be OFF, or FLEXIBLE with a maximum window"
    if not props.get("scheduleExpressionTimezone"):
        yield "scheduleExpressionTimezone is not set"
    target = props.get("target") or {}
    if not target.get("retryPolicy"):
        yield "target.retryPolicy is not set"
    if not (target.get("deadLetterConfig") or {}).get("arn"):
        yield "target.deadLetterConfig.arn is not set"
