"""Database access: schema before code, a least-privilege app, CMK secrets, RDS change timing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from infra_snapshot import EXISTING_KEY, EXISTING_SECRET, ROOT, Snapshot, stack_file_config
from test_infra_iam import grants, master_secret, policy_of

from components.settings import SettingsError, parse_settings
from jobping import envvars

TASKS = ("worker", "scanner")


def definitions(stack: Snapshot, prefix: str) -> dict[str, dict[str, Any]]:
    """The task definition's containers, by name."""
    found = json.loads(stack.named(f"{prefix}-task")["inputs"]["containerDefinitions"])
    return {c["name"]: c for c in found}


def env(container: dict[str, Any]) -> dict[str, str]:
    """A container's environment as a dict."""
    return {v["name"]: v["value"] for v in container["environment"]}


@pytest.mark.parametrize("prefix", TASKS)
def test_new_code_starts_only_after_the_schema_is_migrated(stack: Snapshot, prefix: str) -> None:
    found = definitions(stack, prefix)
    assert set(found) == {prefix, "migrate"}
    app, migrate = found[prefix], found["migrate"]
    assert app["essential"] is True
    assert app["dependsOn"] == [{"containerName": "migrate", "condition": "SUCCESS"}]
    assert migrate["essential"] is False
    assert migrate["command"] == ["python", "-m", "jobping", "migrate"]
    assert migrate["image"] == app["image"] == stack.outputs["imageDigest"]
    for key in ("user", "readonlyRootFilesystem", "mountPoints", "linuxParameters"):
        assert migrate[key] == app[key], key
    assert migrate["logConfiguration"]["options"]["awslogs-stream-prefix"] == "migrate"


@pytest.mark.parametrize("prefix", TASKS)
def test_only_the_migrate_step_receives_the_owner_credentials(stack: Snapshot, prefix: str) -> None:
    found = definitions(stack, prefix)
    app, migrate = found[prefix], found["migrate"]
    secret = master_secret(stack)
    assert migrate["secrets"] == [
        {"name": envvars.DATABASE_USER, "valueFrom": f"{secret}:username::"},
        {"name": envvars.DATABASE_PASSWORD, "valueFrom": f"{secret}:password::"},
    ]
    assert "secrets" not in app
    assert env(migrate)[envvars.DATABASE_HOST] == env(app)[envvars.DATABASE_HOST]
    assert env(migrate)[envvars.DATABASE_SSLMODE] == "verify-full"
    assert envvars.DATABASE_SECRET_ARN not in env(app)
    assert env(app)[envvars.DATABASE_IAM_USER] == envvars.APP_DATABASE_USER


def test_rds_accepts_iam_tokens_for_the_app_user(stack: Snapshot) -> None:
    assert stack.named("db-instance")["inputs"]["iamDatabaseAuthenticationEnabled"] is True
    migration = (ROOT / "jobping/migrations/0004_app_role.sql").read_text()
    assert f"CREATE ROLE {envvars.APP_DATABASE_USER}" in migration
    assert "GRANT rds_iam" in migration


def test_rds_changes_wait_for_the_maintenance_window_in_prod_only(
    dev: Snapshot, prod: Snapshot
) -> None:
    assert dev.named("db-instance")["inputs"]["applyImmediately"] is True
    assert prod.named("db-instance")["inputs"]["applyImmediately"] is False
    for stack in (dev, prod):
        lines = (ROOT / f"Pulumi.{stack.stack}.yaml").read_text().splitlines()
        (at,) = [i for i, line in enumerate(lines) if line.strip().startswith("applyImmediately:")]
        assert lines[at - 1].strip().startswith("#"), "the stack file gives its reason"
        assert stack.setting("database")["applyImmediately"] is (stack.stack == "dev")


def test_apply_immediately_defaults_to_the_maintenance_window() -> None:
    config = stack_file_config("prod")
    del config["jobping:database"]["applyImmediately"]
    settings = parse_settings(lambda key: config.get(f"jobping:{key}"))
    assert settings.database.apply_immediately is False


def test_existing_secret_with_a_customer_key_is_decrypted_via_secrets_manager_only(
    existing: Snapshot,
) -> None:
    for role in ("worker-task-role", "scanner-task-role",
                 "worker-execution-role", "scanner-execution-role"):  # fmt: skip
        statements = policy_of(existing, role)
        allowed = grants(statements)
        assert ("secretsmanager:GetSecretValue", EXISTING_SECRET) in allowed, role
        (decrypt,) = [s for s in statements if "kms:Decrypt" in s["Action"]]
        assert decrypt["Action"] == ["kms:Decrypt"]
        assert decrypt["Resource"] == [EXISTING_KEY]
        assert decrypt["Condition"] == {
            "StringEquals": {
                "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
                "kms:EncryptionContext:SecretARN": EXISTING_SECRET,
            }
        }


def test_existing_server_app_reads_the_secret_at_connect_time(existing: Snapshot) -> None:
    for prefix in TASKS:
        app = definitions(existing, prefix)[prefix]
        assert env(app)[envvars.DATABASE_SECRET_ARN] == EXISTING_SECRET
        assert envvars.DATABASE_IAM_USER not in env(app)
        assert not [a for a, _ in grants(policy_of(existing, f"{prefix}-task-role"))
                    if a.startswith("rds-db:")]  # fmt: skip


def test_no_kms_grant_without_a_customer_key(stack: Snapshot) -> None:
    for policy in stack.of_type("aws:iam/rolePolicy:RolePolicy"):
        actions = [a for s in json.loads(policy["inputs"]["policy"])["Statement"]
                   for a in s["Action"]]  # fmt: skip
        assert not [a for a in actions if a.startswith("kms:")], policy["name"]


@pytest.mark.parametrize(
    "value", ["alias/jobping-db", "arn:aws:kms:us-east-1:123456789012:alias/jobping-db"]
)
def test_secret_key_must_be_a_key_arn(value: str) -> None:
    config = stack_file_config("dev")
    config["jobping:database"] = {"mode": "existing", "host": "db", "secretArn": EXISTING_SECRET,
                                  "secretKmsKeyArn": value}  # fmt: skip
    with pytest.raises(SettingsError, match=r"jobping:database\.secretKmsKeyArn"):
        parse_settings(lambda key: config.get(f"jobping:{key}"))
