"""Pure builders for IAM policy documents, and the one way components make a role.

Documents are plain dicts turned into JSON strings; callers feed resolved ARNs through
`Output.all(...).apply(...)`, so no resource is ever created inside an `apply`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

Statement = dict[str, Any]


def allow(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[str],
    condition: Mapping[str, Any] | None = None,
) -> Statement:
    """One `Allow` statement with pinned resources."""
    statement: Statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": list(resources),
    }
    if condition:
        statement["Condition"] = dict(condition)
    return statement


def document(*statements: Statement) -> str:
    """A policy document (JSON) from statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def trust_policy(service: str, account_id: str) -> str:
    """Trust `service` to assume the role, only on behalf of this account (confused deputy)."""
    return document(
        {
            "Sid": "TrustService",
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }
    )


def secure_transport_only(sid: str, action: str, resource: str) -> Statement:
    """Deny every request that does not use TLS."""
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def service_role(
    name: str,
    service: str,
    account_id: pulumi.Input[str],
    description: str,
    parent: pulumi.Resource,
) -> aws.iam.Role:
    """A role that `service` may assume for this account; policies are added as RolePolicy."""
    return aws.iam.Role(
        name,
        description=description,
        assume_role_policy=pulumi.Output.from_input(account_id).apply(
            lambda account: trust_policy(service, account)
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def role_policy(
    name: str, role: aws.iam.Role, policy: pulumi.Input[str], parent: pulumi.Resource
) -> aws.iam.RolePolicy:
    """An inline policy on `role` (never mixed with the role's own inline/managed lists)."""
    return aws.iam.RolePolicy(
        name, role=role.id, policy=policy, opts=pulumi.ResourceOptions(parent=parent)
    )
