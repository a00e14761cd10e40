"""Every IAM policy document the program builds, audited by an independent rulebook: parliament.

parliament (duo-labs, pinned in requirements-dev.txt) checks each statement against its own copy
of the AWS Service Authorization Reference: unknown services and actions, resource ARNs of a
type the action does not take (RESOURCE_MISMATCH), condition keys the action does not support,
unknown operators, malformed documents; its community auditors add credential-exposure,
privilege-escalation and permissions-management findings. The documents are the real program's
(run under mocks by the infra harness): role trust policies, inline role policies, queue and
topic policies. A guard fails if an input anywhere holds a policy document not audited here.

A trust policy has no Resource element (parliament reports it MALFORMED): it is audited with the
role's own ARN as its Resource, which is what `sts:AssumeRole` acts on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import parliament
import pytest
from infra_snapshot import Record, Snapshot

#: Resource types whose inputs hold a policy document, and the input that holds it.
POLICY_INPUTS = {
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:kms/key:Key": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
}

#: Findings accepted, each for one action in the documents named by the pattern, and why.
ACCEPTED: dict[tuple[str, str], tuple[str, str]] = {
    ("CREDENTIALS_EXPOSURE", "ecr:getauthorizationtoken"): (
        r".+-execution-policy",
        "ECS pulls a private ECR image with the execution role's registry token; the call has "
        "no resource-level permission (https://docs.aws.amazon.com/AmazonECS/latest/"
        "developerguide/task_execution_IAM_role.html). Only execution roles hold it.",
    ),
    ("CREDENTIALS_EXPOSURE", "sts:assumerole"): (
        r".+-role",
        "A trust policy exists to let one service assume the role; each names one service "
        "principal and pins aws:SourceAccount (confused-deputy guard).",
    ),
    ("CREDENTIALS_EXPOSURE", "rds-db:connect"): (
        r"(worker|scanner)-task-policy",
        "IAM database authentication: the application signs a token per connection "
        "(https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy"
        ".html); the statement names the one dbuser ARN of the least-privilege runtime role.",
    ),
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "rds-db:connect"): (
        r"(worker|scanner)-task-policy",
        "parliament files rds-db:connect under permissions management too; the same single "
        "dbuser ARN as above, for logging in, not for managing any permission.",
    ),
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "iam:passrole"): (
        r"scanner-scheduler-policy",
        "The scheduler must pass the scanner's task and execution roles to ECS RunTask "
        "(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/CWE_IAM_role.html); the "
        "statement names exactly those two role ARNs, with iam:PassedToService.",
    ),
}


def documents(stack: Snapshot) -> Iterator[tuple[str, dict[str, Any]]]:
    """(resource name, document) for every policy document the program declares."""
    for record in stack.records:
        field = POLICY_INPUTS.get(record["type"])
        if field is None or field not in record["inputs"]:
            continue
        document: dict[str, Any] = json.loads(record["inputs"][field])
        if field == "assumeRolePolicy":
            role_arn = record["outputs"]["arn"]
            document["Statement"] = [{**s, "Resource": role_arn} for s in document["Statement"]]
        yield record["name"], document


def findings(document: dict[str, Any]) -> list[tuple[str, list[str], str]]:
    """parliament's (issue, actions, detail) for one document, community auditors included."""
    policy = parliament.analyze_policy_string(json.dumps(document), include_community_auditors=True)
    return [
        (f.issue, sorted((f.location or {}).get("actions") or []), str(f.detail))
        for f in policy.findings
    ]


def unaccepted(name: str, found: list[tuple[str, list[str], str]]) -> list[str]:
    """The findings no entry of ACCEPTED covers for a document called `name`."""
    problems = []
    for issue, actions, detail in found:
        covered = actions and all(
            (issue, action) in ACCEPTED and re.fullmatch(ACCEPTED[issue, action][0], name)
            for action in actions
        )
        if not covered:
            problems.append(f"{name}: {issue} {actions} {detail}")
    return problems


def _policy_strings(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _policy_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _policy_strings(item, f"{path}[{index}]")
    elif isinstance(value, str) and '"Statement"' in value:
        yield path


def test_every_policy_document_passes_parliament(stack: Snapshot) -> None:
    audited = list(documents(stack))
    assert len(audited) >= 15  # 6 trust policies, 5 role policies, 3 queue and 1 topic policy
    problems = [p for name, doc in audited for p in unaccepted(name, findings(doc))]
    assert problems == []


def test_no_policy_document_escapes_the_audit(stack: Snapshot) -> None:
    audited = {
        f"{r['name']}.{POLICY_INPUTS[r['type']]}"
        for r in stack.records
        if r["type"] in POLICY_INPUTS
    }
    anywhere = {p for r in stack.records for p in _policy_strings(r["inputs"], r["name"])}
    assert anywhere - audited == set()


def test_every_accepted_finding_still_occurs(snapshots: dict[str, Snapshot]) -> None:
    """A suppression whose finding is gone is removed, not left to hide a future one."""
    seen = {
        (issue, action)
        for stack in snapshots.values()
        for _, doc in documents(stack)
        for issue, actions, _ in findings(doc)
        for action in actions
    }
    assert set(ACCEPTED) <= seen


def _statement(**fields: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **fields}]}


QUEUE = "arn:aws:sqs:us-east-1:123456789012:jobs-queue"
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/c"


@pytest.mark.parametrize(
    ("document", "issue"),
    [
        (_statement(Action=["sqs:SendMesage"], Resource=[QUEUE]), "UNKNOWN_ACTION"),
        (_statement(Action=["sqs:SendMessage"], Resource=[CLUSTER]),
         "RESOURCE_MISMATCH"),
        (_statement(Action=["sqs:SendMessage"], Resource=[QUEUE],
                    Condition={"ArnEquals": {"ecs:cluster": CLUSTER}}),
         "UNKNOWN_CONDITION_FOR_ACTION"),
        (_statement(Action=["sqs:SendMessage"], Resource=[QUEUE],
                    Condition={"StringEqualz": {"aws:SourceAccount": "1"}}), "UNKNOWN_OPERATOR"),
        (_statement(Action=["sts:AssumeRole"], Principal={"Service": "ecs-tasks.amazonaws.com"}),
         "MALFORMED"),
    ],
    ids=["unknown-action", "wrong-arn-type", "unsupported-condition-key", "bad-operator",
         "trust-policy-as-written"],
)  # fmt: skip
def test_parliament_reports_the_mistakes_it_is_here_for(
    document: dict[str, Any], issue: str
) -> None:
    """The control: each class of mistake is a finding, and none is accepted."""
    found = findings(document)
    assert issue in [i for i, _, _ in found]
    assert unaccepted("scanner-scheduler-policy", found)


def test_an_accepted_finding_is_accepted_only_where_it_is_justified() -> None:
    token = _statement(Action=["ecr:GetAuthorizationToken"], Resource=["*"])
    assert unaccepted("worker-execution-policy", findings(token)) == []
    assert unaccepted("worker-task-policy", findings(token)) != []


def test_roles_are_audited_with_their_own_arn(dev: Snapshot) -> None:
    role: Record = dev.named("worker-task-role")
    document = next(d for n, d in documents(dev) if n == role["name"])
    assert [s["Resource"] for s in document["Statement"]] == [role["outputs"]["arn"]]
