"""Database log-ins that are neither a URL nor a Secrets Manager secret.

- IAM database authentication (the worker and the scanner on RDS): the application's role
  (`jobping_runtime`, granted `rds_iam` by migration 0004) has no password. Each new physical
  connection presents a token that boto3 signs locally with the task role's credentials (no
  network call); a token is valid for 15 minutes, and Postgres checks it only at log-in, so a
  pooled connection outlives it. Signing needs `rds-db:connect` on that one database user.
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.Connecting.Python.html
- Owner credentials injected as variables (the `migrate` step of each task): ECS reads them from
  the secret at task start, and the step runs at once, so a rotation cannot overtake it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from psycopg.conninfo import make_conninfo

from jobping.settings import AwsSettings

if TYPE_CHECKING:
    from jobping.settings import DatabaseSettings


class TokenSigner(Protocol):
    """What IAM log-in needs of boto3's RDS client (`generate_db_auth_token`)."""

    def generate_db_auth_token(  # boto3's parameter names
        self, DBHostname: str, Port: int, DBUsername: str, Region: str | None = None
    ) -> str:
        """A presigned `rds-db:connect` token for one user, valid for 15 minutes."""
        ...


def iam_conninfo(
    signer: TokenSigner, *, host: str, port: int, dbname: str, user: str, sslmode: str
) -> Callable[[], str]:
    """A conninfo function that signs a fresh token for every new connection."""

    def conninfo() -> str:
        token = signer.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user)
        return make_conninfo(
            host=host, port=port, dbname=dbname, user=user, password=token, sslmode=sslmode
        )

    return conninfo


def login_conninfo(
    settings: DatabaseSettings, signer: TokenSigner | None = None
) -> str | Callable[[], str] | None:
    """The conninfo for an IAM user or injected owner credentials; None for other settings.

    Args:
        settings: the database settings (with AWS settings too when an IAM user is set).
        signer: an RDS client; by default one is built from `settings`' region.
    """
    host = settings.database_host or ""
    if settings.database_password is not None:
        return make_conninfo(
            host=host,
            port=settings.database_port,
            dbname=settings.database_name,
            user=settings.database_user,
            password=settings.database_password.get_secret_value(),
            sslmode=settings.database_sslmode,
        )
    if settings.database_iam_user is None:
        return None
    return iam_conninfo(
        signer or _rds_client(settings),
        host=host,
        port=settings.database_port,
        dbname=settings.database_name,
        user=settings.database_iam_user,
        sslmode=settings.database_sslmode,
    )


def _rds_client(settings: DatabaseSettings) -> TokenSigner:
    from jobping.aws import make_client  # noqa: PLC0415  # boto3 loads only when needed

    if not isinstance(settings, AwsSettings):
        raise TypeError("IAM database log-in needs the AWS settings (the region) too")
    signer: TokenSigner = make_client("rds", settings)
    return signer
