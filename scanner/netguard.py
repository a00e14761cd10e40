"""Where a source's requests may go: its configured origin, and no private network by accident.

A board is hostile input too. Redirects are followed only within the origin (scheme, host,
port) of the source's configured URL, so a board answering 302 to another host or port (the
instance metadata service at 169.254.169.254, an internal admin page) is refused instead of
being fetched and stored as jobs (`OriginPolicy`). Every connection resolves its host once and
is refused when any of its addresses is not public: loopback, link-local (169.254.0.0/16,
fe80::/10), private, shared (100.64.0.0/10), reserved or multicast. The exception is a host
that itself names such an address (an IP literal or `localhost`): an operator's deliberate
choice, as in local development and the tests (redirects stay on the configured host, so this
is the configured URL's choice).

The address checked is the address connected to (`PinnedBackend`, httpcore's network backend
for the scanner's client): the name is resolved once per connection, and the socket is opened
to one of those checked addresses, never to the name. A DNS answer that changes between a check
and a connect (rebinding: public to the check, 127.0.0.1 to the connect) therefore cannot reach
an internal address. TLS still verifies the certificate for the host name: httpcore takes the
SNI name from the request's origin, not from the socket.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

import httpcore
import httpx

#: host, port -> the addresses it resolves to.
Resolver = Callable[[str, int], list[str]]
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
#: httpx's own default pool limits (httpx._config.DEFAULT_LIMITS in 0.28).
_POOL_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class Refused(Exception):
    """A request the policy does not allow; `reason` says which rule and which target."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, as the operating system answers (raises OSError)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public(address: str) -> bool:
    """True for a globally routable unicast address; IPv4-mapped IPv6 is judged as IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone ("%eth0") is no part
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _names_private(host: str) -> bool:
    """`host` is `localhost` or a literal address that is not public (redirects keep the host)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not is_public(host)
    except ValueError:  # a name, not an address
        return False


@dataclass(frozen=True)
class OriginPolicy:
    """The origin (scheme, host, port) of one source's configured URL."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: httpx.URL) -> OriginPolicy:
        """The policy for a source whose configured URL is `url`."""
        return cls(url.scheme, url.host, _port(url))

    @property
    def origin(self) -> str:
        """`scheme://host:port`, for messages."""
        return f"{self.scheme}://{self.host}:{self.port}"

    def check(self, url: httpx.URL) -> None:
        """Refuse `url` unless it is on this origin (its addresses are checked at connect).

        Raises:
            Refused: another origin.
        """
        target = f"{url.scheme}://{url.host}:{_port(url)}"
        if target != self.origin:
            raise Refused(f"redirect to {target} refused: only {self.origin} is followed")


class PinnedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to addresses it resolved once and checked."""

    def __init__(self, resolve: Resolver = system_resolver) -> None:
        self._resolve = resolve

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect to the first checked address of `host` that answers, as the OS would.

        Raises:
            Refused: `host` resolves to a non-public address and does not name one itself.
            httpcore.ConnectError: `host` does not resolve, or no address accepts.
            httpcore.ConnectTimeout: the last address tried did not answer in time.
        """
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in self.addresses(host, port):
            try:  # an IP literal: the OS connects to it without resolving anything
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        raise failure or httpcore.ConnectError(f"{host} resolves to no address")

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for `host`: resolved once, each checked."""
        if _is_literal(host):
            addresses = [host]
        else:
            try:
                addresses = self._resolve(host, port)
            except OSError as error:  # a transport failure, worth a retry
                raise httpcore.ConnectError(f"{type(error).__name__}: {error}") from error
        if not _names_private(host):
            for address in addresses:
                if not is_public(address):
                    raise Refused(f"{host} resolves to non-public address {address}: refused")
        return addresses


class PinnedTransport(httpx.HTTPTransport):
    """httpx's default transport, its connections made by a `PinnedBackend`.

    httpx 0.28 takes no network backend, so this replaces the pool `HTTPTransport.__init__`
    builds (`_pool`, the one `handle_request` sends through) with one from httpcore's public
    constructor, configured as httpx's default. If a new httpx keeps its pool elsewhere, this
    fails here instead of connecting without the check.
    """

    def __init__(self, resolve: Resolver = system_resolver) -> None:
        ssl_context = httpx.create_ssl_context()
        super().__init__(verify=ssl_context, limits=_POOL_LIMITS)
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("httpx.HTTPTransport has no _pool to pin: see scanner.netguard")
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=_POOL_LIMITS.max_connections,
            max_keepalive_connections=_POOL_LIMITS.max_keepalive_connections,
            keepalive_expiry=_POOL_LIMITS.keepalive_expiry,
            network_backend=PinnedBackend(resolve),
        )


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _port(url: httpx.URL) -> int:
    return url.port or _DEFAULT_PORTS.get(url.scheme, 0)
