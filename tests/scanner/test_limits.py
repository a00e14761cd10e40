"""The Fetcher's hard limits against a real local HTTP server: decompressed size, deadline,
redirect origin and private addresses (see tests/scanner/hostile.py for the scenarios)."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest
from hostile import (
    METADATA_URL,
    gzip_bomb_reply,
    peak_memory_while,
    redirect_reply,
    stacked_gzip_bomb_reply,
    trickle_reply,
)
from local_http import LocalServer, Reply

from scanner.http import MAX_BODY_BYTES, Fetcher, FetchError, RetryPolicy, Timeouts, make_client
from scanner.netguard import is_public


def test_a_gzip_bomb_is_refused_within_the_decompressed_limit(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    url = http_server.route("/bomb", gzip_bomb_reply(256 * 1024 * 1024))

    error, peak = peak_memory_while(lambda: fetcher.get(url))

    # Inflated whole, the bomb needs 256 MiB; read piece by piece it stops at the limit.
    assert peak < MAX_BODY_BYTES + 2 * 1024 * 1024
    assert isinstance(error, FetchError)
    assert error.reason == f"body larger than {MAX_BODY_BYTES} bytes once decoded (gzip)"
    assert fetcher.requests_made == 1  # not retried: the same bomb would come back


def test_stacked_content_encodings_are_refused_before_any_inflating(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    reply = stacked_gzip_bomb_reply(64 * 1024 * 1024)
    assert len(reply.body) < 2000  # the bomb: under a kilobyte or two on the wire
    url = http_server.route("/stacked", reply)

    error, peak = peak_memory_while(lambda: fetcher.get(url))

    assert peak < MAX_BODY_BYTES
    assert isinstance(error, FetchError)
    assert error.reason == "stacked Content-Encoding refused: gzip, gzip"


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # RFC 9110: zlib-wrapped
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
        ("identity", lambda data: data),
    ],
)
def test_compressed_bodies_within_the_limit_are_decoded(
    http_server: LocalServer, fetcher: Fetcher, encoding: str, encode: object
) -> None:
    document = json.dumps([{"id": i, "text": "Engineer " * 50} for i in range(200)]).encode()
    url = http_server.route(
        "/board",
        Reply(body=encode(document), headers={"Content-Encoding": encoding}),  # type: ignore[operator]
    )

    assert fetcher.get(url).body == document


def test_a_body_over_the_limit_once_decoded_is_refused(http_server: LocalServer) -> None:
    url = http_server.route(
        "/big", Reply(body=gzip.compress(b"x" * 5000), headers={"Content-Encoding": "gzip"})
    )
    with (
        make_client() as client,
        pytest.raises(FetchError, match="larger than 1000 bytes once decoded"),
    ):
        Fetcher(client, max_body_bytes=1000).get(url)


def test_an_unknown_content_encoding_is_refused(http_server: LocalServer, fetcher: Fetcher) -> None:
    url = http_server.route("/br", Reply(body=b"\x0b\x02\x80", headers={"Content-Encoding": "br"}))
    with pytest.raises(FetchError, match="unsupported Content-Encoding: br"):
        fetcher.get(url)


def test_a_trickled_body_is_cut_at_the_source_deadline(http_server: LocalServer) -> None:
    body = b"[" + b" " * 400 + b"]"
    url = http_server.route("/slow", trickle_reply(body, seconds_per_byte=0.02))  # 8 s in all
    with make_client(Timeouts(connect=2.0, read=2.0)) as client:
        fetcher = Fetcher(client, policy=RetryPolicy(attempts=3), sleep=lambda _: None)
        with fetcher.deadline(0.5), pytest.raises(FetchError) as caught:
            fetcher.get(url)

    assert caught.value.reason == "source deadline of 0.5 s exceeded"
    assert caught.value.attempts == 1  # the deadline covers retries too: none was started
    assert http_server.bytes_sent.get("/slow", 0) < len(body)


def test_the_deadline_leaves_no_room_for_a_long_retry_wait(
    http_server: LocalServer, sleeps: list[float]
) -> None:
    url = http_server.route("/busy", Reply(status=503, headers={"Retry-After": "30"}))
    with make_client() as client:
        fetcher = Fetcher(client, policy=RetryPolicy(attempts=4), sleep=sleeps.append)
        with fetcher.deadline(5.0), pytest.raises(FetchError, match="HTTP 503"):
            fetcher.get(url)

    assert sleeps == []  # a 30 s wait would end after the 5 s deadline: give up now
    assert len(http_server.requests_to("/busy")) == 1


def test_a_redirect_within_the_origin_is_followed(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    http_server.route("/new", Reply(body=b"[]"))
    url = http_server.route("/old", redirect_reply("/new", status=301))

    result = fetcher.get(url)

    assert (result.status, result.body) == (200, b"[]")
    assert fetcher.requests_made == 2


def test_a_redirect_to_another_port_is_refused(
    http_server: LocalServer, other_server: LocalServer, fetcher: Fetcher
) -> None:
    target = other_server.route("/jobs.json", Reply(body=b'[{"external_id": "x"}]'))
    url = http_server.route("/jobs.json", redirect_reply(target))

    with pytest.raises(FetchError) as caught:
        fetcher.get(url)

    assert caught.value.reason == (
        f"redirect to {other_server.url} refused: only {http_server.url} is followed"
    )
    assert other_server.requests == []


def test_a_redirect_to_the_metadata_service_is_refused(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    url = http_server.route("/jobs.json", redirect_reply(METADATA_URL))

    with pytest.raises(FetchError, match=r"redirect to http://169\.254\.169\.254:80 refused"):
        fetcher.get(url)

    assert fetcher.requests_made == 1  # the redirect was never requested


def test_a_board_name_resolving_to_a_link_local_address_is_refused() -> None:
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["93.184.215.14", "169.254.169.254"]  # one bad address is enough

    with make_client(resolve=resolve) as client:
        fetcher = Fetcher(client)
        with pytest.raises(FetchError, match=r"non-public address 169\.254\.169\.254"):
            fetcher.get("https://boards.example.org/v1/boards/acme/jobs")

    assert asked == ["boards.example.org"]
    assert fetcher.requests_made == 0


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("169.254.170.2", False),  # Fargate's task metadata and credentials endpoint
        ("10.0.3.7", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:169.254.169.254", False),
    ],
)
def test_only_globally_routable_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(address) is public
