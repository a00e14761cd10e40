"""The bundled skill taxonomy (`skills.json`) and a fast matcher over it.

Each skill has a canonical lower-case name, aliases matched case-insensitively, and optional
``exact`` terms matched only with their exact case ("Go", "R", "Swift", "Spark"…): those are
English words or letters in lower case, so a skill that declares exact terms is not matched by
its bare name in lower case. In every term a space or hyphen matches any run of spaces or
hyphens ("react native" finds "React-Native").

All case-insensitive terms are compiled into one regex shaped like a trie (shared prefixes
factored out), so a description is scanned once, in C, whatever the number of terms.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

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


def normalize_term(term: str) -> str:
    """Lower-case `term` and fold runs of spaces and hyphens into one space."""
    return " ".join(term.lower().replace("-", " ").split())


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """The loaded taxonomy: term lookups plus the two compiled matchers."""

    names: frozenset[str]
    categories: dict[str, str]
    terms: dict[str, str]
    exact: dict[str, str]
    folded: re.Pattern[str]
    cased: re.Pattern[str]

    def find(self, text: str) -> set[str]:
        """Canonical names of every skill mentioned in `text`."""
        found = {self.terms[normalize_term(m.group())] for m in self.folded.finditer(text.lower())}
        found.update(self.exact[m.group()] for m in self.cased.finditer(text))
        return found

    def canonical(self, term: str) -> str | None:
        """The canonical skill a term names (any alias, any case), or None."""
        return self.terms.get(normalize_term(term))


def trie_regex(terms: list[str]) -> str:
    """A regex alternation of normalized `terms`, factored by common prefix.

    Longer terms are tried before their prefixes and every end carries the trailing word
    boundary, so "java" is not found inside "javascript" yet "java" still matches alone.
    """
    root: dict[str, Any] = {}
    for term in terms:
        node = root
        for char in term:
            node = node.setdefault(char, {})
        node[""] = True
    return _BEFORE + _emit(root)


def _emit(node: dict[str, Any]) -> str:
    branches = [
        (_SEPARATOR_UNIT if char == " " else re.escape(char)) + _emit(child)
        for char, child in sorted(node.items())
        if char
    ]
    if "" in node:
        branches.append(_AFTER)
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


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
    return Taxonomy(
        names=frozenset(categories),
        categories=categories,
        terms=terms,
        exact=exact,
        folded=re.compile(trie_regex(sorted(folded))),
        cased=re.compile(_cased_regex(sorted(exact))),
    )


@functools.cache
def load_taxonomy() -> Taxonomy:
    """The bundled taxonomy, read and compiled once per process."""
    text = resources.files("worker").joinpath("skills.json").read_text(encoding="utf-8")
    return build_taxonomy(json.loads(text))
