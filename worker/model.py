"""Plain data types of the job pipeline: what analysis reads, produces, and matching returns.

Seniority, the worker's own vocabulary (also the values the database stores), roughly by rung:
``intern``, ``junior``, ``mid``, ``senior``, ``staff``, ``principal``, ``lead``, ``manager``,
``director``; ``unknown`` when nothing in the title says. ``lead`` is a technical/team lead;
``manager`` a people manager (engineering manager and the like, not product or project
managers); ``director`` covers director, head of, VP and C-level. Work mode, salary period and
the salary bound are the scanner's too, defined in `jobping.vocabulary`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jobping.vocabulary import MAX_SALARY, SalaryPeriod, WorkMode

Seniority = Literal[
    "intern",
    "junior",
    "mid",
    "senior",
    "staff",
    "principal",
    "lead",
    "manager",
    "director",
    "unknown",
]
SENIORITIES: Final[tuple[Seniority, ...]] = get_args(Seniority)

#: Most skills one analysis may list (the bundled taxonomy has fewer).
MAX_SKILLS: Final = 500

# Limits of a saved search, enforced by the database where searches are written (migration
# 0002) and again when the worker indexes them. The keyword length also bounds how deeply the
# index's word regex nests, so it must stay far below Python's recursion limit.
#: Most keywords (and locations) one saved search may list.
MAX_SEARCH_TERMS: Final = 20
#: Longest keyword or location, in characters.
MAX_SEARCH_TERM_CHARS: Final = 100
#: Most seniority levels one saved search may list, and the longest one.
MAX_SEARCH_SENIORITIES: Final = 10
MAX_SENIORITY_CHARS: Final = 32
#: Most saved searches one user may have (a trigger of migration 0002).
MAX_SEARCHES_PER_USER: Final = 50


@dataclass(frozen=True, slots=True)
class JobPosting:
    """One job as loaded from the database: what the analyzer and the matcher read."""

    job_id: uuid.UUID
    source: str
    title: str
    company: str
    location: str
    remote: bool | None
    url: str
    description: str
    salary_min: Decimal | None
    salary_max: Decimal | None
    salary_currency: str | None
    content_hash: str
    #: What the board said (`jobs.work_mode`); "unknown" when it gave no structured value.
    work_mode: WorkMode = "unknown"


class Analysis(BaseModel):
    """What an analyzer found in a job; also the schema the Bedrock output must satisfy.

    Skills are normalized (stripped, lower case, unique, sorted); a currency is upper-cased.
    Invariants: amounts are non-negative and at most `MAX_SALARY`, ``salary_min <= salary_max``,
    the currency is three letters (ISO 4217 shape), and currency or period only come with an
    amount.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    skills: list[str] = Field(default_factory=list, max_length=MAX_SKILLS)
    seniority: Seniority = "unknown"
    work_mode: WorkMode = "unknown"
    salary_min: Decimal | None = Field(default=None, ge=0, le=MAX_SALARY)
    salary_max: Decimal | None = Field(default=None, ge=0, le=MAX_SALARY)
    salary_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    salary_period: SalaryPeriod | None = None
    analyzer: str = Field(min_length=1, max_length=200)

    @field_validator("skills", mode="after")
    @classmethod
    def _normalize_skills(cls, skills: list[str]) -> list[str]:
        cleaned = {" ".join(skill.split()).lower() for skill in skills}
        if "" in cleaned:
            raise ValueError("a skill must not be blank")
        if any(len(skill) > 100 for skill in cleaned):
            raise ValueError("a skill must be at most 100 characters")
        return sorted(cleaned)

    @field_validator("salary_currency", mode="before")
    @classmethod
    def _upper_currency(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _salary_consistent(self) -> Analysis:
        low, high = self.salary_min, self.salary_max
        if low is not None and high is not None and low > high:
            raise ValueError("salary_min must not exceed salary_max")
        if low is None and high is None and (self.salary_currency or self.salary_period):
            raise ValueError("salary_currency and salary_period need a salary amount")
        return self


@dataclass(frozen=True, slots=True)
class SavedSearch:
    """A user's saved search. Empty tuples and ``None`` mean "any"."""

    id: uuid.UUID
    user_id: uuid.UUID
    keywords: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    remote_only: bool = False
    min_salary: Decimal | None = None
    salary_currency: str | None = None
    seniority: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    """A job that passed a saved search's filters, with a 0..1 score and why it matched."""

    saved_search_id: uuid.UUID
    user_id: uuid.UUID
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Notification:
    """Everything a channel needs to tell a user about a matching job."""

    id: uuid.UUID
    user_id: uuid.UUID
    email: str
    name: str
    job_id: uuid.UUID
    #: The user's best-scoring search that matched (None once that search is deleted).
    saved_search_id: uuid.UUID | None
    title: str
    company: str
    url: str
    score: float
    reasons: tuple[str, ...]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Notification:
        """From a row by column name (`dict_row`) holding every field; other columns are ignored.

        `score` may be a `numeric` (Decimal) and `reasons` a JSON array: both are normalized.
        """
        fields = {name: row[name] for name in cls.__slots__}
        fields["score"] = float(row["score"])
        fields["reasons"] = tuple(str(reason) for reason in row["reasons"])
        return cls(**fields)


def over_limits(search: SavedSearch) -> str | None:
    """Why `search` breaks the `MAX_SEARCH_*` limits above, or None if it keeps to them."""
    lists = (
        ("keywords", search.keywords, MAX_SEARCH_TERMS, MAX_SEARCH_TERM_CHARS),
        ("locations", search.locations, MAX_SEARCH_TERMS, MAX_SEARCH_TERM_CHARS),
        ("seniority", search.seniority, MAX_SEARCH_SENIORITIES, MAX_SENIORITY_CHARS),
    )
    for field, items, max_items, max_chars in lists:
        if len(items) > max_items:
            return f"{len(items)} {field}, more than {max_items}"
        if not all(isinstance(item, str) for item in items):
            return f"{field} holds something other than text"
        if any(len(item) > max_chars for item in items):
            return f"{field} has an item longer than {max_chars} characters"
    return None
