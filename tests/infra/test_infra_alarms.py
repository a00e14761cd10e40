"""The scanner's failure alarms see both ways a scheduled scan can fail after RunTask.

Sample events follow the task state change format of
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html (the `detail`
is a `Task` object: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html).
A task that never started stops with `stopCode` `TaskFailedToStart` and containers that have a
`reason` but no `exitCode`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from eventbridge import matches
from infra_snapshot import Snapshot
from moto.events.models import EventPattern

RULES = ("scanner-failed-rule", "scanner-start-failed-rule")
PULL_FAILED = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve "
    "ref 123456789012.dkr.ecr.us-east-1.amazonaws.com/image-repo@sha256:ab12: not found"
)
SECRETS_FAILED = (
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
    "retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 "
    "time(s): RequestError: send request failed"
)


def task_event(stack: Snapshot, **task: Any) -> dict[str, Any]:
    """An ECS Task State Change event for a task of this stack's scanner family."""
    cluster = stack.named("worker-cluster")["outputs"]["arn"]
    family = task.pop("family", f"jobping-{stack.stack}-scanner")
    task_arn = cluster.replace(":cluster/", ":task/") + "/c13b4cb40f1f4fe4a2971f76ae5a47ad"
    container = {
        "containerArn": cluster.replace(":cluster/", ":container/") + "/cf159fd6",
        "lastStatus": task.get("lastStatus", "STOPPED"),
        "name": "scanner",
        "taskArn": task_arn,
        **task.pop("container", {}),
    }
    detail = {
        "clusterArn": task.pop("clusterArn", cluster),
        "containers": [container],
        "createdAt": "2026-11-29T01:00:02.402Z",
        "launchType": "FARGATE",
        "cpu": "256",
        "memory": "512",
        "desiredStatus": "STOPPED",
        "group": f"family:{family}",
        "lastStatus": "STOPPED",
        "taskArn": task_arn,
        "taskDefinitionArn": cluster.split(":cluster/")[0] + f":task-definition/{family}:1",
        "version": 5,
        "platformVersion": "1.4.0",
        **task,
    }
    return {
        "version": "0",
        "id": "3317b2af-7005-947d-b652-f55e762e571a",
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": "123456789012",
        "time": "2026-11-29T01:02:03Z",
        "region": "us-east-1",
        "resources": [task_arn],
        "detail": detail,
    }


def exited(code: int) -> dict[str, Any]:
    """A scan that ran and stopped with this exit code."""
    return {
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "container": {"exitCode": code},
    }


def never_started(reason: str) -> dict[str, Any]:
    """A task that stopped before its container ran: no exit code, a reason instead."""
    return {
        "stopCode": "TaskFailedToStart",
        "stoppedReason": reason,
        "container": {"reason": reason},
    }


CASES: dict[str, tuple[dict[str, Any], set[str]]] = {
    "a source failed (exit 1)": (exited(1), {"scanner-failed-rule"}),
    "bad configuration (exit 2)": (exited(2), {"scanner-failed-rule"}),
    "image pull failed": (never_started(PULL_FAILED), {"scanner-start-failed-rule"}),
    "secrets or registry auth failed": (
        never_started(SECRETS_FAILED),
        {"scanner-start-failed-rule"},
    ),
    "the scan succeeded (exit 0)": (exited(0), set()),
    "the scan is still running": (
        {"lastStatus": "RUNNING", "desiredStatus": "RUNNING"},
        set(),
    ),
    "a worker task failed to start": (
        {**never_started(PULL_FAILED), "family": "jobping-x-worker"},
        set(),
    ),
    "another cluster's scanner": (
        {**exited(1), "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/other"},
        set(),
    ),
}


def pattern(stack: Snapshot, rule: str) -> dict[str, Any]:
    """A rule's event pattern, decoded."""
    decoded: dict[str, Any] = json.loads(stack.named(rule)["inputs"]["eventPattern"])
    return decoded


@pytest.mark.parametrize("case", CASES)
def test_scanner_alarms_see_failed_scans_and_tasks_that_never_started(
    stack: Snapshot, case: str
) -> None:
    task, expected = CASES[case]
    event = task_event(stack, **task)
    assert {rule for rule in RULES if matches(pattern(stack, rule), event)} == expected


@pytest.mark.parametrize("case", CASES)
def test_start_failure_rule_matches_as_moto_does(stack: Snapshot, case: str) -> None:
    # moto's EventBridge matcher, an independent implementation, agrees on this rule (its fields
    # are all scalars; moto does not look inside arrays of objects such as `containers`).
    task, _ = CASES[case]
    event = task_event(stack, **task)
    raw = stack.named("scanner-start-failed-rule")["inputs"]["eventPattern"]
    assert EventPattern.load(raw).matches_event(event) is matches(json.loads(raw), event)


@pytest.mark.parametrize("rule", RULES)
def test_every_scanner_task_rule_notifies_and_raises_an_alarm(stack: Snapshot, rule: str) -> None:
    name = rule.removesuffix("-rule")
    topic = stack.outputs["alarmTopicArn"]
    target = stack.named(f"{name}-notify")["inputs"]
    assert (target["rule"], target["arn"]) == (stack.named(rule)["outputs"]["name"], topic)
    alarm = stack.named(name)["inputs"]
    assert (alarm["namespace"], alarm["metricName"]) == ("AWS/Events", "MatchedEvents")
    assert alarm["dimensions"] == {"RuleName": stack.named(rule)["outputs"]["name"]}
    assert (alarm["statistic"], alarm["threshold"]) == ("Sum", 0)
    assert alarm["comparisonOperator"] == "GreaterThanThreshold"
    assert alarm["alarmActions"] == [topic]
