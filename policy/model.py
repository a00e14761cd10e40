"""What a rule is, how rules are registered, and how they are evaluated over a stack.

A rule is a plain function. A *resource* rule takes a resource type and its inputs (Pulumi's
wire names, e.g. `sqsManagedSseEnabled`) and returns violation messages; a *stack* rule takes
every resource of the stack and returns (resource name, message) pairs. The same functions run
in the tests (over the program under mocks) and in the policy pack (`policy/__main__.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Props = Mapping[str, Any]
ResourceCheck = Callable[[str, Props], Iterable[str]]


@dataclass(frozen=True)
class Resource:
    """One resource as the rules see it."""

    type: str
    name: str
    props: Props
    """Inputs (what the program declared)."""
    state: Props = field(default_factory=dict)
    """Outputs once known (ARNs, URLs); stack rules join resources on these."""

    def value(self, key: str) -> Any:
        """An output if known, else the input of the same name."""
        return self.state.get(key, self.props.get(key))


StackCheck = Callable[[Sequence[Resource]], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class Rule:
    """One row of SECURITY.md as code."""

    id: str
    controls: str
    description: str
    types: tuple[str, ...] = ()
    check_resource: ResourceCheck | None = None
    check_stack: StackCheck | None = None
    may_be_advisory: bool = False
    """Whether a non-production stack file may declare this rule advisory (with its reason)."""


@dataclass(frozen=True)
class Violation:
    """A rule broken by a resource (or by the stack, when `resource` is empty)."""

    rule: str
    resource: str
    message: str


RULES: dict[str, Rule] = {}


def resource_rule(
    rule_id: str, controls: str, *types: str, may_be_advisory: bool = False
) -> Callable[[ResourceCheck], ResourceCheck]:
    """Register a per-resource rule for `types`; its docstring's first line describes it."""

    def register(check: ResourceCheck) -> ResourceCheck:
        RULES[rule_id] = Rule(rule_id, controls, _summary(check), types, check_resource=check,
                              may_be_advisory=may_be_advisory)  # fmt: skip
        return check

    return register


def stack_rule(
    rule_id: str, controls: str, *, may_be_advisory: bool = False
) -> Callable[[StackCheck], StackCheck]:
    """Register a whole-stack rule."""

    def register(check: StackCheck) -> StackCheck:
        RULES[rule_id] = Rule(rule_id, controls, _summary(check), check_stack=check,
                              may_be_advisory=may_be_advisory)  # fmt: skip
        return check

    return register


def _summary(fn: Callable[..., Any]) -> str:
    return (fn.__doc__ or fn.__name__).strip().splitlines()[0]


def evaluate(rule: Rule, resources: Sequence[Resource]) -> list[Violation]:
    """Every violation of `rule` in `resources`."""
    found: list[Violation] = []
    if rule.check_resource is not None:
        for r in resources:
            if r.type in rule.types:
                found += [
                    Violation(rule.id, r.name, m) for m in rule.check_resource(r.type, r.props)
                ]
    if rule.check_stack is not None:
        found += [Violation(rule.id, name, m) for name, m in rule.check_stack(resources)]
    return found


def evaluate_all(resources: Sequence[Resource]) -> dict[str, list[Violation]]:
    """Violations per rule id (empty lists for rules that pass)."""
    return {rule_id: evaluate(rule, resources) for rule_id, rule in RULES.items()}


# Helpers the rules share -------------------------------------------------------------------


def as_json(value: Any) -> Any:
    """A JSON string input parsed (policy documents, container definitions); dicts pass through."""
    if isinstance(value, str):
        return json.loads(value)
    return value if value is not None else {}


def as_list(value: Any) -> list[Any]:
    """IAM's "one or many" fields as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def statements(document: Any) -> list[dict[str, Any]]:
    """The statements of a policy document (string or dict)."""
    return [dict(s) for s in as_list(as_json(document).get("Statement"))]


def of_type(resources: Sequence[Resource], *types: str) -> list[Resource]:
    """The resources of the given types."""
    return [r for r in resources if r.type in types]
