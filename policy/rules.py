"""Every rule, registered by importing its module, and stack-level evaluation with advisories.

A non-production stack file may declare a rule advisory with its reason
(`jobping:policyAdvisories`); only rules marked `may_be_advisory` can be. Their violations are
reported, not enforced. Production stack files declare none (the settings loader refuses).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from policy import rules_data, rules_ecs, rules_iam, rules_queue
from policy.model import RULES, Resource, Rule, Violation, evaluate

#: The rule modules; importing them registered their rules in `RULES`.
MODULES = (rules_queue, rules_ecs, rules_iam, rules_data)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
ADVISORIES_KEY = "jobping:policyAdvisories"


@dataclass
class Report:
    """The outcome of every rule over one stack."""

    mandatory: dict[str, list[Violation]] = field(default_factory=dict)
    advisory: dict[str, list[Violation]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> list[Violation]:
        """Violations of mandatory rules (what blocks a deployment)."""
        return [v for found in self.mandatory.values() for v in found]


def all_rules() -> list[Rule]:
    """The registered rules, in a stable order."""
    return [RULES[key] for key in sorted(RULES)]


def stack_advisories(stack: str, root: Path = PROJECT_ROOT) -> dict[str, str]:
    """Rule id -> reason, as `Pulumi.<stack>.yaml` declares them (advisable rules only)."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        return {}
    config: Mapping[str, Any] = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    declared = config.get(ADVISORIES_KEY) or {}
    return {
        rule: str(reason)
        for rule, reason in declared.items()
        if rule in RULES and RULES[rule].may_be_advisory
    }


def check_stack(resources: Sequence[Resource], advisories: Mapping[str, str]) -> Report:
    """Run every rule; split violations into mandatory and (declared) advisory ones."""
    report = Report(reasons=dict(advisories))
    for rule in all_rules():
        target = report.advisory if rule.id in advisories else report.mandatory
        target[rule.id] = evaluate(rule, resources)
    return report
