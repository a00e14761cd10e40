"""Typed reads from one structured stack setting, failing with the full key's name.

`Fields` wraps the mapping behind one `jobping:<key>` object and hands out checked values; every
error names the key as it is written in the stack file (`jobping:queue.maxReceiveCount`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class SettingsError(ValueError):
    """A stack setting is missing, of the wrong type, or out of range."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key


class Fields:
    """Checked access to the fields of one structured setting."""

    def __init__(self, key: str, values: Any) -> None:
        if values is None:
            values = {}
        if not isinstance(values, Mapping):
            raise SettingsError(key, "must be an object")
        self.key = key
        self._values: Mapping[str, Any] = values

    def path(self, name: str) -> str:
        """The full key of a field, as the error messages name it."""
        return f"{self.key}.{name}"

    def has(self, name: str) -> bool:
        """Whether the stack file sets the field."""
        return self._values.get(name) is not None

    def integer(
        self, name: str, default: int | None = None, low: int | None = None, high: int | None = None
    ) -> int:
        """An integer field within [low, high]."""
        value = self._values.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(self.path(name), f"must be an integer, got {value!r}")
        if low is not None and value < low:
            raise SettingsError(self.path(name), f"must be at least {low}, got {value}")
        if high is not None and value > high:
            raise SettingsError(self.path(name), f"must be at most {high}, got {value}")
        return value

    def boolean(self, name: str, default: bool | None = None) -> bool:
        """A true/false field."""
        value = self._values.get(name, default)
        if not isinstance(value, bool):
            raise SettingsError(self.path(name), f"must be true or false, got {value!r}")
        return value

    def text(self, name: str, default: str | None = None, choices: Sequence[str] = ()) -> str:
        """A non-empty string field, optionally one of `choices`."""
        value = self._values.get(name, default)
        if not isinstance(value, str) or not value.strip():
            raise SettingsError(self.path(name), f"must be a non-empty string, got {value!r}")
        if choices and value not in choices:
            raise SettingsError(self.path(name), f"must be one of {', '.join(choices)}")
        return value

    def optional_text(self, name: str) -> str | None:
        """A string field that may be left out."""
        return self.text(name) if self.has(name) else None

    def items(self, name: str) -> list[Fields]:
        """A list of objects, each wrapped for checked access."""
        value = self._values.get(name)
        if not isinstance(value, list) or not value:
            raise SettingsError(self.path(name), "must be a non-empty list")
        return [Fields(f"{self.path(name)}[{i}]", item) for i, item in enumerate(value)]

    def raw(self, name: str) -> Any:
        """The field as the stack file holds it (for pass-through values)."""
        return self._values.get(name)
