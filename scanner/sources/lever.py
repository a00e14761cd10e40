"""Lever Postings API: `GET /v0/postings/{site}?mode=json`.

The answer is a bare JSON list of postings: `id`, `text` (the title), `categories` (`location`,
`team`, `commitment`, `department`, `allLocations`), `workplaceType` (`on-site`, `remote`,
`hybrid` or `unspecified`), `hostedUrl`, `createdAt` (epoch milliseconds), the description as
HTML (`description`) and plain text (`descriptionPlain`), `lists` of `{text, content}` (content
is `<li>` HTML), `additional` closing HTML, and an optional structured `salaryRange`
`{min, max, currency, interval}` with intervals like `per-year-salary` or `per-hour-wage`.
Lever gives no company name: it is the configured `company`, else the site name.
"""

from __future__ import annotations

import html
from typing import Any

from jobping import workmode
from scanner.config import LeverSource as LeverConfig
from scanner.html import html_to_text, tidy_text
from scanner.model import NormalizedJob
from scanner.normalize import (
    from_epoch_ms,
    items,
    join_locations,
    mapping,
    parse_amount,
    remote_from_text,
    salary_period,
    text,
)
from scanner.sources.base import (
    JsonBoard,
    as_object,
    require_text,
)


class LeverSite(JsonBoard):
    """One Lever site's published postings."""

    config: LeverConfig
    endpoint = "/v0/postings/{board}?mode=json"
    listings_key = None

    def normalize(self, listing: Any) -> NormalizedJob:
        """One Lever posting as a `NormalizedJob`."""
        posting = as_object(listing)
        categories = mapping(posting.get("categories"))
        location = join_locations(
            text(categories.get("location")),
            (place for place in items(categories.get("allLocations")) if isinstance(place, str)),
        )
        salary = mapping(posting.get("salaryRange"))
        period = salary_period(salary.get("interval"))
        created = posting.get("createdAt")
        return NormalizedJob(
            source=self.name,
            external_id=require_text(posting, "id"),
            title=require_text(posting, "text"),
            company=self.config.company or self.config.board,
            location=location,
            remote=remote_from_text(location),  # a known work mode overrides it
            work_mode=workmode.from_board(posting.get("workplaceType")),
            url=text(posting.get("hostedUrl")),
            description=_description(posting),
            posted_at=from_epoch_ms(created) if isinstance(created, int | float) else None,
            # Only a range with a period JobPing knows (year, month, hour) is kept as numbers.
            salary_min=parse_amount(salary.get("min")) if period else None,
            salary_max=parse_amount(salary.get("max")) if period else None,
            salary_currency=(text(salary.get("currency")) or None) if period else None,
            salary_period=period,
        )


def _description(posting: dict[str, Any]) -> str:
    """Opening and body, each extra list under its heading, closing text, salary note."""
    body = text(posting.get("description"))
    if not body:
        return tidy_text(text(posting.get("descriptionPlain")))
    parts = [body]
    for extra in map(mapping, items(posting.get("lists"))):
        parts.append(f"<h3>{html.escape(text(extra.get('text')))}</h3>")
        parts.append(f"<ul>{text(extra.get('content'))}</ul>")
    parts.append(text(posting.get("additional")))
    parts.append(text(posting.get("salaryDescription")))
    return html_to_text("".join(parts))
