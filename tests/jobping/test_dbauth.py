"""Log-ins without a URL: IAM tokens per connection, and the migrate step's injected owner."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from psycopg.conninfo import conninfo_to_dict
from pydantic import ValidationError

from jobping import envvars
from jobping.aws import make_client
from jobping.db import conninfo_for
from jobping.dbauth import TokenSigner
from jobping.settings import AwsSettings, DatabaseSettings

HOST = "jobping-prod.abc123.eu-central-1.rds.amazonaws.com"
DATABASE_VARIABLES = (
    envvars.DATABASE_URL,
    envvars.DATABASE_SECRET_ARN,
    envvars.DATABASE_HOST,
    envvars.DATABASE_PORT,
    envvars.DATABASE_NAME,
    envvars.DATABASE_SSLMODE,
    envvars.DATABASE_IAM_USER,
    envvars.DATABASE_USER,
    envvars.DATABASE_PASSWORD,
)


class TaskSettings(DatabaseSettings, AwsSettings):
    """What a task reads: the database and AWS (as WorkerSettings, without the queue)."""


@pytest.fixture(autouse=True)
def _no_database_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in DATABASE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


class CountingSigner:
    """The real boto3 RDS client, counting the tokens it signs."""

    def __init__(self, signer: TokenSigner) -> None:
        self.signer = signer
        self.signed = 0

    def generate_db_auth_token(
        self,
        DBHostname: str,  # boto3's parameter names
        Port: int,
        DBUsername: str,
        Region: str | None = None,
    ) -> str:
        self.signed += 1
        return self.signer.generate_db_auth_token(DBHostname, Port, DBUsername, Region)


def _iam_settings(**overrides: object) -> TaskSettings:
    values: dict[str, object] = {
        "database_host": HOST,
        "database_port": 5433,
        "database_iam_user": envvars.APP_DATABASE_USER,
        "database_sslmode": "verify-full",
        "aws_region": "eu-central-1",
    }
    return TaskSettings.model_validate({**values, **overrides})


def test_iam_login_signs_a_fresh_token_for_every_connection() -> None:
    settings = _iam_settings()
    signer = CountingSigner(make_client("rds", settings))
    conninfo = conninfo_for(settings, signer=signer)
    assert callable(conninfo)
    first, second = conninfo_to_dict(conninfo()), conninfo_to_dict(conninfo())
    assert signer.signed == 2
    assert (first["user"], first["host"], first["port"]) == (
        envvars.APP_DATABASE_USER,
        HOST,
        "5433",
    )
    assert first["sslmode"] == "verify-full"
    token = urlsplit(f"https://{first['password']}")
    query = parse_qs(token.query)
    assert token.netloc == f"{HOST}:5433"
    assert query["Action"] == ["connect"]
    assert query["DBUser"] == [envvars.APP_DATABASE_USER]
    assert query["X-Amz-Expires"] == ["900"]
    assert "/eu-central-1/rds-db/aws4_request" in query["X-Amz-Credential"][0]
    assert second["user"] == first["user"]


def test_iam_login_builds_its_rds_client_from_the_settings() -> None:
    conninfo = conninfo_for(_iam_settings())
    assert callable(conninfo)
    assert "DBUser=jobping_runtime" in conninfo_to_dict(conninfo())["password"]


def test_migrate_step_logs_in_with_the_injected_owner_credentials() -> None:
    settings = TaskSettings.model_validate(
        {
            "database_host": HOST,
            "database_user": "jobping_admin",
            "database_password": "injected by ECS",
            "database_sslmode": "verify-full",
        }
    )
    conninfo = conninfo_for(settings)
    assert isinstance(conninfo, str)
    parts = conninfo_to_dict(conninfo)
    assert (parts["user"], parts["password"]) == ("jobping_admin", "injected by ECS")
    assert "injected by ECS" not in repr(settings)  # a SecretStr: never printed in logs


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"database_iam_user": "jobping_runtime"}, "DATABASE_HOST is required"),
        ({"database_iam_user": "jobping_runtime", "database_host": HOST,
          "database_sslmode": "prefer"}, "DATABASE_SSLMODE >= require"),
        ({"database_user": "owner", "database_host": HOST}, "together"),
        ({"database_iam_user": "jobping_runtime", "database_url": "postgresql://x/y",
          "database_sslmode": "require"}, "not both"),
        ({"database_iam_user": "Robert'); DROP", "database_host": HOST}, "database_iam_user"),
    ],
)  # fmt: skip
def test_database_log_in_settings_are_checked(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DatabaseSettings.model_validate(values)
