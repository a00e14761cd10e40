"""The Pulumi CLI's project-config rules, applied here to every stack file.

The infra tests set config directly under mocks, so they never saw the CLI refuse a stack.
These rules are the CLI's own (pulumi/pulumi, read at commit 1b59498, 2026-08):

- `sdk/go/common/workspace/project.go`, `RewriteShorthandConfigValues`: a bare value under
  `config:` is a `default` for a project key and a `value` for any other namespace.
- same file, `Project.Validate`: `default` and `value` are exclusive; a key of the project
  (no namespace, or `jobping:`) may declare `type` (an `array` needs `items`) and a `default`
  of that type; a key of another namespace (`aws:region`) declares neither, only `value`.
- `sdk/go/common/workspace/project.json`: `type` is string, integer, boolean, array or object,
  and a declaration has no other attributes than type, items, description, secret, default, value.
- `pkg/workspace/config.go`, `mergeConfig` (`ValidateStackConfigAndApplyProjectConfig`): a project
  key without `default` or `value` that the stack does not set fails the stack ("Stack 'dev' is
  missing configuration value 'x'", even if the program only ever calls `config.get`; see
  pulumi/pulumi#21797); then a declared `type` is checked against the stack's value
  (`ValidateConfigValue`: scalars in a stack file are strings, "14" is an integer, "true" a
  boolean; YAML objects and lists are JSON), and a `secret: true` key must be encrypted.
- documented at https://www.pulumi.com/docs/iac/concepts/projects/project-file/#config-options
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from infra_snapshot import ROOT

TYPES = {"string", "integer", "boolean", "array", "object"}
ATTRIBUTES = {"type", "items", "description", "secret", "default", "value"}
STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))


def declarations(project: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`config:` after the CLI's short-hand rewrite: every entry a declaration."""
    name = project["name"]
    result: dict[str, dict[str, Any]] = {}
    for key, value in (project.get("config") or {}).items():
        if isinstance(value, dict):
            result[key] = value
        else:
            result[key] = {"default" if is_project_key(name, key) else "value": value}
    return result


def is_project_key(project_name: str, key: str) -> bool:
    return ":" not in key or key.startswith(project_name + ":")


def full_key(project_name: str, key: str) -> str:
    return key if ":" in key else f"{project_name}:{key}"


def project_errors(project: dict[str, Any]) -> list[str]:
    """`Project.Validate` and the project schema, for the `config:` section."""
    errors: list[str] = []
    for key, decl in declarations(project).items():
        extra = set(decl) - ATTRIBUTES
        if extra:
            errors.append(f"config '{key}' has unknown attributes {sorted(extra)}")
        if "type" in decl and decl["type"] not in TYPES:
            errors.append(f"config '{key}' has type '{decl['type']}', not one of {sorted(TYPES)}")
        if decl.get("default") is not None and decl.get("value") is not None:
            errors.append(f"project config '{key}' cannot have both a 'default' and 'value'")
        if is_project_key(project["name"], key):
            if decl.get("type") == "array" and decl.get("items") is None:
                errors.append(f"'{key}' declares an array but no 'items'")
            default = decl.get("default")
            if "type" in decl and default is not None and not valid(decl, default):
                errors.append(f"the default of '{key}' is not of type '{decl['type']}'")
        elif "type" in decl:
            errors.append(f"'{key}' is not namespaced by the project and should not define a type")
        elif decl.get("default") is not None:
            errors.append(f"'{key}' is not namespaced by the project: use 'value', not 'default'")
        elif decl.get("value") is None:
            errors.append(f"Configuration key '{key}' is namespaced and must provide a 'value'")
    return errors


def stack_value(raw: Any) -> tuple[Any, bool]:
    """What the CLI checks for a stack-file value, and whether it is encrypted.

    Scalars are kept as their text (`config.Value`); objects and lists are JSON, decoded again
    (Go's json gives float64 numbers, which `ValidateConfigValue` accepts when whole).
    """
    if isinstance(raw, dict) and set(raw) == {"secure"}:
        return str(raw["secure"]), True
    if isinstance(raw, bool):
        return "true" if raw else "false", False
    if isinstance(raw, int | float) or raw is None:
        return json.dumps(raw), False
    if isinstance(raw, str):
        return raw, False
    return json.loads(json.dumps(raw)), False


def valid(decl: dict[str, Any], value: Any) -> bool:
    """`ValidateConfigValue`."""
    kind = decl.get("type")
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return True
        if isinstance(value, float):
            return value == math.trunc(value)
        return isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value) is not None
    if kind == "boolean":
        return value in ("true", "false") or isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    items = decl.get("items")
    return isinstance(value, list) and items is not None and all(valid(items, v) for v in value)


def stack_errors(project: dict[str, Any], stack: str, stack_file: dict[str, Any]) -> list[str]:
    """`mergeConfig` with validation: missing keys first (one message), then types."""
    name = project["name"]
    config = stack_file.get("config") or {}
    decls = declarations(project)
    missing = sorted(
        key
        for key, decl in decls.items()
        if full_key(name, key) not in config
        and decl.get("default") is None
        and decl.get("value") is None
        and full_key(name, key).split(":", 1)[0] == name
    )
    if missing:
        quoted = [f"'{k}'" for k in missing]
        listed = ", ".join([*quoted[:-2], " and ".join(quoted[-2:])])
        plural = "values" if len(missing) > 1 else "value"
        return [f"Stack '{stack}' is missing configuration {plural} {listed}"]
    errors: list[str] = []
    for key, decl in sorted(decls.items()):
        raw = config.get(full_key(name, key), decl.get("default", decl.get("value")))
        value, secure = stack_value(raw)
        if decl.get("secret") and not secure:
            errors.append(f"Stack '{stack}' with configuration key '{key}' must be encrypted")
        if "type" in decl and not valid(decl, value):
            errors.append(
                f"Stack '{stack}' with configuration key '{key}' must be of type '{decl['type']}'"
            )
    return errors


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def stack_name(path: Path) -> str:
    return path.name.split(".")[1]


def test_there_are_stack_files_to_check() -> None:
    assert [stack_name(p) for p in STACK_FILES] == ["dev", "prod"]


def test_the_project_file_passes_the_cli_validation() -> None:
    assert project_errors(load(ROOT / "Pulumi.yaml")) == []


@pytest.mark.parametrize("path", STACK_FILES, ids=stack_name)
def test_the_cli_accepts_every_stack_file(path: Path) -> None:
    stack_file = load(path)
    # An ESC environment could supply values this check cannot see; the stacks import none.
    assert "environment" not in stack_file
    assert stack_errors(load(ROOT / "Pulumi.yaml"), stack_name(path), stack_file) == []


def _as_before(project: dict[str, Any]) -> dict[str, Any]:
    """The project file as it was: the optional settings declared without a default."""
    config = dict(project["config"])
    config["alarmEmail"] = {"type": "string", "description": "Optional. Alarm address."}
    config["sesIdentityArn"] = {"type": "string", "description": "Optional. SES identity."}
    config["policyAdvisories"] = {"description": "Non-production only."}
    return {**project, "config": config}


def test_optional_keys_declared_without_default_fail_the_stacks() -> None:
    """The control: the declarations that made the CLI refuse dev and prod are caught."""
    project = _as_before(load(ROOT / "Pulumi.yaml"))
    dev, prod = (load(ROOT / f"Pulumi.{s}.yaml") for s in ("dev", "prod"))
    del dev["config"]["jobping:image"]
    assert stack_errors(project, "dev", dev) == [
        "Stack 'dev' is missing configuration values 'alarmEmail', 'image' and 'sesIdentityArn'"
    ]
    prod["config"].pop("jobping:alarmEmail", None)
    assert stack_errors(project, "prod", prod) == [
        "Stack 'prod' is missing configuration values "
        "'alarmEmail', 'policyAdvisories' and 'sesIdentityArn'"
    ]


def test_a_default_or_a_set_value_satisfies_a_declaration() -> None:
    config: dict[str, Any] = {"a": {"type": "string", "default": "x"}, "b": 5}
    assert stack_errors({"name": "jobping", "config": config}, "dev", {"config": {}}) == []
    config["c"] = {"type": "boolean"}
    stack_file = {"config": {"jobping:c": True}}
    assert stack_errors({"name": "jobping", "config": config}, "dev", stack_file) == []


@pytest.mark.parametrize(
    ("decl", "raw", "ok"),
    [
        ({"type": "integer"}, 14, True),
        ({"type": "integer"}, "14", True),
        ({"type": "integer"}, "fourteen", False),
        ({"type": "integer"}, {"days": 14}, False),
        ({"type": "boolean"}, True, True),
        ({"type": "boolean"}, "yes", False),
        ({"type": "string"}, 14, True),  # a scalar in a stack file is text
        ({"type": "string"}, {"a": 1}, False),
        ({"type": "object"}, {"a": 1}, True),
        ({"type": "array", "items": {"type": "integer"}}, [1, 2], True),
        ({"type": "array", "items": {"type": "integer"}}, ["a"], False),
    ],
)
def test_declared_types_are_checked_like_the_cli(decl: dict[str, Any], raw: Any, ok: bool) -> None:
    project = {"name": "jobping", "config": {"key": decl}}
    errors = stack_errors(project, "dev", {"config": {"jobping:key": raw}})
    assert errors == (
        [] if ok else [f"Stack 'dev' with configuration key 'key' must be of type '{decl['type']}'"]
    )


@pytest.mark.parametrize(
    ("decl", "problem"),
    [
        ({"type": "string", "value": "us-east-1"}, "should not define a type"),
        ({"default": "us-east-1"}, "use 'value', not 'default'"),
        ({"description": "region"}, "must provide a 'value'"),
    ],
)
def test_keys_of_other_namespaces_take_only_a_value(decl: dict[str, Any], problem: str) -> None:
    project = {"name": "jobping", "config": {"aws:region": decl}}
    (error,) = project_errors(project)
    assert problem in error
    assert project_errors({"name": "jobping", "config": {"aws:region": "us-east-1"}}) == []


def test_project_declarations_are_checked() -> None:
    project = {
        "name": "jobping",
        "config": {
            "a": {"type": "map"},
            "b": {"type": "array"},
            "c": {"type": "integer", "default": "many"},
            "d": {"type": "string", "required": True},
        },
    }
    assert len(project_errors(project)) == 4
