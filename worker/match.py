"""Step 3 of the pipeline: which saved searches a job matches, how well, and why.

The rules and the score are `worker.criteria`'s. `SearchIndex` keeps the searches indexed by
keyword, skill and hard filter, so `match(job, analysis)` costs one pass over the job's text
plus work proportional to the searches it could match, not to all searches. The index changes
in place: `apply` adds, replaces and removes searches at a cost proportional to what changed,
while other threads keep matching (a read-write lock keeps each match consistent).

Searches over the limits of `worker.model` (which the database enforces where searches are
written) are skipped with a log line, as is any search whose indexing fails: one bad search
never costs the others their matches.
"""

from __future__ import annotations

import logging
import operator
import re
import threading
import uuid
from collections.abc import Iterable
from typing import Any, Final, Literal

from worker.criteria import REMOTE_LOCATIONS, JobFacts, Place, Prepared, evaluate, prepare
from worker.model import Analysis, JobPosting, Match, SavedSearch, over_limits
from worker.skills import Taxonomy, load_taxonomy
from worker.skills import WordScan as _WordScan

log = logging.getLogger(__name__)

_WORD: Final = re.compile(r"\w+")
#: New words are scanned by a second, small scan until there are this many (or a quarter of
#: the main scan's): then both are compiled into one, a cost spread over that many additions.
_MERGE_AT: Final = 256
_EMPTY: Final[frozenset[int]] = frozenset()
_BY_ID: Final = operator.attrgetter("saved_search_id.int")
_BY_SCORE: Final = operator.attrgetter("score")

Kind = Literal["skill", "word", "phrase", "none"]


class _ReadWriteLock:
    """Any number of readers, or one writer; a waiting writer holds new readers back."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    def acquire_read(self) -> None:
        with self._cond:
            while self._writing or self._writers_waiting:
                self._cond.wait()
            self._readers += 1

    def release_read(self) -> None:
        with self._cond:
            self._readers -= 1
            if not self._readers:
                self._cond.notify_all()

    def acquire_write(self) -> None:
        with self._cond:
            self._writers_waiting += 1
            while self._writing or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writing = True

    def release_write(self) -> None:
        with self._cond:
            self._writing = False
            self._cond.notify_all()


class SearchIndex:
    """Saved searches indexed by keyword, skill and hard filter; updated in place.

    Each indexed search has a slot (an int, so set operations stay in C): postings map a
    keyword to the slots of the searches that list it, and each hard filter is a set of slots.
    """

    def __init__(self, searches: Iterable[SavedSearch] = (), taxonomy: Taxonomy | None = None):
        self._taxonomy = taxonomy or load_taxonomy()
        self._lock = _ReadWriteLock()
        self._slots: dict[uuid.UUID, int] = {}
        self._searches: dict[int, Prepared] = {}
        self._rejected: dict[uuid.UUID, SavedSearch] = {}  # skipped, as last seen
        self._next_slot = 0
        #: Searches added, replaced or removed so far (unchanged ones given again not counted).
        self.changes_applied = 0
        # Keywords: how each is found, and which searches list it.
        self._entries: dict[str, tuple[Kind, str, re.Pattern[str] | None]] = {}
        self._postings: dict[str, set[int]] = {}
        self._skill_keywords: dict[str, set[str]] = {}
        self._single_words: dict[str, set[str]] = {}
        self._phrases: dict[str, dict[str, re.Pattern[str]]] = {}
        self._scans = (_WordScan.of(()), _WordScan.of(()))  # (main, recent additions)
        self._recent_words: set[str] = set()  # words to scan for that the main scan lacks
        self._scan_stale = False
        # Hard filters.
        self._keywordless: set[int] = set()
        self._remote_only: set[int] = set()
        self._any_seniority: set[int] = set()
        self._by_seniority: dict[str, set[int]] = {}
        self._any_location: set[int] = set()
        self._by_location: dict[str, set[int]] = {}
        self._remote_location: set[int] = set()
        self.apply(searches)

    @classmethod
    def build(
        cls, searches: Iterable[SavedSearch], taxonomy: Taxonomy | None = None
    ) -> SearchIndex:
        """Index `searches` (the taxonomy decides which keywords are skills)."""
        return cls(searches, taxonomy)

    def __len__(self) -> int:
        return len(self._searches)

    def apply(self, upserts: Iterable[SavedSearch] = (), removals: Iterable[uuid.UUID] = ()) -> int:
        """Remove the searches `removals` names, then add or replace `upserts` (by id).

        A search given again unchanged costs a comparison. A changed one that cannot be
        indexed replaces its old version by nothing (logged). Returns how many searches were
        added, replaced or removed.
        """
        self._lock.acquire_write()
        try:
            changed = sum(self._remove(search_id) for search_id in removals)
            changed += sum(self._upsert(search) for search in upserts)
            if self._scan_stale:
                self._rescan()
            self.changes_applied += changed
            return changed
        finally:
            self._lock.release_write()

    def retain(self, keep: set[uuid.UUID]) -> int:
        """Remove every search whose id is not in `keep`; returns how many."""
        self._lock.acquire_read()
        try:
            gone = [i for i in [*self._slots, *self._rejected] if i not in keep]
        finally:
            self._lock.release_read()
        return self.apply(removals=gone)

    def match(self, job: JobPosting, analysis: Analysis) -> list[Match]:
        """Every search `job` passes, best score first (ties by search id)."""
        self._lock.acquire_read()
        try:
            hits = self._keyword_hits(job, analysis)
            by_slot: dict[int, dict[str, Place]] = {}
            for keyword, place in hits.items():
                for slot in self._postings.get(keyword, _EMPTY):
                    by_slot.setdefault(slot, {})[keyword] = place
            candidates = self._filter(self._keywordless.union(by_slot), job, analysis)
            facts = JobFacts.of(job.location, analysis)
            searches = self._searches
            matches = [
                found
                for slot in candidates
                if (found := evaluate(searches[slot], facts, by_slot.get(slot, {})))
            ]
        finally:
            self._lock.release_read()
        # Best score first, ties by id: two sorts with keys read in C (the second is stable).
        matches.sort(key=_BY_ID)
        matches.sort(key=_BY_SCORE, reverse=True)
        return matches

    # -- changes (under the write lock) ------------------------------------------------------

    def _upsert(self, search: SavedSearch) -> bool:
        slot = self._slots.get(search.id)
        if slot is not None and self._searches[slot].search == search:
            return False
        if self._rejected.get(search.id) == search:
            return False
        removed = self._remove(search.id)
        prepared = self._prepared(search)
        if prepared is None:
            self._rejected[search.id] = search
            return removed
        self._add(prepared)
        return True

    def _prepared(self, search: SavedSearch) -> Prepared | None:
        """`search` normalized, its new keywords registered; None (logged) if it is skipped.

        Every byte of a saved search is hostile: one over the limits, or one whose indexing
        fails in any way, is left out, and the index holds every other search.
        """
        try:
            if problem := over_limits(search):
                raise ValueError(problem)
            prepared = prepare(search)
            added = {k: self._keyword_entry(k) for k in prepared.keywords if k not in self._entries}
        except Exception as error:  # a bad search costs that search only
            log.warning(
                "saved search skipped: %s",
                str(error)[:200],
                extra={"saved_search_id": str(search.id), "error_type": type(error).__name__},
            )
            return None
        for keyword, entry in added.items():
            self._register(keyword, entry)
        return prepared

    def _add(self, prepared: Prepared) -> None:
        slot = self._next_slot
        self._next_slot += 1
        self._slots[prepared.search.id] = slot
        self._searches[slot] = prepared
        for keyword in prepared.keywords:
            self._postings.setdefault(keyword, set()).add(slot)
        if not prepared.keywords:
            self._keywordless.add(slot)
        if prepared.search.remote_only:
            self._remote_only.add(slot)
        _file(slot, prepared.seniority, self._any_seniority, self._by_seniority)
        _file(slot, prepared.locations, self._any_location, self._by_location)
        if REMOTE_LOCATIONS.intersection(prepared.locations):
            self._remote_location.add(slot)

    def _remove(self, search_id: uuid.UUID) -> bool:
        if self._rejected.pop(search_id, None) is not None:
            return True
        slot = self._slots.pop(search_id, None)
        if slot is None:
            return False
        prepared = self._searches.pop(slot)
        for keyword in prepared.keywords:
            postings = self._postings[keyword]
            postings.discard(slot)
            if not postings:
                del self._postings[keyword]
                self._unregister(keyword)
        for filtered in (self._keywordless, self._remote_only, self._remote_location):
            filtered.discard(slot)
        _unfile(slot, prepared.seniority, self._any_seniority, self._by_seniority)
        _unfile(slot, prepared.locations, self._any_location, self._by_location)
        return True

    def _keyword_entry(self, keyword: str) -> tuple[Kind, str, re.Pattern[str] | None]:
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

    def _register(self, keyword: str, entry: tuple[Kind, str, re.Pattern[str] | None]) -> None:
        self._entries[keyword] = entry
        kind, key, pattern = entry
        if kind == "skill":
            self._skill_keywords.setdefault(key, set()).add(keyword)
        elif kind == "word":
            self._single_words.setdefault(key, set()).add(keyword)
        elif kind == "phrase" and pattern is not None:
            self._phrases.setdefault(key, {})[keyword] = pattern
        if kind in ("word", "phrase") and key not in self._scans[0].words:
            self._scan_stale |= key not in self._recent_words
            self._recent_words.add(key)

    def _unregister(self, keyword: str) -> None:
        # The scans keep the word until they are next compiled: a word nobody lists any more
        # is found and then ignored (what it hits is looked up in the tables below).
        kind, key, _ = self._entries.pop(keyword)
        if kind == "phrase":
            _drop(self._phrases, key, keyword)
        elif kind == "word":
            _drop(self._single_words, key, keyword)
        elif kind == "skill":
            _drop(self._skill_keywords, key, keyword)

    def _rescan(self) -> None:
        """Compile the small scan of recent words again, or merge it into the main one.

        The small scan costs time proportional to the recent words; merging, proportional to
        all words, happens once per `_MERGE_AT` (or a quarter of all) new words.
        """
        main, _ = self._scans
        words, phrases = self._single_words, self._phrases
        recent = {word for word in self._recent_words if word in words or word in phrases}
        if len(recent) >= max(_MERGE_AT, len(main.words) // 4):
            self._scans = (_WordScan.of(words.keys() | phrases.keys()), _WordScan.of(()))
            recent = set()
        else:
            self._scans = (main, _WordScan.of(recent))
        self._recent_words = recent
        self._scan_stale = False

    # -- matching (under the read lock) ------------------------------------------------------

    def _filter(self, candidates: set[int], job: JobPosting, analysis: Analysis) -> set[int]:
        """Drop candidates that fail remote-only, seniority or location."""
        if analysis.work_mode != "remote":
            candidates -= self._remote_only
        if analysis.seniority != "unknown":
            level = self._by_seniority.get(analysis.seniority, _EMPTY)
            candidates = (candidates & self._any_seniority) | (candidates & level)
        located = candidates & self._any_location
        where = job.location.lower()
        for location, slots in self._by_location.items():
            if location in where:
                located |= candidates & slots
        if analysis.work_mode == "remote":
            located |= candidates & self._remote_location
        return located

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
        main, recent = self._scans
        present = main.present(lowered) | recent.present(lowered)
        for word in present.intersection(self._single_words):
            for keyword in self._single_words[word]:
                hits.setdefault(keyword, place)
        for word in present.intersection(self._phrases):
            for keyword, phrase in self._phrases[word].items():
                if keyword not in hits and phrase.search(lowered):
                    hits[keyword] = place


def _file(slot: int, values: Iterable[str], anyone: set[int], by: dict[str, set[int]]) -> None:
    """File `slot` under each of `values`, or under `anyone` when there are none."""
    empty = True
    for value in values:
        by.setdefault(value, set()).add(slot)
        empty = False
    if empty:
        anyone.add(slot)


def _drop(table: dict[str, Any], key: str, keyword: str) -> None:
    """Remove `keyword` from `table[key]` (a set or a dict), and the key once it is empty."""
    keywords = table[key]
    if isinstance(keywords, dict):
        del keywords[keyword]
    else:
        keywords.discard(keyword)
    if not keywords:
        del table[key]


def _unfile(slot: int, values: Iterable[str], anyone: set[int], by: dict[str, set[int]]) -> None:
    anyone.discard(slot)
    for value in values:
        slots = by[value]
        slots.discard(slot)
        if not slots:
            del by[value]


def _phrase_pattern(words: list[str]) -> re.Pattern[str]:
    """Matches `words` as consecutive whole words of a lower-case text, as `_WORD` splits it.

    The "starts a word" lookbehind follows the first word instead of preceding it, so the
    pattern opens with a literal, which the regex engine searches for quickly.
    """
    first = re.escape(words[0])
    rest = "".join(rf"\W+{re.escape(word)}" for word in words[1:])
    return re.compile(rf"{first}(?<!\w{first}){rest}(?!\w)")
