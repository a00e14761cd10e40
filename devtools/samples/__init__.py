"""Sample job boards: the tests' fixtures and the local demo's boards (not in the image).

Each file is a real API's documented response shape (Greenhouse, Lever, Ashby, RSS 2.0, Atom)
or JobPing's own format. Tests serve them from a local HTTP server at the paths the real APIs
use; the local demo (`make run`) does the same with `SAMPLE_BOARDS` and `demo_sources`, and
compose mounts this directory for its scanner (`compose-sources.json`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

SAMPLES_DIR: Final = Path(__file__).resolve().parent


@dataclass(frozen=True)
class SampleBoard:
    """One sample file, the URL path a real API would serve it at, and its sources entry."""

    file: str
    url_path: str
    """Path on the local server, without the query string the adapter adds."""
    content_type: str
    source: dict[str, Any]
    """Its entry in a sources file, minus the base URL or feed URL."""


SAMPLE_BOARDS: Final = (
    SampleBoard(
        "greenhouse_acme.json", "/v1/boards/acme/jobs", "application/json; charset=utf-8",
        {"type": "greenhouse", "board": "acme", "company": "Acme Robotics"},
    ),
    SampleBoard(
        "lever_globex.json", "/v0/postings/globex", "application/json; charset=utf-8",
        {"type": "lever", "board": "globex", "company": "Globex"},
    ),
    SampleBoard(
        "ashby_initech.json", "/posting-api/job-board/initech", "application/json; charset=utf-8",
        {"type": "ashby", "board": "initech", "company": "Initech"},
    ),
    SampleBoard(
        "rss_remote.xml", "/feeds/remote-jobs.rss", "application/rss+xml; charset=utf-8",
        {"type": "rss", "name": "rss:remote-jobs-weekly"},
    ),
    SampleBoard(
        "atom_board.xml", "/feeds/umbrella-health.atom", "application/atom+xml; charset=utf-8",
        {"type": "rss", "name": "rss:umbrella-health", "company": "Umbrella Health"},
    ),
)  # fmt: skip
JOBPING_SAMPLE: Final = "jobping_jobs.json"


def sample_path(file: str) -> Path:
    """The path of a bundled sample file."""
    path = SAMPLES_DIR / file
    if not path.is_file():
        raise FileNotFoundError(f"no sample named {file!r} in {SAMPLES_DIR}")
    return path


def read_sample(file: str) -> bytes:
    """The bytes of a bundled sample file."""
    return sample_path(file).read_bytes()


def demo_sources(base_url: str) -> list[dict[str, Any]]:
    """A sources list for the sample boards served at `base_url`, plus the JobPing file."""
    root = base_url.rstrip("/")
    sources: list[dict[str, Any]] = []
    for board in SAMPLE_BOARDS:
        if board.source["type"] == "rss":
            sources.append({**board.source, "url": root + board.url_path})
        else:
            sources.append({**board.source, "base_url": root})
    sources.append(
        {"type": "jobping", "name": "jobping:samples", "path": str(sample_path(JOBPING_SAMPLE))}
    )
    return sources
