"""Every policy rule passes on both stacks (dev advisories declared) and fails on broken input."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from infra_snapshot import Snapshot

from policy import tokens as t
from policy.model import RULES, Resource, evaluate
from policy.pack import policies, stack_of
from policy.rules import check_stack, stack_advisories

Props = dict[str, Any]
Break = Callable[[Props], None]


def _set(key: str, value: Any) -> Break:
    return lambda p: p.__setitem__(key, value)


def _json(key: str, change: Callable[[Any], None]) -> Break:
    def apply(p: Props) -> None:
        document = json.loads(p[key])
        change(document)
        p[key] = json.dumps(document)

    return apply


def _container(key: str, value: Any) -> Break:
    return _json("containerDefinitions", lambda cs: cs[0].__setitem__(key, value))


def _statement(key: str, value: Any, index: int = 0) -> Break:
    return _json("policy", lambda d: d["Statement"][index].__setitem__(key, value))


# rule id -> (resource type, logical name in prod, how to break it)
RESOURCE_CASES: dict[str, tuple[str, str, Break]] = {
    "sqs-encryption": (t.QUEUE, "jobs-queue", _set("sqsManagedSseEnabled", False)),
    "sqs-tls-only": (t.QUEUE_POLICY, "jobs-queue-policy", _statement("Effect", "Allow")),
    "sqs-redrive": (t.REDRIVE, "jobs-redrive",
                    _json("redrivePolicy", lambda d: d.__setitem__("maxReceiveCount", 1))),
    "alarm-actions": (t.ALARM, "jobs-depth", _set("alarmActions", [])),
    "log-retention-set": (t.LOG_GROUP, "worker-logs", _set("retentionInDays", 0)),
    "log-retention-365": (t.LOG_GROUP, "worker-logs", _set("retentionInDays", 30)),
    "ecr-scan-on-push": (t.REPOSITORY, "image-repo", _set("imageScanningConfiguration", {})),
    "ecr-immutable-tags": (t.REPOSITORY, "image-repo", _set("imageTagMutability", "MUTABLE")),
    "ecs-image-pinned": (t.TASK_DEFINITION, "worker-task", _container("image", "repo:latest")),
    "ecr-lifecycle": (t.LIFECYCLE, "image-lifecycle", _set("policy", '{"rules": []}')),
    "ecs-container-insights": (t.CLUSTER, "worker-cluster", _set("settings", [])),
    "ecs-no-public-ip": (t.SERVICE, "worker-service",
                         lambda p: p["networkConfiguration"].__setitem__("assignPublicIp", True)),
    "ecs-fargate-latest": (t.SERVICE, "worker-service", _set("platformVersion", "1.3.0")),
    "ecs-circuit-breaker": (t.SERVICE, "worker-service", _set("deploymentCircuitBreaker", {})),
    "ecs-readonly-root": (t.TASK_DEFINITION, "worker-task",
                          _container("readonlyRootFilesystem", False)),
    "ecs-no-privileged": (t.TASK_DEFINITION, "worker-task", _container("privileged", True)),
    "ecs-non-root-user": (t.TASK_DEFINITION, "worker-task", _container("user", "0:0")),
    "ecs-awsvpc": (t.TASK_DEFINITION, "worker-task", _set("networkMode", "bridge")),
    "ecs-awslogs": (t.TASK_DEFINITION, "worker-task", _container("logConfiguration", {})),
    "ecs-no-secrets-in-env": (t.TASK_DEFINITION, "worker-task", _container(
        "environment", [{"name": "DATABASE_URL", "value": "postgresql://app:hunter2@db/jobping"}])),
    "ecs-db-owner-init-only": (t.TASK_DEFINITION, "worker-task", _container(
        "secrets", [{"name": "DATABASE_PASSWORD", "valueFrom": "arn:aws:secretsmanager:x"}])),
    "ecs-separate-roles": (t.TASK_DEFINITION, "worker-task",
                           lambda p: p.__setitem__("executionRoleArn", p["taskRoleArn"])),
    "scheduler-reliability": (t.SCHEDULE, "scanner-schedule",
                              lambda p: p["target"].pop("deadLetterConfig")),
    "iam-least-privilege": (t.ROLE_POLICY, "worker-task-policy", _statement("Resource", ["*"])),
    "iam-trust-scoped": (t.ROLE, "worker-task-role",
                         _json("assumeRolePolicy", lambda d: d["Statement"][0].pop("Condition"))),
    "scheduler-invoker-scoped": (t.ROLE_POLICY, "scanner-scheduler-policy",
                                 _statement("Condition", {})),
    "sg-no-public-ingress": (t.INGRESS_RULE, "db-from-tasks", _set("cidrIpv4", "0.0.0.0/0")),
    "sg-limited-and-described": (t.EGRESS_RULE, "network-tasks-https-out", _set("toPort", 65535)),
    "rds-not-public": (t.DB_INSTANCE, "db-instance", _set("publiclyAccessible", True)),
    "rds-private-subnets": (t.DB_SUBNET_GROUP, "db-subnets", _set("tags", {})),
    "rds-encrypted": (t.DB_INSTANCE, "db-instance", _set("storageEncrypted", False)),
    "rds-force-ssl": (t.DB_PARAMETER_GROUP, "db-params", _set("parameters", [])),
    "rds-backups": (t.DB_INSTANCE, "db-instance", _set("backupRetentionPeriod", 1)),
    "rds-deletion-protection": (t.DB_INSTANCE, "db-instance", _set("deletionProtection", False)),
    "rds-multi-az": (t.DB_INSTANCE, "db-instance", _set("multiAz", False)),
    "rds-operations": (t.DB_INSTANCE, "db-instance", _set("monitoringInterval", 0)),
    "rds-hardening": (t.DB_INSTANCE, "db-instance", _set("port", 5432)),
    "rds-managed-password": (t.DB_INSTANCE, "db-instance", _set("password", "hunter2")),
}  # fmt: skip

Resources = list[Resource]


def _without(name: str) -> Callable[[Resources], Resources]:
    return lambda rs: [r for r in rs if r.name != name]


def _edit(name: str, key: str, value: Any) -> Callable[[Resources], Resources]:
    def apply(rs: Resources) -> Resources:
        return [replace(r, props={**r.props, key: value}) if r.name == name else r for r in rs]

    return apply


STACK_CASES: dict[str, Callable[[Resources], Resources]] = {
    "sqs-queue-policies": _without("jobs-dlq-policy"),
    "sqs-dlq-retention": lambda rs: [
        replace(r, state={**r.state, "messageRetentionSeconds": 60}) if r.name == "jobs-dlq" else r
        for r in rs
    ],
    "alarms-present": _without("jobs-dlq-not-empty"),
    "scanner-exit-rule": _without("scanner-failed-notify"),
    "ecr-lifecycle-attached": _without("image-lifecycle"),
    "default-sg-closed": _without("network-default-sg"),
    "rds-force-ssl-attached": _edit("db-instance", "parameterGroupName", "default.postgres16"),
}


def test_every_rule_has_a_broken_case() -> None:
    assert set(RESOURCE_CASES) | set(STACK_CASES) == set(RULES)


def test_every_rule_passes_on_prod(prod: Snapshot) -> None:
    report = check_stack(prod.resources(), stack_advisories("prod"))
    assert report.reasons == {}
    assert report.failed == []


def test_dev_breaks_only_the_rules_its_stack_file_declares_advisory(dev: Snapshot) -> None:
    advisories = stack_advisories("dev")
    report = check_stack(dev.resources(), advisories)
    assert report.failed == []
    assert set(advisories) == set(dev.setting("policyAdvisories"))
    assert all(
        RULES[rule].may_be_advisory and len(reason) > 30 for rule, reason in advisories.items()
    )
    # No stale declaration: each declared advisory is actually needed by dev.
    assert all(report.advisory[rule] for rule in advisories)


@pytest.mark.parametrize("rule_id", sorted(RESOURCE_CASES))
def test_resource_rule_fails_on_broken_input(prod: Snapshot, rule_id: str) -> None:
    resource_type, name, breaks = RESOURCE_CASES[rule_id]
    record = prod.named(name)
    assert record["type"] == resource_type
    rule = RULES[rule_id]
    assert rule.check_resource is not None
    assert list(rule.check_resource(resource_type, record["inputs"])) == []
    broken = copy.deepcopy(record["inputs"])
    breaks(broken)
    assert list(rule.check_resource(resource_type, broken)), f"{rule_id} missed the broken input"


@pytest.mark.parametrize("rule_id", sorted(STACK_CASES))
def test_stack_rule_fails_on_broken_input(prod: Snapshot, rule_id: str) -> None:
    resources = prod.resources()
    assert evaluate(RULES[rule_id], resources) == []
    assert evaluate(RULES[rule_id], STACK_CASES[rule_id](resources)), rule_id


def test_app_that_starts_before_migrate_succeeds_breaks_owner_init_only(prod: Snapshot) -> None:
    check = RULES["ecs-db-owner-init-only"].check_resource
    assert check is not None
    for name in ("worker-task", "scanner-task"):
        props = copy.deepcopy(prod.named(name)["inputs"])
        _container("dependsOn", [{"containerName": "migrate", "condition": "START"}])(props)
        found = list(check(t.TASK_DEFINITION, props))
        assert found == [f"container {name.split('-')[0]} does not wait for migrate to succeed"]


def test_scanner_that_could_receive_breaks_least_privilege(prod: Snapshot) -> None:
    props = copy.deepcopy(prod.named("scanner-task-policy")["inputs"])
    _statement("Action", ["sqs:*"])(props)
    assert list(RULES["iam-least-privilege"].check_resource(t.ROLE_POLICY, props))  # type: ignore[misc]


class _Args:
    """Hand-built validation arguments, shaped like pulumi_policy's."""

    def __init__(self, resource_type: str, props: Props, stack: str) -> None:
        self.resource_type = resource_type
        self.props = props
        self.urn = f"urn:pulumi:{stack}::jobping::{resource_type}::x"
        self.name = "x"


def _pack_policy(name: str) -> Any:
    (found,) = [p for p in policies() if p.name == name]
    return found


def test_pack_reports_a_mandatory_violation_with_hand_built_args(prod: Snapshot) -> None:
    props = copy.deepcopy(prod.named("jobs-queue")["inputs"])
    props["sqsManagedSseEnabled"] = False
    reported: list[str] = []
    _pack_policy("sqs-encryption").validate(
        _Args(t.QUEUE, props, "prod"), lambda m, u=None: reported.append(m)
    )
    assert len(reported) == 1
    assert "SQS.1" in reported[0]


def test_pack_leaves_declared_dev_advisories_to_the_advisory_policy(dev: Snapshot) -> None:
    props = dev.named("worker-service")["inputs"]
    reported: list[str] = []
    policy = _pack_policy("ecs-no-public-ip")
    policy.validate(_Args(t.SERVICE, props, "dev"), lambda m, u=None: reported.append(m))
    assert reported == []
    policy.validate(_Args(t.SERVICE, props, "prod"), lambda m, u=None: reported.append(m))
    assert len(reported) == 1
    assert stack_of("urn:pulumi:dev::jobping::aws:ecs/service:Service::worker-service") == "dev"


class _StackArgs:
    """Hand-built stack validation arguments, shaped like pulumi_policy's."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.resources = [
            _Args(r["type"], r["inputs"], snapshot.stack) for r in snapshot.records if r["custom"]
        ]
        for resource, record in zip(self.resources, [r for r in snapshot.records if r["custom"]],
                                    strict=True):  # fmt: skip
            resource.name = record["name"]


def test_pack_reports_dev_advisories_with_the_stack_files_reasons(dev: Snapshot) -> None:
    reported: list[str] = []
    _pack_policy("declared-advisories").validate(
        _StackArgs(dev), lambda m, u=None: reported.append(m)
    )
    rules = {message.split()[0] for message in reported}
    assert rules == set(stack_advisories("dev"))
    assert all("(advisory here: " in message for message in reported)
