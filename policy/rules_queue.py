"""Queues, redrive, alarms and log groups (SQS.1, SQS.3, redrive, CloudWatch.15/16/17)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from policy import tokens as t
from policy.model import (
    Props,
    Resource,
    as_json,
    as_list,
    of_type,
    resource_rule,
    stack_rule,
    statements,
)


@resource_rule("sqs-encryption", "SQS.1, CKV_AWS_27", t.QUEUE)
def sqs_encryption(_: str, props: Props) -> Iterable[str]:
    """Every queue is encrypted at rest: SQS-managed SSE, or a customer-managed KMS key."""
    key = props.get("kmsMasterKeyId")
    if key:
        if key == "alias/aws/sqs":
            yield "uses the AWS-managed key alias/aws/sqs; use SSE-SQS or a CMK"
    elif props.get("sqsManagedSseEnabled") is not True:
        yield "sqsManagedSseEnabled must be set to true explicitly"


@resource_rule("sqs-tls-only", "SQS.3, CKV_AWS_168/72/387", t.QUEUE_POLICY)
def sqs_tls_only(_: str, props: Props) -> Iterable[str]:
    """Queue policies deny non-TLS access and never allow everyone."""
    found_deny = False
    for s in statements(props.get("policy")):
        principal = s.get("Principal")
        everyone = principal == "*" or (
            isinstance(principal, dict) and "*" in as_list(principal.get("AWS"))
        )
        if s.get("Effect") == "Allow" and everyone:
            yield f"statement {s.get('Sid', '?')} allows Principal '*'"
        secure = (s.get("Condition") or {}).get("Bool", {}).get("aws:SecureTransport")
        if (
            s.get("Effect") == "Deny"
            and str(secure).lower() == "false"
            and "sqs:*" in as_list(s.get("Action"))
        ):
            found_deny = True
    if not found_deny:
        yield "no Deny sqs:* statement with Bool aws:SecureTransport=false"


@stack_rule("sqs-queue-policies", "SQS.3")
def sqs_queue_policies(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    """Every queue has a queue policy."""
    covered = {r.value("queueUrl") for r in of_type(resources, t.QUEUE_POLICY)}
    for queue in of_type(resources, t.QUEUE):
        if queue.value("url") not in covered:
            yield queue.name, "queue has no QueuePolicy (TLS-only)"


@resource_rule("sqs-redrive", "SQS redrive", t.REDRIVE, t.REDRIVE_ALLOW)
def sqs_redrive(resource_type: str, props: Props) -> Iterable[str]:
    """The job queue redrives to a DLQ after an integer maxReceiveCount > 1; the DLQ allows
    only its source queue (byQueue)."""
    if resource_type == t.REDRIVE:
        policy = as_json(props.get("redrivePolicy"))
        count = policy.get("maxReceiveCount")
        if not policy.get("deadLetterTargetArn"):
            yield "redrive policy has no deadLetterTargetArn"
        if not isinstance(count, int) or isinstance(count, bool) or count < 2:
            yield f"maxReceiveCount must be an integer above 1, got {count!r}"
    else:
        allow = as_json(props.get("redriveAllowPolicy"))
        if allow.get("redrivePermission") != "byQueue" or not allow.get("sourceQueueArns"):
            yield "redrive allow policy must be byQueue with sourceQueueArns"


@stack_rule("sqs-dlq-retention", "SQS redrive")
def sqs_dlq_retention(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    """A DLQ keeps messages longer than the queue that feeds it."""
    by_arn = {q.value("arn"): q for q in of_type(resources, t.QUEUE)}
    by_url = {q.value("url"): q for q in of_type(resources, t.QUEUE)}
    for redrive in of_type(resources, t.REDRIVE):
        source = by_url.get(redrive.value("queueUrl"))
        dlq = by_arn.get(as_json(redrive.value("redrivePolicy")).get("deadLetterTargetArn"))
        if source is None or dlq is None:
            yield redrive.name, "redrive policy does not join a queue of this stack to its DLQ"
            continue
        main, dead = _retention(source), _retention(dlq)
        if dead <= main:
            yield dlq.name, f"DLQ retention {dead} s is not longer than the queue's {main} s"


def _retention(queue: Resource) -> int:
    return int(queue.value("messageRetentionSeconds") or 345600)


@resource_rule("alarm-actions", "CloudWatch.15/17, CKV_AWS_319", t.ALARM)
def alarm_actions(_: str, props: Props) -> Iterable[str]:
    """Every alarm has actions, and they are enabled."""
    if props.get("actionsEnabled") is False:
        yield "actionsEnabled is false"
    if not as_list(props.get("alarmActions")):
        yield "alarm has no alarmActions"


@stack_rule("alarms-present", "CloudWatch.15/17")
def alarms_present(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    """The stack alarms to SNS on DLQ depth, the oldest job's age and scanner failures."""
    notifying = [
        a for a in of_type(resources, t.ALARM)
        if any(":sns:" in str(arn) for arn in as_list(a.props.get("alarmActions")))
    ]  # fmt: skip
    seen = {a.props.get("metricName") for a in notifying}
    if "ApproximateAgeOfOldestMessage" not in seen:
        yield "", "no alarm notifying SNS on the oldest job's age (ApproximateAgeOfOldestMessage)"
    if "MatchedEvents" not in seen:
        yield "", "no alarm notifying SNS on scanner tasks exiting non-zero (MatchedEvents)"
    watched = {(a.props.get("dimensions") or {}).get("QueueName") for a in notifying}
    for dlq in _dead_letter_queues(resources):
        if dlq.value("name") not in watched:
            yield dlq.name, "no alarm notifying SNS when this DLQ holds messages"


def _dead_letter_queues(resources: Sequence[Resource]) -> list[Resource]:
    targets = {
        as_json(r.value("redrivePolicy")).get("deadLetterTargetArn")
        for r in of_type(resources, t.REDRIVE)
    }
    return [q for q in of_type(resources, t.QUEUE) if q.value("arn") in targets]


@stack_rule("scanner-exit-rule", "ECS task failures (SECURITY.md notes)")
def scanner_exit_rule(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    """An ECS task state-change rule catches scanner tasks that exit non-zero, with a target."""
    targets = {r.props.get("rule") for r in of_type(resources, t.EVENT_TARGET)}
    for rule in of_type(resources, t.EVENT_RULE):
        pattern = as_json(rule.props.get("eventPattern"))
        exit_codes = pattern.get("detail", {}).get("containers", {}).get("exitCode")
        if "ECS Task State Change" in as_list(pattern.get("detail-type")) and exit_codes:
            if rule.value("name") in targets or rule.name in targets:
                return
            yield rule.name, "the task state-change rule has no target"
            return
    yield "", "no EventBridge rule for ECS tasks that stop with a non-zero exit code"


@resource_rule("log-retention-set", "CKV_AWS_66", t.LOG_GROUP)
def log_retention_set(_: str, props: Props) -> Iterable[str]:
    """Every log group has a retention."""
    if not props.get("retentionInDays"):
        yield "retentionInDays is not set (logs never expire)"


@resource_rule("log-retention-365", "CloudWatch.16, CKV_AWS_338", t.LOG_GROUP, may_be_advisory=True)
def log_retention_365(_: str, props: Props) -> Iterable[str]:
    """Log groups keep at least 365 days."""
    days = props.get("retentionInDays") or 0
    if 0 < days < 365:
        yield f"retentionInDays is {int(days)}, below 365"
