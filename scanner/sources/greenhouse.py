"""Greenhouse Job Board API: `GET /v1/boards/{board}/jobs?content=true`.

The answer is `{"jobs": [...], "meta": {"total": n}}`. Each job has `id`, `title`,
`absolute_url`, `location.name`, `updated_at` (and, on newer boards, `first_published` and
`company_name`), `departments`, `offices`, `metadata` (custom fields) and, with `content=true`,
`content`: the description as HTML that is itself HTML-escaped (`&lt;p&gt;`). The API has no
salary or workplace field: the work mode comes from a "workplace"/"remote" custom field (kept as
the job's structured `work_mode`), else the remote flag from the location text.
The company is the configured `company`, else the board's `company_name`, else the board token.
"""

from __future__ import annotations

from typing import Any

from jobping import workmode
from jobping.vocabulary import WorkMode
from scanner.config import GreenhouseSource as GreenhouseConfig
from scanner.html import html_to_text, unescape_html
from scanner.model import NormalizedJob
from scanner.normalize import items, mapping, parse_datetime, remote_from_text, text
from scanner.sources.base import (
    JsonBoard,
    as_object,
    require_text,
)


class GreenhouseBoard(JsonBoard):
    """One Greenhouse job board."""

    config: GreenhouseConfig
    endpoint = "/v1/boards/{board}/jobs?content=true"  # descriptions included
    listings_key = "jobs"

    def normalize(self, listing: Any) -> NormalizedJob:
        """One Greenhouse job as a `NormalizedJob`."""
        job = as_object(listing)
        location = text(mapping(job.get("location")).get("name"))
        return NormalizedJob(
            source=self.name,
            external_id=require_text(job, "id"),
            title=require_text(job, "title"),
            company=self.config.company or text(job.get("company_name")) or self.config.board,
            location=location,
            remote=_remote(job, location),
            work_mode=_work_mode(job),
            url=text(job.get("absolute_url")),
            description=html_to_text(unescape_html(text(job.get("content")))),
            posted_at=parse_datetime(job.get("first_published"))
            or parse_datetime(job.get("updated_at")),
        )


def _workplace_fields(job: dict[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) of the custom fields named like "workplace type" or "remote"."""
    fields = (
        (text(f.get("name")).lower(), f.get("value"))
        for f in map(mapping, items(job.get("metadata")))
    )
    return [(label, value) for label, value in fields if "workplace" in label or "remote" in label]


def _work_mode(job: dict[str, Any]) -> WorkMode:
    """The mode a workplace custom field states ("Hybrid", "Remote - US", or a true "Remote")."""
    for label, value in _workplace_fields(job):
        if value is True and "remote" in label:
            return "remote"
        values = value if isinstance(value, list) else [value]
        mode = workmode.from_headline(*(item for item in values if isinstance(item, str)))
        if mode != "unknown":
            return mode
    return "unknown"


def _remote(job: dict[str, Any], location: str) -> bool | None:
    """A false "Remote" custom field, else the location (a known `_work_mode` overrides it)."""
    if any(value is False and "remote" in label for label, value in _workplace_fields(job)):
        return False
    return remote_from_text(location)
