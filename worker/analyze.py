"""Step 2 of the pipeline: what a job asks for (skills, seniority, work mode, salary).

`RuleAnalyzer` is the default: deterministic and without network calls, so it is cheap enough
to run on every job. Every regex is compiled once at import; skills come from one scan with the
taxonomy's combined regex (see `worker.skills`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final, Protocol

from jobping import workmode
from jobping.vocabulary import MAX_SALARY, SalaryPeriod, WorkMode
from worker.model import MAX_SKILLS, Analysis, JobPosting, Seniority
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
        """Analyze `job` from its title, location, work mode, remote flag and description."""
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
    """Remote, hybrid or on-site: the board's structured value first, then the text.

    The order and every word list are `jobping.workmode`'s, the scanner's too.
    """
    return workmode.decide(
        job.work_mode,
        title=job.title,
        location=job.location,
        description=job.description,
        remote=job.remote,
    )


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
