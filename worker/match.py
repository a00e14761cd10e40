"""Step 3 of the pipeline: which saved searches a job matches, how well, and why.

`SearchIndex.build(searches)` does the per-search work once; `match(job, analysis)` then costs
one pass over the job's text plus work proportional to the searches it could match, not to
all searches. Rules:

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

Searches over the limits of `worker.model` (which the database enforces where searches are
written) are skipped with a log line when the index is built, as is any search whose indexing
fails: one bad search never costs the others their matches.

Score: the weighted mean over the criteria the search sets (keywords 0.5, locations 0.15,
minimum salary 0.15, remote only 0.1, seniority 0.1), each valued 0..1: keywords
0.6 x strength of the best hit (title 1, skill 0.8, description 0.5) + 0.4 x share of the
search's keywords that hit; a salary or seniority that could not be checked 0.25 or 0.5;
every other criterion that passed 1. A search with no criteria at all scores 0.5.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from worker.model import Analysis, JobPosting, Match, SavedSearch, over_limits
from worker.skills import Taxonomy, load_taxonomy, trie_alternation

log = logging.getLogger(__name__)

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

_WORD: Final = re.compile(r"\w+")
_WORD_CHAR: Final = re.compile(r"\w")


def normalize_keyword(keyword: str) -> str:
    """Lower case, single spaces: how keywords are compared and shown in reasons."""
    return " ".join(keyword.lower().split())


@dataclass(frozen=True, slots=True)
class _Search:
    """A saved search with its inputs normalized once, at build time."""

    search: SavedSearch
    keywords: tuple[str, ...]
    locations: tuple[str, ...]
    seniority: frozenset[str]
    currency: str | None


@dataclass(frozen=True, slots=True)
class _WordScan:
    """Finds which of a fixed set of words are whole words of a text, as `_WORD` splits it."""

    words: frozenset[str]
    scan: re.Pattern[str] | None

    @classmethod
    def of(cls, words: Iterable[str]) -> _WordScan:
        """A scan for `words` (lower-case runs of word characters)."""
        vocabulary = frozenset(words)
        alternation = trie_alternation(sorted(vocabulary)) if vocabulary else "(?!)"  # no match
        try:
            # Group 1 is the character before the word: any but lower-case ASCII word characters.
            scan = re.compile(f"([^a-z0-9_])({alternation})")
        except (RecursionError, re.error, OverflowError) as error:
            # The regex nests one group per character of the longest word; the search limits
            # keep that far below the limit, but if it fails, splitting gives the same answer.
            log.error("keyword scan not compiled; splitting texts instead: %r", error)
            scan = None
        return cls(vocabulary, scan)

    def present(self, lowered: str) -> set[str]:
        """`self.words & set(_WORD.findall(lowered))`, without splitting the whole text.

        The scan consumes the character before a word instead of testing a lookbehind at every
        position, so the regex engine skips in C from one candidate to the next. Its class lets
        non-ASCII letters through too; a match after one is not a whole word, so then the text
        is split after all.
        """
        if self.scan is None:
            return set(_WORD.findall(lowered)).intersection(self.words)
        found = self.scan.findall(" " + lowered)  # the space stands for the start of the text
        if _WORD_CHAR.search("".join([before for before, _ in found])):
            return set(_WORD.findall(lowered)).intersection(self.words)
        return {word for _, word in found}


@dataclass(frozen=True, slots=True)
class _JobFacts:
    """What every search is judged on, computed once per job."""

    analysis: Analysis
    location: str
    annual_salary: Decimal | None


class SearchIndex:
    """Saved searches indexed by keyword, skill and hard filter; build once, match many jobs."""

    def __init__(self, searches: Sequence[SavedSearch], taxonomy: Taxonomy) -> None:
        self._taxonomy = taxonomy
        self._searches: list[_Search] = []
        self._postings: dict[str, list[int]] = defaultdict(list)
        self._skill_keywords: dict[str, list[str]] = defaultdict(list)
        self._single_words: dict[str, list[str]] = defaultdict(list)
        self._phrases: dict[str, list[tuple[str, re.Pattern[str]]]] = defaultdict(list)
        keywordless: set[int] = set()
        for search in searches:
            if (prepared := self._add_search(search)) is None:
                continue
            position = len(self._searches)
            self._searches.append(prepared)
            for keyword in prepared.keywords:
                self._postings[keyword].append(position)
            if not prepared.keywords:
                keywordless.add(position)
        # Plain dicts from here on: matching only reads, from any number of threads.
        self._postings = dict(self._postings)
        self._skill_keywords = dict(self._skill_keywords)
        self._single_words = dict(self._single_words)
        self._phrases = dict(self._phrases)
        self._words = _WordScan.of([*self._single_words, *self._phrases])
        self._keywordless = frozenset(keywordless)
        self._build_filters()

    def _build_filters(self) -> None:
        """Sets of search positions per hard-filter value, so filters cost set operations."""
        numbered = list(enumerate(self._searches))
        self._remote_only = frozenset(i for i, p in numbered if p.search.remote_only)
        self._any_seniority = frozenset(i for i, p in numbered if not p.seniority)
        self._seniority_ok = {
            level: self._any_seniority | {i for i, p in numbered if level in p.seniority}
            for level in {level for _, p in numbered for level in p.seniority}
        }
        self._any_location = frozenset(i for i, p in numbered if not p.locations)
        by_location: dict[str, set[int]] = defaultdict(set)
        for i, p in numbered:
            for location in p.locations:
                by_location[location].add(i)
        self._by_location = {loc: frozenset(ids) for loc, ids in by_location.items()}
        self._remote_location = frozenset(
            i for i, p in numbered if REMOTE_LOCATIONS.intersection(p.locations)
        )

    def _filter(self, candidates: set[int], job: JobPosting, analysis: Analysis) -> set[int]:
        """Drop candidates that fail remote-only, seniority or location."""
        if analysis.work_mode != "remote":
            candidates -= self._remote_only
        if analysis.seniority != "unknown":
            candidates &= self._seniority_ok.get(analysis.seniority, self._any_seniority)
        located = candidates & self._any_location
        where = job.location.lower()
        for location, positions in self._by_location.items():
            if location in where:
                located |= candidates & positions
        if analysis.work_mode == "remote":
            located |= candidates & self._remote_location
        return located

    @classmethod
    def build(
        cls, searches: Sequence[SavedSearch], taxonomy: Taxonomy | None = None
    ) -> SearchIndex:
        """Index `searches` (the taxonomy decides which keywords are skills)."""
        return cls(searches, taxonomy or load_taxonomy())

    def __len__(self) -> int:
        return len(self._searches)

    def match(self, job: JobPosting, analysis: Analysis) -> list[Match]:
        """Every search `job` passes, best score first (ties by search id)."""
        hits = self._keyword_hits(job, analysis)
        by_search: dict[int, dict[str, Place]] = defaultdict(dict)
        for keyword, place in hits.items():
            for position in self._postings[keyword]:
                by_search[position][keyword] = place
        candidates = self._filter(set(self._keywordless.union(by_search)), job, analysis)
        facts = _JobFacts(analysis, job.location.lower(), _annual(analysis))
        matches = [
            found
            for position in candidates
            if (found := _evaluate(self._searches[position], facts, by_search.get(position, {})))
        ]
        matches.sort(key=lambda m: (-m.score, m.saved_search_id.int))
        return matches

    def _add_search(self, search: SavedSearch) -> _Search | None:
        """Prepare `search` and index its new keywords; None (logged) if it is skipped.

        Every byte of a saved search is hostile: one over the limits, or one whose indexing
        fails in any way, is left out, and the index holds every other search.
        """
        try:
            if problem := over_limits(search):
                raise ValueError(problem)
            prepared = _prepare(search)
            new = [k for k in prepared.keywords if k not in self._postings]
            added = [(keyword, self._keyword_entry(keyword)) for keyword in new]
        except Exception as error:  # a bad search costs that search only
            log.warning(
                "saved search skipped: %s",
                str(error)[:200],
                extra={"saved_search_id": str(search.id), "error_type": type(error).__name__},
            )
            return None
        for keyword, (kind, key, pattern) in added:
            if kind == "skill":
                self._skill_keywords[key].append(keyword)
            elif kind == "word":
                self._single_words[key].append(keyword)
            elif kind == "phrase" and pattern is not None:
                self._phrases[key].append((keyword, pattern))
        return prepared

    def _keyword_entry(self, keyword: str) -> tuple[str, str, re.Pattern[str] | None]:
        """How `keyword` is found: a skill, a single word or a phrase (or never: "none")."""
        skill = self._taxonomy.canonical(keyword)
        words = _WORD.findall(keyword)
        if skill is not None:
            return "skill", skill, None
        if len(words) == 1:
            return "word", words[0], None
        if words:
            return "phrase", words[0], _phrase_pattern(words)
        # A keyword without any word characters (and not a skill) can never hit.
        return "none", "", None

    def _keyword_hits(self, job: JobPosting, analysis: Analysis) -> dict[str, Place]:
        hits: dict[str, Place] = {}
        if self._skill_keywords:
            in_title = self._taxonomy.find(job.title)
            for skill in in_title.union(analysis.skills).intersection(self._skill_keywords):
                place: Place = "title" if skill in in_title else "skill"
                hits.update(dict.fromkeys(self._skill_keywords[skill], place))
        if self._single_words or self._phrases:
            self._word_hits(job.title, "title", hits)
            self._word_hits(job.description, "description", hits)
        return hits

    def _word_hits(self, text: str, place: Place, hits: dict[str, Place]) -> None:
        lowered = text.lower()
        present = self._words.present(lowered)
        for word in present.intersection(self._single_words):
            for keyword in self._single_words[word]:
                hits.setdefault(keyword, place)
        for word in present.intersection(self._phrases):
            for keyword, phrase in self._phrases[word]:
                if keyword not in hits and phrase.search(lowered):
                    hits[keyword] = place


def _phrase_pattern(words: list[str]) -> re.Pattern[str]:
    """Matches `words` as consecutive whole words of a lower-case text, as `_WORD` splits it.

    The "starts a word" lookbehind follows the first word instead of preceding it, so the
    pattern opens with a literal, which the regex engine searches for quickly.
    """
    first = re.escape(words[0])
    rest = "".join(rf"\W+{re.escape(word)}" for word in words[1:])
    return re.compile(rf"{first}(?<!\w{first}){rest}(?!\w)")


def _prepare(search: SavedSearch) -> _Search:
    keywords = dict.fromkeys(k for k in map(normalize_keyword, search.keywords) if k)
    locations = dict.fromkeys(loc for loc in map(normalize_keyword, search.locations) if loc)
    seniority = frozenset(s.strip().lower() for s in search.seniority if s.strip())
    currency = (search.salary_currency or "").strip().upper() or None
    return _Search(search, tuple(keywords), tuple(locations), seniority, currency)


def _annual(analysis: Analysis) -> Decimal | None:
    amount = analysis.salary_max if analysis.salary_max is not None else analysis.salary_min
    if amount is None:
        return None
    return amount * ANNUAL_FACTOR[analysis.salary_period or "year"]


def _evaluate(search: _Search, facts: _JobFacts, hits: dict[str, Place]) -> Match | None:
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


def _location(search: _Search, facts: _JobFacts) -> str | None:
    remote = facts.analysis.work_mode == "remote"
    for location in search.locations:
        if location in facts.location or (remote and location in REMOTE_LOCATIONS):
            return location
    return None


def _salary(minimum: Decimal, wanted: str | None, facts: _JobFacts) -> tuple[float, str] | None:
    """(value, reason) for the minimum-salary criterion; None when the job pays too little."""
    offered = facts.analysis.salary_currency
    if facts.annual_salary is None:
        return UNCHECKED_SALARY, "salary not stated"
    if wanted is not None and wanted != offered:
        return UNCHECKED_SALARY, f"salary in {offered or 'unknown currency'}"
    if facts.annual_salary < minimum:
        return None
    return 1.0, f"salary ≥ {minimum:f} {wanted or offered or ''}".rstrip()
