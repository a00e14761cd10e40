"""The sources file: which boards and feeds a scan reads.

`SCANNER_SOURCES` is a path to a `.yaml`/`.yml`/`.json` file, or the JSON itself (it starts with
`[` or `{`). The document is a list of sources, or an object with a `sources` list::

    sources:
      - type: greenhouse          # boards-api.greenhouse.io/v1/boards/{board}/jobs?content=true
        board: acme
        company: Acme Robotics    # display name where the API has none
      - type: lever               # api.lever.co/v0/postings/{board}?mode=json
        board: globex
        base_url: https://api.eu.lever.co
      - type: ashby               # api.ashbyhq.com/posting-api/job-board/{board}
        board: initech
      - type: rss                 # any RSS 2.0 or Atom feed
        name: rss:remote-jobs
        url: https://example.org/jobs.rss
      - type: jobping             # JobPing's own format, a file (relative to this one) or URL
        path: extra_jobs.json
        enabled: false
        deadline_seconds: 60      # any source: total time allowed (default 120)

Every source has a unique `name`, the `source` of its jobs in the database; it defaults to
`"<type>:<board>"` (`rss:<host>`, `jobping:<file stem or host>`) and must not change while its
jobs are kept. Errors raise `SourcesConfigError` with one line naming the source and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

SOURCE_TYPES: Final = ("greenhouse", "lever", "ashby", "rss", "jobping")
#: Default total time for one source: every attempt, read and backoff (`deadline_seconds`).
DEFAULT_DEADLINE_SECONDS: Final = 120.0


class SourcesConfigError(ValueError):
    """The sources file is missing, unreadable or invalid; the message is one line."""


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/") if not parts.query else value


HttpUrlText = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_http_url)]
Board = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
]
SourceName = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][\w.:/@+-]{0,199}$")
]


class _Source(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    name: SourceName
    """Unique; the `source` of this source's jobs. Defaults to "<type>:<board>"."""
    enabled: bool = True
    """Disabled sources are kept in the file but not scanned."""
    company: str | None = Field(default=None, min_length=1, max_length=500)
    """Company display name, for APIs that do not give one."""
    deadline_seconds: float = Field(default=DEFAULT_DEADLINE_SECONDS, gt=0, le=3600)
    """Total time this source may take, retries and backoff included; then it fails."""

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("name"):
            derived = cls.derive_name(data)
            if derived:
                return {**data, "name": derived}
        return data

    @classmethod
    def derive_name(cls, data: dict[str, Any]) -> str | None:
        """The default name from the raw fields, or None when they are missing or invalid."""
        board = data.get("board") or next(
            (data[key] for key in ("site", "org") if isinstance(data.get(key), str)), None
        )
        kind = data.get("type")
        return f"{kind}:{board}" if isinstance(board, str) and board.strip() else None


class GreenhouseSource(_Source):
    """A Greenhouse job board: `{base_url}/v1/boards/{board}/jobs?content=true`."""

    type: Literal["greenhouse"]
    board: Board
    base_url: HttpUrlText = "https://boards-api.greenhouse.io"


class LeverSource(_Source):
    """A Lever site: `{base_url}/v0/postings/{board}?mode=json` (`site` is accepted too)."""

    type: Literal["lever"]
    board: Board = Field(validation_alias=AliasChoices("board", "site"))
    base_url: HttpUrlText = "https://api.lever.co"


class AshbySource(_Source):
    """An Ashby job board: `{base_url}/posting-api/job-board/{board}?includeCompensation=true`."""

    type: Literal["ashby"]
    board: Board = Field(validation_alias=AliasChoices("board", "org"))
    base_url: HttpUrlText = "https://api.ashbyhq.com"


class RssSource(_Source):
    """An RSS 2.0 or Atom feed of job listings."""

    type: Literal["rss"]
    url: HttpUrlText

    @classmethod
    def derive_name(cls, data: dict[str, Any]) -> str | None:
        """`rss:<host>` of the feed URL."""
        url = data.get("url")
        host = urlsplit(url.strip()).hostname if isinstance(url, str) else None
        return f"rss:{host}" if host else None


class JobPingSource(_Source):
    """A JSON list of jobs in JobPing's own format, from a file or a URL (exactly one)."""

    type: Literal["jobping"]
    url: HttpUrlText | None = None
    path: Path | None = None
    """Relative paths are resolved against the sources file's directory."""

    @classmethod
    def derive_name(cls, data: dict[str, Any]) -> str | None:
        """`jobping:<file stem>` or `jobping:<host>`."""
        if isinstance(data.get("path"), str) and data["path"].strip():
            return f"jobping:{Path(data['path'].strip()).stem}"
        url = data.get("url")
        host = urlsplit(url.strip()).hostname if isinstance(url, str) else None
        return f"jobping:{host}" if host else None

    @field_validator("path")
    @classmethod
    def _resolve(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        base = (info.context or {}).get("base_dir")
        if value is None or value.is_absolute() or not isinstance(base, Path):
            return value
        return base / value

    @model_validator(mode="after")
    def _one_location(self) -> JobPingSource:
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one of 'url' and 'path'")
        return self


SourceConfig = Annotated[
    GreenhouseSource | LeverSource | AshbySource | RssSource | JobPingSource,
    Field(discriminator="type"),
]
_ADAPTER: Final[TypeAdapter[SourceConfig]] = TypeAdapter(SourceConfig)


def load_sources(value: str, *, include_disabled: bool = False) -> list[SourceConfig]:
    """Read and validate the sources from a file path or inline JSON.

    Args:
        value: `SCANNER_SOURCES`: a .yaml/.yml/.json path, or JSON starting with `[` or `{`.
        include_disabled: also return sources with `enabled: false`.

    Raises:
        SourcesConfigError: one line naming the file, the source and the field at fault.
    """
    text = value.strip()
    if not text:
        raise SourcesConfigError("SCANNER_SOURCES is empty: give a file path or inline JSON")
    if text[0] in "[{":
        document, base_dir, origin = _parse_json(text, "inline JSON"), Path.cwd(), "inline JSON"
    else:
        path = Path(text).expanduser()
        document, base_dir, origin = _read_file(path), path.parent, str(path)
    sources = parse_sources(document, base_dir=base_dir, origin=origin)
    return sources if include_disabled else [source for source in sources if source.enabled]


def parse_sources(
    document: Any, *, base_dir: Path | None = None, origin: str = "sources"
) -> list[SourceConfig]:
    """Validate an already-parsed sources document (a list, or an object with `sources`)."""
    entries = document.get("sources") if isinstance(document, dict) else document
    if isinstance(document, dict) and set(document) - {"sources"}:
        unknown = sorted(set(document) - {"sources"})[0]
        raise SourcesConfigError(f"{origin}: unknown top-level key '{unknown}' (only 'sources')")
    if not isinstance(entries, list):
        raise SourcesConfigError(f"{origin}: expected a list of sources (or {{'sources': [...]}})")
    if not entries:
        raise SourcesConfigError(f"{origin}: no sources listed")
    context = {"base_dir": base_dir or Path.cwd()}
    sources: list[SourceConfig] = []
    first_seen: dict[str, int] = {}
    for index, entry in enumerate(entries, start=1):
        source = _validate_entry(entry, index, context, origin)
        if source.name in first_seen:
            earlier = first_seen[source.name]
            raise SourcesConfigError(
                f"{origin}: duplicate source name '{source.name}' (sources #{earlier} and"
                f" #{index}); give one of them its own 'name'"
            )
        first_seen[source.name] = index
        sources.append(source)
    return sources


def _validate_entry(entry: Any, index: int, context: dict[str, Any], origin: str) -> SourceConfig:
    label = f"{origin}: source #{index}"
    if not isinstance(entry, dict):
        raise SourcesConfigError(f"{label}: expected an object with a 'type', got {entry!r:.60}")
    named = isinstance(entry.get("name"), str) and bool(entry["name"].strip())
    if named:
        label += f" '{entry['name'].strip()}'"
    try:
        return _ADAPTER.validate_python(entry, context=context)
    except ValidationError as error:
        raise SourcesConfigError(f"{label}: {_describe(error, named=named)}") from None


#: What is missing when no name could be derived, by source type.
_NAME_FROM: Final = {
    "greenhouse": "field 'board' is required",
    "lever": "field 'board' is required",
    "ashby": "field 'board' is required",
    "rss": "field 'url' is required",
    "jobping": "give exactly one of 'url' and 'path'",
}
_PATTERNS: Final = {
    "name": "letters, digits and . _ : / @ + - only, at most 200 characters",
    "board": "letters, digits and . _ - only, at most 100 characters",
}


def _describe(error: ValidationError, *, named: bool) -> str:
    """The first problem, naming its field; a derived name's errors come last."""
    errors = error.errors()
    if not named:  # the user wrote no name: blame the field it is derived from
        errors = sorted(errors, key=lambda item: item["loc"][1:2] == ("name",))
    first = errors[0]
    kinds = ", ".join(SOURCE_TYPES)
    if first["type"] == "union_tag_not_found":
        return f"field 'type' is required (one of {kinds})"
    if first["type"] == "union_tag_invalid":
        return f"field 'type': unknown source type {first['input'].get('type')!r} (one of {kinds})"
    return _describe_field(first)


def _describe_field(problem: ErrorDetails) -> str:
    path = [str(part) for part in problem["loc"][1:]]  # loc[0] is the union tag
    field = ".".join(path)
    kind = problem["type"]
    message = problem["msg"].removeprefix("Value error, ")
    if path == ["name"] and kind == "missing":
        message = _NAME_FROM.get(str(problem["loc"][0]), "field 'name' is required")
    elif kind == "missing":
        message = f"field '{field}' is required"
    elif kind == "extra_forbidden":
        message = f"unknown field '{field}'"
    elif kind == "string_pattern_mismatch" and field in _PATTERNS:
        message = f"field '{field}': {problem['input']!r} is not allowed ({_PATTERNS[field]})"
    elif path:
        message = f"field '{field}': {message}"
    return message


def _read_file(path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise SourcesConfigError(f"sources file must end in .yaml, .yml or .json: {path}")
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourcesConfigError(f"sources file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SourcesConfigError(f"cannot read sources file {path}: {error}") from None
    if suffix == ".json":
        return _parse_json(content, str(path))
    try:
        return yaml.safe_load(content)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SourcesConfigError(f"bad YAML in {path}{where}: {problem}") from None


def _parse_json(content: str, origin: str) -> Any:
    try:
        return json.loads(content)
    except json.JSONDecodeError as error:
        raise SourcesConfigError(
            f"bad JSON in {origin} line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
