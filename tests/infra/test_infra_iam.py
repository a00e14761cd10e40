"""IAM documents, parsed: no wildcard actions, pinned resources, each role only its job."""

from __future__ import annotations

import json
from typing import Any

from infra_snapshot import Snapshot


def policy_of(stack: Snapshot, role_name: str) -> list[dict[str, Any]]:
    """The statements of the one RolePolicy attached to `role_name`."""
    role_id = stack.named(role_name)["id"]
    (policy,) = [p for p in stack.of_type("aws:iam/rolePolicy:RolePolicy")
                 if p["inputs"]["role"] == role_id]  # fmt: skip
    statements: list[dict[str, Any]] = json.loads(policy["inputs"]["policy"])["Statement"]
    return statements


def grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(action, resource) pairs the statements allow."""
    return {(a, r) for s in statements if s["Effect"] == "Allow" for a in s["Action"]
            for r in s["Resource"]}  # fmt: skip


def test_no_wildcard_actions_and_every_resource_pinned(stack: Snapshot) -> None:
    for policy in stack.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy["inputs"]["policy"])["Statement"]:
            for action in statement["Action"]:
                assert action != "*"
                assert not action.endswith(":*"), action
            for resource in statement["Resource"]:
                if resource == "*":
                    # The one action without resource-level permissions.
                    assert statement["Action"] == ["ecr:GetAuthorizationToken"]
                else:
                    assert resource.startswith("arn:aws:"), resource


def test_every_role_trusts_one_service_for_this_account(stack: Snapshot) -> None:
    for role in stack.of_type("aws:iam/role:Role"):
        (statement,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
        assert list(statement["Principal"]) == ["Service"]
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
        assert "inlinePolicies" not in role["inputs"]
        assert "managedPolicyArns" not in role["inputs"]


def master_secret(stack: Snapshot) -> str:
    """The RDS-managed master user secret's ARN."""
    secret: str = stack.named("db-instance")["outputs"]["masterUserSecrets"][0]["secretArn"]
    return secret


def app_user_arn(stack: Snapshot) -> str:
    """The `rds-db:connect` resource of the application's database user."""
    resource_id = stack.named("db-instance")["outputs"]["resourceId"]
    return f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{resource_id}/jobping_runtime"


def test_worker_consumes_the_queue_and_cannot_send_to_it(stack: Snapshot) -> None:
    queue, dlq = stack.outputs["queueArn"], stack.named("jobs-dlq")["outputs"]["arn"]
    allowed = grants(policy_of(stack, "worker-task-role"))
    for action in (
        "ReceiveMessage",
        "DeleteMessage",
        "ChangeMessageVisibility",
        "GetQueueAttributes",
    ):
        assert (f"sqs:{action}", queue) in allowed
    assert ("sqs:SendMessage", queue) not in allowed
    assert ("sqs:SendMessage", dlq) in allowed
    assert ("sqs:ReceiveMessage", dlq) not in allowed
    tasks = {r for a, r in allowed if a == "ecs:UpdateTaskProtection"}
    assert tasks == {"arn:aws:ecs:us-east-1:123456789012:task/worker-cluster/*"}
    assert {a.split(":")[0] for a, _ in allowed} == {"sqs", "rds-db", "ecs"}


def test_scanner_can_send_to_the_queue_and_cannot_receive(stack: Snapshot) -> None:
    allowed = grants(policy_of(stack, "scanner-task-role"))
    assert allowed == {
        ("sqs:SendMessage", stack.outputs["queueArn"]),
        ("rds-db:connect", app_user_arn(stack)),
    }


def test_applications_connect_as_their_iam_user_and_never_read_the_master_secret(
    stack: Snapshot,
) -> None:
    for prefix in ("worker", "scanner"):
        allowed = grants(policy_of(stack, f"{prefix}-task-role"))
        assert {r for a, r in allowed if a == "rds-db:connect"} == {app_user_arn(stack)}
        assert not [a for a, _ in allowed if a.startswith(("secretsmanager:", "kms:"))]


def test_execution_roles_pull_this_repository_write_their_logs_and_inject_the_owner_secret(
    stack: Snapshot,
) -> None:
    repo = stack.named("image-repo")["outputs"]["arn"]
    for prefix in ("worker", "scanner"):
        allowed = grants(policy_of(stack, f"{prefix}-execution-role"))
        group = stack.named(f"{prefix}-logs")["outputs"]["arn"]
        assert {r for a, r in allowed if a.startswith("ecr:") and r != "*"} == {repo}
        assert {r for a, r in allowed if a.startswith("logs:")} == {f"{group}:*"}
        secrets = {(a, r) for a, r in allowed if a.startswith("secretsmanager:")}
        assert secrets == {("secretsmanager:GetSecretValue", master_secret(stack))}
        assert not [a for a, _ in allowed if a.startswith(("sqs:", "kms:"))]


def test_scheduler_runs_only_the_scanner_family_and_passes_its_two_roles(stack: Snapshot) -> None:
    statements = {s["Sid"]: s for s in policy_of(stack, "scanner-scheduler-role")}
    run = statements["RunScannerTask"]
    family = f"jobping-{stack.stack}-scanner"
    assert run["Action"] == ["ecs:RunTask"]
    assert run["Resource"] == [f"arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:*"]
    cluster = stack.named("worker-cluster")["outputs"]["arn"]
    assert run["Condition"] == {"ArnEquals": {"ecs:cluster": cluster}}
    passed = statements["PassScannerRoles"]
    assert sorted(passed["Resource"]) == sorted(
        stack.named(n)["outputs"]["arn"] for n in ("scanner-task-role", "scanner-execution-role")
    )
    assert statements["DeadLetter"]["Resource"] == [
        stack.named("scanner-schedule-dlq")["outputs"]["arn"]
    ]


def test_task_definitions_use_their_own_roles(stack: Snapshot) -> None:
    for prefix in ("worker", "scanner"):
        task = stack.named(f"{prefix}-task")["inputs"]
        assert task["taskRoleArn"] == stack.named(f"{prefix}-task-role")["outputs"]["arn"]
        assert task["executionRoleArn"] == stack.named(f"{prefix}-execution-role")["outputs"]["arn"]
