"""Small converters the source adapters share: times, amounts, work modes, locations.

Each takes whatever a board sent (any JSON value) and returns a clean value or None; none of
them raises on odd input, so one strange field never costs a whole listing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from jobping import workmode
from jobping.vocabulary import SalaryPeriod

_PERIODS: Final[dict[str, SalaryPeriod]] = {
    "year": "year", "yearly": "year", "annual": "year", "annually": "year", "1 year": "year",
    "per-year-salary": "year", "month": "month", "monthly": "month", "1 month": "month",
    "per-month-salary": "month", "hour": "hour", "hourly": "hour", "1 hour": "hour",
    "per-hour-wage": "hour",
}  # fmt: skip


def text(value: object) -> str:
    """A JSON string as is; anything else (null, numbers, objects) as ""."""
    return value if isinstance(value, str) else ""


def parse_datetime(value: object) -> datetime | None:
    """An ISO 8601 string (a trailing "Z" too), or epoch milliseconds, as an aware UTC time."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return from_epoch_ms(value)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        return None


def from_epoch_ms(value: float) -> datetime | None:
    """Milliseconds since the epoch (Lever's `createdAt`) as UTC; None if out of range."""
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def from_struct_time(value: object) -> datetime | None:
    """feedparser's `*_parsed` (a UTC `time.struct_time`) as an aware datetime."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except ValueError:
        return None


def parse_amount(value: object) -> Decimal | None:
    """A number, or a string holding one, as a Decimal; booleans and junk give None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def salary_period(value: object) -> SalaryPeriod | None:
    """ "year" / "month" / "hour" from the interval names boards use; None for others."""
    return _PERIODS.get(text(value).strip().lower())


def remote_from_text(*values: str) -> bool | None:
    """True if the text says remote, False if it says hybrid or on-site, None if neither.

    The words are `jobping.workmode`'s headline vocabulary, the worker's too: "Hybrid (remote
    2 days)" is hybrid, so False.
    """
    return workmode.remote_flag(workmode.from_headline(*values))


def join_locations(primary: str, others: Iterable[str]) -> str:
    """The primary location, then the other distinct ones, separated by "; "."""
    seen: list[str] = []
    for place in (primary, *others):
        cleaned = " ".join(place.split())
        if cleaned and cleaned.casefold() not in {known.casefold() for known in seen}:
            seen.append(cleaned)
    return "; ".join(seen)


def mapping(value: object) -> dict[str, Any]:
    """A JSON object as is; anything else as an empty one."""
    return value if isinstance(value, dict) else {}


def items(value: object) -> list[Any]:
    """A JSON array as is; anything else as an empty one."""
    return value if isinstance(value, list) else []
