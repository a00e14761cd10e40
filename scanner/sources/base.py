"""What every source adapter shares: the `Source` protocol, its outcome and its errors.

A source never writes the validator store itself. It reads the previous validators, and its
`FetchOutcome` carries the new ones; the scan loop calls `outcome.remember(store)` only after the
jobs are safely stored, so a crash between fetch and upsert means one more full fetch next time,
never a 304 hiding listings that were not saved.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from scanner.http import Fetcher, FetchError, FetchResult, Validators, ValidatorStore
from scanner.model import NormalizedJob

log = logging.getLogger(__name__)
T = TypeVar("T")


class SourceError(Exception):
    """A source that could not be scanned this time; the scan loop logs it and goes on."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class SourceUnavailable(SourceError):
    """The board could not be fetched: HTTP error, timeout, retries used up."""

    def __init__(self, source: str, reason: str, *, status: int | None = None) -> None:
        super().__init__(source, reason)
        self.status = status


class MalformedBody(SourceError):
    """The board answered, but not with the document its API promises."""


class SkipListing(ValueError):
    """One listing is unusable (no id, no title); the rest of the board is still read."""


@dataclass(frozen=True)
class FetchOutcome:
    """What one fetch of one source found: nothing new (304), or the board's listings."""

    source: str
    not_modified: bool
    jobs: tuple[NormalizedJob, ...] = ()
    validators: Validators = field(default_factory=Validators)
    skipped: int = 0
    """Listings left out because they could not be read (each one is logged)."""

    @classmethod
    def unchanged(cls, source: str, validators: Validators) -> FetchOutcome:
        """The board has not changed since the validators were stored."""
        return cls(source=source, not_modified=True, validators=validators)

    def remember(self, store: ValidatorStore) -> None:
        """Store the new validators; call this once the jobs are safely in the database."""
        if self.validators:
            store.put(self.source, self.validators)


class Source(Protocol):
    """One configured board or feed."""

    @property
    def name(self) -> str:
        """The configured name: the `source` of every job this source finds."""
        ...

    @property
    def deadline_seconds(self) -> float:
        """Total time one fetch may take, retries and backoff included."""
        ...

    def fetch(self, fetcher: Fetcher, store: ValidatorStore) -> FetchOutcome:
        """Fetch (conditionally) and normalize; raises `SourceError` when it cannot."""
        ...


def get(name: str, fetcher: Fetcher, store: ValidatorStore, url: str, accept: str) -> FetchResult:
    """Conditional GET of `url` with `name`'s stored validators; HTTP failures become errors."""
    try:
        return fetcher.get(url, validators=store.get(name), headers={"Accept": accept})
    except FetchError as error:
        raise SourceUnavailable(name, str(error), status=error.status) from error


def decode_json(name: str, body: bytes) -> Any:
    """The body as JSON, or `MalformedBody` saying why not."""
    try:
        return json.loads(body)
    # ValueError: JSONDecodeError, UnicodeDecodeError, an integer of more than 4300 digits;
    # RecursionError: arrays nested thousands deep.
    except (ValueError, RecursionError) as error:
        raise MalformedBody(name, f"body is not JSON: {str(error)[:200]}") from None


def listings_of(name: str, document: Any, key: str | None) -> list[Any]:
    """The list of listings: the document itself, or its `key` member."""
    found = document.get(key) if key is not None and isinstance(document, dict) else document
    if not isinstance(found, list):
        shape = f"an object with a '{key}' list" if key else "a JSON list"
        raise MalformedBody(name, f"expected {shape}, got {type(document).__name__}")
    return found


def normalize_all(
    name: str, listings: Iterable[T], normalize: Callable[[T], NormalizedJob | None]
) -> FetchOutcome:
    """Normalize each listing; unreadable ones are logged and skipped, duplicates dropped.

    A non-empty board none of whose listings could be read is a `MalformedBody`: the API has
    most likely changed shape.
    """
    jobs: dict[str, NormalizedJob] = {}
    skipped, total, first_reason = 0, 0, ""
    for index, listing in enumerate(listings):
        total += 1
        try:
            job = normalize(listing)
        # ArithmeticError covers decimal's InvalidOperation and a date's OverflowError.
        except (SkipListing, LookupError, TypeError, ValueError, ArithmeticError) as error:
            reason = f"{type(error).__name__}: {error}"
            log.warning(
                "skipped a listing", extra={"source": name, "index": index, "reason": reason}
            )
            skipped += 1
            first_reason = first_reason or reason
            continue
        if job is not None and job.external_id not in jobs:
            jobs[job.external_id] = job
    if total and skipped == total:
        raise MalformedBody(name, f"none of {total} listings could be read ({first_reason})")
    return FetchOutcome(source=name, not_modified=False, jobs=tuple(jobs.values()), skipped=skipped)


def require_text(listing: dict[str, Any], key: str) -> str:
    """A non-empty string or number field, as text; `SkipListing` if it is missing."""
    value = listing.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise SkipListing(f"no '{key}'")
    return str(value).strip()


def as_object(listing: Any) -> dict[str, Any]:
    """The listing as a JSON object, or `SkipListing`."""
    if not isinstance(listing, dict):
        raise SkipListing(f"listing is a {type(listing).__name__}, not an object")
    return listing


class ConfiguredSource:
    """A `Source` built from its entry in the sources file, which gives its name and deadline.

    Subclasses narrow `config` to their entry's type (`config: RssConfig`).
    """

    def __init__(self, config: Any) -> None:
        self.config = config

    @property
    def name(self) -> str:
        """The configured source name."""
        return str(self.config.name)

    @property
    def deadline_seconds(self) -> float:
        """Total time one fetch may take."""
        return float(self.config.deadline_seconds)


class JsonBoard(ConfiguredSource):
    """A board whose API answers one JSON document listing every job (Greenhouse, Lever, Ashby).

    Subclasses give the endpoint (`endpoint`, after the configured `base_url`), where the
    listings are in the document (`listings_key`: a member name, or None for a bare list) and
    how to `normalize` one.
    """

    endpoint: str = ""
    """The path and query after `base_url`; `{board}` stands for the URL-quoted board name."""
    listings_key: str | None = None

    @property
    def url(self) -> str:
        """The board's endpoint: `base_url`, then `endpoint` naming the configured board."""
        board = quote(self.config.board, safe="")
        return f"{self.config.base_url}{self.endpoint.format(board=board)}"

    def normalize(self, listing: Any) -> NormalizedJob | None:
        """One listing as a `NormalizedJob` (None to leave it out)."""
        raise NotImplementedError

    def fetch(self, fetcher: Fetcher, store: ValidatorStore) -> FetchOutcome:
        """Fetch the board (conditionally) and normalize its listings."""
        result = get(self.name, fetcher, store, self.url, "application/json")
        if result.not_modified:
            return FetchOutcome.unchanged(self.name, result.validators)
        document = decode_json(self.name, result.body)
        listings = listings_of(self.name, document, self.listings_key)
        outcome = normalize_all(self.name, listings, self.normalize)
        return dataclasses.replace(outcome, validators=result.validators)
