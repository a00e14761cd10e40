"""The Fetcher against a real local HTTP server: retries, Retry-After, timeouts, validators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from local_http import LocalServer, Reply

import jobping
from scanner.http import (
    USER_AGENT,
    Fetcher,
    FetchError,
    InMemoryValidatorStore,
    RetryPolicy,
    Timeouts,
    Validators,
    make_client,
)
from scanner.retry import retry_after_seconds


def test_user_agent_and_accept_encoding_are_sent(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    url = http_server.route("/board", Reply(body=b"[]"))

    fetcher.get(url, headers={"Accept": "application/json"})

    (seen,) = http_server.requests_to("/board")
    assert seen.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith(f"JobPing/{jobping.__version__} ")
    assert USER_AGENT.endswith("(+https://github.com/jobping/jobping)")
    assert seen.headers["accept"] == "application/json"


def test_retries_a_500_then_succeeds(
    http_server: LocalServer, fetcher: Fetcher, sleeps: list[float]
) -> None:
    url = http_server.route("/flaky", Reply(status=500), Reply(status=503), Reply(body=b"ok"))

    result = fetcher.get(url)

    assert result.body == b"ok"
    assert result.status == 200
    assert len(http_server.requests_to("/flaky")) == 3
    assert fetcher.requests_made == 3
    # exponential backoff with jitter fixed at 0.5: base 0.5 s -> 0.375 s, then 0.75 s
    assert sleeps == [pytest.approx(0.375), pytest.approx(0.75)]


def test_429_waits_the_retry_after_seconds(
    http_server: LocalServer, fetcher: Fetcher, sleeps: list[float]
) -> None:
    url = http_server.route(
        "/limited", Reply(status=429, headers={"Retry-After": "7"}), Reply(body=b"done")
    )

    assert fetcher.get(url).body == b"done"
    assert sleeps == [7.0]


def test_retry_after_as_http_date_is_honoured() -> None:
    now = datetime(2026, 11, 29, 1, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=12), usegmt=True)

    assert retry_after_seconds(header, now=now) == pytest.approx(12.0)
    assert (
        retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0.0
    )
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None) is None


def test_retry_after_is_capped(http_server: LocalServer, sleeps: list[float]) -> None:
    url = http_server.route(
        "/slow-down", Reply(status=503, headers={"Retry-After": "3600"}), Reply(body=b"ok")
    )
    with make_client() as client:
        fetcher = Fetcher(client, policy=RetryPolicy(max_retry_after=30.0), sleep=sleeps.append)
        fetcher.get(url)

    assert sleeps == [30.0]


def test_gives_up_after_the_last_attempt_with_a_clear_error(
    http_server: LocalServer, fetcher: Fetcher, sleeps: list[float]
) -> None:
    url = http_server.route("/down", Reply(status=502))

    with pytest.raises(FetchError) as caught:
        fetcher.get(url)

    assert caught.value.status == 502
    assert caught.value.attempts == 3
    assert str(caught.value) == f"GET {url} failed after 3 attempt(s): HTTP 502"
    assert len(http_server.requests_to("/down")) == 3
    assert len(sleeps) == 2


def test_a_404_is_not_retried(
    http_server: LocalServer, fetcher: Fetcher, sleeps: list[float]
) -> None:
    url = http_server.route("/gone", Reply(status=404))

    with pytest.raises(FetchError, match="HTTP 404") as caught:
        fetcher.get(url)

    assert caught.value.status == 404
    assert len(http_server.requests_to("/gone")) == 1
    assert sleeps == []


def test_a_timeout_is_retried_then_reported(http_server: LocalServer, sleeps: list[float]) -> None:
    url = http_server.route("/stuck", Reply(body=b"late", delay=1.0))
    with make_client(Timeouts(connect=1.0, read=0.2)) as client:
        fetcher = Fetcher(client, policy=RetryPolicy(attempts=2), sleep=sleeps.append)
        with pytest.raises(FetchError, match="ReadTimeout") as caught:
            fetcher.get(url)

    assert caught.value.status is None
    assert caught.value.attempts == 2
    assert len(sleeps) == 1


def test_a_refused_connection_is_a_fetch_error(sleeps: list[float]) -> None:
    with make_client(Timeouts(connect=0.5)) as client:
        fetcher = Fetcher(client, policy=RetryPolicy(attempts=2), sleep=sleeps.append)
        with pytest.raises(FetchError, match="ConnectError"):
            fetcher.get("http://127.0.0.1:9/nothing-listens-here")
    assert fetcher.requests_made == 2


def test_validators_are_returned_and_sent_back(http_server: LocalServer, fetcher: Fetcher) -> None:
    modified = "Tue, 24 Nov 2026 20:00:00 GMT"
    url = http_server.route(
        "/board",
        Reply(body=b"[1]", headers={"ETag": '"v1"', "Last-Modified": modified}),
        Reply(status=304, headers={"ETag": '"v1"'}),
    )

    first = fetcher.get(url)
    second = fetcher.get(url, validators=first.validators)

    assert first.validators == Validators(etag='"v1"', last_modified=modified)
    assert not first.not_modified
    assert second.not_modified
    assert second.status == 304
    assert second.body == b""
    # the 304 repeated only the ETag: the Last-Modified we had is kept
    assert second.validators == Validators(etag='"v1"', last_modified=modified)
    plain, conditional = http_server.requests_to("/board")
    assert "if-none-match" not in plain.headers
    assert conditional.headers["if-none-match"] == '"v1"'
    assert conditional.headers["if-modified-since"] == modified
    assert fetcher.not_modified == 1


def test_last_modified_alone_makes_a_conditional_request(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    url = http_server.route("/feed", Reply(status=304))

    result = fetcher.get(url, validators=Validators(last_modified="Mon, 23 Nov 2026 10:00:00 GMT"))

    assert result.not_modified
    (seen,) = http_server.requests_to("/feed")
    assert seen.headers["if-modified-since"] == "Mon, 23 Nov 2026 10:00:00 GMT"
    assert "if-none-match" not in seen.headers


def test_an_oversized_body_is_refused(http_server: LocalServer) -> None:
    url = http_server.route("/huge", Reply(body=b"x" * 5000))
    with make_client() as client:
        fetcher = Fetcher(client, max_body_bytes=1000)
        with pytest.raises(FetchError, match="larger than 1000 bytes"):
            fetcher.get(url)


def test_in_memory_store_remembers_per_source() -> None:
    store = InMemoryValidatorStore()
    store.put("greenhouse:acme", Validators(etag='"a"'))

    assert store.get("greenhouse:acme") == Validators(etag='"a"')
    assert store.get("lever:globex") is None
    assert not Validators()
