"""Greenhouse Job Board API: `GET /v1/boards/{board}/jobs?content=true`.

The answer is `{"jobs": [...], "meta": {"total": n}}`. Each job has `id`, `title`,
`absolute_url`, `location.name`, `updated_at` (and, on newer boards, `first_published` and
`company_name`), `departments`, `offices`, `metadata` (custom fields) and, with `content=true`,
`content`: the description as HTML that is itself HTML-escaped (`&lt;p&gt;`). The API has no
salary or remote field; remote comes from a "workplace"/"remote" custom field or the location.
The company is the configured `company`, else the board's `company_name`, else the board token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

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
    listings_key = "jobs"

    @property
    def url(self) -> str:
        """The board's jobs endpoint, descriptions included."""
        board = quote(self.config.board, safe="")
        return f"{self.config.base_url}/v1/boards/{board}/jobs?content=true"

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
            url=text(job.get("absolute_url")),
            description=html_to_text(unescape_html(text(job.get("content")))),
            posted_at=parse_datetime(job.get("first_published"))
            or parse_datetime(job.get("updated_at")),
        )


def _remote(job: dict[str, Any], location: str) -> bool | None:
    """From a custom field named like "workplace type" or "remote", else from the location."""
    for field in map(mapping, items(job.get("metadata"))):
        label = text(field.get("name")).lower()
        if "workplace" not in label and "remote" not in label:
            continue
        value = field.get("value")
        if isinstance(value, bool) and "remote" in label:
            return value
        values = value if isinstance(value, list) else [value]
        found = remote_from_text(*(item for item in values if isinstance(item, str)))
        if found is not None:
            return found
    return remote_from_text(location)
