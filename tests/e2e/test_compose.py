"""docker compose can't run here (no Docker engine): check what can be checked offline.

The compose file (`compose/docker-compose.yml`) parses, has the services, ports and environment
the code expects, publishes ports on the loopback interface only, its relative paths resolve
from its own directory, and ElasticMQ (`compose/elasticmq.conf`) declares the same queue
settings as Pulumi.dev.yaml, so the two cannot drift.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.local.system import QUEUE_NAME, queue_settings_from_stack
from jobping.settings import ScannerSettings, WorkerSettings
from scanner.config import load_sources


@pytest.fixture
def compose_dir(repo_root: Path) -> Path:
    """Where the compose file lives: its relative paths start here."""
    return repo_root / "compose"


@pytest.fixture
def compose(compose_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((compose_dir / "docker-compose.yml").read_text())
    return loaded


def host_path(service: dict[str, Any], compose_dir: Path, in_container: str) -> Path:
    """The host file behind a container path, through the service's bind mounts."""
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if Path(in_container).is_relative_to(target):
            return (compose_dir / source / Path(in_container).relative_to(target)).resolve()
    raise AssertionError(f"{in_container} is not mounted into the container")


def _queue_block(conf: str, name: str) -> str:
    match = re.search(rf"^\s*{re.escape(name)}\s*\{{(.*?)^\s*\}}", conf, re.M | re.S)
    assert match, f"queue {name} not declared in elasticmq.conf"
    return match.group(1)


def test_compose_declares_the_services_the_code_expects(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"elasticmq", "postgres", "migrate", "worker", "scanner"}
    assert services["elasticmq"]["image"].startswith("softwaremill/elasticmq-native:")
    assert services["postgres"]["image"] == "postgres:16"
    assert "127.0.0.1:9324:9324" in services["elasticmq"]["ports"]
    assert services["worker"]["command"] == ["python", "-m", "worker"]
    assert services["scanner"]["command"] == ["python", "-m", "scanner"]
    assert services["scanner"]["profiles"] == ["scan"]  # on demand only
    assert "127.0.0.1:8080:8080" in services["worker"]["ports"]
    assert "/health" in " ".join(services["worker"]["healthcheck"]["test"])
    assert services["worker"]["read_only"] is True


LOOPBACK = {"127.0.0.1", "::1"}


def published_host_ip(port: str | int | dict[str, Any]) -> str | None:
    """The host address a compose `ports` entry listens on ('' for every interface).

    Short syntax `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]` (an IPv6 address in
    brackets), or the long syntax's `host_ip`; None when the entry publishes nothing.
    https://docs.docker.com/reference/compose-file/services/#ports
    """
    if isinstance(port, dict):
        return str(port.get("host_ip", "")) if port.get("published") is not None else ""
    text = str(port).split("/", 1)[0]
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        return address if rest.startswith(":") else ""
    parts = text.split(":")
    return parts[0] if len(parts) == 3 else ""


def test_compose_publishes_ports_on_loopback_only(compose: dict[str, Any]) -> None:
    published = {
        (name, str(port)): published_host_ip(port)
        for name, service in compose["services"].items()
        for port in service.get("ports", [])
    }
    assert published  # the database, the queue and the health port are published
    assert {key: ip for key, ip in published.items() if ip not in LOOPBACK} == {}
    assert all(s.get("network_mode") != "host" for s in compose["services"].values())


@pytest.mark.parametrize(
    ("port", "host_ip"),
    [
        ("5432:5432", ""),
        ("5432", ""),
        ("127.0.0.1:5432:5432", "127.0.0.1"),
        ("0.0.0.0:8080:8080/tcp", "0.0.0.0"),  # binds every interface
        ("[::1]:9324:9324", "::1"),
        ({"target": 80, "published": 8080}, ""),
        ({"target": 80, "published": 8080, "host_ip": "127.0.0.1"}, "127.0.0.1"),
    ],
)
def test_port_parser_reads_every_compose_syntax(port: str | dict[str, Any], host_ip: str) -> None:
    """The control: an entry that binds every interface is read as such."""
    assert published_host_ip(port) == host_ip


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


def test_compose_paths_resolve_from_the_compose_directory(
    compose: dict[str, Any], compose_dir: Path, repo_root: Path
) -> None:
    build = compose["x-build"]["context"]
    assert (compose_dir / build).resolve() == repo_root
    assert (compose_dir / build / "Dockerfile").is_file()
    mounts = [v.split(":")[0] for s in compose["services"].values() for v in s.get("volumes", [])]
    assert mounts  # ElasticMQ's settings and the scanner's sample listings
    assert [m for m in mounts if not (compose_dir / m).exists()] == []


def test_compose_scanner_sources_file_is_valid(
    compose: dict[str, Any], compose_dir: Path, repo_root: Path
) -> None:
    scanner = compose["services"]["scanner"]
    local = host_path(scanner, compose_dir, scanner["environment"]["SCANNER_SOURCES"])
    sources = load_sources(str(local))
    assert sources
    assert all(s.path is not None and s.path.is_file() for s in sources if s.type == "jobping")
    raw = json.loads(local.read_text())
    for entry in raw:  # paths inside the container, where the samples are mounted
        assert all(not str(v).startswith(str(repo_root)) for v in entry.values())


def test_elasticmq_matches_the_dev_stack(
    compose: dict[str, Any], repo_root: Path, compose_dir: Path
) -> None:
    stack = queue_settings_from_stack(repo_root / "Pulumi.dev.yaml")
    mounted = host_path(compose["services"]["elasticmq"], compose_dir, "/opt/elasticmq.conf")
    assert mounted == compose_dir / "elasticmq.conf"
    conf = mounted.read_text()
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


def test_drift_check_would_fail_on_a_changed_setting(
    repo_root: Path, compose_dir: Path, tmp_path: Path
) -> None:
    """The control: a stack file with another visibility timeout no longer matches."""
    stack = yaml.safe_load((repo_root / "Pulumi.dev.yaml").read_text())
    stack["config"].setdefault("jobping:queue", {})["visibilityTimeoutSeconds"] = 999
    changed = tmp_path / "Pulumi.dev.yaml"
    changed.write_text(yaml.safe_dump(stack))
    conf = (compose_dir / "elasticmq.conf").read_text()
    declared = re.search(r"defaultVisibilityTimeout\s*=\s*(\d+)", _queue_block(conf, QUEUE_NAME))
    assert declared
    assert queue_settings_from_stack(changed).visibility_timeout_seconds != int(declared.group(1))
