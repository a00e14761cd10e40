"""What a stack holds that costs money by the hour or the month, read from the program's run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from devtools.planner.services import of_type

DEFAULT_IMAGES_KEPT = 10


@dataclass(frozen=True)
class Database:
    """An RDS instance the stack creates."""

    instance_class: str
    multi_az: bool
    storage_gb: int
    backup_days: int
    managed_secret: bool


@dataclass(frozen=True)
class Inventory:
    """The stack's billable resources besides the tasks the simulation runs."""

    databases: tuple[Database, ...]
    nat_gateways: int
    elastic_ips: int
    interface_endpoint_azs: int
    s3_gateway_endpoint: bool
    """Image layers (stored in S3 by ECR) then bypass the NAT gateways."""
    log_retention_days: int
    alarm_metrics: int
    dashboards: int
    log_metric_filters: int
    container_insights: bool
    secrets: int
    ecr_images_kept: int
    schedules: int


def read_inventory(snapshot: dict[str, Any]) -> Inventory:
    """The billable resources registered by the program."""
    databases = tuple(
        _database(r["inputs"]) for r in of_type(snapshot, "aws:rds/instance:Instance")
    )
    endpoints = [r["inputs"] for r in of_type(snapshot, "aws:ec2/vpcEndpoint:VpcEndpoint")]
    awsx_nat, awsx_endpoints = _awsx_vpcs(snapshot)
    endpoints += awsx_endpoints
    interface = [e for e in endpoints if e.get("vpcEndpointType") == "Interface"]
    groups = of_type(snapshot, "aws:cloudwatch/logGroup:LogGroup")
    clusters = of_type(snapshot, "aws:ecs/cluster:Cluster")
    return Inventory(
        databases=databases,
        nat_gateways=len(of_type(snapshot, "aws:ec2/natGateway:NatGateway")) + awsx_nat,
        elastic_ips=len(of_type(snapshot, "aws:ec2/eip:Eip")) + awsx_nat,
        interface_endpoint_azs=sum(len(e.get("subnetIds") or [None]) for e in interface),
        s3_gateway_endpoint=any(
            e.get("vpcEndpointType") == "Gateway" and str(e.get("serviceName", "")).endswith(".s3")
            for e in endpoints
        ),
        log_retention_days=max(
            (int(g["inputs"].get("retentionInDays") or 0) for g in groups), default=0
        ),
        alarm_metrics=sum(_alarm_metrics(r["inputs"]) for r in _alarms(snapshot)),
        dashboards=len(of_type(snapshot, "aws:cloudwatch/dashboard:Dashboard")),
        log_metric_filters=len(of_type(snapshot, "aws:cloudwatch/logMetricFilter:LogMetricFilter")),
        container_insights=any(_insights(c["inputs"]) for c in clusters),
        secrets=len(of_type(snapshot, "aws:secretsmanager/secret:Secret"))
        + sum(db.managed_secret for db in databases),
        ecr_images_kept=_images_kept(snapshot),
        schedules=len(of_type(snapshot, "aws:scheduler/schedule:Schedule")),
    )


def _database(inputs: dict[str, Any]) -> Database:
    return Database(
        instance_class=inputs["instanceClass"],
        multi_az=bool(inputs.get("multiAz")),
        storage_gb=int(inputs.get("allocatedStorage") or 20),
        backup_days=int(inputs.get("backupRetentionPeriod") or 0),
        # RDS keeps the master password in a Secrets Manager secret it manages (billed as one).
        managed_secret=bool(inputs.get("manageMasterUserPassword")),
    )


def _alarms(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    return of_type(snapshot, "aws:cloudwatch/metricAlarm:MetricAlarm")


def _alarm_metrics(inputs: dict[str, Any]) -> int:
    # An alarm on metric math is billed for each metric it reads.
    queries = inputs.get("metricQueries") or []
    return sum(1 for q in queries if q.get("metric")) if queries else 1


def _insights(inputs: dict[str, Any]) -> bool:
    return any(
        s.get("name") == "containerInsights" and s.get("value") in ("enabled", "enhanced")
        for s in inputs.get("settings") or []
    )


def _images_kept(snapshot: dict[str, Any]) -> int:
    kept = [
        int(rule["selection"]["countNumber"])
        for record in of_type(snapshot, "aws:ecr/lifecyclePolicy:LifecyclePolicy")
        for rule in json.loads(record["inputs"]["policy"]).get("rules", [])
        if rule["selection"].get("countType") == "imageCountMoreThan"
    ]
    return max(kept, default=DEFAULT_IMAGES_KEPT)


def _awsx_vpcs(snapshot: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """NAT gateways (each with an Elastic IP) and endpoints of awsx VPCs, whose children only a
    real preview shows: counted from the component's own inputs."""
    nat, endpoints = 0, []
    for record in snapshot["resources"]:
        if record["type"] != "awsx:ec2:Vpc":
            continue
        inputs = record["inputs"]
        zones = int(inputs.get("numberOfAvailabilityZones") or 3)  # awsx's default is 3
        strategy = (inputs.get("natGateways") or {}).get("strategy", "OnePerAz")
        nat += {"None": 0, "Single": 1}.get(strategy, zones)
        for spec in inputs.get("vpcEndpointSpecs") or []:
            endpoints.append({**spec, "subnetIds": [None] * zones})
    return nat, endpoints
