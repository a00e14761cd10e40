"""IAM roles and their policies (IAM.1/21, KMS.1/2, the EventBridge invoker row)."""

from __future__ import annotations

from collections.abc import Iterable

from policy import tokens as t
from policy.model import Props, as_list, resource_rule, statements

#: Actions AWS authorizes only on "*" (no resource-level permission exists for them).
RESOURCE_STAR_ONLY = frozenset({"ecr:GetAuthorizationToken"})
TRUSTED_SERVICES = frozenset(
    {
        "ecs-tasks.amazonaws.com",
        "scheduler.amazonaws.com",
        "events.amazonaws.com",
        "monitoring.rds.amazonaws.com",
    }
)


@resource_rule("iam-least-privilege", "IAM.1, IAM.21, KMS.1/2, CKV_AWS_62/63/355/286-290",
               t.ROLE_POLICY, t.ROLE)  # fmt: skip
def iam_least_privilege(resource_type: str, props: Props) -> Iterable[str]:
    """No wildcard actions; every resource pinned (no "*", no wildcard ARNs but task paths)."""
    if resource_type == t.ROLE:
        if props.get("inlinePolicies") or props.get("managedPolicyArns"):
            yield "role declares inline/managed policies itself; use RolePolicy resources only"
        return
    for s in statements(props.get("policy")):
        if s.get("Effect") != "Allow":
            continue
        sid = s.get("Sid", "?")
        actions = [str(a) for a in as_list(s.get("Action"))]
        if s.get("NotAction") or s.get("NotResource"):
            yield f"{sid}: NotAction/NotResource grant more than they name"
        for action in actions:
            if action == "*" or action.endswith(":*"):
                yield f"{sid}: wildcard action {action}"
        for resource in (str(r) for r in as_list(s.get("Resource"))):
            yield from _pinned(sid, actions, resource)


def _pinned(sid: str, actions: list[str], resource: str) -> Iterable[str]:
    if resource == "*":
        if not set(actions) <= RESOURCE_STAR_ONLY:
            yield f"{sid}: Resource '*' for {', '.join(actions)}"
        return
    if not resource.startswith("arn:"):
        yield f"{sid}: resource {resource!r} is not an ARN"
    # A wildcard is allowed only as a whole last segment under a named parent: a log group's
    # streams (log-group:<name>:*), a cluster's tasks (task/<cluster>/*), a family's revisions.
    parts = resource.split(":", 5)
    path = parts[5] if len(parts) == 6 else ""
    if "*" in resource.removesuffix("*") or "?" in resource:
        yield f"{sid}: resource {resource} has a wildcard before its last segment"
    elif resource.endswith("*") and (path[-2:-1] not in ("/", ":") or len(path) < 3):
        yield f"{sid}: resource {resource} is a wildcard over a service, account or prefix"


@resource_rule("iam-trust-scoped", "IAM trust (confused deputy), CKV_AWS_60", t.ROLE)
def iam_trust_scoped(_: str, props: Props) -> Iterable[str]:
    """Roles trust one AWS service principal, conditioned on this account (aws:SourceAccount)."""
    for s in statements(props.get("assumeRolePolicy")):
        if s.get("Effect") != "Allow":
            continue
        principal = s.get("Principal") or {}
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if not services or set(principal) != {"Service"}:
            yield f"trust statement {s.get('Sid', '?')} must name only service principals"
        elif not set(services) <= TRUSTED_SERVICES:
            yield f"trusts unexpected services {sorted(set(services) - TRUSTED_SERVICES)}"
        condition = (s.get("Condition") or {}).get("StringEquals") or {}
        if not condition.get("aws:SourceAccount"):
            yield "trust has no StringEquals aws:SourceAccount condition"


@resource_rule("scheduler-invoker-scoped", "EventBridge invoker (ECS docs)", t.ROLE_POLICY)
def scheduler_invoker_scoped(_: str, props: Props) -> Iterable[str]:
    """RunTask only on one task family and one cluster; PassRole only on named task roles."""
    for s in statements(props.get("policy")):
        actions = set(as_list(s.get("Action")))
        resources = [str(r) for r in as_list(s.get("Resource"))]
        if "ecs:RunTask" in actions:
            if not resources or not all(":task-definition/" in r for r in resources):
                yield "ecs:RunTask must name task-definition/<family>:* resources"
            if not (s.get("Condition") or {}).get("ArnEquals", {}).get("ecs:cluster"):
                yield "ecs:RunTask has no ArnEquals ecs:cluster condition"
        if "iam:PassRole" in actions:
            if not 1 <= len(resources) <= 2 or any(
                "*" in r or ":role/" not in r for r in resources
            ):
                yield "iam:PassRole must name the task role and execution role exactly"
            passed_to = (
                (s.get("Condition") or {}).get("StringEquals", {}).get("iam:PassedToService")
            )
            if passed_to != "ecs-tasks.amazonaws.com":
                yield "iam:PassRole has no iam:PassedToService = ecs-tasks.amazonaws.com condition"
