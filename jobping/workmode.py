"""Work mode: how "is this job remote" is decided, the same way by the scanner and the worker.

A job's work mode (`jobping.vocabulary.WorkMode`: ``remote``, ``hybrid``, ``onsite`` or
``unknown``) is decided, in order:

1. from the board's structured value (Ashby's and Lever's `workplaceType`, a Greenhouse
   "Workplace type" custom field, JobPing's `work_mode`), read with `from_board` by the scanner
   and stored in `jobs.work_mode`;
2. from the headline (title and location), read with `from_headline`: hybrid > remote > onsite;
3. from the source's legacy remote flag and the description (`from_description`).

`decide` is that order in one function; the worker calls it, the scanner uses steps 1 and 2.
Every word list lives here and nowhere else.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from jobping.vocabulary import WorkMode

#: Structured values boards use, compared with everything but letters removed, lower case.
_BOARD_VALUES: Final[dict[str, WorkMode]] = {
    "remote": "remote", "fullyremote": "remote", "remoteonly": "remote",
    "hybrid": "hybrid",
    "onsite": "onsite", "inoffice": "onsite", "office": "onsite", "inperson": "onsite",
}  # fmt: skip

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


def from_board(value: object) -> WorkMode:
    """A board's structured workplace value ("Remote", "OnSite", "on-site", "Hybrid") as a mode.

    Anything else ("unspecified", null, a number) is "unknown"; a stored mode maps to itself.
    """
    if not isinstance(value, str) or len(value) > 40:
        return "unknown"
    return _BOARD_VALUES.get(re.sub(r"[^a-z]", "", value.lower()), "unknown")


def from_headline(*texts: str) -> WorkMode:
    """The mode a title, location or tag states: hybrid > remote > onsite, else "unknown".

    "Hybrid (remote 2 days)" is hybrid; "Distributed Systems Engineer" says nothing.
    """
    headline = " ".join(texts).lower()
    if _HEADLINE_HYBRID.search(headline):
        return "hybrid"
    if _HEADLINE_REMOTE.search(headline):
        return "remote"
    if _HEADLINE_ONSITE.search(headline):
        return "onsite"
    return "unknown"


def from_description(text: str) -> WorkMode:
    """The strongest signal anywhere in `text`: "not remote" > hybrid > remote > on-site."""
    text = text.lower()
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


def remote_flag(mode: WorkMode) -> bool | None:
    """The legacy `jobs.remote` flag of a mode: hybrid and on-site are not remote."""
    return None if mode == "unknown" else mode == "remote"


def decide(
    board: WorkMode,
    *,
    title: str,
    location: str,
    description: str,
    remote: bool | None = None,
) -> WorkMode:
    """The job's work mode: the board's value, else headline, remote flag and description.

    The board's structured value is the most deliberate statement and wins. The headline comes
    next (hybrid or remote there decide); then the source's remote flag (made "hybrid" if the
    description says so); then an on-site headline; the description last. A job flagged
    not-remote that says nothing else is on-site.
    """
    if board != "unknown":
        return board
    headline = from_headline(title, location)
    if headline in ("hybrid", "remote"):
        return headline
    in_text = from_description(description)
    if remote:
        return "hybrid" if in_text == "hybrid" else "remote"
    if headline == "onsite":
        return "onsite"
    if in_text == "unknown" and remote is False:
        return "onsite"
    return in_text
