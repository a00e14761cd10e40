"""HTTP for every source: one httpx client, polite retries, conditional GETs, hard limits.

`Fetcher.get` sends `If-None-Match` / `If-Modified-Since` from the validators it is given and
answers either "not modified" (304) or the body with the new validators. It retries 5xx, 429 and
transport errors (timeouts, refused connections) a bounded number of times with exponential
backoff and jitter, and waits what `Retry-After` asks (seconds or an HTTP date), up to a cap.

What a board sends is hostile input, so every GET is bounded three ways: the body, counted as
it is DECOMPRESSED (`scanner.body`); the time, by a total deadline per source that covers
every attempt, read and backoff (`Fetcher.deadline`); and the target, since redirects are
followed only within the configured origin, and each connection goes to an address of its
host that was resolved once and checked to be public (`scanner.netguard`).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

import httpx

from jobping import __version__
from scanner.body import BodyError, read_body
from scanner.deadline import Deadline
from scanner.netguard import OriginPolicy, PinnedTransport, Refused, Resolver, system_resolver
from scanner.retry import RetryPolicy, retry_after_seconds
from scanner.validators import InMemoryValidatorStore, Validators, ValidatorStore

# The validator types are re-exported: sources and tests import them from here.
__all__ = ["FetchError", "FetchResult", "Fetcher", "InMemoryValidatorStore", "ValidatorStore"]
__all__ += ["MAX_BODY_BYTES", "USER_AGENT", "RetryPolicy", "Timeouts", "Validators", "make_client"]

log = logging.getLogger(__name__)

USER_AGENT: Final = f"JobPing/{__version__} (+https://github.com/jobping/jobping)"
#: Largest body accepted from a board, counted after decompression. The scanner task has
#: 512 MiB. `json.loads` of a hostile document costs up to ~34 bytes of Python objects per
#: byte (measured with tracemalloc: `[{}],` repeated; real board JSON costs 2-4, feedparser's
#: worst is ~30), plus the body and its decoded text: 8 MiB x ~36 = ~290 MiB at worst, which
#: leaves ~200 MiB for the interpreter, its libraries and the pool. 8 MiB is ~800 Greenhouse
#: jobs with descriptions (~10 KB each): larger than the boards the scanner reads.
MAX_BODY_BYTES: Final = 8 * 1024 * 1024
#: Redirect hops followed per request (all within the configured origin).
MAX_REDIRECTS: Final = 5


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
    resolve: Resolver = system_resolver,
) -> httpx.Client:
    """The one HTTP client the scanner uses: timeouts, User-Agent; `Fetcher` follows redirects.

    httpx would follow a redirect anywhere, so the client follows none and `Fetcher` follows
    those its origin policy allows. Its transport connects only to addresses `resolve` gave
    and `scanner.netguard` checked; with a transport of its own, httpx also ignores proxy
    variables (`HTTP_PROXY`...), whose proxy would resolve the name again.
    """
    limits = timeouts or Timeouts()
    return httpx.Client(
        timeout=httpx.Timeout(
            connect=limits.connect, read=limits.read, write=limits.write, pool=limits.pool
        ),
        headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
        follow_redirects=False,
        transport=PinnedTransport(resolve),
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
    """GETs with retries, conditional requests and hard limits over one `httpx.Client`.

    Args:
        client: from `make_client`; the caller owns and closes it.
        policy: attempts and backoff.
        sleep: how to wait between attempts (tests pass a recorder).
        jitter: a random number in [0, 1) per backoff (tests pass a constant).
        max_body_bytes: longest body accepted, counted after decompression.
        clock: monotonic seconds, for deadlines.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        max_body_bytes: int = MAX_BODY_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._jitter = jitter
        self._max_body_bytes = max_body_bytes
        self._clock = clock
        self._deadline: Deadline | None = None
        self.requests_made = 0
        """HTTP requests sent, retries and redirects included (for the scan summary)."""
        self.not_modified = 0
        """Responses that were 304 Not Modified."""

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        """Every GET inside the block, retries, reads and backoff included, ends by then."""
        self._deadline = Deadline.start(seconds, self._clock)
        try:
            yield
        finally:
            self._deadline = None

    def get(
        self,
        url: str,
        *,
        validators: Validators | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """GET `url`, conditionally when `validators` are given; `url`'s origin is the limit.

        Raises:
            FetchError: a 4xx other than 429, a refused redirect, target or body, the
                deadline, or the last attempt's failure once retries are used up.
        """
        request_headers = dict(headers or {})
        if validators and validators.etag:
            request_headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            request_headers["If-Modified-Since"] = validators.last_modified
        try:
            origin = OriginPolicy.of(httpx.URL(url))
        except httpx.InvalidURL as error:
            raise FetchError(url, f"InvalidURL: {error}") from None
        attempts = self._policy.attempts
        for attempt in range(1, attempts + 1):
            self._check_deadline(url, attempt)
            try:
                return self._attempt(url, origin, request_headers, validators, attempt)
            except _Retry as retry:
                self._check_deadline(url, attempt)  # a read cut short by the deadline says so
                delay = self._delay(attempt, retry.retry_after)
                if attempt == attempts or (self._deadline and not self._deadline.allows(delay)):
                    raise FetchError(
                        url, retry.reason, status=retry.status, attempts=attempt
                    ) from None
                log.warning(
                    "retrying GET",
                    extra={"url": url, "reason": retry.reason, "attempt": attempt,
                           "delay_s": round(delay, 3)},
                )  # fmt: skip
                self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _attempt(
        self,
        url: str,
        origin: OriginPolicy,
        headers: dict[str, str],
        previous: Validators | None,
        attempt: int,
    ) -> FetchResult:
        """One request and the redirects it earns, each checked against `origin`."""
        try:
            request = self._client.build_request("GET", url, headers=headers)
            for _hop in range(MAX_REDIRECTS + 1):
                origin.check(request.url)
                timeouts = self._deadline.cap(self._client.timeout) if self._deadline else None
                request.extensions["timeout"] = (timeouts or self._client.timeout).as_dict()
                response = self._send(request)
                try:
                    if response.next_request is None:
                        return self._settle(url, response, previous, attempt)
                    request = response.next_request
                finally:
                    response.close()
            raise FetchError(url, f"more than {MAX_REDIRECTS} redirects", attempts=attempt)
        except (Refused, BodyError) as error:
            raise FetchError(url, error.reason, attempts=attempt) from None
        except (httpx.TransportError, OSError) as error:  # OSError: any httpx did not map
            raise _Retry(f"{type(error).__name__}: {error}".rstrip(": "), None, None) from error
        except (httpx.HTTPError, httpx.InvalidURL) as error:  # a bad redirect URL, say
            raise FetchError(url, f"{type(error).__name__}: {error}", attempts=attempt) from error

    def _send(self, request: httpx.Request) -> httpx.Response:
        """Send `request`, counted unless its connection was refused before anything was sent."""
        self.requests_made += 1
        try:
            return self._client.send(request, stream=True)
        except Refused:
            self.requests_made -= 1
            raise

    def _settle(
        self, url: str, response: httpx.Response, previous: Validators | None, attempt: int
    ) -> FetchResult:
        """A final (non-redirect) response as a result, a retry or an error."""
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
                retry_after_seconds(response.headers.get("Retry-After")),
            )
        if not response.is_success:
            raise FetchError(
                url, f"HTTP {response.status_code}", status=response.status_code,
                attempts=attempt,
            )  # fmt: skip
        body = read_body(
            response.headers,
            response.iter_raw(),
            self._max_body_bytes,
            tick=lambda: self._check_deadline(url, attempt),
        )
        return FetchResult(
            url=url, status=response.status_code, not_modified=False, body=body,
            validators=_validators(response),
            content_type=response.headers.get("Content-Type", ""),
        )  # fmt: skip

    def _check_deadline(self, url: str, attempt: int) -> None:
        if self._deadline is not None and self._deadline.expired():
            raise FetchError(url, self._deadline.reason, attempts=attempt)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """`Retry-After` when the server gave one, else exponential backoff with jitter."""
        return self._policy.delay(attempt, retry_after, self._jitter())


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
