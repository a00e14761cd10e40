"""Salary ranges parsed from free text: "$120k-150k", "€60.000", "£45,000 per annum", "$50/hour".

An amount only counts with a currency next to it (symbol or ISO code, before or after the
number), which keeps years, head counts and "401(k)" out. Thousands separators may be ``,``
``.`` ``'`` or a space; a single separator followed by exactly three digits is a thousands
separator ("60.000" is sixty thousand), otherwise a decimal point ("45.5k"). The period comes
from the words right after the amount ("per annum", "/hour", "monthly"…) or right before it
("hourly rate"); without one, amounts of 10,000 and more are yearly and smaller ones are
ignored. Amounts outside the period's bounds are rejected. The first range in the text wins,
else the first single amount.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from jobping.vocabulary import SalaryPeriod

_SYMBOLS: Final[dict[str, str]] = {
    "US$": "USD", "$": "USD", "CA$": "CAD", "C$": "CAD", "AU$": "AUD", "A$": "AUD",
    "NZ$": "NZD", "S$": "SGD", "HK$": "HKD", "R$": "BRL", "€": "EUR", "£": "GBP", "¥": "JPY",
    "₹": "INR", "₪": "ILS", "zł": "PLN", "Kč": "CZK",
}  # fmt: skip
_CODES: Final = ("USD", "EUR", "GBP", "CHF", "CAD", "AUD", "NZD", "SGD", "HKD", "JPY", "INR",
                 "SEK", "NOK", "DKK", "PLN", "CZK", "BRL", "MXN", "ZAR", "ILS")  # fmt: skip
_CURRENCY: Final = "|".join(
    re.escape(token) for token in sorted([*_SYMBOLS, *_CODES], key=lambda t: (-len(t), t))
)
_MARKER: Final = re.compile(_CURRENCY)
_REACH: Final = 50
_NUMBER_CHARS: Final = frozenset("0123456789.,'\u2019\u00a0\u202f kK")
_NUMBER: Final = (
    r"(?>\d{1,3}(?:[,.'\u2019\u00a0\u202f ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)"
)
_SCALE: Final = r"(?!\s?(?:[mMbB]|mn|bn|million|billion)(?![A-Za-z]))"


def _amount(tag: str) -> str:
    return (
        rf"(?:(?P<{tag}pre>{_CURRENCY})\s*)?(?P<{tag}num>{_NUMBER})(?!\d)"
        rf"(?:\s?(?P<{tag}k>[kK])(?![A-Za-z]))?{_SCALE}"
        rf"(?:\s*(?P<{tag}suf>{_CURRENCY})(?![A-Za-z]))?"
    )


_RANGE: Final = re.compile(
    rf"(?<![\w.,]){_amount('a')}(?:\s*(?P<sep>-|\u2013|\u2014|\u2212|to|and|bis)\s*{_amount('b')})?"
)
_PERIOD: Final = re.compile(
    r"(?P<hour>(?:/|\bper|\ban|\ba|\bp)\s*\.?\s*(?:hour|hr|h)\b|\bhourly\b|\bpro stunde\b)"
    r"|(?P<month>(?:/|\bper|\ba|\bp)\s*\.?\s*(?:month|mo|mth)\b|\bmonthly\b|\bpcm\b"
    r"|\bmonatlich\b|\bpro monat\b|/monat\b|\bpar mois\b|\bmensuel)"
    r"|(?P<year>(?:/|\bper|\ba|\bp)\s*\.?\s*(?:year|yr|annum|a)\b|\bp\.a\.|\bpa\b"
    r"|\bannual(?:ly)?\b|\byearly\b|\bjährlich\b|\bpro jahr\b|/jahr\b|\bpar an\b)"
)
_WINDOW_END: Final = re.compile(r"[\d$€£¥₹\n]")
_BOUNDS: Final[dict[SalaryPeriod, tuple[Decimal, Decimal]]] = {
    "hour": (Decimal(7), Decimal(1_000)),
    "month": (Decimal(500), Decimal(200_000)),
    "year": (Decimal(10_000), Decimal(50_000_000)),
}
_THOUSAND: Final = Decimal(1000)


@dataclass(frozen=True, slots=True)
class SalaryRange:
    """A parsed salary: ``minimum <= maximum`` (equal for a single amount), ISO currency."""

    minimum: Decimal
    maximum: Decimal
    currency: str
    period: SalaryPeriod


def parse_salary(text: str) -> SalaryRange | None:
    """The salary stated in `text`, or None. Never raises on arbitrary text."""
    single: SalaryRange | None = None
    for low, high in _windows(text):
        position = low
        while (match := _RANGE.search(text, position, high)) is not None:
            if match.group("bnum") is None:
                single = single or _candidate(match, text, pair=False)
                position = match.end()
                continue
            found = _candidate(match, text, pair=True) if _is_range(match, text) else None
            if found is not None:
                return found
            # Not a range after all: the first amount may stand alone ("$120k and a bonus"),
            # and the second may start the real one ("founded 2015 - $120k").
            single = single or _candidate(match, text, pair=False)
            position = match.start("bpre" if match.group("bpre") else "bnum")
    return single


def _is_range(match: re.Match[str], text: str) -> bool:
    """Whether `match` is a range: joined by a dash or "to", or "between … and …"."""
    if match.group("sep") != "and":
        return True
    return text[max(0, match.start() - 12) : match.start()].lower().rstrip().endswith("between")


def _windows(text: str) -> list[tuple[int, int]]:
    """Disjoint spans around currency markers: the only places an amount can be.

    Scanning these instead of the whole text keeps a salary-free description cheap.
    """
    spans: list[tuple[int, int]] = []
    for marker in _MARKER.finditer(text):
        low, high = max(0, marker.start() - _REACH), marker.end() + _REACH
        while high < len(text) and text[high] in _NUMBER_CHARS:
            high += 1  # never cut a number in two at the window's end
        if spans and low <= spans[-1][1]:
            spans[-1] = (spans[-1][0], high)
        else:
            spans.append((low, high))
    return spans


def _candidate(match: re.Match[str], text: str, *, pair: bool) -> SalaryRange | None:
    """The salary in `match`: both amounts if `pair`, else the first alone."""
    groups = ("apre", "asuf", "bpre", "bsuf") if pair else ("apre", "asuf")
    currency = next((_SYMBOLS.get(t, t) for g in groups if (t := match.group(g))), None)
    amounts = None if currency is None else _amounts(match, pair=pair)
    if currency is None or amounts is None:
        return None
    low, high = amounts
    end = match.end() if pair else max(match.end(g) for g in ("anum", "ak", "asuf"))
    period = _period(text, match.start(), end)
    if period is None and high >= _BOUNDS["year"][0]:
        period = "year"  # no period stated: only a yearly-sized amount is believable
    if period is None:
        return None
    floor, ceiling = _BOUNDS[period]
    if low < floor or high > ceiling:
        return None
    return SalaryRange(_tidy(low), _tidy(high), currency, period)


def _amounts(match: re.Match[str], *, pair: bool) -> tuple[Decimal, Decimal] | None:
    low = _number(match.group("anum"))
    low_k = match.group("ak") is not None
    if low is None or (match.group("anum") == "401" and low_k):
        return None  # "401k" is the US retirement plan, not a salary
    high, high_k = low, low_k
    if pair:
        parsed = _number(match.group("bnum"))
        if parsed is None:
            return None
        high, high_k = parsed, match.group("bk") is not None
    low, high = _scaled(low, low_k, high_k, high), _scaled(high, high_k, low_k, low)
    return min(low, high), max(low, high)


def period_of(amount: Decimal) -> SalaryPeriod:
    """The likely period of an amount given without one: yearly from 10,000, monthly from 500."""
    if amount >= _BOUNDS["year"][0]:
        return "year"
    return "month" if amount >= _BOUNDS["month"][0] else "hour"


def _number(raw: str) -> Decimal | None:
    """Decimal value of `raw`, resolving US and European separators."""
    digits = re.sub(r"['\u2019\u00a0\u202f ]", "", raw)
    if "," in digits and "." in digits:
        decimal_mark = "," if digits.rfind(",") > digits.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        digits = digits.replace(thousands, "").replace(decimal_mark, ".")
    else:
        for mark in ",.":
            parts = digits.split(mark)
            if len(parts) > 2 or (len(parts) == 2 and len(parts[1]) == 3):
                digits = digits.replace(mark, "")
            elif len(parts) == 2:
                digits = digits.replace(mark, ".")
    try:
        return Decimal(digits)
    except InvalidOperation:
        return None


def _scaled(value: Decimal, has_k: bool, other_has_k: bool, other: Decimal) -> Decimal:
    """Apply "k"; in "120-150k" the first number borrows the second's "k" (and vice versa)."""
    if has_k or (other_has_k and value < _THOUSAND and other < _THOUSAND):
        return value * _THOUSAND
    return value


def _period(text: str, start: int, end: int) -> SalaryPeriod | None:
    after = text[end : end + 40].lower()
    stop = _WINDOW_END.search(after)
    after = after[: stop.start()] if stop else after
    found = _PERIOD.search(after)
    if found is None:
        before = list(_PERIOD.finditer(text[max(0, start - 30) : start].lower()))
        found = before[-1] if before else None
    if found is None:
        return None
    if found.group("hour"):
        return "hour"
    return "month" if found.group("month") else "year"


def _tidy(value: Decimal) -> Decimal:
    integral = value.to_integral_value()
    return integral if value == integral else value.quantize(Decimal("0.01"))
