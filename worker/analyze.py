"""Step 2 of the pipeline: what a job asks for (skills, seniority, work mode, salary).

`RuleAnalyzer` is the default: deterministic, no network, a few hundred microseconds for a
5 KB description. Every regex is compiled once at import; skills come from one scan with the
taxonomy's combined regex (see `worker.skills`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final, Literal, Protocol

from worker.model import (
    MAX_SALARY,
    MAX_SKILLS,
    Analysis,
    JobPosting,
    SalaryPeriod,
    Seniority,
    WorkMode,
)
from worker.salary import parse_salary, period_of
from worker.skills import Taxonomy, load_taxonomy

RULES_ANALYZER: Final = "rules/1"
_ISO_CURRENCY: Final = re.compile(r"[A-Z]{3}\Z")

_ROLE_MANAGERS: Final = (
    "product", "project", "program", "programme", "account", "community", "office", "success",
    "case", "release", "content", "marketing", "social media", "brand", "category", "store",
)  # fmt: skip
_LEVELED: Final = r"\b(?:engineer|developer|analyst|scientist|designer|programmer|sde|swe)\s+"
_NOT_ROLE_MANAGER: Final = "".join(f"(?<!{r} manager)(?<!{r} mgr)" for r in _ROLE_MANAGERS)
#: Title rules in precedence order: the first that matches decides ("Senior Engineering
#: Manager" is a manager, "Senior Staff Engineer" is staff, "Associate Director" a director).
_SENIORITY_SOURCES: Final[tuple[tuple[Seniority, str], ...]] = (
    ("director", r"\b(?:director|head of|vp|svp|evp|vice president|cto|cio|ciso|chief)\b"),
    ("manager", r"\b(?:manager|mgr)\b" + _NOT_ROLE_MANAGER),
    ("principal", r"\bprincipal\b"),
    ("staff", r"\bstaff\b"),
    ("lead", r"\b(?:lead|leader)\b(?!\s+generation)"),
    ("senior", rf"\b(?:senior|sr|snr)\b|{_LEVELED}(?:iii|3)\b"),
    ("intern", r"\b(?:intern|internship|trainee|apprentice|werkstudent|working student)\b"),
    ("junior", rf"\b(?:junior|jr|entry[\s-]level|graduate|new grad|associate)\b|{_LEVELED}[i1]\b"),
    ("mid", rf"\b(?:mid|intermediate)\b|{_LEVELED}(?:ii|2)\b"),
)  # fmt: skip
_SENIORITY_RULES: Final = tuple((level, re.compile(rx)) for level, rx in _SENIORITY_SOURCES)

_HEADLINE_HYBRID: Final = re.compile(r"\bhybrid\b")
_HEADLINE_REMOTE: Final = re.compile(r"\b(?:remote|anywhere|wfh|work from home)\b")
_HEADLINE_ONSITE: Final = re.compile(r"\b(?:on[\s-]?site|in[\s-]office|office[\s-]based)\b")
_Signal = Literal["not remote", "hybrid", "remote", "onsite"]
_NOT_REMOTE: Final = re.compile(
    r"\b(?:not|no|non)[\s-]+(?:a\s+|fully\s+)?remote\b"
    r"|\bremote (?:work )?is not (?:possible|an option)"
)
_PARTLY_REMOTE: Final = re.compile(r"\bpart(?:ial)?ly remote\b")
_HYBRID: Final = re.compile(r"\bhybrid\b")
_OFFICE_DAYS: Final = re.compile(
    r"\b\d\s*(?:-\s*\d\s*)?days?\s+(?:a|per|each)\s+week\s+(?:in|at|from)\s+(?:the\s+|our\s+)?office"
)
_REMOTE: Final = re.compile(
    r"\b(?:fully|100\s*%|completely|entirely|100 percent)\s+remote\b"
    r"|\bremote[\s-]+(?:first|only|friendly|position|role|job|opportunity|work|working|team"
    r"|company|setup|environment|contract)\b"
    r"|\bwork(?:ing)?\s+(?:from\s+(?:home|anywhere)|remotely)\b|\bwfh\b"
    r"|\b(?:this|the) (?:role|position|job) is remote\b"
)
_ONSITE: Final = re.compile(
    r"\b(?:on[\s-]?site|in[\s-]office|office[\s-]based|in[\s-]person)\b"
    r"(?!\s+(?:visits?|meetings?|events?|offsites?))"
)
#: Words near which a work-mode statement can be, with the patterns to try around each. Plain
#: `str.find` locates them (much cheaper than a regex over the whole text); the detailed
#: patterns then run only in a small window around each occurrence.
_HINT_REACH: Final = 40
_HINTS: Final[tuple[tuple[str, tuple[tuple[_Signal, re.Pattern[str]], ...]], ...]] = (
    ("remote", (("not remote", _NOT_REMOTE), ("hybrid", _PARTLY_REMOTE), ("remote", _REMOTE))),
    ("hybrid", (("hybrid", _HYBRID),)),
    ("office", (("hybrid", _OFFICE_DAYS), ("onsite", _ONSITE))),
    ("site", (("onsite", _ONSITE),)),
    ("person", (("onsite", _ONSITE),)),
    ("wfh", (("remote", _REMOTE),)),
    ("from home", (("remote", _REMOTE),)),
    ("from anywhere", (("remote", _REMOTE),)),
)
#: Description signals, strongest first.
_PRECEDENCE: Final[tuple[tuple[_Signal, WorkMode], ...]] = (
    ("not remote", "onsite"), ("hybrid", "hybrid"), ("remote", "remote"), ("onsite", "onsite"),
)  # fmt: skip
_RANK: Final = {signal: rank for rank, (signal, _) in enumerate(_PRECEDENCE)}


class Analyzer(Protocol):
    """Turns a job posting into an `Analysis`; must be safe to call from several threads."""

    def analyze(self, job: JobPosting) -> Analysis:
        """Analyze one job."""
        ...


class RuleAnalyzer:
    """The default analyzer: taxonomy skills, title seniority, work mode, parsed salary."""

    def __init__(self, taxonomy: Taxonomy | None = None) -> None:
        self._taxonomy = taxonomy or load_taxonomy()

    def analyze(self, job: JobPosting) -> Analysis:
        """Analyze `job` from its title, location, remote flag and description."""
        text = f"{job.title}\n{job.description}"
        low, high, currency, period = _salary(job, text)
        return Analysis(
            skills=sorted(self._taxonomy.find(text))[:MAX_SKILLS],
            seniority=detect_seniority(job.title),
            work_mode=detect_work_mode(job),
            salary_min=low,
            salary_max=high,
            salary_currency=currency,
            salary_period=period,
            analyzer=RULES_ANALYZER,
        )


def detect_seniority(title: str) -> Seniority:
    """The seniority a job title states, or "unknown"."""
    lowered = title.lower()
    for level, pattern in _SENIORITY_RULES:
        if pattern.search(lowered):
            return level
    return "unknown"


def detect_work_mode(job: JobPosting) -> WorkMode:
    """Remote, hybrid or on-site, from the title and location, the flag, then the description.

    The headline (title and location) is the most deliberate statement and wins; the source's
    remote flag comes next (made "hybrid" if the description says so); the description last.
    """
    headline = f"{job.title} {job.location}".lower()
    if _HEADLINE_HYBRID.search(headline):
        return "hybrid"
    if _HEADLINE_REMOTE.search(headline):
        return "remote"
    description = job.description.lower()
    if job.remote:
        return "hybrid" if _mode_from_description(description) == "hybrid" else "remote"
    if _HEADLINE_ONSITE.search(headline):
        return "onsite"
    from_text = _mode_from_description(description)
    if from_text == "unknown" and job.remote is False:
        return "onsite"
    return from_text


def _mode_from_description(text: str) -> WorkMode:
    """The strongest signal anywhere: "not remote" > hybrid > remote > on-site."""
    best = len(_PRECEDENCE)
    for word, checks in _HINTS:
        position = text.find(word)
        while position >= 0 and any(_RANK[signal] < best for signal, _ in checks):
            low, high = max(0, position - _HINT_REACH), position + len(word) + _HINT_REACH
            for signal, pattern in checks:
                if _RANK[signal] < best and pattern.search(text, low, high):
                    best = _RANK[signal]  # weaker signals need not be looked for any more
            position = text.find(word, position + 1)
    return _PRECEDENCE[best][1] if best < len(_PRECEDENCE) else "unknown"


def _salary(
    job: JobPosting, text: str
) -> tuple[Decimal | None, Decimal | None, str | None, SalaryPeriod | None]:
    """The source's structured salary if it is usable, else the first salary in the text."""
    low, high = job.salary_min, job.salary_max
    amounts = [a for a in (low, high) if a is not None]
    if amounts and all(a.is_finite() and Decimal(0) <= a <= MAX_SALARY for a in amounts):
        if low is not None and high is not None and low > high:
            low, high = high, low
        currency = (job.salary_currency or "").strip().upper()
        # Sources give no period; the amount's size tells (see `worker.salary`).
        period = period_of(max(amounts))
        return low, high, currency if _ISO_CURRENCY.match(currency) else None, period
    parsed = parse_salary(text)
    if parsed is None:
        return None, None, None, None
    return parsed.minimum, parsed.maximum, parsed.currency, parsed.period
