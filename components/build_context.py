"""The Docker build context as a build sees it: `.dockerignore` rules and the files they leave.

Docker's rules, implemented here as moby's code applies them (https://docs.docker.com/build/concepts/context/#dockerignore-files):
- the file is read like `moby/patternmatcher/ignorefile.ReadAll`: `#` comment lines and blank
  lines are skipped, each pattern is trimmed and `filepath.Clean`ed, and a leading `/` is dropped;
- a pattern matches like Go's `filepath.Match` (`*` and `?` never cross `/`, `[...]` classes,
  `\\` escapes), plus `**` for any number of directories (`moby/patternmatcher.Pattern.compile`);
- a pattern that matches a directory matches everything under it, the last matching pattern
  wins, and `!pattern` re-includes (`PatternMatcher.MatchesUsingParentResults`, the way
  BuildKit's `tonistiigi/fsutil` filter walks a context);
- `<Dockerfile>.dockerignore` takes precedence over `<context>/.dockerignore`.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Characters Go's `filepath.Match` treats literally but a regular expression would not.
_ESCAPED = set(".+()|{}$")
#: fsutil's `patternChars`: a `!` rule holding one of these disables directory pruning.
_GLOB_CHARS = set("*[]?^\\")


def go_clean(path: str) -> str:
    """Go's `filepath.Clean` for `/`-separated paths (`posixpath.normpath` keeps a leading `//`)."""
    cleaned = posixpath.normpath(path) if path else "."
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def read_ignore_file(text: str) -> list[str]:
    """The patterns of a `.dockerignore` file, normalised like Docker's reader."""
    patterns: list[str] = []
    for number, raw in enumerate(text.splitlines()):
        line = raw.removeprefix("\ufeff") if number == 0 else raw
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = go_clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append("!" + pattern if invert else pattern)
    return patterns


@dataclass(frozen=True)
class Pattern:
    """One compiled rule: exact, prefix (`dir/**`), suffix (`**/name`) or a regular expression."""

    text: str
    exclusion: bool
    kind: str
    regex: re.Pattern[str] | None

    @classmethod
    def parse(cls, raw: str) -> Pattern:
        """Compile one pattern as `patternmatcher.New` and `Pattern.compile` do."""
        text = go_clean(raw.strip())
        exclusion = text.startswith("!")
        if exclusion:
            if text == "!":
                raise ValueError('illegal exclusion pattern: "!"')
            text = text[1:]
        kind, body = _translate(text)
        regex = re.compile(body + r"\Z") if kind == "regexp" else None
        return cls(text=text, exclusion=exclusion, kind=kind, regex=regex)

    def match(self, path: str) -> bool:
        """Whether `path` (relative, `/`-separated) matches this pattern itself."""
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix[:1] == "/" and path == suffix[1:])
        assert self.regex is not None
        return self.regex.match(path) is not None

    def literal_prefix(self) -> str:
        """The pattern without a trailing `/**` or `/*` (fsutil's `patternWithoutTrailingGlob`)."""
        return self.text.removesuffix("/**").removesuffix("/*")


def _translate(pattern: str) -> tuple[str, str]:  # noqa: PLR0912  # one branch per token
    """Pattern.compile: the match kind and the regular expression (anchored at the start)."""
    body, kind, i, first = "^", "exact", 0, True
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == "*" and pattern[i : i + 1] == "*":
            i += 1
            if pattern[i : i + 1] == "/":
                i += 1
            if i >= len(pattern):
                if kind == "exact":
                    kind = "prefix"
                else:
                    body, kind = body + ".*", "regexp"
            else:
                body, kind = body + "(.*/)?", "regexp"
            if first:
                kind = "suffix"
        elif ch == "*":
            body, kind = body + "[^/]*", "regexp"
        elif ch == "?":
            body, kind = body + "[^/]", "regexp"
        elif ch in _ESCAPED:
            body += "\\" + ch
        elif ch == "\\":
            if i < len(pattern):
                body, kind = body + "\\" + pattern[i], "regexp"
                i += 1
            else:
                body += "\\\\"
        elif ch in "[]":
            body, kind = body + ch, "regexp"
        else:
            body += ch
        first = False
    return kind, body


class IgnoreRules:
    """An ordered list of patterns: the last one that matches a path decides."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = [Pattern.parse(p) for p in patterns if p.strip()]
        self.has_exclusions = any(p.exclusion for p in self.patterns)
        # fsutil prunes an excluded directory only when no `!` rule has glob characters.
        self._prunable = not any(
            p.exclusion and _GLOB_CHARS & set(p.literal_prefix()) for p in self.patterns
        )

    def excluded(
        self, path: str, parent: tuple[bool, ...] | None = None
    ) -> tuple[bool, tuple[bool, ...]]:
        """Whether `path` is left out, and the per-pattern results its children inherit."""
        matched = False
        results: list[bool] = []
        for index, pattern in enumerate(self.patterns):
            hit = parent[index] if parent else False
            if not hit and pattern.exclusion == matched:
                hit = pattern.match(path)
                if not hit and not parent:
                    hit = any(pattern.match(p) for p in _parents(path))
            results.append(hit)
            if hit:
                matched = not pattern.exclusion
        return matched, tuple(results)

    def prunes(self, directory: str) -> bool:
        """Whether an excluded directory can be skipped whole (no `!` rule reaches inside)."""
        if not self.has_exclusions:
            return True
        if not self._prunable:
            return False
        inside = directory + "/"
        return not any(
            p.exclusion and (p.literal_prefix() + "/").startswith(inside) for p in self.patterns
        )


def _parents(path: str) -> Iterator[str]:
    parts = path.split("/")[:-1]
    for end in range(1, len(parts) + 1):
        yield "/".join(parts[:end])


def ignore_file(context: Path, dockerfile: Path) -> Path | None:
    """The ignore file a build uses: `<Dockerfile>.dockerignore`, else the context's."""
    for candidate in (Path(f"{dockerfile}.dockerignore"), context / ".dockerignore"):
        if candidate.is_file():
            return candidate
    return None


def context_entries(context: Path, dockerfile: Path) -> list[str]:
    """Relative paths (files, directories, links) the build context sends, in walk order."""
    found = ignore_file(context, dockerfile)
    rules = IgnoreRules(read_ignore_file(found.read_text()) if found else [])
    entries: list[str] = []
    _walk(context, "", rules, None, entries)
    return entries


def _walk(
    root: Path, directory: str, rules: IgnoreRules, parent: tuple[bool, ...] | None,
    entries: list[str],
) -> None:  # fmt: skip
    with os.scandir(root / directory if directory else root) as scan:
        children = sorted(scan, key=lambda entry: entry.name)
    for child in children:
        path = f"{directory}/{child.name}" if directory else child.name
        is_dir = child.is_dir(follow_symlinks=False)
        excluded, results = rules.excluded(path, parent)
        if excluded and (not is_dir or rules.prunes(path)):
            continue
        if not excluded:
            # fsutil sends an excluded directory too once a path below it is included.
            entries.extend(a for a in _parents(path) if a not in entries)
            entries.append(path)
        if is_dir:
            _walk(root, path, rules, results, entries)
