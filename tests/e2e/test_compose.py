"""docker compose can't run here (no Docker engine): check what can be checked offline.

The compose file parses, has the services, ports and environment the code expects, and
ElasticMQ declares the same queue settings as Pulumi.dev.yaml, so the two cannot drift.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from jobping.local.system import QUEUE_NAME, queue_settings_from_stack
from jobping.settings import ScannerSettings, WorkerSettings
from scanner.config import load_sources


@pytest.fixture
def compose(repo_root: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((repo_root / "docker-compose.yml").read_text())
    return loaded


def _queue_block(conf: str, name: str) -> str:
    match = re.search(rf"^\s*{re.escape(name)}\s*\{{(.*?)^\s*\}}", conf, re.M | re.S)
    assert match, f"queue {name} not declared in elasticmq.conf"
    return match.group(1)


def test_compose_declares_the_services_the_code_expects(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"elasticmq", "postgres", "migrate", "worker", "scanner"}
    assert services["elasticmq"]["image"].startswith("softwaremill/elasticmq-native:")
    assert services["postgres"]["image"] == "postgres:16"
    assert "9324:9324" in services["elasticmq"]["ports"]
    assert services["worker"]["command"] == ["python", "-m", "worker"]
    assert services["scanner"]["command"] == ["python", "-m", "scanner"]
    assert services["scanner"]["profiles"] == ["scan"]  # on demand only
    assert "8080:8080" in services["worker"]["ports"]
    assert "/health" in " ".join(services["worker"]["healthcheck"]["test"])
    assert services["worker"]["read_only"] is True


@pytest.mark.parametrize(
    ("service", "settings"), [("worker", WorkerSettings), ("scanner", ScannerSettings)]
)
def test_compose_environment_satisfies_the_settings(
    compose: dict[str, Any],
    service: str,
    settings: type[WorkerSettings | ScannerSettings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = compose["services"][service]["environment"]
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    loaded = settings()
    assert str(loaded.job_queue_url).endswith(f"/{QUEUE_NAME}")
    assert loaded.database_url is not None
    assert "@postgres:5432/" in loaded.database_url


def test_compose_scanner_sources_file_is_valid(compose: dict[str, Any], repo_root: Path) -> None:
    in_image = compose["services"]["scanner"]["environment"]["SCANNER_SOURCES"]
    local = repo_root / Path(in_image).relative_to("/app")
    sources = load_sources(str(local))
    assert sources
    raw = json.loads(local.read_text())
    for entry in raw:  # paths inside the image, where the samples are copied
        assert all(not str(v).startswith(str(repo_root)) for v in entry.values())


def test_elasticmq_matches_the_dev_stack(repo_root: Path) -> None:
    stack = queue_settings_from_stack(repo_root / "Pulumi.dev.yaml")
    conf = (repo_root / "elasticmq.conf").read_text()
    main = _queue_block(conf, QUEUE_NAME)
    visibility = re.search(r"defaultVisibilityTimeout\s*=\s*(\d+)\s*seconds", main)
    max_receive = re.search(r"maxReceiveCount\s*=\s*(\d+)", main)
    dlq_name = re.search(r'deadLettersQueue\s*\{\s*name\s*=\s*"([^"]+)"', main)
    assert visibility
    assert int(visibility.group(1)) == stack.visibility_timeout_seconds
    assert max_receive
    assert int(max_receive.group(1)) == stack.max_receive_count
    assert dlq_name
    assert dlq_name.group(1) == f"{QUEUE_NAME}-dlq"
    _queue_block(conf, f"{QUEUE_NAME}-dlq")


def test_drift_check_would_fail_on_a_changed_setting(repo_root: Path, tmp_path: Path) -> None:
    """The control: a stack file with another visibility timeout no longer matches."""
    stack = yaml.safe_load((repo_root / "Pulumi.dev.yaml").read_text())
    stack["config"].setdefault("jobping:queue", {})["visibilityTimeoutSeconds"] = 999
    changed = tmp_path / "Pulumi.dev.yaml"
    changed.write_text(yaml.safe_dump(stack))
    conf = (repo_root / "elasticmq.conf").read_text()
    declared = re.search(r"defaultVisibilityTimeout\s*=\s*(\d+)", _queue_block(conf, QUEUE_NAME))
    assert declared
    assert queue_settings_from_stack(changed).visibility_timeout_seconds != int(declared.group(1))
