"""RSS 2.0 and Atom job feeds, parsed with feedparser from the bytes the `Fetcher` got.

Parsing fetched bytes (never letting feedparser fetch) keeps conditional requests, retries and
the User-Agent in one place. Per entry: `id` (the guid, else the link) is the external id;
`title`, `link`; the description is the entry's content, else its summary; the posting time is
`published`, else `updated`. Feeds have no standard location element: `<location>`,
`<job:location>` (any prefix bound to a namespace) and `<region>` are read when present. The
company is the configured `company`, else the entry's author, else the feed's author or title.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from typing import Any

import feedparser

from scanner.config import RssSource as RssConfig
from scanner.html import html_to_text
from scanner.http import Fetcher, ValidatorStore
from scanner.model import NormalizedJob
from scanner.normalize import from_struct_time, remote_from_text
from scanner.sources.base import (
    ConfiguredSource,
    FetchOutcome,
    MalformedBody,
    SkipListing,
    get,
    normalize_all,
)

log = logging.getLogger(__name__)

_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8"
_LOCATION_KEYS = ("location", "job_location", "region")


class Feed(ConfiguredSource):
    """One RSS or Atom feed of job listings."""

    config: RssConfig

    def fetch(self, fetcher: Fetcher, store: ValidatorStore) -> FetchOutcome:
        """Fetch the feed (conditionally) and normalize its entries."""
        result = get(self.name, fetcher, store, self.config.url, _ACCEPT)
        if result.not_modified:
            return FetchOutcome.unchanged(self.name, result.validators)
        # A stream, never bytes or str: feedparser would try those as a file name or URL.
        parsed = feedparser.parse(
            io.BytesIO(result.body), response_headers={"content-location": self.config.url}
        )
        if not parsed.get("version") and not parsed.get("entries"):
            problem = parsed.get("bozo_exception") or "no RSS or Atom document found"
            raise MalformedBody(self.name, f"not a feed: {problem}")
        if parsed.get("bozo"):
            problem = str(parsed.get("bozo_exception"))
            log.info("feed parsed with problems", extra={"source": self.name, "problem": problem})
        feed = parsed.get("feed", {})
        publisher = _str(feed.get("author")) or _str(feed.get("title"))
        outcome = normalize_all(
            self.name, parsed.get("entries", []), lambda entry: self.normalize(entry, publisher)
        )
        return dataclasses.replace(outcome, validators=result.validators)

    def normalize(self, entry: Any, publisher: str = "") -> NormalizedJob:
        """One feed entry as a `NormalizedJob`; `publisher` is the feed's author or title."""
        title = _str(entry.get("title"))
        link = _str(entry.get("link"))
        external_id = _str(entry.get("id")) or link
        if not external_id or not title:
            raise SkipListing("entry has no id/link or no title")
        location = next((_str(entry.get(key)) for key in _LOCATION_KEYS if entry.get(key)), "")
        tags = [_str(tag.get("term")) for tag in entry.get("tags", []) if hasattr(tag, "get")]
        return NormalizedJob(
            source=self.name,
            external_id=external_id,
            title=title,
            company=self.config.company or _str(entry.get("author")) or publisher or self.name,
            location=location,
            remote=remote_from_text(location, title, *tags),
            url=link,
            description=html_to_text(_body(entry)),
            posted_at=from_struct_time(entry.get("published_parsed"))
            or from_struct_time(entry.get("updated_parsed")),
        )


def _body(entry: Any) -> str:
    """The fullest text the entry has: content, else summary (HTML or plain)."""
    for content in entry.get("content", []):
        value = _str(content.get("value")) if hasattr(content, "get") else ""
        if value:
            return value
    return _str(entry.get("summary"))


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""
