"""A board's DNS answers are hostile too: the address the scanner connects to is the one it
checked, resolved once per connection (scanner.netguard.PinnedBackend), against a real local
server. The rebinding board is a name whose answers the test scripts at `socket.getaddrinfo`,
the one lookup the scanner and the operating system's connect both go through."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from local_http import LocalServer, Reply

from scanner.http import Fetcher, FetchError, RetryPolicy, Timeouts, make_client

#: A public address (example.com's) that no test expects to answer: the checked one.
PUBLIC = "93.184.215.14"
REBINDING_NAME = "jobs.rebinding.example"


def _rebinding_dns(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> list[str]:
    """`REBINDING_NAME` answers `answers` in turn (the last one repeats); returns every lookup.

    Other hosts, IP literals included, are looked up as usual (a literal needs no DNS).
    """
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(str(host))
        if host == REBINDING_NAME:
            host = answers.pop(0) if len(answers) > 1 else answers[0]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_dns_answer_changing_after_the_check_cannot_reach_a_private_address(
    http_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = "/v1/boards/acme/jobs"
    http_server.route(path, Reply(body=b'[{"external_id": "internal"}]'))
    port = http_server.url.rsplit(":", 1)[1]
    asked = _rebinding_dns(monkeypatch, [PUBLIC, "127.0.0.1"])  # public to the check only

    with make_client(Timeouts(connect=0.5)) as client:
        fetcher = Fetcher(client, policy=RetryPolicy(attempts=1))
        with pytest.raises(FetchError) as caught:
            fetcher.get(f"http://{REBINDING_NAME}:{port}{path}")

    assert http_server.requests == []
    # One lookup of the name, then the connect to the address it gave (a literal, no DNS).
    assert asked == [REBINDING_NAME, PUBLIC]
    assert caught.value.reason.startswith(("ConnectError", "ConnectTimeout"))


def test_a_name_resolving_to_loopback_at_connect_is_refused_without_a_retry(
    http_server: LocalServer, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    port = http_server.url.rsplit(":", 1)[1]
    asked = _rebinding_dns(monkeypatch, ["127.0.0.1"])

    with make_client() as client:
        fetcher = Fetcher(client, policy=RetryPolicy(attempts=3), sleep=sleeps.append)
        with pytest.raises(FetchError) as caught:
            fetcher.get(f"http://{REBINDING_NAME}:{port}/jobs")

    refusal = f"{REBINDING_NAME} resolves to non-public address 127.0.0.1: refused"
    assert caught.value.reason == refusal
    assert (caught.value.attempts, sleeps, asked) == (1, [], [REBINDING_NAME])
    assert (http_server.requests, fetcher.requests_made) == ([], 0)


def test_each_connection_resolves_its_host_once(http_server: LocalServer) -> None:
    http_server.route("/a", Reply(body=b"a"))
    http_server.route("/b", Reply(body=b"b", headers={"Connection": "close"}))
    http_server.route("/c", Reply(body=b"c"))
    port = http_server.url.rsplit(":", 1)[1]
    resolved: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        resolved.append(host)
        return ["127.0.0.1"]

    with make_client(resolve=resolve) as client:
        fetcher = Fetcher(client)
        bodies = [fetcher.get(f"http://localhost:{port}/{path}").body for path in "abc"]

    assert bodies == [b"a", b"b", b"c"]
    # /a opens a connection, /b reuses it and closes it, /c opens the second one.
    assert resolved == ["localhost", "localhost"]
    assert len(http_server.requests) == 3


def test_a_source_configured_as_a_loopback_address_is_fetched_without_a_lookup(
    http_server: LocalServer,
) -> None:
    url = http_server.route("/board", Reply(body=b"[]"))
    resolved: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        resolved.append(host)
        return [PUBLIC]

    with make_client(resolve=resolve) as client:
        result = Fetcher(client).get(url)  # http://127.0.0.1:PORT/board: the operator's choice

    assert (result.status, result.body) == (200, b"[]")
    assert resolved == []
    assert len(http_server.requests_to("/board")) == 1
