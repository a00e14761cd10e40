"""Response bodies read within a byte budget that counts DECOMPRESSED bytes as they are made.

httpx decodes `Content-Encoding` a whole network chunk at a time, so a size check on what it
yields comes too late: 980 bytes sent as `gzip, gzip` inflate to 1 GiB in one call. Here the
raw bytes are inflated with zlib's `max_length`, a bounded piece at a time, and reading stops
as soon as the budget is spent. At most one encoding (`gzip`, `deflate`; `identity` is none)
is accepted: the scanner asks for nothing else, and stacked encodings build such bombs.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Final

import httpx

_WBITS: Final = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS}
_DEFLATE: Final = "deflate"
#: Most bytes one inflate step may produce: the overshoot past the limit is at most this.
_STEP: Final = 256 * 1024


class BodyError(Exception):
    """The body is refused: too large once decoded, or an encoding the scanner does not take."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def content_encoding(headers: httpx.Headers) -> str | None:
    """The one content coding of a response, or None; `BodyError` for stacked or unknown ones."""
    codings = [
        value.strip().lower()
        for value in headers.get_list("content-encoding", split_commas=True)
        if value.strip() and value.strip().lower() != "identity"
    ]
    if len(codings) > 1:
        raise BodyError(f"stacked Content-Encoding refused: {', '.join(codings)[:100]}")
    if codings and codings[0] not in (*_WBITS, _DEFLATE):
        raise BodyError(f"unsupported Content-Encoding: {codings[0][:40]}")
    return codings[0] if codings else None


class _Inflater:
    """Incremental gzip or deflate (zlib-wrapped, or raw as some servers send it)."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._raw_fallback = coding == _DEFLATE
        self._zlib = zlib.decompressobj(_WBITS.get(coding, zlib.MAX_WBITS))

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """`data` decoded, in pieces of at most `_STEP` bytes, so the caller can stop early."""
        while data:
            yield self._decompress(data)
            data = self._zlib.unconsumed_tail  # input left over when a piece was full

    def _decompress(self, data: bytes) -> bytes:
        try:
            decoded = self._zlib.decompress(data, _STEP)
        except zlib.error as error:
            if not self._raw_fallback:
                raise BodyError(f"body is not valid {self._coding}: {error}") from None
            # RFC 9110's deflate is zlib-wrapped; some servers send raw deflate: retry as that.
            self._raw_fallback = False
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._decompress(data)
        self._raw_fallback = self._raw_fallback and not decoded  # only before any output
        return decoded


def read_body(
    headers: httpx.Headers, raw_chunks: Iterable[bytes], limit: int, tick: Callable[[], None]
) -> bytes:
    """The decoded body, at most `limit` bytes both as sent and as decoded.

    Args:
        headers: the response's headers (for `Content-Encoding`).
        raw_chunks: the body as sent (`response.iter_raw()`).
        limit: most bytes accepted, before and after decoding.
        tick: called before each chunk is decoded (the caller's deadline check).

    Raises:
        BodyError: too large, or an encoding that is refused or broken.
    """
    coding = content_encoding(headers)
    inflater = _Inflater(coding) if coding else None
    parts: list[bytes] = []
    sent = size = 0
    for chunk in raw_chunks:
        tick()
        sent += len(chunk)
        if sent > limit:
            raise BodyError(f"body larger than {limit} bytes")
        for piece in inflater.pieces(chunk) if inflater else (chunk,):
            size += len(piece)
            if size > limit:
                raise BodyError(f"body larger than {limit} bytes once decoded ({coding})")
            parts.append(piece)
    return b"".join(parts)
