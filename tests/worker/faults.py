"""Faults a test can inject between a worker and the database: a TCP proxy it can cut.

`TcpProxy` listens on a free loopback port and forwards every connection to the real server
(the session's embedded Postgres), so a test can take the database away from a worker without
stopping the server the other tests share:

- `cut()`: an outage. Every open connection is reset and new ones are closed as soon as they
  are accepted, as a database that is down or failing over looks to a client.
- `freeze()`: half-open connections. Open connections stay open but nothing is forwarded any
  more (the client waits for a reply that never comes); new connections work. What a dropped
  NAT entry or a failed-over host looks like on a connection already in use.
- `restore()`: forward again; frozen connections are reset.

Usage (`db_proxy` in `tests/worker/conftest.py` builds one for the test database):

    proxy = TcpProxy("127.0.0.1", postgres.port)
    proxy.start()
    url = proxy.rewrite(database_url)   # the same database, through the proxy
    ...
    proxy.cut(); ...; proxy.restore()
    proxy.stop()

Reusable by the fault matrix (`make faults`): the outage scenario in `test_outage.py` needs only
a proxy, a queue with the deployed settings and a worker.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from psycopg.conninfo import conninfo_to_dict, make_conninfo

#: `SO_LINGER` on, timeout 0: `close()` sends a reset instead of a graceful FIN.
_RESET = struct.pack("ii", 1, 0)


@dataclass
class _Pair:
    client: socket.socket
    server: socket.socket
    frozen: bool = False
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
            with contextlib.suppress(OSError):
                sock.close()


class TcpProxy:
    """A loopback TCP proxy to `host:port` that a test can cut, freeze and restore."""

    def __init__(self, host: str, port: int) -> None:
        """Forward to `host:port`; nothing listens until `start()`."""
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._pairs: list[_Pair] = []
        self._lock = threading.Lock()
        self._cut = False
        self._stopped = threading.Event()
        self.accepted = 0
        self.refused = 0

    def rewrite(self, url: str) -> str:
        """`url` (a libpq URL or conninfo) pointed at the proxy instead of the server."""
        params = conninfo_to_dict(url)
        params.update(host="127.0.0.1", port=str(self.port))
        return make_conninfo(**params)

    def start(self) -> None:
        """Start accepting connections."""
        threading.Thread(target=self._accept_loop, name="proxy-accept", daemon=True).start()

    def stop(self) -> None:
        """Stop accepting and reset every connection."""
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self._reset_all(lambda pair: True)

    def cut(self) -> None:
        """Reset every open connection and refuse new ones until `restore()`."""
        with self._lock:
            self._cut = True
        self._reset_all(lambda pair: True)

    def freeze(self) -> None:
        """Stop forwarding on the open connections (they hang); new connections still work."""
        with self._lock:
            for pair in self._pairs:
                pair.frozen = True

    def restore(self) -> None:
        """Accept and forward again; reset the connections `freeze()` left hanging."""
        with self._lock:
            self._cut = False
        self._reset_all(lambda pair: pair.frozen)

    def open_connections(self) -> int:
        """Connections being forwarded right now."""
        with self._lock:
            return sum(1 for pair in self._pairs if not pair.closed)

    def _reset_all(self, which: Callable[[_Pair], bool]) -> None:
        with self._lock:
            pairs = [pair for pair in self._pairs if which(pair)]
            self._pairs = [pair for pair in self._pairs if pair not in pairs]
        for pair in pairs:
            pair.reset()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refuse = self._cut
            if refuse:
                self.refused += 1
                _Pair(client, socket.socket()).reset()
                continue
            try:
                server = socket.create_connection(self._target, timeout=5)
            except OSError:
                _Pair(client, socket.socket()).reset()
                continue
            server.settimeout(None)
            pair = _Pair(client, server)
            with self._lock:
                self._pairs.append(pair)
                self.accepted += 1
            for src, dst in ((client, server), (server, client)):
                threading.Thread(
                    target=self._pump, args=(pair, src, dst), name="proxy-pump", daemon=True
                ).start()

    def _pump(self, pair: _Pair, src: socket.socket, dst: socket.socket) -> None:
        """Copy `src` to `dst` until either closes; hold the bytes back while frozen."""
        while not pair.closed:
            try:
                ready, _, _ = select.select([src], [], [], 0.2)
                if not ready:
                    continue
                if pair.frozen:  # a half-open connection: nothing goes through, nothing closes
                    self._stopped.wait(0.2)
                    continue
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
            except (OSError, ValueError):  # reset, or closed by another thread
                break
        pair.reset()
