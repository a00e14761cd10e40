"""Settings: the env contract's defaults, and one clear line + exit 2 for a bad variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jobping import settings
from jobping.db import ConnectOptions
from jobping.settings import ScannerSettings, WorkerSettings

QUEUE = "http://127.0.0.1:9/123456789012/jobs"
DATABASE_URL = "postgresql://localhost/jobping"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "JOB_QUEUE_URL",
        "DATABASE_URL",
        "DATABASE_SECRET_ARN",
        "DATABASE_HOST",
        "WORKER_CONCURRENCY",
        "WORKER_BATCH_SIZE",
        "LOG_LEVEL",
        "AWS_ENDPOINT_URL",
        "SCANNER_SOURCES",
        "AWS_REGION",
        "HEALTH_PORT",
        "WORKER_JOB_TIMEOUT_SECONDS",
        "DATABASE_CONNECT_TIMEOUT_SECONDS",
        "DATABASE_STATEMENT_TIMEOUT_SECONDS",
        "DATABASE_KEEPALIVES_IDLE_SECONDS",
        "DATABASE_KEEPALIVES_INTERVAL_SECONDS",
        "DATABASE_KEEPALIVES_COUNT",
        "DATABASE_TCP_USER_TIMEOUT_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def worker_env(clean_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """`clean_env` with what the worker requires: the queue URL and a database URL."""
    clean_env.setenv("JOB_QUEUE_URL", QUEUE)
    clean_env.setenv("DATABASE_URL", DATABASE_URL)
    return clean_env


def _exit_line(cls: type[settings.CommonSettings], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        settings.load(cls, "prog")
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def test_worker_defaults_match_the_contract(worker_env: pytest.MonkeyPatch) -> None:
    loaded = settings.load(WorkerSettings, "worker")
    assert (loaded.worker_concurrency, loaded.worker_batch_size) == (8, 10)
    assert (loaded.worker_wait_seconds, loaded.worker_drain_seconds) == (20, 90)
    assert loaded.health_port == 8080
    assert loaded.log_level == "INFO"
    assert loaded.aws_endpoint_url is None


def test_database_bounds_and_job_deadline_have_defaults_and_can_be_set(
    worker_env: pytest.MonkeyPatch,
) -> None:
    loaded = settings.load(WorkerSettings, "worker")
    assert loaded.worker_job_timeout_seconds == 120
    assert ConnectOptions.from_settings(loaded) == ConnectOptions()  # one set of defaults
    assert ConnectOptions() == ConnectOptions(
        connect_timeout_s=5,
        statement_timeout_ms=30_000,
        keepalives_idle_s=15,
        keepalives_interval_s=5,
        keepalives_count=3,
        tcp_user_timeout_ms=30_000,
    )
    for name, value in {
        "WORKER_JOB_TIMEOUT_SECONDS": "45",
        "DATABASE_CONNECT_TIMEOUT_SECONDS": "3",
        "DATABASE_STATEMENT_TIMEOUT_SECONDS": "2.5",
        "DATABASE_KEEPALIVES_IDLE_SECONDS": "20",
        "DATABASE_KEEPALIVES_INTERVAL_SECONDS": "2",
        "DATABASE_KEEPALIVES_COUNT": "4",
        "DATABASE_TCP_USER_TIMEOUT_SECONDS": "28",
    }.items():
        worker_env.setenv(name, value)
    loaded = settings.load(WorkerSettings, "worker")
    assert loaded.worker_job_timeout_seconds == 45
    assert ConnectOptions.from_settings(loaded) == ConnectOptions(
        connect_timeout_s=3,
        statement_timeout_ms=2500,
        keepalives_idle_s=20,
        keepalives_interval_s=2,
        keepalives_count=4,
        tcp_user_timeout_ms=28_000,
    )


def test_connect_timeout_below_libpq_minimum_names_the_variable(
    worker_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    worker_env.setenv("DATABASE_CONNECT_TIMEOUT_SECONDS", "1")
    assert _exit_line(WorkerSettings, capsys).startswith(
        "prog: invalid setting DATABASE_CONNECT_TIMEOUT_SECONDS:"
    )


def test_missing_queue_url_names_the_variable(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("DATABASE_URL", DATABASE_URL)
    assert _exit_line(WorkerSettings, capsys) == "prog: missing setting JOB_QUEUE_URL: required"


def test_out_of_range_concurrency_names_the_variable(
    worker_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    worker_env.setenv("WORKER_BATCH_SIZE", "11")
    line = _exit_line(WorkerSettings, capsys)
    assert line.startswith("prog: invalid setting WORKER_BATCH_SIZE:")
    assert "10" in line


def test_non_numeric_value_names_the_variable(
    worker_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    worker_env.setenv("HEALTH_PORT", "eighty")
    assert _exit_line(WorkerSettings, capsys).startswith("prog: invalid setting HEALTH_PORT:")


def test_database_needs_a_url_or_a_secret(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("JOB_QUEUE_URL", QUEUE)
    line = _exit_line(WorkerSettings, capsys)
    assert "DATABASE_URL or DATABASE_SECRET_ARN is required" in line


def test_secret_arn_needs_a_host(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("JOB_QUEUE_URL", QUEUE)
    clean_env.setenv(
        "DATABASE_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
    )
    assert "DATABASE_HOST is required" in _exit_line(WorkerSettings, capsys)


def test_secret_arn_must_be_an_arn(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("JOB_QUEUE_URL", QUEUE)
    clean_env.setenv("DATABASE_SECRET_ARN", "my-secret")
    clean_env.setenv("DATABASE_HOST", "db.internal")
    assert _exit_line(WorkerSettings, capsys).startswith(
        "prog: invalid setting DATABASE_SECRET_ARN"
    )


def test_log_level_is_case_insensitive(worker_env: pytest.MonkeyPatch) -> None:
    worker_env.setenv("LOG_LEVEL", "debug")
    worker_env.setenv("SCANNER_SOURCES", "[]")
    assert settings.load(ScannerSettings, "scanner").log_level == "DEBUG"


def test_cli_with_bad_setting_exits_2_with_one_line() -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgresql://x", "DATABASE_PORT": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "jobping", "migrate"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "jobping migrate: invalid setting DATABASE_PORT: Input should be greater than or equal to 1"
    ]
