"""The local system: moto's server, an embedded PostgreSQL, the queues, schema and demo data.

`up()` starts what is not running yet and writes `.local/env` (the variables the worker and the
scanner read) and `.local/state.json` (ports and pids, for `down` and `status`). The queue
settings come from `Pulumi.dev.yaml`, read and checked by the stack's own validator
(`jobping.queueconfig`), so local and cloud share one source of truth.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
import yaml

from devtools import REPO_ROOT
from devtools.local.moto import answers as moto_answers
from devtools.local.postgres import EmbeddedPostgres, free_port
from devtools.local.queues import JobQueues, create_job_queues
from devtools.local.seed import seed
from jobping.aws import make_client
from jobping.migrate import migrate
from jobping.queueconfig import QueueSettings, parse_queue_settings
from jobping.settings import AwsSettings

QUEUE_NAME = "jobping-dev-jobs"
DB_NAME, DB_USER, DB_PASSWORD = "jobping", "jobping", "jobping-local"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def queue_settings_from_stack(stack_file: Path) -> QueueSettings:
    """The `jobping:queue` settings of a stack file, checked as the stack checks them.

    Raises `jobping.stackfile.SettingsError` naming the key, as `pulumi up` would.
    """
    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config", {})
    return parse_queue_settings(config.get("jobping:queue"))


@dataclass
class LocalState:
    """What `up` started: enough for `down`, `status` and the env file."""

    moto_port: int
    moto_pid: int
    pg_port: int
    queue_url: str
    dlq_url: str
    database_url: str

    def env(self) -> dict[str, str]:
        """The environment the worker, scanner and CLI need to use the local system."""
        return {
            "JOB_QUEUE_URL": self.queue_url,
            "DATABASE_URL": self.database_url,
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.moto_port}",
            "AWS_REGION": "us-east-1",
            **LOCAL_CREDENTIALS,
        }


class LocalSystem:
    """Start, inspect and stop the local system whose files live under `root`."""

    def __init__(self, root: Path = REPO_ROOT / ".local", stack_file: Path | None = None):
        self.root = root
        self.stack_file = stack_file or REPO_ROOT / "Pulumi.dev.yaml"
        self.postgres = EmbeddedPostgres(root / "pg", port=self._saved_pg_port())

    @property
    def state_path(self) -> Path:
        """Where ports and pids are recorded."""
        return self.root / "state.json"

    def state(self) -> LocalState | None:
        """The recorded state, if `up` ran and `down` did not."""
        if not self.state_path.exists():
            return None
        return LocalState(**json.loads(self.state_path.read_text()))

    def up(self) -> LocalState:
        """Start everything not already running; idempotent."""
        self.root.mkdir(parents=True, exist_ok=True)
        current = self.state()
        if current and self.is_up(current):
            return current
        if not self.postgres.is_running():
            self.postgres.start()
        database_url = self.postgres.ensure_database(DB_NAME, DB_USER, DB_PASSWORD)
        migrate(database_url)
        seed(database_url)
        port, pid = self._start_moto()
        queues = self._create_queues(port)
        requeue_unprocessed(database_url)
        state = LocalState(port, pid, self.postgres.port, queues.url, queues.dlq_url, database_url)
        self.state_path.write_text(json.dumps(asdict(state), indent=2))
        env_lines = [f"export {key}={value}" for key, value in state.env().items()]
        (self.root / "env").write_text("\n".join(env_lines) + "\n")
        return state

    def down(self) -> None:
        """Stop moto and PostgreSQL; the database files stay for the next run."""
        state = self.state()
        if state is not None:
            _terminate(state.moto_pid)
            self.state_path.unlink(missing_ok=True)
        if self.postgres.is_running():
            self.postgres.stop()

    def is_up(self, state: LocalState) -> bool:
        """Whether both servers of `state` answer."""
        return self.postgres.is_running() and moto_answers(f"http://127.0.0.1:{state.moto_port}")

    def _saved_pg_port(self) -> int:
        state = self.state() if self.state_path.exists() else None
        return state.pg_port if state else free_port()

    def _start_moto(self) -> tuple[int, int]:
        port = free_port()
        log = (self.root / "moto.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not moto_answers(f"http://127.0.0.1:{port}"):
            if process.poll() is not None or time.monotonic() > deadline:
                _terminate(process.pid)
                raise RuntimeError(f"moto server did not start; see {self.root / 'moto.log'}")
            time.sleep(0.1)
        return port, process.pid

    def _create_queues(self, port: int) -> JobQueues:
        os.environ.update(LOCAL_CREDENTIALS)  # moto takes any key; never the caller's real ones
        sqs = make_client("sqs", AwsSettings.for_endpoint(f"http://127.0.0.1:{port}"))
        return create_job_queues(sqs, QUEUE_NAME, queue_settings_from_stack(self.stack_file))


def requeue_unprocessed(database_url: str) -> int:
    """Put jobs whose current content was never processed back in the outbox.

    moto keeps queues in memory: a new local system starts with an empty queue, so messages an
    earlier, interrupted run had sent are gone. The scanner's outbox sends these jobs again (in
    AWS the queue outlives the processes and this is never needed).
    """
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "UPDATE jobs j SET enqueued_at = NULL WHERE enqueued_at IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM job_analyses a WHERE a.job_id = j.id "
            "AND a.content_hash = j.content_hash)"
        ).rowcount


def _terminate(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM `pid` and wait for it to go (SIGKILL after `timeout`)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:  # not our child: poll for it instead
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
