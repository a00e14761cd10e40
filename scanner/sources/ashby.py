"""Ashby job board API: `GET /posting-api/job-board/{board}?includeCompensation=true`.

The answer is `{"apiVersion": "1", "jobs": [...]}`. Each job has `id`, `title`, `location`,
`secondaryLocations` (`[{location, address}]`), `department`, `team`, `isListed`, `isRemote`,
`workplaceType` (`OnSite`, `Hybrid`, `Remote`), `employmentType`, `descriptionHtml`,
`descriptionPlain`, `publishedAt`, `jobUrl`, `applyUrl` and, with `includeCompensation=true`,
`compensation` whose `summaryComponents` are `{compensationType, interval, currencyCode,
minValue, maxValue}`; the one with `compensationType` "Salary" is the salary. Unlisted jobs
(`isListed: false`) are left out. Ashby gives no company name: it is the configured `company`,
else the board name.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from jobping import workmode
from jobping.vocabulary import WorkMode
from scanner.config import AshbySource as AshbyConfig
from scanner.html import html_to_text, tidy_text
from scanner.model import NormalizedJob
from scanner.normalize import (
    items,
    join_locations,
    mapping,
    parse_amount,
    parse_datetime,
    remote_from_text,
    salary_period,
    text,
)
from scanner.sources.base import (
    JsonBoard,
    SkipListing,
    as_object,
    require_text,
)


class AshbyBoard(JsonBoard):
    """One Ashby job board."""

    config: AshbyConfig
    endpoint = "/posting-api/job-board/{board}?includeCompensation=true"
    listings_key = "jobs"

    def normalize(self, listing: Any) -> NormalizedJob | None:
        """One Ashby job as a `NormalizedJob`; None for an unlisted one."""
        job = as_object(listing)
        if job.get("isListed") is False:
            return None
        location = join_locations(
            text(job.get("location")),
            (
                text(mapping(other).get("location"))
                for other in items(job.get("secondaryLocations"))
            ),
        )
        html = text(job.get("descriptionHtml"))
        salary = _salary(job)
        period = salary_period(salary.get("interval"))
        return NormalizedJob(
            source=self.name,
            external_id=_external_id(job),
            title=require_text(job, "title"),
            company=self.config.company or self.config.board,
            location=location,
            remote=_remote(job, location),
            work_mode=_work_mode(job),
            url=text(job.get("jobUrl")) or text(job.get("applyUrl")),
            description=html_to_text(html)
            if html
            else tidy_text(text(job.get("descriptionPlain"))),
            posted_at=parse_datetime(job.get("publishedAt")),
            salary_min=parse_amount(salary.get("minValue")) if period else None,
            salary_max=parse_amount(salary.get("maxValue")) if period else None,
            salary_currency=(text(salary.get("currencyCode")) or None) if period else None,
            salary_period=period,
        )


def _external_id(job: dict[str, Any]) -> str:
    """`id`; older answers lack it, and then the last segment of `jobUrl` is the posting id."""
    if job.get("id"):
        return require_text(job, "id")
    segment = urlsplit(text(job.get("jobUrl"))).path.rstrip("/").rpartition("/")[2]
    if not segment:
        raise SkipListing("no 'id' and no 'jobUrl'")
    return segment


def _work_mode(job: dict[str, Any]) -> WorkMode:
    """`workplaceType` (`OnSite`, `Hybrid`, `Remote`), else remote if `isRemote` is true."""
    mode = workmode.from_board(job.get("workplaceType"))
    return "remote" if mode == "unknown" and job.get("isRemote") is True else mode


def _remote(job: dict[str, Any], location: str) -> bool | None:
    """`isRemote`, else the location text (a known `_work_mode` overrides it)."""
    flag = job.get("isRemote")
    return flag if isinstance(flag, bool) else remote_from_text(location)


def _salary(job: dict[str, Any]) -> dict[str, Any]:
    """The "Salary" summary component of `compensation`, or an empty object."""
    components = items(mapping(job.get("compensation")).get("summaryComponents"))
    for component in map(mapping, components):
        if text(component.get("compensationType")).lower() == "salary":
            return component
    return {}
