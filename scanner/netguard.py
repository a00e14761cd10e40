"""Where a source's requests may go: its configured origin, and no private network by accident.

A board is hostile input too. Redirects are followed only within the origin (scheme, host,
port) of the source's configured URL, so a board answering 302 to another host or port (the
instance metadata service at 169.254.169.254, an internal admin page) is refused instead of
being fetched and stored as jobs. Every host is also resolved before the request and refused
when any of its addresses is not public: loopback, link-local (169.254.0.0/16, fe80::/10),
private, shared (100.64.0.0/10), reserved or multicast. The exception is a source whose
configured URL itself names such an address (an IP literal or `localhost`): an operator's
deliberate choice, as in local development and the tests.

Known gap: httpx resolves the name again when it connects, so a DNS answer that changes
between the two lookups (rebinding) is not caught; closing it means connecting to the address
that was checked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import httpx

#: host, port -> the addresses it resolves to.
Resolver = Callable[[str, int], list[str]]
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


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
    """The configured host is `localhost` or a literal address that is not public."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not is_public(host)
    except ValueError:  # a name, not an address
        return False


@dataclass(frozen=True)
class OriginPolicy:
    """The origin of one source's configured URL and whether it may be a private address."""

    scheme: str
    host: str
    port: int
    private_ok: bool

    @classmethod
    def of(cls, url: httpx.URL) -> OriginPolicy:
        """The policy for a source whose configured URL is `url`."""
        return cls(url.scheme, url.host, _port(url), private_ok=_names_private(url.host))

    @property
    def origin(self) -> str:
        """`scheme://host:port`, for messages."""
        return f"{self.scheme}://{self.host}:{self.port}"

    def check(self, url: httpx.URL, resolve: Resolver) -> None:
        """Refuse `url` unless it is on this origin and (unless allowed) resolves publicly.

        Raises:
            Refused: another origin, or a non-public address.
            OSError: the host cannot be resolved (a transport failure, worth a retry).
        """
        target = f"{url.scheme}://{url.host}:{_port(url)}"
        if target != self.origin:
            raise Refused(f"redirect to {target} refused: only {self.origin} is followed")
        if self.private_ok:
            return
        for address in resolve(url.host, _port(url)):
            if not is_public(address):
                raise Refused(f"{url.host} resolves to non-public address {address}: refused")


def _port(url: httpx.URL) -> int:
    return url.port or _DEFAULT_PORTS.get(url.scheme, 0)
