"""HTTP for every source: one httpx client, polite retries, conditional GETs.

`Fetcher.get` sends `If-None-Match` / `If-Modified-Since` from the validators it is given and
answers either "not modified" (304) or the body with the new validators. It retries 5xx, 429 and
transport errors (timeouts, refused connections) a bounded number of times with exponential
backoff and jitter, and waits what `Retry-After` asks (seconds or an HTTP date), up to a cap.
Validators are remembered per source through a `ValidatorStore`; the database implements it in
production, `InMemoryValidatorStore` in tests and dry runs.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final, Protocol

import httpx

log = logging.getLogger(__name__)

JOBPING_VERSION: Final = "0.1.0"
USER_AGENT: Final = f"JobPing/{JOBPING_VERSION} (+https://github.com/jobping/jobping)"
#: Largest body read from a board; a bigger one is an error, not a memory problem.
MAX_BODY_BYTES: Final = 32 * 1024 * 1024


@dataclass(frozen=True)
class Validators:
    """What a server said identifies the version of a resource (`ETag`, `Last-Modified`)."""

    etag: str | None = None
    last_modified: str | None = None

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)


class ValidatorStore(Protocol):
    """Where validators are remembered between runs, per source name."""

    def get(self, source: str) -> Validators | None:
        """The validators last stored for `source`, if any."""
        ...

    def put(self, source: str, v: Validators) -> None:
        """Remember `v` for `source`."""
        ...


class InMemoryValidatorStore:
    """A `ValidatorStore` in a dict: for tests and dry runs."""

    def __init__(self, initial: Mapping[str, Validators] | None = None) -> None:
        self.saved: dict[str, Validators] = dict(initial or {})

    def get(self, source: str) -> Validators | None:
        """The validators last stored for `source`, if any."""
        return self.saved.get(source)

    def put(self, source: str, v: Validators) -> None:
        """Remember `v` for `source`."""
        self.saved[source] = v


@dataclass(frozen=True)
class FetchResult:
    """One successful GET: 304 (`not_modified`, empty body) or 2xx with its body."""

    url: str
    status: int
    not_modified: bool
    body: bytes
    validators: Validators
    content_type: str = ""


class FetchError(Exception):
    """A GET that failed for good: non-retryable status, or retries used up."""

    def __init__(self, url: str, reason: str, *, status: int | None = None, attempts: int = 1):
        super().__init__(f"GET {url} failed after {attempts} attempt(s): {reason}")
        self.url = url
        self.reason = reason
        self.status = status
        self.attempts = attempts


@dataclass(frozen=True)
class RetryPolicy:
    """How hard `Fetcher` tries before it gives up."""

    attempts: int = 4
    """Total attempts per GET, the first one included."""
    base_delay: float = 0.5
    """Backoff before the second attempt, in seconds; doubles for each one after."""
    max_delay: float = 30.0
    """Longest backoff between attempts."""
    max_retry_after: float = 60.0
    """Longest wait a `Retry-After` header can ask for; longer requests are cut to this."""


@dataclass(frozen=True)
class Timeouts:
    """Per-request limits, in seconds."""

    connect: float = 5.0
    read: float = 20.0
    write: float = 10.0
    pool: float = 5.0


def make_client(
    timeouts: Timeouts | None = None,
    *,
    user_agent: str = USER_AGENT,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """The one HTTP client the scanner uses: timeouts, User-Agent, redirects followed."""
    limits = timeouts or Timeouts()
    return httpx.Client(
        timeout=httpx.Timeout(
            connect=limits.connect, read=limits.read, write=limits.write, pool=limits.pool
        ),
        headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
        follow_redirects=True,
        max_redirects=5,
        transport=transport,
    )


def _is_retryable(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


class _Retry(Exception):
    """Internal: this attempt failed in a way worth another try."""

    def __init__(self, reason: str, status: int | None, retry_after: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class Fetcher:
    """GETs with retries and conditional requests over one `httpx.Client`.

    Args:
        client: from `make_client`; the caller owns and closes it.
        policy: attempts and backoff.
        sleep: how to wait between attempts (tests pass a recorder).
        jitter: a random number in [0, 1) per backoff (tests pass a constant).
        max_body_bytes: longest body accepted.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._client = client
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._jitter = jitter
        self._max_body_bytes = max_body_bytes
        self.requests_made = 0
        """HTTP requests sent, retries included (for the scan summary)."""
        self.not_modified = 0
        """Responses that were 304 Not Modified."""

    def get(
        self,
        url: str,
        *,
        validators: Validators | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """GET `url`, conditionally when `validators` are given.

        Raises:
            FetchError: a 4xx other than 429, or the last attempt's failure once retries
                are used up.
        """
        request_headers = dict(headers or {})
        if validators and validators.etag:
            request_headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            request_headers["If-Modified-Since"] = validators.last_modified
        attempts = self._policy.attempts
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(url, request_headers, validators, attempt)
            except _Retry as retry:
                if attempt == attempts:
                    raise FetchError(
                        url, retry.reason, status=retry.status, attempts=attempt
                    ) from None
                delay = self._delay(attempt, retry.retry_after)
                log.warning(
                    "retrying GET",
                    extra={"url": url, "reason": retry.reason, "attempt": attempt,
                           "delay_s": round(delay, 3)},
                )  # fmt: skip
                self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _attempt(
        self, url: str, headers: dict[str, str], previous: Validators | None, attempt: int
    ) -> FetchResult:
        self.requests_made += 1
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    self.not_modified += 1
                    return FetchResult(
                        url=url, status=304, not_modified=True, body=b"",
                        validators=_merge(previous, _validators(response)),
                    )  # fmt: skip
                if _is_retryable(response.status_code):
                    raise _Retry(
                        f"HTTP {response.status_code}",
                        response.status_code,
                        _retry_after(response.headers.get("Retry-After")),
                    )
                if not response.is_success:
                    raise FetchError(
                        url, f"HTTP {response.status_code}", status=response.status_code,
                        attempts=attempt,
                    )  # fmt: skip
                body = self._read(url, response, attempt)
        except httpx.TransportError as error:
            raise _Retry(f"{type(error).__name__}: {error}".rstrip(": "), None, None) from error
        except (httpx.HTTPError, httpx.InvalidURL) as error:  # bad encoding, redirect loop, URL
            raise FetchError(url, f"{type(error).__name__}: {error}", attempts=attempt) from error
        return FetchResult(
            url=url, status=response.status_code, not_modified=False, body=body,
            validators=_validators(response),
            content_type=response.headers.get("Content-Type", ""),
        )  # fmt: skip

    def _read(self, url: str, response: httpx.Response, attempt: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self._max_body_bytes:
                raise FetchError(
                    url, f"body larger than {self._max_body_bytes} bytes", attempts=attempt
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """`Retry-After` when the server gave one, else exponential backoff with jitter."""
        policy = self._policy
        if retry_after is not None:
            return min(retry_after, policy.max_retry_after)
        backoff = min(policy.max_delay, policy.base_delay * 2.0 ** (attempt - 1))
        return backoff / 2 + backoff / 2 * self._jitter()


def _validators(response: httpx.Response) -> Validators:
    return Validators(
        etag=response.headers.get("ETag") or None,
        last_modified=response.headers.get("Last-Modified") or None,
    )


def _merge(previous: Validators | None, fresh: Validators) -> Validators:
    """A 304 may refresh one validator and omit the other: keep what it did not repeat."""
    old = previous or Validators()
    return Validators(
        etag=fresh.etag or old.etag, last_modified=fresh.last_modified or old.last_modified
    )


def _retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or HTTP-date); None if invalid."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
