"""Any source: conditional requests, stable hashes, and failures that stay contained."""

from __future__ import annotations

import json

import pytest
from local_http import LocalServer, Reply, config, fetch

from devtools.samples import demo_sources, read_sample
from scanner.config import parse_sources
from scanner.http import Fetcher, InMemoryValidatorStore, RetryPolicy, Timeouts, make_client
from scanner.sources import (
    MalformedBody,
    SourceError,
    SourceUnavailable,
    build_source,
)


def test_an_unchanged_board_costs_one_304(http_server: LocalServer, fetcher: Fetcher) -> None:
    body = read_sample("ashby_initech.json")
    http_server.route(
        "/posting-api/job-board/initech",
        Reply(body=body, headers={"ETag": 'W/"ab12"'}),
        Reply(status=304, headers={"ETag": 'W/"ab12"'}),
    )
    source = build_source(
        config({"type": "ashby", "board": "initech", "base_url": http_server.url})
    )
    store = InMemoryValidatorStore()

    first = source.fetch(fetcher, store)
    assert store.get("ashby:initech") is None  # nothing is remembered before the jobs are stored
    first.remember(store)
    second = source.fetch(fetcher, store)

    assert len(first.jobs) == 7
    assert second.not_modified
    assert second.jobs == ()
    requests = http_server.requests_to("/posting-api/job-board/initech")
    assert requests[1].headers["if-none-match"] == 'W/"ab12"'
    assert fetcher.requests_made == 2


def test_content_hashes_are_stable_across_fetches(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    http_server.serve_sample("lever_globex.json")
    entry = {"type": "lever", "board": "globex", "base_url": http_server.url}

    first, second = fetch(entry, fetcher), fetch(entry, fetcher)

    assert [job.content_hash for job in first.jobs] == [job.content_hash for job in second.jobs]
    assert len({job.content_hash for job in first.jobs}) == 7


@pytest.mark.parametrize(
    ("reply", "error", "reason"),
    [
        (Reply(status=500), SourceUnavailable, "HTTP 500"),
        (Reply(status=404, body=b'{"ok":false}'), SourceUnavailable, "HTTP 404"),
        (Reply(body=b"<html>maintenance</html>"), MalformedBody, "body is not JSON"),
        (Reply(body=b'{"jobs": {"id": 1}}'), MalformedBody, "expected an object with a 'jobs'"),
        (Reply(body=b'{"jobs": [{"title": "no id"}, 7]}'), MalformedBody, "none of 2 listings"),
    ],
)
def test_a_failing_board_raises_a_source_error(
    http_server: LocalServer, fetcher: Fetcher, reply: Reply, error: type[SourceError], reason: str
) -> None:
    http_server.route("/v1/boards/acme/jobs", reply)

    with pytest.raises(error, match=reason) as caught:
        fetch({"type": "greenhouse", "board": "acme", "base_url": http_server.url}, fetcher)

    assert caught.value.source == "greenhouse:acme"
    assert str(caught.value).startswith("greenhouse:acme: ")


def test_one_unreadable_listing_is_skipped(http_server: LocalServer, fetcher: Fetcher) -> None:
    document = json.loads(read_sample("greenhouse_acme.json"))
    del document["jobs"][2]["title"]
    http_server.route("/v1/boards/acme/jobs", Reply(body=json.dumps(document)))

    outcome = fetch({"type": "greenhouse", "board": "acme", "base_url": http_server.url}, fetcher)

    assert (len(outcome.jobs), outcome.skipped) == (7, 1)
    assert "4020117" not in {job.external_id for job in outcome.jobs}


def test_a_failing_source_leaves_the_others_scannable(
    http_server: LocalServer, sleeps: list[float]
) -> None:
    for board in ("greenhouse_acme.json", "ashby_initech.json", "rss_remote.xml"):
        http_server.serve_sample(board)
    http_server.route("/v0/postings/globex", Reply(status=503))
    http_server.route("/feeds/umbrella-health.atom", Reply(body=b"{}", delay=1.0))  # times out
    found: dict[str, int] = {}
    failed: list[str] = []

    with make_client(Timeouts(read=0.25)) as client:
        fetcher = Fetcher(client, policy=RetryPolicy(attempts=2), sleep=sleeps.append)
        for source in map(build_source, parse_sources(demo_sources(http_server.url))):
            try:
                found[source.name] = len(source.fetch(fetcher, InMemoryValidatorStore()).jobs)
            except SourceError as error:
                failed.append(error.source)

    assert failed == ["lever:globex", "rss:umbrella-health"]
    assert found == {
        "greenhouse:acme": 8, "ashby:initech": 7, "rss:remote-jobs-weekly": 7,
        "jobping:samples": 6,
    }  # fmt: skip
