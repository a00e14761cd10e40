"""EventBridge event-pattern matching, for the subset of the pattern language the program uses.

Semantics from https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
and .../eb-create-pattern-operators.html: every field of a pattern must match; a list of values
matches when the event's value (or any element of an array value) equals one of them or passes
one of the filters (`anything-but`, `exists`, `prefix`); a nested object matches an object, or
any element of an array of objects (so `containers.exitCode` looks at every container); `$or`
matches when one of its patterns does. A field the event lacks matches only `{"exists": false}`.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """Whether `event` (a decoded event, or part of one) matches `pattern`."""
    for key, rule in pattern.items():
        if key == "$or":
            if not any(matches(branch, event) for branch in rule):
                return False
            continue
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(rule, dict):
            candidates = value if isinstance(value, list) else [value]
            if not any(isinstance(c, dict) and matches(rule, c) for c in candidates):
                return False
        elif not _matches_values(rule, value):
            return False
    return True


def _matches_values(filters: list[Any], value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(_matches_filter(f, v) for f in filters for v in values)


def _matches_filter(rule: Any, value: Any) -> bool:
    if value is _MISSING:
        return bool(rule == {"exists": False})
    if not isinstance(rule, dict):
        return bool(rule == value and isinstance(rule, bool) == isinstance(value, bool))
    ((name, argument),) = rule.items()
    if name == "exists":
        return argument is True
    if name == "anything-but":
        excluded = argument if isinstance(argument, list) else [argument]
        return value not in excluded
    if name == "prefix":
        return isinstance(value, str) and value.startswith(argument)
    raise ValueError(f"filter {name!r} is not implemented here")
