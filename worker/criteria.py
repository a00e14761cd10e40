"""The matching rules: how one saved search judges one job, and the score it gives.

* Keywords (any one must hit). A keyword that names a taxonomy skill ("k8s", "Go") hits when
  the skill is in the analysis or in the title, never as a plain word (so "go" does not hit
  "go-to-market"). Any other keyword hits when its words appear, in order, as whole words of
  the title or the description (case and punctuation between words ignored). Place of a hit:
  title > skill > description. A search without keywords is judged on its other criteria.
* Locations (if any): one must be a case-insensitive substring of the job's location; "remote",
  "anywhere" or "worldwide" also accept any job whose work mode is remote.
* Remote only: the work mode must be "remote" ("unknown" does not pass).
* Minimum salary (yearly): compared with the job's maximum (else minimum), annualized (hour x
  2080, month x 12), when the currencies agree (a search without a currency takes the job's).
  Below the minimum excludes; no salary or another currency does not exclude but scores low.
* Seniority (if any): must include the job's, unless the job's is "unknown" (scores lower).

Score: the weighted mean over the criteria the search sets (keywords 0.5, locations 0.15,
minimum salary 0.15, remote only 0.1, seniority 0.1), each valued 0..1: keywords
0.6 x strength of the best hit (title 1, skill 0.8, description 0.5) + 0.4 x share of the
search's keywords that hit; a salary or seniority that could not be checked 0.25 or 0.5;
every other criterion that passed 1. A search with no criteria at all scores 0.5.

`worker.match.SearchIndex` finds which searches a job can pass (keyword hits, hard filters)
and calls `evaluate` for those only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from sys import intern
from typing import Final, Literal

from worker.model import Analysis, Match, SavedSearch

Place = Literal["title", "skill", "description"]

W_KEYWORDS: Final = 0.5
W_LOCATIONS: Final = 0.15
W_SALARY: Final = 0.15
W_REMOTE: Final = 0.1
W_SENIORITY: Final = 0.1
STRENGTH: Final[dict[Place, float]] = {"title": 1.0, "skill": 0.8, "description": 0.5}
UNCHECKED_SALARY: Final = 0.25
UNKNOWN_SENIORITY: Final = 0.5
NO_CRITERIA: Final = 0.5
REMOTE_LOCATIONS: Final = frozenset({"remote", "anywhere", "worldwide"})
ANNUAL_FACTOR: Final = {"year": Decimal(1), "month": Decimal(12), "hour": Decimal(2080)}


def normalize_keyword(keyword: str) -> str:
    """Lower case, single spaces: how keywords are compared and shown in reasons."""
    return " ".join(keyword.lower().split())


@dataclass(frozen=True, slots=True)
class Prepared:
    """A saved search with its inputs normalized once, when it is indexed."""

    search: SavedSearch
    keywords: tuple[str, ...]
    locations: tuple[str, ...]
    seniority: tuple[str, ...]
    currency: str | None


@dataclass(frozen=True, slots=True)
class JobFacts:
    """What every search is judged on, computed once per job."""

    analysis: Analysis
    location: str
    annual_salary: Decimal | None

    @classmethod
    def of(cls, location: str, analysis: Analysis) -> JobFacts:
        """The facts of a job at `location` with this analysis."""
        return cls(analysis, location.lower(), _annual(analysis))


def prepare(search: SavedSearch) -> Prepared:
    """Normalize `search`'s keywords, locations, seniority levels and currency.

    The normalized texts are interned: 100,000 searches share a few thousand distinct values,
    and interned strings are freed once nothing uses them. Raises ValueError for a minimum
    salary that is not a number (`numeric` stores 'NaN', which no salary compares with).
    """
    if search.min_salary is not None and not Decimal(search.min_salary).is_finite():
        raise ValueError("minimum salary is not a finite number")
    keywords = _same(search.keywords, (k for k in map(normalize_keyword, search.keywords) if k))
    locations = _same(search.locations, (x for x in map(normalize_keyword, search.locations) if x))
    seniority = _same(search.seniority, (x for s in search.seniority if (x := s.strip().lower())))
    currency = intern(search.salary_currency.strip().upper()) if search.salary_currency else None
    return Prepared(search, keywords, locations, seniority, currency or None)


def _same(given: tuple[str, ...], normalized: Iterable[str]) -> tuple[str, ...]:
    """The unique `normalized` texts, interned; `given` itself if they are equal to it."""
    unique = tuple(dict.fromkeys(map(intern, normalized)))
    return given if unique == given else unique


def _annual(analysis: Analysis) -> Decimal | None:
    amount = analysis.salary_max if analysis.salary_max is not None else analysis.salary_min
    if amount is None:
        return None
    return amount * ANNUAL_FACTOR[analysis.salary_period or "year"]


def evaluate(search: Prepared, facts: JobFacts, hits: dict[str, Place]) -> Match | None:
    """Apply one search's criteria to a job; None when a hard filter fails."""
    total = weights = 0.0  # the score is total / weights, a weighted mean
    reasons: list[str] = []
    if search.keywords:
        found = [k for k in search.keywords if k in hits]
        if not found:
            return None
        best = max(STRENGTH[hits[k]] for k in found)
        total += W_KEYWORDS * (0.6 * best + 0.4 * len(found) / len(search.keywords))
        weights += W_KEYWORDS
        reasons.extend(f"keyword: {k} ({hits[k]})" for k in found)
    if search.locations:
        where = _location(search, facts)
        if where is None:
            return None
        total, weights = total + W_LOCATIONS, weights + W_LOCATIONS
        reasons.append(f"location: {where}")
    if search.search.remote_only:
        if facts.analysis.work_mode != "remote":
            return None
        total, weights = total + W_REMOTE, weights + W_REMOTE
        reasons.append("remote")
    if search.search.min_salary is not None:
        salary = _salary(search.search.min_salary, search.currency, facts)
        if salary is None:
            return None
        total, weights = total + W_SALARY * salary[0], weights + W_SALARY
        reasons.append(salary[1])
    if search.seniority:
        level = facts.analysis.seniority
        if level != "unknown" and level not in search.seniority:
            return None
        value = 1.0 if level != "unknown" else UNKNOWN_SENIORITY
        total, weights = total + W_SENIORITY * value, weights + W_SENIORITY
        reasons.append(f"seniority: {level}")
    score = round(total / weights, 4) if weights else NO_CRITERIA
    return Match(search.search.id, search.search.user_id, score, tuple(reasons) or ("no criteria",))


def _location(search: Prepared, facts: JobFacts) -> str | None:
    remote = facts.analysis.work_mode == "remote"
    for location in search.locations:
        if location in facts.location or (remote and location in REMOTE_LOCATIONS):
            return location
    return None


def _salary(minimum: Decimal, wanted: str | None, facts: JobFacts) -> tuple[float, str] | None:
    """(value, reason) for the minimum-salary criterion; None when the job pays too little."""
    offered = facts.analysis.salary_currency
    if facts.annual_salary is None:
        return UNCHECKED_SALARY, "salary not stated"
    if wanted is not None and wanted != offered:
        return UNCHECKED_SALARY, f"salary in {offered or 'unknown currency'}"
    if facts.annual_salary < minimum:
        return None
    return 1.0, f"salary ≥ {minimum:f} {wanted or offered or ''}".rstrip()
