"""The image holds only the runtime, and every command it ships works in it.

Docker cannot run here, so this builds the image from the parts that decide it: the files the
Dockerfile's COPY lines take from the build context `.dockerignore` leaves (`tests/jobping/
image.py`), laid out read-only under its WORKDIR; a clean venv with only requirements-runtime.txt
(the image's Python layer); and the final stage's ENV. Each shipped command then runs there, as
a subprocess, against real servers (moto's SQS, the embedded PostgreSQL): `python -m jobping
migrate|queue|dlq`, the scanner, the worker (CMD) and the HEALTHCHECK. The Dockerfile is also
read for what it downloads: every file fetched from the network is checked against a pinned
SHA-256 before anything else runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from devtools.local.moto import MotoServer
from devtools.local.postgres import free_port
from devtools.local.queues import JobQueues
from devtools.samples import JOBPING_SAMPLE, sample_path
from tests.jobping import image
from tests.worker.conftest import query, wait_for

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
ENTRY_MODULES = ["jobping.cli", "worker.main", "worker.pipeline", "scanner.main", "scanner.sources"]
NOT_IN_IMAGE = ["pulumi", "pulumi_aws", "pytest", "moto", "pgserver", "rich", "devtools"]
DEVELOPMENT_COMMANDS = ["local", "plan", "simulate", "cost"]


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("image") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            str(ROOT / "requirements-runtime.txt"),
        ],
        check=True,
        timeout=600,
    )
    return venv


@dataclass(frozen=True)
class Image:
    """The image's files under `root`, its Python, and the environment its commands see."""

    root: Path
    python: str
    env: dict[str, str]

    @property
    def workdir(self) -> Path:
        return self.root / image.workdir(DOCKERFILE).lstrip("/")

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`python ARGS` in the image, with `env` added; waits for it."""
        return subprocess.run(
            [self.python, *args],
            cwd=self.workdir,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def jobping(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`python -m jobping ARGS` in the image."""
        return self.run("-m", "jobping", *args, **env)


@pytest.fixture(scope="module")
def runtime_image(runtime_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Image:
    root = tmp_path_factory.mktemp("image-root")
    for path, origin in image.image_files(ROOT, DOCKERFILE).items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(origin, target)
    for directory, _, names in os.walk(root / "app"):  # the root filesystem is read-only
        for name in names:
            (Path(directory) / name).chmod(0o444)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    built = {k: v for k, v in image.image_env(DOCKERFILE).items() if k != "PATH"}
    return Image(root, str(runtime_venv / "bin" / "python"), {**env, **built})


@pytest.fixture
def queue_env(moto_server: MotoServer, queues: JobQueues) -> dict[str, str]:
    """What the image's commands read to reach the job queue (moto's, with its DLQ)."""
    return {
        "AWS_ENDPOINT_URL": moto_server.url,
        "AWS_REGION": "us-east-1",
        "JOB_QUEUE_URL": queues.url,
    }


def test_the_image_holds_only_the_runtime_packages() -> None:
    files = image.image_files(ROOT, DOCKERFILE)
    app = image.workdir(DOCKERFILE)
    assert image.top_level(files, app) == {"jobping", "scanner", "worker"}
    imports = image.imported_modules(files)
    assert imports  # the check reads the image's Python files
    assert {path: names & image.DEVELOPMENT_MODULES for path, names in imports.items()} == {
        path: set() for path in imports
    }


def test_the_package_check_sees_development_tooling_let_into_the_image(tmp_path: Path) -> None:
    """The control: a context that lets devtools in, and a COPY of it, are both reported."""
    for package, source in (("jobping", "import json\n"), ("devtools", "import moto\n")):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(source)
    (tmp_path / ".dockerignore").write_text((ROOT / ".dockerignore").read_text() + "!devtools/\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.11-slim AS build\n"
        "COPY jobping/ /app/jobping/\n"
        "COPY devtools/ /app/devtools/\n"
        "FROM python:3.11-slim\n"
        "COPY --from=build /app /app\n"
    )
    files = image.image_files(tmp_path, dockerfile)
    assert image.top_level(files, "/app") == {"jobping", "devtools"}
    assert image.imported_modules(files)["/app/devtools/__init__.py"] == {"moto"}


@pytest.mark.slow
def test_entry_points_import_with_only_the_runtime_requirements(runtime_image: Image) -> None:
    result = runtime_image.run("-c", "; ".join(f"import {module}" for module in ENTRY_MODULES))
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_image_has_no_pulumi_or_test_tools(runtime_image: Image) -> None:
    check = f"import importlib.util as u; print([m for m in {NOT_IN_IMAGE!r} if u.find_spec(m)])"
    result = runtime_image.run("-c", check)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_cli_help_runs_in_the_image(runtime_image: Image) -> None:
    result = runtime_image.jobping("--help")
    assert result.returncode == 0, result.stderr
    assert {"migrate", "queue", "dlq"} <= set(re.findall(r"^    (\w+)", result.stdout, re.M))


@pytest.mark.slow
@pytest.mark.parametrize("command", DEVELOPMENT_COMMANDS)
def test_development_commands_are_refused_in_the_image(runtime_image: Image, command: str) -> None:
    result = runtime_image.jobping(command, "--stack", "dev")
    assert result.returncode == 2
    assert result.stderr == f"jobping {command}: development command; not in the image\n"
    assert result.stdout == ""


@pytest.mark.slow
def test_migrate_runs_in_the_image(runtime_image: Image, new_database: Callable[[], str]) -> None:
    url = new_database()
    first = runtime_image.jobping("migrate", DATABASE_URL=url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("applied ")
    again = runtime_image.jobping("migrate", DATABASE_URL=url)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("database is up to date (version ")


@pytest.mark.slow
def test_queue_and_dlq_tools_run_in_the_image(
    runtime_image: Image, sqs: SQSClient, queues: JobQueues, queue_env: dict[str, str]
) -> None:
    env = queue_env
    sqs.send_message(QueueUrl=queues.url, MessageBody="{}")
    for n in range(3):
        sqs.send_message(QueueUrl=queues.dlq_url, MessageBody=json.dumps({"n": n}))
    stats = runtime_image.jobping("queue", "stats", "--json", **env)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout) | {"oldest_age_seconds": None} == {
        "queue": queues.url, "visible": 1, "in_flight": 0, "delayed": 0,
        "oldest_age_seconds": None, "dlq": queues.dlq_url, "dlq_depth": 3,
    }  # fmt: skip
    peek = runtime_image.jobping("dlq", "peek", "-n", "10", **env)
    assert peek.returncode == 0, peek.stderr
    assert sorted(json.loads(line)["body"] for line in peek.stdout.splitlines()) == [
        json.dumps({"n": n}) for n in range(3)
    ]
    redrive = runtime_image.jobping("dlq", "redrive", **env)
    assert redrive.returncode == 0, redrive.stderr
    assert redrive.stdout.strip() == f"moved 3 message(s) back to {queues.url}"
    after = json.loads(runtime_image.jobping("queue", "stats", "--json", **env).stdout)
    assert (after["visible"], after["dlq_depth"]) == (4, 0)


@pytest.mark.slow
def test_the_scanner_the_worker_and_the_healthcheck_run_in_the_image(
    runtime_image: Image,
    queue_env: dict[str, str],
    new_database: Callable[[], str],
    tmp_path: Path,
) -> None:
    url = new_database()
    env = {**queue_env, "DATABASE_URL": url}
    assert runtime_image.jobping("migrate", **env).returncode == 0
    jobs = sample_path(JOBPING_SAMPLE)  # test input, read by the image's scanner
    sources = json.dumps([{"type": "jobping", "name": "jobping:samples", "path": str(jobs)}])
    scan = runtime_image.run("-m", "scanner", SCANNER_SOURCES=sources, **env)
    assert scan.returncode == 0, scan.stderr
    summary = json.loads(scan.stdout.splitlines()[-1])
    assert summary["enqueued"] == len(json.loads(jobs.read_text())) > 0

    python, *args = image.default_command(DOCKERFILE)
    assert (python, args) == ("python", ["-m", "worker"])
    port = str(free_port())
    worker_env = {**runtime_image.env, **env, "HEALTH_PORT": port, "WORKER_WAIT_SECONDS": "1"}
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [runtime_image.python, *args],
            cwd=runtime_image.workdir,
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        analysed = "SELECT count(*) FROM job_analyses"
        wait_for(lambda: query(url, analysed) == [(summary["enqueued"],)], 60, "every job analysed")
        python, *check = image.healthcheck(DOCKERFILE)
        assert python == "python"
        health = runtime_image.run(*check, HEALTH_PORT=port)
        assert health.returncode == 0, health.stderr
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0, (tmp_path / "worker.log").read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
