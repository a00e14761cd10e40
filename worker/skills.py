"""The bundled skill taxonomy (`skills.json`) and a fast matcher over it.

Each skill has a canonical lower-case name, aliases matched case-insensitively, and optional
``exact`` terms matched only with their exact case ("Go", "R", "Swift", "Spark"…): those are
English words or letters in lower case, so a skill that declares exact terms is not matched by
its bare name in lower case. In every term a space or hyphen matches any run of spaces or
hyphens ("react native" finds "React-Native").

All case-insensitive terms are compiled into one regex shaped like a trie (shared prefixes
factored out), so a description is scanned once, in C, whatever the number of terms. The scan
consumes the character before a term instead of testing a lookbehind at every position, so the
regex engine skips ahead to candidate positions (see `Taxonomy._folded_terms`).
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

log = logging.getLogger(__name__)

#: Extra context rules for exact terms that are also common words or letters. Each value is
#: appended after the term: lookaheads for what may not follow, lookbehinds (which include the
#: term itself) for what may not precede.
_GUARDS: Final[dict[str, str]] = {
    "Go": (
        r"(?!\s+(?:to|live|ahead|beyond|further|back|out|above|through|for|get|big|far|deep"
        r"|wrong|the|from|into|over|down|up|off|public|global|fast|faster|there|here)\b)"
        r"(?<!Let's Go)(?<!Let\u2019s Go)"
    ),
    "C": (
        r"(?!\.\w)(?!\s+(?:level|suite)\b)(?<!-C)(?<!Series C)(?<!series C)(?<!Vitamin C)"
        r"(?<!vitamin C)(?<!Type C)"
    ),
    "R": r"(?!\.\w)(?<!-R)(?<!\w\(R)",
}
_AFTER: Final = r"(?!\w)"
_BEFORE: Final = r"(?<![\w.])"
_EXACT_AFTER: Final = r"(?![\w+#&'\u2019-])"
_SEPARATOR_UNIT: Final = r"[\s\-]+"
#: What the fast scan consumes before a term: anything but lower-case ASCII letters, digits, "_"
#: and ".", which `_BEFORE` rejects. An ASCII set is tested with a bitmap, which is what makes
#: the scan fast; it lets other word characters through ("é"), so matches are checked.
_SCAN_START: Final = r"[^a-z0-9_.]"
_WORD_CHAR: Final = re.compile(r"\w")
_WORD: Final = re.compile(r"\w+")


def normalize_term(term: str) -> str:
    """Lower-case `term` and fold runs of spaces and hyphens into one space."""
    return " ".join(term.lower().replace("-", " ").split())


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """The loaded taxonomy: term lookups plus the compiled matchers.

    `folded` is the case-insensitive matcher; `scan` finds the same terms faster, for the texts
    where `_folded_terms` can tell it agrees; `adjacent` lists the two-character strings where
    one folded term can start right where another ends.
    """

    names: frozenset[str]
    categories: dict[str, str]
    terms: dict[str, str]
    exact: dict[str, str]
    folded: re.Pattern[str]
    cased: re.Pattern[str]
    scan: re.Pattern[str]
    adjacent: tuple[str, ...]

    def find(self, text: str) -> set[str]:
        """Canonical names of every skill mentioned in `text`."""
        # A term found as written is usually a key already (keys are normalized, and
        # normalizing is idempotent); only "React-Native" and the like need normalizing.
        terms = self.terms
        found = {
            terms.get(term) or terms[normalize_term(term)]
            for term in self._folded_terms(text.lower())
        }
        found.update(self.exact[m.group()] for m in self.cased.finditer(text))
        return found

    def _folded_terms(self, lowered: str) -> list[str]:
        """Exactly `self.folded.findall(lowered)`, usually found by the faster `scan`.

        `folded` tests its lookbehind at every position of the text; `scan` consumes the
        character before each term instead (group 1), so the engine skips in C to where a term
        can start. Its matches are the same unless that character is a word character (the
        bitmap lets non-ASCII letters through) or a term starts right where the previous one
        ended, with no character left to consume ("c#.net"): then `folded` itself runs.
        """
        # A one-character `in` is a memchr, much cheaper than the two-character search.
        if any(pair[0] in lowered and pair in lowered for pair in self.adjacent):
            return self.folded.findall(lowered)
        pairs = self.scan.findall(" " + lowered)  # the space stands for the start of the text
        if _WORD_CHAR.search("".join([before for before, _ in pairs])):
            return self.folded.findall(lowered)
        return [term for _, term in pairs]

    def canonical(self, term: str) -> str | None:
        """The canonical skill a term names (any alias, any case), or None."""
        return self.terms.get(normalize_term(term))


@dataclass(frozen=True, slots=True)
class WordScan:
    """Finds which of a fixed set of words are whole words of a text, as `\\w+` splits it."""

    words: frozenset[str]
    scan: re.Pattern[str] | None

    @classmethod
    def of(cls, words: Iterable[str]) -> WordScan:
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
        """`self.words & set(re.findall(r"\\w+", lowered))`, without splitting the whole text.

        The scan consumes the character before a word instead of testing a lookbehind at every
        position, so the regex engine skips in C from one candidate to the next. Its class lets
        non-ASCII letters through too; a match after one is not a whole word, so then the text
        is split after all.
        """
        if not self.words:
            return set()
        if self.scan is None:
            return set(_WORD.findall(lowered)).intersection(self.words)
        found = self.scan.findall(" " + lowered)  # the space stands for the start of the text
        if _WORD_CHAR.search("".join([before for before, _ in found])):
            return set(_WORD.findall(lowered)).intersection(self.words)
        return {word for _, word in found}


def trie_alternation(terms: list[str]) -> str:
    """A regex alternation of normalized `terms` (at least one), factored by common prefix.

    Longer terms are tried before their prefixes and every end carries the trailing word
    boundary, so "java" is not found inside "javascript" yet "java" still matches alone.
    Nothing constrains what precedes a term: callers add that.
    """
    root: dict[str, Any] = {}
    for term in terms:
        node = root
        for char in term:
            node = node.setdefault(char, {})
        node[""] = True
    return _emit(root)


def _adjacent_pairs(terms: list[str]) -> tuple[str, ...]:
    """The two-character strings at which one `folded` match can start where another ends.

    The first term must end in a character its successor's `_BEFORE` accepts (not a word
    character or ".") and the second start with one the first's `_AFTER` accepts (not a word
    character): "c#" then ".net".
    """
    ends = {term[-1] for term in terms if not re.match(r"[\w.]", term[-1])}
    starts = {term[0] for term in terms if not _WORD_CHAR.match(term[0])}
    return tuple(sorted(end + start for end in ends for start in starts))


def _emit(root: dict[str, Any]) -> str:
    """The regex of the trie under `root`, built bottom-up with an explicit stack.

    Not recursive: a term thousands of characters long must not exhaust Python's stack.
    """
    emitted: dict[int, str] = {}
    stack: list[tuple[dict[str, Any], bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if not children_done:
            stack.append((node, True))
            stack.extend((child, False) for char, child in node.items() if char)
            continue
        branches = [
            (_SEPARATOR_UNIT if char == " " else re.escape(char)) + emitted.pop(id(child))
            for char, child in sorted(node.items())
            if char
        ]
        if "" in node:
            branches.append(_AFTER)
        emitted[id(node)] = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return emitted[id(root)]


def _cased_regex(exact_terms: list[str]) -> str:
    ordered = sorted(exact_terms, key=lambda t: (-len(t), t))
    # The "starts a word" lookbehind follows the first letter instead of preceding it: when
    # every branch opens with a literal, the regex engine skips ahead to those letters.
    branches = [
        re.escape(t[0])
        + rf"(?<![\w.]{re.escape(t[0])})"
        + re.escape(t[1:])
        + _EXACT_AFTER
        + _GUARDS.get(t, "")
        for t in ordered
    ]
    return "(?:" + "|".join(branches) + ")"


def _register(table: dict[str, str], key: str, name: str) -> None:
    if table.setdefault(key, name) != name:
        raise ValueError(f"skill term {key!r} names both {table[key]!r} and {name!r}")


def build_taxonomy(document: dict[str, Any]) -> Taxonomy:
    """Build a `Taxonomy` from the parsed `skills.json` document."""
    terms: dict[str, str] = {}
    folded: dict[str, str] = {}
    exact: dict[str, str] = {}
    categories: dict[str, str] = {}
    for entry in document["skills"]:
        name = str(entry["name"])
        categories[name] = str(entry["category"])
        aliases = [str(a) for a in entry.get("aliases", [])]
        cased = [str(e) for e in entry.get("exact", [])]
        for term in [name, *aliases, *cased]:
            _register(terms, normalize_term(term), name)
        for term in aliases if cased else [name, *aliases]:
            _register(folded, normalize_term(term), name)
        for term in cased:
            _register(exact, term, name)
    folded_terms = sorted(folded)
    alternation = trie_alternation(folded_terms)
    return Taxonomy(
        names=frozenset(categories),
        categories=categories,
        terms=terms,
        exact=exact,
        folded=re.compile(_BEFORE + alternation),
        cased=re.compile(_cased_regex(sorted(exact))),
        scan=re.compile(f"({_SCAN_START})({alternation})"),
        adjacent=_adjacent_pairs(folded_terms),
    )


@functools.cache
def load_taxonomy() -> Taxonomy:
    """The bundled taxonomy, read and compiled once per process."""
    text = resources.files("worker").joinpath("skills.json").read_text(encoding="utf-8")
    return build_taxonomy(json.loads(text))
