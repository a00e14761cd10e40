"""The two kinds of failure a handler can report; the consumer alone decides what follows.

`PermanentError`: retrying cannot help (bad message, a job that does not exist). The message is
sent to the DLQ with the reason, then deleted. `RetryableError`: try again later; the message's
visibility is set to a backoff delay, and SQS's redrive policy moves it to the DLQ after
`maxReceiveCount` receives. Any other exception is treated as retryable.
"""

from __future__ import annotations


class PermanentError(Exception):
    """Processing this message can never succeed; it goes to the DLQ with `reason`."""

    def __init__(self, reason: str, *, kind: str = "permanent") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class RetryableError(Exception):
    """A transient failure (database away, throttling); the message is retried with backoff."""
