"""Branches neither stack file takes, one component at a time under the recording mocks.

Each test builds one component with args chosen for the branch (an existing database server,
the worker's SES notifier) and asserts on the inputs of what it registered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from infra_snapshot import Snapshot

from components.database import Database, DatabaseArgs
from components.settings_types import DatabaseStackSettings, WorkerStackSettings
from components.tasks import DatabaseRef, Placement, TaskTarget
from components.worker import WorkerService, WorkerServiceArgs
from devtools.offline import record
from jobping import envvars
from jobping import settings as runtime

ACCOUNT = "123456789012"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:jobping-db-AbCdEf"
TASK_SG = "sg-0tasks"
DB_SG = "sg-0database"


def run(program: Callable[[], Mapping[str, Any]]) -> Snapshot:
    """What `program` registered under the mocks, and the outputs it returned."""
    data = record(program)
    return Snapshot(data["stack"], data["resources"], data["outputs"], data["calls"])


def existing_database(**overrides: Any) -> tuple[Snapshot, Database]:
    """A `Database` on an existing server, with `overrides` of its stack settings."""
    settings = DatabaseStackSettings(
        mode="existing", host="pg.internal", port=6432, secret_arn=SECRET, **overrides
    )
    built: list[Database] = []

    def program() -> Mapping[str, Any]:
        db = Database(
            "db",
            DatabaseArgs(
                settings=settings,
                identifier="jobping-test",
                vpc_id="vpc-0test",
                subnet_ids=["subnet-a", "subnet-b"],
                subnets_private=True,
                task_security_group_id=TASK_SG,
                account_id=ACCOUNT,
                region="us-east-1",
                partition="aws",
                log_retention_days=30,
            ),
        )
        built.append(db)
        return {"host": db.host, "port": db.port, "secret_arn": db.secret_arn}

    return run(program), built[0]


def test_an_existing_database_admits_the_tasks_on_its_port_and_creates_no_server() -> None:
    snapshot, db = existing_database(security_group_id=DB_SG)
    assert sorted(r["type"] for r in snapshot.records) == [
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "jobping:index:Database",
    ]
    ingress = snapshot.named("db-from-tasks")["inputs"]
    assert (ingress["securityGroupId"], ingress["referencedSecurityGroupId"]) == (DB_SG, TASK_SG)
    assert (ingress["ipProtocol"], ingress["fromPort"], ingress["toPort"]) == ("tcp", 6432, 6432)
    egress = snapshot.named("db-tasks-to-db")["inputs"]
    assert (egress["securityGroupId"], egress["referencedSecurityGroupId"]) == (TASK_SG, DB_SG)
    assert (egress["fromPort"], egress["toPort"]) == (6432, 6432)
    assert snapshot.outputs == {"host": "pg.internal", "port": 6432, "secret_arn": SECRET}
    assert (db.app_user, db.app_user_arn) == (None, None)  # the tasks read the secret instead


def test_an_existing_database_without_its_security_group_changes_no_rule() -> None:
    snapshot, _ = existing_database()
    assert [r["type"] for r in snapshot.records] == ["jobping:index:Database"]


def worker(ses_identity_arn: str | None) -> Snapshot:
    """A `WorkerService` with dev-like settings and the given SES identity."""
    target = TaskTarget(
        environment="test",
        account_id=ACCOUNT,
        region="us-east-1",
        image_ref=f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/jobping@sha256:{'0' * 64}",
        architecture="ARM64",
        repository_arn=f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/jobping",
        queue_url=f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/jobs",
        queue_arn=f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs",
        database=DatabaseRef(host="pg.internal", port=5432, name="jobping", secret_arn=SECRET),
        placement=Placement(
            subnet_ids=["subnet-a"], security_group_id=TASK_SG, assign_public_ip=False
        ),
        log_retention_days=30,
    )

    def program() -> Mapping[str, Any]:
        service = WorkerService(
            "worker",
            WorkerServiceArgs(
                settings=WorkerStackSettings(),
                target=target,
                partition="aws",
                queue_name="jobs",
                dlq_arn=f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs-dlq",
                ses_identity_arn=ses_identity_arn,
            ),
        )
        return {"cluster": service.cluster.name}

    return run(program)


def worker_environment(snapshot: Snapshot) -> dict[str, str]:
    """The worker container's environment."""
    containers = json.loads(snapshot.named("worker-task")["inputs"]["containerDefinitions"])
    (app,) = [c for c in containers if c["name"] == "worker"]
    return {v["name"]: v["value"] for v in app["environment"]}


def ses_statements(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Statements of the worker's task policy that grant anything of SES."""
    policy = json.loads(snapshot.named("worker-task-policy")["inputs"]["policy"])
    return [s for s in policy["Statement"] if any(a.startswith("ses:") for a in s["Action"])]


@pytest.mark.parametrize(
    ("identity", "sender"),
    [("example.com", "jobping@example.com"), ("alerts@example.com", "alerts@example.com")],
)
def test_the_worker_sends_mail_only_as_its_ses_identity(identity: str, sender: str) -> None:
    identity_arn = f"arn:aws:ses:us-east-1:{ACCOUNT}:identity/{identity}"
    snapshot = worker(identity_arn)
    env = worker_environment(snapshot)
    assert (env[envvars.NOTIFIER], env[envvars.SES_FROM_ADDRESS]) == ("ses", sender)
    (statement,) = ses_statements(snapshot)
    assert statement["Action"] == ["ses:SendEmail"]
    assert statement["Resource"] == [identity_arn]


def test_without_an_ses_identity_the_worker_only_logs_notifications() -> None:
    snapshot = worker(None)
    env = worker_environment(snapshot)
    assert env[envvars.NOTIFIER] == "log"
    assert envvars.SES_FROM_ADDRESS not in env
    assert ses_statements(snapshot) == []


def test_the_worker_starts_with_the_ses_environment_the_stack_gives_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = worker_environment(worker(f"arn:aws:ses:us-east-1:{ACCOUNT}:identity/example.com"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    loaded = runtime.WorkerSettings()
    assert (loaded.notifier, loaded.ses_from_address) == ("ses", "jobping@example.com")
