"""The job-queue message (ARCHITECTURE.md, "Message on the job queue").

`decode` is the only way a body becomes a `JobMessage`; anything it rejects raises
`InvalidMessage`, a permanent error whose `kind` and reason the worker copies onto the message
it moves to the DLQ. A body that cannot be parsed at all, however it fails (nested too deeply for
the parser, a number too long to convert, any other parser error), is `bad_json` at once: no
retry can parse it. `encode` refuses bodies SQS would refuse.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError

#: SQS's classic maximum message size (AWS allows 1 MiB since 2025; emulators and
#: SendMessageBatch's total payload still use 256 KiB). Job messages are far smaller.
MAX_MESSAGE_BYTES = 262_144
#: Actions the worker knows; anything else is a permanent error.
PROCESS_JOB = "process_job"
KNOWN_ACTIONS: frozenset[str] = frozenset({PROCESS_JOB})

InvalidKind = Literal["bad_json", "schema", "unknown_action", "oversize", "encoding"]
_Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class InvalidMessage(ValueError):
    """A body that is not a valid job message; permanent: it goes to the DLQ, never retried."""

    def __init__(self, kind: InvalidKind, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind: InvalidKind = kind
        self.reason = reason


class JobSummary(BaseModel):
    """Enough of a job to log and route it; the full description stays in the database."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    title: _Text = ""
    company: _Text = ""
    location: _Text = ""
    url: Annotated[str, StringConstraints(max_length=2048)] = ""


class JobMessage(BaseModel):
    """One unit of work on the job queue."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: UUID
    action: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    data: JobSummary
    enqueued_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))


def encode(message: JobMessage) -> str:
    """Serialize `message` as compact JSON; raises `InvalidMessage` if SQS would refuse it."""
    body = message.model_dump_json()
    size = len(body.encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise InvalidMessage("oversize", f"{size} bytes > {MAX_MESSAGE_BYTES}")
    return body


def decode(body: str | bytes, actions: Collection[str] = KNOWN_ACTIONS) -> JobMessage:
    """Parse and validate a message body.

    Args:
        body: the raw SQS message body.
        actions: the actions the caller can handle.

    Raises:
        InvalidMessage: with `kind` bad_json, encoding, oversize, schema or unknown_action.
    """
    raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InvalidMessage("oversize", f"{len(raw)} bytes > {MAX_MESSAGE_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidMessage("encoding", f"body is not UTF-8: {error.reason}") from None
    parsed = _parse(text)
    if not isinstance(parsed, dict):
        raise InvalidMessage("schema", f"body is a JSON {type(parsed).__name__}, not an object")
    try:
        message = JobMessage.model_validate(parsed)
    except PydanticValidationError as error:
        raise InvalidMessage("schema", _first_error(error)) from None
    except (RecursionError, ValueError) as error:  # a validator failing outside pydantic's rules
        raise InvalidMessage("schema", f"{type(error).__name__}: {error}"[:500]) from None
    if message.action not in actions:
        raise InvalidMessage("unknown_action", f"action {message.action!r} is not handled")
    return message


def _parse(text: str) -> object:
    """`json.loads(text)`, with every way it can fail turned into a `bad_json` InvalidMessage."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidMessage("bad_json", f"{error.msg} at line {error.lineno}") from None
    except RecursionError:  # "[[[[…": each level costs the C parser a stack frame
        raise InvalidMessage("bad_json", "nested too deeply to parse") from None
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        raise InvalidMessage("bad_json", f"{type(error).__name__}: {error}"[:500]) from None


def _first_error(error: PydanticValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    extra = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {first['msg']}{extra}"
