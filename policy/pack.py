"""The rules as a Pulumi policy pack: one policy per rule, plus one for declared advisories.

Violations of a rule that the stack file declares advisory are reported by the
`declared-advisories` policy (advisory level, with the stack file's reason) instead of
blocking; every other violation is mandatory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.model import Resource, Rule, evaluate
from policy.rules import all_rules, stack_advisories


def stack_of(urn: str) -> str:
    """The stack name inside a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`)."""
    return urn.split("::", 1)[0].removeprefix("urn:pulumi:")


def _resources(args: StackValidationArgs) -> list[Resource]:
    return [
        Resource(type=r.resource_type, name=r.name, props=r.props, state=r.props)
        for r in args.resources
    ]


def _resource_policy(rule: Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in rule.types or rule.check_resource is None:
            return
        if rule.id in stack_advisories(stack_of(args.urn)):
            return
        for message in rule.check_resource(args.resource_type, args.props):
            report(f"[{rule.controls}] {message}", args.urn)

    return ResourceValidationPolicy(
        name=rule.id,
        description=f"{rule.description} ({rule.controls})",
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def _stack_policy(rule: Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        if rule.check_stack is None or not args.resources:
            return
        if rule.id in stack_advisories(stack_of(args.resources[0].urn)):
            return
        for name, message in rule.check_stack(_resources(args)):
            report(f"[{rule.controls}] {name or 'stack'}: {message}", None)

    return StackValidationPolicy(
        name=rule.id,
        description=f"{rule.description} ({rule.controls})",
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def _advisory_policy(rules: Sequence[Rule]) -> StackValidationPolicy:
    by_id = {rule.id: rule for rule in rules}

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        if not args.resources:
            return
        resources = _resources(args)
        for rule_id, reason in stack_advisories(stack_of(args.resources[0].urn)).items():
            for v in evaluate(by_id[rule_id], resources):
                report(f"{rule_id} {v.resource}: {v.message} (advisory here: {reason})", None)

    return StackValidationPolicy(
        name="declared-advisories",
        description="Rules the stack file declares advisory, with its reasons (never in prod)",
        validate=validate,
        enforcement_level=EnforcementLevel.ADVISORY,
    )


def policies() -> list[Any]:
    """Every policy of the pack."""
    rules = all_rules()
    found: list[Any] = [
        _resource_policy(r) if r.check_resource is not None else _stack_policy(r) for r in rules
    ]
    found.append(_advisory_policy(rules))
    return found
