"""Hostile job boards, one small helper per scenario, for the scanner tests and the fault matrix.

Each helper returns what a board would send (a `Reply` for `LocalServer.route`, or listings for
a JobPing-format board); none of them needs a server of its own. Scenarios:

* `gzip_bomb_reply`, `stacked_gzip_bomb_reply`: a few KB that decompress to hundreds of MB.
* `trickle_reply`: a body sent one byte at a time, each within the read timeout.
* `redirect_reply`: a 302 to wherever the test says (another port, the metadata service).
* `nul_title_listing`, `out_of_range_date_listing`, `hijacking_listing`: single listings a board
  may send that must cost at most themselves.

`peak_memory_while` measures what a scenario cost in Python allocations (tracemalloc);
`run_together` starts several calls at the same moment (two scanners, two writers).
"""

from __future__ import annotations

import functools
import gzip
import json
import threading
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

from local_http import Reply

#: Where the instance metadata service answers on EC2 (and Fargate's own, 169.254.170.2).
METADATA_URL = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"


@functools.lru_cache(maxsize=4)
def gzip_of_zeros(decoded_bytes: int) -> bytes:
    """A gzip member of `decoded_bytes` zero bytes (about 1000:1; cached, it takes a moment)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(decoded_bytes // len(block))]
    parts.append(packer.compress(bytes(decoded_bytes % len(block))))
    parts.append(packer.flush())
    return b"".join(parts)


def gzip_bomb_reply(decoded_bytes: int = 256 * 1024 * 1024) -> Reply:
    """`Content-Encoding: gzip` whose body inflates to `decoded_bytes` (256 MiB from ~250 KB)."""
    return Reply(
        body=gzip_of_zeros(decoded_bytes),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )


def stacked_gzip_bomb_reply(decoded_bytes: int = 64 * 1024 * 1024) -> Reply:
    """`Content-Encoding: gzip, gzip`: gzip of a gzip bomb, a few hundred bytes on the wire."""
    return Reply(
        body=gzip.compress(gzip_of_zeros(decoded_bytes), 9),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip, gzip"},
    )


def trickle_reply(body: bytes | str, seconds_per_byte: float) -> Reply:
    """A 200 whose body arrives one byte every `seconds_per_byte` (never a read timeout)."""
    return Reply(body=body, trickle=seconds_per_byte, headers={"Content-Type": "application/json"})


def redirect_reply(location: str, status: int = 302) -> Reply:
    """A redirect to `location`."""
    return Reply(status=status, headers={"Location": location})


def job_listing(external_id: str, **fields: Any) -> dict[str, Any]:
    """One JobPing-format listing with the required fields, `fields` overriding them."""
    return {"external_id": external_id, "title": f"Engineer {external_id}", "company": "Acme",
            **fields}  # fmt: skip


def nul_title_listing(external_id: str = "nul-title") -> dict[str, Any]:
    """A listing whose title holds a NUL byte (PostgreSQL refuses NUL in text)."""
    return job_listing(external_id, title="Data\x00Engineer", description="Python\x00 and SQL")


def out_of_range_date_listing(external_id: str = "year-zero") -> dict[str, Any]:
    """A listing posted at a valid time whose UTC equivalent is before year 1."""
    return job_listing(external_id, posted_at="0001-01-01T00:00:00+14:00")


def hijacking_listing(victim: str, external_id: str, url: str) -> dict[str, Any]:
    """A listing that claims to belong to another source, pointing its job at `url`."""
    return job_listing(external_id, source=victim, url=url, title="Totally legit job")


def listings_reply(listings: list[dict[str, Any]]) -> Reply:
    """A JobPing-format board answering `listings`."""
    return Reply(body=json.dumps(listings), headers={"Content-Type": "application/json"})


def peak_memory_while(action: Callable[[], object]) -> tuple[Exception | None, int]:
    """Run `action`; the exception it raised (None if it returned) and the peak bytes that
    Python allocated meanwhile (tracemalloc: objects and buffers, not the interpreter)."""
    error: Exception | None = None
    tracemalloc.start()
    try:
        action()
    except Exception as caught:
        error = caught
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return error, peak


def run_together(*calls: Callable[[], None]) -> list[BaseException]:
    """Run `calls` in threads released at the same moment (two scanners at once, say); the
    exceptions they raised, none if all returned."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], None]) -> None:
        barrier.wait()
        try:
            call()
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return errors
