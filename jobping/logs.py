"""Logging set-up: JSON lines in containers, readable text on a terminal.

Configured once, in `main()`. Modules log with `logging.getLogger(__name__)` and pass structured
fields through `extra={...}`; the JSON formatter writes every such field as a top-level key, so
CloudWatch Logs Insights can filter on `message_id`, `job_id`, `outcome`, `duration_ms`.

Records are formatted and written by one writer thread (`QueueHandler` → `QueueListener`): a
thread that logs only appends to a queue. With the handler's lock held across each write, the
worker's handler threads spent a sixth of their time queued on that lock (py-spy, pipeline
benchmark). The queue is flushed at exit; `os._exit` (a second signal) drops what is left.
"""

from __future__ import annotations

import atexit
import json
import logging
import sys
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener
from queue import SimpleQueue
from typing import Any

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line with time, level, logger, message and the `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Human-readable lines; `extra` fields follow the message as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(
            f"{key}={value}"
            for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_")
        )
        return f"{line} {extras}" if extras else line


class _Enqueue(QueueHandler):
    """Hands each record to the writer thread as it is: formatting happens there too."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


_writer: QueueListener | None = None


def flush() -> None:
    """Write every queued record and stop the writer thread (at exit, or before reconfiguring)."""
    global _writer  # noqa: PLW0603  # the one writer thread of the process
    if _writer is not None:
        _writer.stop()
        _writer = None


atexit.register(flush)


def configure(level: str = "INFO", fmt: str | None = None) -> None:
    """Configure the root logger once; `fmt=None` picks text on a TTY and JSON otherwise."""
    global _writer  # noqa: PLW0603  # the one writer thread of the process
    chosen = fmt or ("text" if sys.stderr.isatty() else "json")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    flush()
    records: SimpleQueue[logging.LogRecord] = SimpleQueue()
    _writer = QueueListener(records, handler)
    _writer.start()
    root = logging.getLogger()
    root.handlers[:] = [_Enqueue(records)]
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
