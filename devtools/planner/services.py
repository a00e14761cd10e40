"""The ECS side of a stack as the simulator sees it: worker service, scanner, cluster, queue."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jobping import settings as runtime_settings


class ModelError(ValueError):
    """The program's resources lack something the simulator needs, or use what it cannot model."""


@dataclass(frozen=True)
class WorkerDef:
    """The worker service: task size, platform, capacity and consumer settings."""

    service_name: str
    cluster_name: str
    cpu_units: int
    memory_mib: int
    architecture: str
    spot_share: float
    public_ip: bool
    min_tasks: int
    max_tasks: int
    concurrency: int
    prefetch: int
    batch_size: int
    wait_seconds: int
    drain_seconds: float
    stop_timeout: int


@dataclass(frozen=True)
class ScannerDef:
    """The scheduled scanner task."""

    schedule: str
    timezone: str
    flexible_window_minutes: int
    cpu_units: int
    memory_mib: int
    architecture: str
    public_ip: bool


def of_type(snapshot: dict[str, Any], typ: str) -> list[dict[str, Any]]:
    """The custom resources of one type token."""
    return [r for r in snapshot["resources"] if r["type"] == typ and r["custom"]]


def one(snapshot: dict[str, Any], typ: str) -> dict[str, Any]:
    found = of_type(snapshot, typ)
    if len(found) != 1:
        raise ModelError(f"expected one {typ}, the program registered {len(found)}")
    return found[0]


def _task_definition(snapshot: dict[str, Any], arn: str) -> dict[str, Any]:
    family = arn.rsplit("task-definition/", 1)[-1].split(":", maxsplit=1)[0]
    for record in of_type(snapshot, "aws:ecs/taskDefinition:TaskDefinition"):
        if record["inputs"]["family"] == family:
            return record
    raise ModelError(f"no task definition for {arn}")


def _container(snapshot: dict[str, Any], service_name: str) -> dict[str, Any]:
    service = next(
        r
        for r in of_type(snapshot, "aws:ecs/service:Service")
        if r["outputs"]["name"] == service_name
    )
    definitions = _task_definition(snapshot, service["inputs"]["taskDefinition"])["inputs"]
    containers: list[dict[str, Any]] = json.loads(definitions["containerDefinitions"])
    # The consumer: the essential container that reads the job queue (a task may also hold
    # helper containers, such as a migrate step it depends on).
    for container in containers:
        if container.get("essential", True) and "JOB_QUEUE_URL" in _env(container):
            return container
    raise ModelError(f"service {service_name}: no essential container reads JOB_QUEUE_URL")


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("environment") or ()}


def _platform(task: dict[str, Any]) -> tuple[int, int, str]:
    i = task["inputs"]
    architecture = (i.get("runtimePlatform") or {}).get("cpuArchitecture") or "X86_64"
    return int(i["cpu"]), int(i["memory"]), architecture


def _spot_share(service: dict[str, Any]) -> float:
    strategy = service["inputs"].get("capacityProviderStrategies") or []
    total = sum(float(s.get("weight") or 0) for s in strategy)
    spot = sum(
        float(s.get("weight") or 0) for s in strategy if s["capacityProvider"] == "FARGATE_SPOT"
    )
    return spot / total if total else 0.0


def worker(snapshot: dict[str, Any]) -> WorkerDef:
    target = one(snapshot, "aws:appautoscaling/target:Target")
    _, cluster_name, service_name = target["inputs"]["resourceId"].split("/")
    service = next(
        r
        for r in of_type(snapshot, "aws:ecs/service:Service")
        if r["outputs"]["name"] == service_name
    )
    cpu, memory, architecture = _platform(
        _task_definition(snapshot, service["inputs"]["taskDefinition"])
    )
    container = _container(snapshot, service_name)
    env = _env(container)
    # Variables the task definition leaves unset take the runtime's own defaults.
    defaults = runtime_settings.WorkerSettings.model_fields
    concurrency = int(env.get("WORKER_CONCURRENCY", defaults["worker_concurrency"].default))
    network = service["inputs"].get("networkConfiguration") or {}
    return WorkerDef(
        service_name=service_name,
        cluster_name=cluster_name,
        cpu_units=cpu,
        memory_mib=memory,
        architecture=architecture,
        spot_share=_spot_share(service),
        public_ip=bool(network.get("assignPublicIp")),
        min_tasks=int(target["inputs"]["minCapacity"]),
        max_tasks=int(target["inputs"]["maxCapacity"]),
        concurrency=concurrency,
        prefetch=int(env.get("WORKER_PREFETCH", defaults["worker_prefetch"].default)),
        batch_size=int(env.get("WORKER_BATCH_SIZE", defaults["worker_batch_size"].default)),
        wait_seconds=int(env.get("WORKER_WAIT_SECONDS", defaults["worker_wait_seconds"].default)),
        drain_seconds=float(
            env.get("WORKER_DRAIN_SECONDS", defaults["worker_drain_seconds"].default)
        ),
        # Fargate's default stop timeout is 30 s when the container sets none.
        stop_timeout=int(container.get("stopTimeout") or 30),
    )


def scanner(snapshot: dict[str, Any]) -> ScannerDef:
    schedule = one(snapshot, "aws:scheduler/schedule:Schedule")["inputs"]
    ecs = schedule["target"]["ecsParameters"]
    cpu, memory, architecture = _platform(_task_definition(snapshot, ecs["taskDefinitionArn"]))
    window = schedule.get("flexibleTimeWindow") or {}
    return ScannerDef(
        schedule=schedule["scheduleExpression"],
        timezone=schedule.get("scheduleExpressionTimezone") or "UTC",
        flexible_window_minutes=int(window.get("maximumWindowInMinutes") or 0)
        if window.get("mode") == "FLEXIBLE"
        else 0,
        cpu_units=cpu,
        memory_mib=memory,
        architecture=architecture,
        public_ip=bool((ecs.get("networkConfiguration") or {}).get("assignPublicIp")),
    )


def container_insights(snapshot: dict[str, Any], cluster_name: str) -> bool:
    for record in of_type(snapshot, "aws:ecs/cluster:Cluster"):
        if record["outputs"].get("name") == cluster_name:
            settings = record["inputs"].get("settings") or []
            return any(
                s["name"] == "containerInsights" and s["value"] in ("enabled", "enhanced")
                for s in settings
            )
    return False


def queue_name(snapshot: dict[str, Any], service_name: str) -> str:
    """The job queue the worker reads (from its JOB_QUEUE_URL)."""
    return _env(_container(snapshot, service_name))["JOB_QUEUE_URL"].rsplit("/", 1)[-1]
