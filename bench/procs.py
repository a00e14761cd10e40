"""Worker and scanner processes as the benchmark sees them: started, watched, measured, stopped.

Measurements come from outside the process, so they cost it nothing:

- CPU seconds: `utime + stime` from `/proc/<pid>/stat`, sampled while it runs;
- peak RSS: `VmHWM` from `/proc/<pid>/status`, read until the process has exited. Not
  `ru_maxrss`: Linux carries the pre-exec RSS of the forked child (a copy of the harness, which
  holds the fixtures) into it, so it reports the harness's size, not the worker's;
- first poll: the wall time of its first `received batch` log line, i.e. when the first
  ReceiveMessage *returned*; measured from a timestamp taken just before `Popen`, so start to
  first poll is an upper bound (it includes that one round trip);
- SQS requests: the worker's own count (a botocore `before-send` hook, logged at shutdown).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from bench.env import REPO

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Finished:
    """What a worker process left behind once stopped."""

    exit_code: int
    peak_rss_kib: int
    cpu_s: float
    records: list[dict[str, Any]] = field(default_factory=list)

    def first(self, message: str) -> dict[str, Any] | None:
        """The first log record with this message."""
        return next((r for r in self.records if r.get("message") == message), None)

    def stopped_record(self) -> dict[str, Any]:
        """The worker's `worker stopped` record (outcomes, sqs_requests)."""
        return self.first("worker stopped") or {}


class WorkerProcess:
    """One `python -m <module>` worker with its logs in `logdir`."""

    def __init__(self, module: str, env: dict[str, str], logdir: Path, name: str) -> None:
        self.module, self.env, self.name = module, env, name
        self.log_path = logdir / f"{name}.log"
        self.out_path = logdir / f"{name}.out"
        self.started_at = 0.0
        self._proc: subprocess.Popen[bytes] | None = None
        self._files: list[IO[bytes]] = []
        self._argv = [sys.executable, "-m", module]

    def wrap(self, *prefix: str) -> None:
        """Run under another program (a profiler), which then runs the worker itself."""
        self._argv = [*prefix, *self._argv]

    @property
    def pid(self) -> int:
        """The process id."""
        assert self._proc is not None
        return self._proc.pid

    def start(self) -> None:
        """Start the process; `started_at` is the wall time just before `Popen`."""
        self._files = [self.log_path.open("wb"), self.out_path.open("wb")]
        self.started_at = time.time()
        self._proc = subprocess.Popen(
            self._argv, cwd=REPO, env=self.env, stdout=self._files[1], stderr=self._files[0]
        )

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self._proc is not None and self._proc.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU seconds used so far (0 once it is gone)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def vm_hwm_kib(self) -> int:
        """Peak resident set size so far, from /proc (0 once it is gone)."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def records(self) -> list[dict[str, Any]]:
        """Its JSON log records so far."""
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue
        return found

    def first_time(self, message: str) -> float | None:
        """Wall time of the first log record with `message`, if any yet."""
        with self.log_path.open(errors="replace") as log:
            for line in log:
                if f'"message": "{message}"' in line:
                    return datetime.fromisoformat(json.loads(line)["time"]).timestamp()
        return None

    def wait_for_log(self, message: str, timeout: float) -> float:
        """Block until the process logs `message`; its wall time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (at := self.first_time(message)) is not None:
                return at
            if not self.alive():
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            time.sleep(0.02)
        raise TimeoutError(f"{self.name} did not log {message!r} in {timeout} s")

    def stop(self, timeout: float = 60.0) -> Finished:
        """SIGTERM, wait for the clean exit (SIGKILL after `timeout`), collect the figures."""
        assert self._proc is not None
        hwm = self.vm_hwm_kib()
        cpu = self.cpu_seconds()
        self._proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while True:
            hwm = max(hwm, self.vm_hwm_kib())  # through the drain, until it is a zombie
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                self._proc.kill()
            time.sleep(0.02)
        code = os.waitstatus_to_exitcode(status)
        self._proc.returncode = code  # reaped here (for wait4's rusage), not by Popen
        for file in self._files:
            file.close()
        return Finished(
            exit_code=code,
            peak_rss_kib=hwm,
            cpu_s=max(cpu, usage.ru_utime + usage.ru_stime),
            records=self.records(),
        )

    def kill(self) -> None:
        """Stop at once (error paths)."""
        if self.alive():
            assert self._proc is not None
            self._proc.kill()
            self._proc.wait()
        for file in self._files:
            file.close()
