"""JobPing's own format: a JSON list of jobs with the `NormalizedJob` fields, from a file or URL.

Each object has `external_id`, `title` and `company` (required), and optionally `location`,
`remote`, `work_mode` ("remote", "hybrid", "onsite", "unknown"; it decides `remote` when
known), `url`, `description` (plain text), `posted_at` (ISO 8601 with an offset),
`salary_min`, `salary_max`, `salary_currency`, `salary_period` ("year", "month", "hour") and
`source`. A source writes only under its own configured name: a listing whose `source` names
another is skipped (it could otherwise rewrite another board's jobs, URL included).
`content_hash` is computed, never read; unknown fields are errors. A file is "not modified"
when its SHA-256 matches the stored ETag, so an unchanged file costs nothing either.
"""

from __future__ import annotations

import dataclasses
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from jobping.vocabulary import SalaryPeriod, WorkMode
from scanner.config import JobPingSource as JobPingConfig
from scanner.html import tidy_text
from scanner.http import Fetcher, Validators, ValidatorStore
from scanner.model import NormalizedJob
from scanner.sources.base import (
    ConfiguredSource,
    FetchOutcome,
    SkipListing,
    SourceError,
    SourceUnavailable,
    decode_json,
    get,
    listings_of,
    normalize_all,
)

_Required = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class JobPingListing(BaseModel):
    """One job in JobPing's own JSON format."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: _Required | None = None
    external_id: _Required
    title: _Required
    company: str
    location: str = ""
    remote: bool | None = None
    work_mode: WorkMode = "unknown"
    url: str = ""
    description: str = ""
    posted_at: AwareDatetime | None = None
    salary_min: Decimal | None = Field(default=None, ge=0)
    salary_max: Decimal | None = Field(default=None, ge=0)
    salary_currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")] | None = None
    salary_period: SalaryPeriod | None = None


class JobPingFile(ConfiguredSource):
    """A list of jobs in JobPing's format, read from a file or fetched from a URL."""

    config: JobPingConfig

    def fetch(self, fetcher: Fetcher, store: ValidatorStore) -> FetchOutcome:
        """Read the file or fetch the URL (conditionally either way) and validate the jobs."""
        path, url = self.config.path, self.config.url
        if path is not None:
            body = self._read_file(path)
            validators = Validators(etag=f'"sha256:{hashlib.sha256(body).hexdigest()}"')
            previous = store.get(self.name)
            if previous is not None and previous.etag == validators.etag:
                return FetchOutcome.unchanged(self.name, validators)
        elif url is not None:
            result = get(self.name, fetcher, store, url, "application/json")
            if result.not_modified:
                return FetchOutcome.unchanged(self.name, result.validators)
            body, validators = result.body, result.validators
        else:  # the config model forbids this; kept so a hand-built config fails clearly
            raise SourceError(self.name, "neither 'path' nor 'url' is configured")
        listings = listings_of(self.name, decode_json(self.name, body), None)
        outcome = normalize_all(self.name, listings, self.normalize)
        return dataclasses.replace(outcome, validators=validators)

    def normalize(self, listing: Any) -> NormalizedJob:
        """One object of the file as a `NormalizedJob`."""
        try:
            job = JobPingListing.model_validate(listing)
        except PydanticValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "listing"
            raise SkipListing(f"field '{field}': {first['msg']}") from None
        if job.source is not None and job.source != self.name:
            raise SkipListing(f"field 'source': {job.source!r:.80} is not this source's name")
        fields = job.model_dump(exclude={"source", "description"})
        return NormalizedJob(source=self.name, description=tidy_text(job.description), **fields)

    def _read_file(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as error:
            raise SourceUnavailable(self.name, f"cannot read {path}: {error}") from None
