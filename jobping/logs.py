"""Logging set-up: JSON lines in containers, readable text on a terminal.

Configured once, in `main()`. Modules log with `logging.getLogger(__name__)` and pass structured
fields through `extra={...}`; the JSON formatter writes every such field as a top-level key, so
CloudWatch Logs Insights can filter on `message_id`, `job_id`, `outcome`, `duration_ms`.

Records are formatted and written by one writer thread: a thread that logs only appends to a
queue (`QueueHandler`). With a `StreamHandler`'s lock held across each write, the worker's
handler threads spent a sixth of their time queued on that lock (py-spy, pipeline benchmark).
The writer takes what has queued up at most every 50 ms and writes it at once, so busy threads
neither wake it for every record nor wait for a write each. The queue is flushed at exit;
`os._exit` (a second signal) drops what is left.

No personal data by default: code that logs about a user logs the user's id and at most a
masked address (`mask_email`), and both formatters mask anything that still looks like an
e-mail address (a provider's error text quoting the recipient, say) before a line is written.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import re
import sys
import threading
import time
from datetime import UTC, datetime
from logging.handlers import QueueHandler
from queue import Empty, SimpleQueue
from typing import Any, TextIO

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}
# One encoder for every line (json.dumps with options builds a new one per call).
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)
# An e-mail address. The runs either side of "@" are bounded, so a long hostile line (a job
# title is logged) costs linear time however it is built.
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")


def mask_email(address: str) -> str:
    """`ana@example.com` -> `a***@example.com`: the first letter and the domain, no more."""
    local, at, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if at else "***"


def redact_emails(text: str) -> str:
    """`text` with every e-mail address in it masked (`mask_email`)."""
    if "@" not in text:  # nearly every line: a scan in C, no regex
        return text
    return _EMAIL.sub(lambda found: mask_email(found.group()), text)


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
        return redact_emails(_ENCODER.encode(payload))


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
        return redact_emails(f"{line} {extras}" if extras else line)


class _Enqueue(QueueHandler):
    """Hands each record to the writer thread as it is: formatting happens there too."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


class _Writer:
    """The thread that formats queued records and writes them, a batch per write."""

    def __init__(self, formatter: logging.Formatter, stream: TextIO, pause: float = 0.05) -> None:
        self.records: SimpleQueue[logging.LogRecord | None] = SimpleQueue()
        self._formatter, self._stream, self._pause = formatter, stream, pause
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write everything queued so far, then end the thread."""
        self.records.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            batch = [self.records.get()]  # blocks only while nothing is being logged
            with contextlib.suppress(Empty):
                while True:
                    batch.append(self.records.get_nowait())
            records = [record for record in batch if record is not None]
            with contextlib.suppress(OSError, ValueError):  # a closed stream: nowhere to write
                self._stream.write("".join(self._line(record) for record in records))
                self._stream.flush()
            if len(records) < len(batch):
                return
            time.sleep(self._pause)  # let records gather: fewer wake-ups and writes

    def _line(self, record: logging.LogRecord) -> str:
        try:
            return self._formatter.format(record) + "\n"
        except Exception as error:  # a bad record must not stop the writer
            return f"unformattable log record {record.msg!r}: {error!r}\n"


_writer: _Writer | None = None


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
    flush()
    _writer = _Writer(JsonFormatter() if chosen == "json" else TextFormatter(), sys.stderr)
    root = logging.getLogger()
    root.handlers[:] = [_Enqueue(_writer.records)]
    root.setLevel(level)
    # Fields no formatter here writes, not worth their cost per record: the caller's file and
    # line (a stack walk), thread, process and multiprocessing names. The Logging HOWTO's
    # "Optimization" section lists these switches:
    # https://docs.python.org/3/howto/logging.html#optimization
    logging._srcfile = None  # the documented switch for caller information
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    for noisy in ("botocore", "boto3", "urllib3", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
