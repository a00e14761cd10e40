"""The sources file: YAML, JSON files and inline JSON; every error names its field."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.config import (
    AshbySource,
    GreenhouseSource,
    JobPingSource,
    LeverSource,
    RssSource,
    SourcesConfigError,
    load_sources,
)

YAML = """\
sources:
  - type: greenhouse
    board: acme
    company: Acme Robotics
  - type: lever
    site: globex              # Lever calls the board a "site"
    base_url: https://api.eu.lever.co/
  - type: ashby
    board: initech
    enabled: false
  - type: rss
    name: rss:remote-jobs
    url: https://remotejobs.example.org/feed.rss
  - type: jobping
    path: extra/jobs.json
"""


def _sources_file(directory: Path, name: str, text: str) -> Path:
    """A sources file `name` in `directory` holding `text`."""
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def _refusal(value: str) -> str:
    """The message `load_sources` refuses `value` with."""
    with pytest.raises(SourcesConfigError) as caught:
        load_sources(value)
    return str(caught.value)


def test_a_yaml_file_is_loaded_with_defaults(tmp_path: Path) -> None:
    path = _sources_file(tmp_path, "sources.yaml", YAML)

    sources = load_sources(str(path), include_disabled=True)

    greenhouse, lever, ashby, rss, jobping = sources
    assert isinstance(greenhouse, GreenhouseSource)
    assert (greenhouse.name, greenhouse.board, greenhouse.company) == (
        "greenhouse:acme", "acme", "Acme Robotics"
    )  # fmt: skip
    assert greenhouse.base_url == "https://boards-api.greenhouse.io"
    assert isinstance(lever, LeverSource)
    assert (lever.name, lever.board, lever.base_url) == (
        "lever:globex", "globex", "https://api.eu.lever.co"
    )  # fmt: skip
    assert isinstance(ashby, AshbySource)
    assert (ashby.base_url, ashby.enabled) == ("https://api.ashbyhq.com", False)
    assert isinstance(rss, RssSource)
    assert rss.name == "rss:remote-jobs"
    assert isinstance(jobping, JobPingSource)
    assert jobping.name == "jobping:jobs"
    assert jobping.path == tmp_path / "extra" / "jobs.json"  # relative to the sources file


def test_disabled_sources_are_left_out_by_default(tmp_path: Path) -> None:
    path = _sources_file(tmp_path, "sources.yml", YAML)

    names = [source.name for source in load_sources(str(path))]

    assert names == ["greenhouse:acme", "lever:globex", "rss:remote-jobs", "jobping:jobs"]


def test_inline_json_and_json_files_are_accepted(tmp_path: Path) -> None:
    inline = '[{"type": "ashby", "org": "initech", "name": "initech-careers"}]'
    in_file = '{"sources": [{"type": "rss", "url": "https://x.example/jobs.atom"}]}'
    path = _sources_file(tmp_path, "sources.json", in_file)

    (ashby,) = load_sources(f"  {inline}\n")
    (rss,) = load_sources(str(path))

    assert isinstance(ashby, AshbySource)
    assert (ashby.name, ashby.board) == ("initech-careers", "initech")
    assert rss.name == "rss:x.example"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('[{"type": "greenhouse"}]', "source #1: field 'board' is required"),
        ('[{"board": "acme"}]', "source #1: field 'type' is required (one of greenhouse"),
        ('[{"type": "workday", "board": "x"}]', "field 'type': unknown source type 'workday'"),
        ('[{"type": "greenhouse", "board": "acme", "bord": 1}]', "unknown field 'bord'"),
        ('[{"type": "lever", "board": "a/b"}]', "field 'board': 'a/b' is not allowed"),
        ('[{"type": "rss", "url": "ftp://x.example/f"}]', "field 'url': must be an http://"),
        ('[{"type": "rss"}]', "source #1: field 'url' is required"),
        ('[{"type": "jobping"}]', "give exactly one of 'url' and 'path'"),
        (
            '[{"type": "ashby", "board": "a"}, {"type": "lever", "board": "b", "enabled": "sure"}]',
            "source #2: field 'enabled': Input should be a valid boolean",
        ),
        (
            '[{"type": "ashby", "board": "a", "name": "bad name"}]',
            "source #1 'bad name': field 'name': 'bad name' is not allowed",
        ),
        (
            '[{"type": "ashby", "board": "a"}, {"type": "ashby", "org": "a"}]',
            "duplicate source name 'ashby:a' (sources #1 and #2)",
        ),
        ('[{"type": "greenhouse", "board": "acme"', "bad JSON in inline JSON line 1"),
        ("[]", "inline JSON: no sources listed"),
        ('{"source": []}', "unknown top-level key 'source'"),
        ('["greenhouse"]', "source #1: expected an object with a 'type'"),
        ("   ", "SCANNER_SOURCES is empty"),
        (
            '[{"type": "rss", "url": "https://x.example/f", "deadline_seconds": 0}]',
            "field 'deadline_seconds': Input should be greater than 0",
        ),
    ],
)
def test_each_error_is_one_line_naming_the_problem(value: str, message: str) -> None:
    refusal = _refusal(value)

    assert message in refusal
    assert "\n" not in refusal


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"

    with pytest.raises(SourcesConfigError, match=r"sources file not found: .*nope\.yaml"):
        load_sources(str(missing))


def test_bad_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = _sources_file(
        tmp_path, "sources.yaml", "sources:\n  - type: greenhouse\n    board: [acme\n"
    )

    refusal = _refusal(str(path))

    assert refusal.startswith(f"bad YAML in {path} line ")
    assert "\n" not in refusal


def test_an_unknown_file_type_is_refused(tmp_path: Path) -> None:
    path = _sources_file(tmp_path, "sources.toml", "x = 1")

    with pytest.raises(SourcesConfigError, match=r"must end in \.yaml, \.yml or \.json"):
        load_sources(str(path))


def test_errors_in_a_file_name_the_file(tmp_path: Path) -> None:
    path = _sources_file(tmp_path, "sources.yaml", "- type: lever\n")

    assert _refusal(str(path)) == f"{path}: source #1: field 'board' is required"


def test_every_source_has_a_deadline_defaulting_to_two_minutes() -> None:
    first, second = load_sources(
        '[{"type": "ashby", "board": "a"}, {"type": "lever", "board": "b", "deadline_seconds": 30}]'
    )
    assert (first.deadline_seconds, second.deadline_seconds) == (120.0, 30.0)
