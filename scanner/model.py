"""The one job model every source normalizes to, and its content hash.

`NormalizedJob.source` is the configured name of the source the listing came from. Unless the
sources file names a source explicitly, that name is `"<type>:<board>"`: `greenhouse:acme`,
`lever:globex`, `ashby:initech`, `rss:<feed host>`, `jobping:<file stem or URL host>`. Together
with `external_id` (the id the board gives the listing) it is the job's natural key in the
database, so a source must keep its name for as long as its jobs are kept.

`content_hash` is computed by the constructor: the SHA-256 of a canonical JSON document of the
content fields (everything but `source`, `external_id` and the hash itself). Nothing volatile
(fetch time, HTTP validators) goes into it, so an unchanged listing always hashes the same and a
changed title, description, salary, posting date or work mode changes the hash.

Every byte of a listing is hostile, so the constructor also makes each value storable: control
characters (NUL, which PostgreSQL refuses in text, among them) and lone surrogates (which cannot
be encoded) are dropped, lengths are bounded, and a time out of range costs only `posted_at`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from jobping.vocabulary import MAX_SALARY, SALARY_PERIODS, WORK_MODES, SalaryPeriod, WorkMode
from jobping.workmode import remote_flag

#: Bumped when the canonical document changes shape, so old and new hashes never collide.
HASH_VERSION: Final = 1
_CENT: Final = Decimal("0.01")
#: Longest value kept per one-line field, in characters: the queue message's limits. A longer
#: title, company or location is cut; a longer key is an error (cutting it could merge two
#: listings) and a longer URL is dropped (a cut URL leads somewhere else).
MAX_CHARS: Final = {
    "source": 200, "external_id": 200, "title": 500, "company": 500, "location": 500, "url": 2048,
}  # fmt: skip
#: Longest description kept (the HTML converter's bound, for text from any path).
MAX_DESCRIPTION_CHARS: Final = 20_000
#: C0 and C1 controls and DEL (NUL among them), but tab and newline: each becomes a space.
_CONTROLS: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Lone surrogates (JSON's "\ud800"): UTF-8 cannot encode them; each becomes U+FFFD.
_SURROGATES: Final = re.compile(r"[\ud800-\udfff]")


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
    work_mode: WorkMode = "unknown"
    """The board's structured work mode; when known, `remote` is derived from it."""
    url: str = ""
    description: str = ""
    posted_at: datetime | None = None
    salary_min: Decimal | None = None
    salary_max: Decimal | None = None
    salary_currency: str | None = None
    salary_period: SalaryPeriod | None = None
    content_hash: str = field(init=False)

    def __post_init__(self) -> None:
        for name, limit in MAX_CHARS.items():
            _set(self, name, _one_line(getattr(self, name))[: limit + 1])
        if not self.source or not self.external_id:
            raise ValueError("a job needs a source and an external_id")
        for name in ("source", "external_id"):
            if len(getattr(self, name)) > MAX_CHARS[name]:
                raise ValueError(f"{name} is longer than {MAX_CHARS[name]} characters")
        for name in ("title", "company", "location"):
            _set(self, name, getattr(self, name)[: MAX_CHARS[name]].rstrip())
        if len(self.url) > MAX_CHARS["url"]:
            _set(self, "url", "")
        _set(self, "description", _text(self.description))
        if self.posted_at is not None:
            _set(self, "posted_at", _as_utc(self.posted_at))
        if self.work_mode not in WORK_MODES:
            _set(self, "work_mode", "unknown")
        if self.work_mode != "unknown":
            _set(self, "remote", remote_flag(self.work_mode))
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
        fields: dict[str, Any] = {
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
        if self.work_mode != "unknown":  # absent when unknown: older hashes stay valid
            fields["work_mode"] = self.work_mode
        return fields


def content_hash(job: NormalizedJob) -> str:
    """SHA-256 hex of the canonical JSON of `job`'s content fields (sorted keys, no spaces)."""
    document = {"v": HASH_VERSION, **job.content_fields()}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _set(job: NormalizedJob, name: str, value: object) -> None:
    object.__setattr__(job, name, value)


def _storable(text: str) -> str:
    """NFC text with controls as spaces and lone surrogates as U+FFFD."""
    return unicodedata.normalize("NFC", _SURROGATES.sub("\ufffd", _CONTROLS.sub(" ", text)))


def _one_line(text: str) -> str:
    return " ".join(_storable(text).split())


def _text(text: str) -> str:
    """A description: storable, line breaks kept, bounded."""
    cleaned = _storable(text.replace("\r\n", "\n")).strip()
    if len(cleaned) <= MAX_DESCRIPTION_CHARS:
        return cleaned
    return cleaned[: MAX_DESCRIPTION_CHARS - 1].rstrip() + "…"


def _as_utc(moment: datetime) -> datetime | None:
    """Aware times converted to UTC, naive ones taken as UTC; None when UTC is out of range.

    `0001-01-01T00:00:00+14:00` is a valid time whose UTC equivalent is before year 1.
    """
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _salary(value: Decimal | None) -> Decimal | None:
    """Cents precision; nothing for non-finite, negative or out-of-range amounts."""
    if value is None or not value.is_finite() or value < 0 or value > MAX_SALARY:
        return None
    return value.quantize(_CENT)


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"
