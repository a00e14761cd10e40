"""Fixtures every test can use: a real moto server and a real embedded PostgreSQL.

Both start once per test session (once per xdist worker) and fail loudly if they cannot start;
no test is ever skipped because a server is missing. Each test gets fresh queues and a clean
database (all tables truncated), so tests never see each other's data.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from devtools.local.moto import MotoServer
from devtools.local.postgres import EmbeddedPostgres
from devtools.local.queues import JobQueues, QueueSettings, create_job_queues
from jobping.aws import make_client
from jobping.migrate import migrate
from jobping.settings import AwsSettings
from tests.faultmatrix import FaultMatrix, load_rows, render

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

APP_USER = "jobping_app"
APP_PASSWORD = "local-test-password"  # a throwaway server's test role
REGION = "us-east-1"


@pytest.fixture(scope="session", autouse=True)
def _aws_credentials() -> Iterator[None]:
    """Fake credentials for moto; never real ones (and never the caller's profile)."""
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
    )
    os.environ.pop("AWS_PROFILE", None)
    yield
    for key, value in saved.items():
        if value is not None:
            os.environ[key] = value


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto's server in its own process on a free loopback port."""
    server = MotoServer(log_path=tmp_path_factory.mktemp("moto") / "moto.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def aws_settings(moto_server: MotoServer) -> AwsSettings:
    """Region and endpoint pointing at the moto server."""
    return AwsSettings.for_endpoint(moto_server.url, REGION)


@pytest.fixture(scope="session")
def sqs(aws_settings: AwsSettings) -> SQSClient:
    """An SQS client on the moto server."""
    return make_client("sqs", aws_settings)


@pytest.fixture
def make_queues(sqs: SQSClient) -> Callable[..., JobQueues]:
    """Factory for a fresh job queue + DLQ pair with a unique name; overrides QueueSettings."""

    def make(**overrides: Any) -> JobQueues:
        name = f"jobs-{uuid.uuid4().hex[:12]}"
        return create_job_queues(sqs, name, QueueSettings(**overrides))

    return make


@pytest.fixture
def queues(make_queues: Callable[..., JobQueues]) -> JobQueues:
    """The job queue and its DLQ (redrive after 3 receives), fresh for this test."""
    return make_queues(visibility_timeout_seconds=30)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """An embedded PostgreSQL 16 on a free loopback port, stopped after the session."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data")
    server.start()
    yield server
    server.stop("immediate")


@pytest.fixture(scope="session")
def database_url(postgres: EmbeddedPostgres) -> str:
    """TCP URL (password auth) of the migrated `jobping` database, for an application role."""
    url = postgres.ensure_database("jobping", APP_USER, APP_PASSWORD)
    migrate(url)
    return url


@pytest.fixture
def new_database(postgres: EmbeddedPostgres) -> Callable[[], str]:
    """Factory for a new, empty database (no migrations) owned by the app role; returns its URL."""

    def make() -> str:
        return postgres.ensure_database(f"db_{uuid.uuid4().hex[:12]}", APP_USER, APP_PASSWORD)

    return make


@pytest.fixture
def db(database_url: str) -> str:
    """The database URL, with every table emptied first (a clean state per test)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
        ).fetchone()
        if tables and tables[0]:
            conn.execute(f"TRUNCATE {tables[0]} CASCADE".encode())
    return database_url


@pytest.fixture
def repo_root() -> Path:
    """The repository root (the Pulumi project)."""
    return Path(__file__).resolve().parent.parent


def _faults_dir(config: pytest.Config) -> Path:
    return Path(config.rootpath) / ".local" / "faults"


def pytest_sessionstart(session: pytest.Session) -> None:
    """The controller (not an xdist worker) starts each run with an empty fault matrix."""
    if not hasattr(session.config, "workerinput"):
        shutil.rmtree(_faults_dir(session.config), ignore_errors=True)


@pytest.fixture
def fault_matrix(request: pytest.FixtureRequest) -> FaultMatrix:
    """Where a fault test records its row of the fault matrix (see tests/faultmatrix.py)."""
    return FaultMatrix(_faults_dir(request.config))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the fault matrix of this run and keep it as `.local/faults/table.md`."""
    if hasattr(config, "workerinput") or not (rows := load_rows(_faults_dir(config))):
        return
    table = render(rows)
    (_faults_dir(config) / "table.md").write_text(table + "\n", encoding="utf-8")
    terminalreporter.write_sep("=", "fault matrix")
    terminalreporter.write_line(table)
