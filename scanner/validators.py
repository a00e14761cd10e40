"""HTTP validators (`ETag`, `Last-Modified`) and where they are remembered between runs.

The database implements `ValidatorStore` in production (`scanner.store.DbValidatorStore`),
`InMemoryValidatorStore` in tests and dry runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Validators:
    """What a server said identifies the version of a resource (`ETag`, `Last-Modified`)."""

    etag: str | None = None
    last_modified: str | None = None

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)


class ValidatorStore(Protocol):
    """Where validators are remembered between runs, per source name."""

    def get(self, source: str) -> Validators | None:
        """The validators last stored for `source`, if any."""
        ...

    def put(self, source: str, v: Validators) -> None:
        """Remember `v` for `source`."""
        ...


class InMemoryValidatorStore:
    """A `ValidatorStore` in a dict: for tests and dry runs."""

    def __init__(self, initial: Mapping[str, Validators] | None = None) -> None:
        self.saved: dict[str, Validators] = dict(initial or {})

    def get(self, source: str) -> Validators | None:
        """The validators last stored for `source`, if any."""
        return self.saved.get(source)

    def put(self, source: str, v: Validators) -> None:
        """Remember `v` for `source`."""
        self.saved[source] = v
