"""Settings read from a stack file (`jobping:<key>` in `Pulumi.<stack>.yaml`), checked by pydantic.

The shapes are frozen standard-library dataclasses carrying their defaults and ranges: code and
tests may build them directly, and pydantic validates them when they are read from a stack file
(`validate`). Fields are strict (`"300"` is no integer, `"yes"` no boolean) and each field's
camelCase key is its alias. Every failure becomes one `SettingsError` line naming the key as the
stack file writes it: `jobping:worker.maxTasks: must be at least 1, got 0`.

It lives in the runtime core because both the Pulumi program (`components/settings.py`) and the
job queue's settings (`jobping/queueconfig.py`, read by the local system too) use it: the image
must not need Pulumi, so this needs nothing but pydantic.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StrictStr,
    TypeAdapter,
    ValidationError,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

#: The pydantic config of every stack-file shape (`__pydantic_config__`): camelCase keys; keys
#: the program does not know are ignored, as the Pulumi CLI allows them.
STACK_FILE = ConfigDict(alias_generator=to_camel, extra="ignore")
#: A non-empty string (not only blanks).
Text = Annotated[StrictStr, Field(pattern=r"\S")]

T = TypeVar("T")
V = TypeVar("V")


class SettingsError(ValueError):
    """A stack setting is missing, of the wrong type, or out of range."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key


class Problem(ValueError):
    """A rule a value breaks, raised inside validation; `validate` adds the key.

    Raised by a whole object's rule, `field` names the key (camelCase) the problem is about.
    """

    def __init__(self, problem: str, field: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.field = field


def matches(pattern: str, problem: str) -> AfterValidator:
    """A string rule: the whole value matches `pattern`, or fail with `problem`."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise Problem(problem)
        return value

    return AfterValidator(check)


def one_of(choices: Collection[V]) -> AfterValidator:
    """A value rule: one of `choices` (named as written, e.g. a list of task sizes)."""

    def check(value: V) -> V:
        if value not in choices:
            raise Problem(f"must be one of {choices}")
        return value

    return AfterValidator(check)


def arn_of(service: str) -> AfterValidator:
    """An ARN of `service` in any partition (`arn:aws:`, `arn:aws-cn:` ...)."""
    return matches(rf"arn:aws(-[a-z-]+)?:{service}:.*", f"must be an arn:aws:{service}:... ARN")


def validate(adapter: TypeAdapter[T], values: object, prefix: str) -> T:
    """`values` as the adapter's type, or a `SettingsError` naming `prefix` + the failing field."""
    try:
        return adapter.validate_python(values)
    except ValidationError as error:
        first = error.errors()[0]
        raise SettingsError(_key(prefix, first), _problem(first)) from None


def _key(prefix: str, error: ErrorDetails) -> str:
    path = [str(part) for part in error["loc"]]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, Problem) and cause.field:
        path.append(cause.field)
    return prefix + ".".join(path) if path else prefix.rstrip(".:")


_PROBLEMS: dict[str, Callable[[Any, dict[str, Any]], str]] = {
    "missing": lambda _, __: "is required",
    "int_type": lambda value, _: f"must be an integer, got {value!r}",
    "bool_type": lambda value, _: f"must be true or false, got {value!r}",
    "string_type": lambda value, _: f"must be a non-empty string, got {value!r}",
    "string_pattern_mismatch": lambda value, _: f"must be a non-empty string, got {value!r}",
    "greater_than_equal": lambda value, ctx: f"must be at least {ctx['ge']}, got {value}",
    "less_than_equal": lambda value, ctx: f"must be at most {ctx['le']}, got {value}",
    "literal_error": lambda _, ctx: (
        "must be one of " + str(ctx["expected"]).replace("'", "").replace(" or ", ", ")
    ),
    "dict_type": lambda _, __: "must be an object",
    "dataclass_type": lambda _, __: "must be an object",
}


def _problem(error: ErrorDetails) -> str:
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, Problem):
        return cause.problem
    describe = _PROBLEMS.get(error["type"])
    if describe is None:
        return error["msg"]
    return describe(error.get("input"), dict(error.get("ctx", {})))
