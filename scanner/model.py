"""The one job model every source normalizes to, and its content hash.

`NormalizedJob.source` is the configured name of the source the listing came from. Unless the
sources file names a source explicitly, that name is `"<type>:<board>"`: `greenhouse:acme`,
`lever:globex`, `ashby:initech`, `rss:<feed host>`, `jobping:<file stem or URL host>`. Together
with `external_id` (the id the board gives the listing) it is the job's natural key in the
database, so a source must keep its name for as long as its jobs are kept.

`content_hash` is computed by the constructor: the SHA-256 of a canonical JSON document of the
content fields (everything but `source`, `external_id` and the hash itself). Nothing volatile
(fetch time, HTTP validators) goes into it, so an unchanged listing always hashes the same and a
changed title, description, salary or posting date changes the hash.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Literal, get_args

SalaryPeriod = Literal["year", "month", "hour"]
SALARY_PERIODS: Final[frozenset[str]] = frozenset(get_args(SalaryPeriod))
#: Bumped when the canonical document changes shape, so old and new hashes never collide.
HASH_VERSION: Final = 1
#: Largest salary the database column (numeric(12, 2)) holds.
MAX_SALARY: Final = Decimal("9999999999.99")
_CENT: Final = Decimal("0.01")


@dataclass(frozen=True, slots=True, kw_only=True)
class NormalizedJob:
    """One job listing in JobPing's own shape, whatever board it came from.

    The constructor cleans the values (NFC text, single spaces in one-line fields, UTC times,
    salary bounds in order, upper-case currency) and computes `content_hash`; build jobs with
    `NormalizedJob(...)` or `dataclasses.replace(job, ...)` and the hash is always right.
    """

    source: str
    external_id: str
    title: str
    company: str
    location: str = ""
    remote: bool | None = None
    url: str = ""
    description: str = ""
    posted_at: datetime | None = None
    salary_min: Decimal | None = None
    salary_max: Decimal | None = None
    salary_currency: str | None = None
    salary_period: SalaryPeriod | None = None
    content_hash: str = field(init=False)

    def __post_init__(self) -> None:
        for name in ("source", "external_id", "title", "company", "location", "url"):
            _set(self, name, _one_line(getattr(self, name)))
        _set(self, "description", unicodedata.normalize("NFC", self.description).strip())
        if not self.source or not self.external_id:
            raise ValueError("a job needs a source and an external_id")
        if self.posted_at is not None:
            _set(self, "posted_at", _as_utc(self.posted_at))
        low, high = _salary(self.salary_min), _salary(self.salary_max)
        if low is not None and high is not None and low > high:
            low, high = high, low
        _set(self, "salary_min", low)
        _set(self, "salary_max", high)
        currency = (self.salary_currency or "").strip().upper()
        _set(self, "salary_currency", currency if len(currency) == 3 else None)
        if self.salary_period not in SALARY_PERIODS:
            _set(self, "salary_period", None)
        _set(self, "content_hash", content_hash(self))

    def content_fields(self) -> dict[str, Any]:
        """The fields the hash covers, as JSON-ready canonical values."""
        return {
            "title": self.title,
            "company": self.company,
            "location": self.location,
            "remote": self.remote,
            "url": self.url,
            "description": self.description,
            "posted_at": self.posted_at.isoformat() if self.posted_at else None,
            "salary_min": _decimal_text(self.salary_min),
            "salary_max": _decimal_text(self.salary_max),
            "salary_currency": self.salary_currency,
            "salary_period": self.salary_period,
        }


def content_hash(job: NormalizedJob) -> str:
    """SHA-256 hex of the canonical JSON of `job`'s content fields (sorted keys, no spaces)."""
    document = {"v": HASH_VERSION, **job.content_fields()}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _set(job: NormalizedJob, name: str, value: object) -> None:
    object.__setattr__(job, name, value)


def _one_line(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _as_utc(moment: datetime) -> datetime:
    """Aware times converted to UTC; naive ones are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _salary(value: Decimal | None) -> Decimal | None:
    """Cents precision; nothing for non-finite, negative or out-of-range amounts."""
    if value is None or not value.is_finite() or value < 0 or value > MAX_SALARY:
        return None
    return value.quantize(_CENT)


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"
