"""HTML to plain text with the standard library's parser: safe on any input, never raises.

Script, style and other non-content elements are dropped with everything inside them; block
elements (paragraphs, headings, list items, table rows, `<br>`) become line breaks, list items
start with "- ", entities are decoded and runs of spaces collapse. The output is bounded.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Final

#: Longest description kept, in characters.
MAX_TEXT_CHARS: Final = 20_000

_DROP: Final = frozenset(
    {"script", "style", "noscript", "template", "head", "title", "iframe", "object", "svg",
     "math", "select", "textarea", "button"}
)  # fmt: skip
_BLOCK: Final = frozenset(
    {"p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "blockquote",
     "pre", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "dt", "dd", "table", "tr",
     "thead", "tbody", "tfoot", "hr", "address", "figure", "figcaption", "details", "summary",
     "form", "fieldset"}
)  # fmt: skip
_PARAGRAPH: Final = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"})
#: Markup of a dropped element that survived as text (it was escaped once too often).
_DROPPED_NAMES: Final = "|".join(sorted(_DROP))
_DROPPED_TAG: Final = re.compile(rf"<\s*/?\s*(?:{_DROPPED_NAMES})(?![a-z0-9-])", re.IGNORECASE)
_DROPPED_PREFIX: Final = re.compile(rf"<\s*/?\s*(?:{_DROPPED_NAMES})", re.IGNORECASE)
_MAX_ROUNDS: Final = 3
_MAX_INPUT_CHARS: Final = 2_000_000
_SPACES: Final = re.compile(r"[ \t\f\v\u00a0\u200b\r]+")
_BLANK_LINES: Final = re.compile(r"\n{3,}")


class _TextCollector(HTMLParser):
    """Collects text and layout breaks; counts how deep it is inside dropped elements."""

    def __init__(self, limit: int, *, keep_newlines: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self._keep_newlines = keep_newlines
        self._parts: list[str] = []
        self._size = 0
        self._limit = limit
        self._dropping: list[str] = []
        self._newlines = 0

    @property
    def full(self) -> bool:
        return self._size > self._limit

    def text(self) -> str:
        return "".join(self._parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP:
            self._dropping.append(tag)
        elif self._dropping:
            return
        elif tag == "li":
            self._break(1)
            self._emit("- ")
        elif tag in ("td", "th"):
            self._emit(" ")
        elif tag in _PARAGRAPH:
            self._break(2)
        elif tag in _BLOCK or tag == "br":
            self._break(1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._dropping and (tag in _BLOCK or tag == "br"):
            self._break(1)

    def handle_endtag(self, tag: str) -> None:
        if self._dropping:
            if tag in self._dropping:  # closes it, and any unclosed element inside it
                del self._dropping[len(self._dropping) - 1 - self._dropping[::-1].index(tag) :]
            return
        if tag in _PARAGRAPH:
            self._break(2)
        elif tag in _BLOCK or tag == "li":
            self._break(1)

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self._emit(data if self._keep_newlines else data.replace("\n", " "))

    def _emit(self, text: str) -> None:
        if text and not self.full:
            self._parts.append(text)
            self._size += len(text)
            stripped = text.rstrip("\n")
            if stripped.strip(" "):
                self._newlines = len(text) - len(stripped)
            else:
                self._newlines += len(text) - len(stripped)

    def _break(self, lines: int) -> None:
        """End the current line, leaving `lines` - 1 blank lines (never more than asked)."""
        if self._parts and self._newlines < lines:
            self._emit("\n" * (lines - self._newlines))


def html_to_text(markup: str, *, limit: int = MAX_TEXT_CHARS) -> str:
    """Plain text of an HTML fragment: readable lines, no markup, at most `limit` characters.

    Args:
        markup: HTML (entities are decoded; pass Greenhouse's escaped content through
            `unescape_html` first).
        limit: the longest result, in characters; longer text is cut at a word and ends "…".
    """
    text = _extract(markup[:_MAX_INPUT_CHARS], limit)
    rounds = 1
    # Escaped markup decodes to text that looks like tags; parse it again as markup so a
    # double-escaped <script> is dropped too, and defuse whatever is left after that.
    while _DROPPED_TAG.search(text) and rounds < _MAX_ROUNDS:
        text = _extract(text, limit, keep_newlines=True)
        rounds += 1
    text = _DROPPED_PREFIX.sub(lambda match: "\u2039" + match.group(0)[1:], text)
    return _tidy(text, limit)


def _extract(markup: str, limit: int, *, keep_newlines: bool = False) -> str:
    collector = _TextCollector(limit, keep_newlines=keep_newlines)
    collector.feed(markup)
    collector.close()
    return collector.text()


def unescape_html(escaped: str) -> str:
    """HTML that was delivered HTML-escaped (`&lt;p&gt;`, as Greenhouse does) made markup again."""
    return html.unescape(escaped)


def tidy_text(text: str, *, limit: int = MAX_TEXT_CHARS) -> str:
    """Plain text with collapsed spaces, at most one blank line in a row, and bounded length."""
    return _tidy(text.replace("\r\n", "\n"), limit)


def _tidy(text: str, limit: int) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    joined = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    if len(joined) <= limit:
        return joined
    cut = joined[: max(limit - 1, 0)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"
