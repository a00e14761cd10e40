"""Source adapters, one per board API, and `build_source`, which picks one for a config.

Use::

    source = build_source(config)               # a SourceConfig from scanner.config
    try:
        outcome = source.fetch(fetcher, store)  # FetchOutcome: not_modified, or jobs
    except SourceError as error:                # unavailable or malformed: log, go on
        ...
    else:
        ...store outcome.jobs...
        outcome.remember(store)                 # only once the jobs are safely stored
"""

from __future__ import annotations

from scanner.config import (
    AshbySource,
    GreenhouseSource,
    JobPingSource,
    LeverSource,
    RssSource,
    SourceConfig,
)
from scanner.sources.ashby import AshbyBoard
from scanner.sources.base import (
    FetchOutcome,
    MalformedBody,
    SkipListing,
    Source,
    SourceError,
    SourceUnavailable,
)
from scanner.sources.greenhouse import GreenhouseBoard
from scanner.sources.jobping_json import JobPingFile
from scanner.sources.lever import LeverSite
from scanner.sources.rss import Feed

__all__ = [
    "AshbyBoard",
    "Feed",
    "FetchOutcome",
    "GreenhouseBoard",
    "JobPingFile",
    "LeverSite",
    "MalformedBody",
    "SkipListing",
    "Source",
    "SourceError",
    "SourceUnavailable",
    "build_source",
]


def build_source(config: SourceConfig) -> Source:
    """The adapter for one configured source."""
    match config:
        case GreenhouseSource():
            return GreenhouseBoard(config)
        case LeverSource():
            return LeverSite(config)
        case AshbySource():
            return AshbyBoard(config)
        case RssSource():
            return Feed(config)
        case JobPingSource():
            return JobPingFile(config)
