"""How the tasks reach the database, and the IAM grants each role needs for it.

The owner's secret (the RDS master user, or an existing server's secret) goes to the `migrate`
container only, injected by ECS with the execution role. The application connects as the
least-privilege role the migrations create, with IAM authentication tokens where the database
supports them, so its task role holds `rds-db:connect` on that one user and no secret.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.iam import Statement, allow
from jobping import envvars


@dataclass(frozen=True, kw_only=True)
class DatabaseEndpoint:
    """Resolved values: where the database is, the owner's secret, the application's user."""

    host: str
    """Endpoint address."""
    port: int
    """PostgreSQL port."""
    name: str
    """Database name."""
    secret_arn: str
    """Secret with the owner's `username`/`password`: injected into `migrate` only."""
    app_user: str | None = None
    """IAM database user the application connects as; None: it reads `secret_arn` itself."""


def secret_statements(sid: str, secret_arn: str, kms_key_arn: str | None) -> list[Statement]:
    """Read one secret; with a customer-managed key, decrypt with it via Secrets Manager only.

    Secrets Manager decrypts with the caller's permissions, so a CMK needs `kms:Decrypt` on
    that key; `kms:ViaService` keeps the grant from being used directly against KMS, and the
    encryption context (Secrets Manager sends the secret's ARN) to this one secret
    (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html).
    """
    statements = [allow(sid, ["secretsmanager:GetSecretValue"], [secret_arn])]
    if kms_key_arn:
        region = secret_arn.split(":")[3]  # Secrets Manager in the secret's own region
        only_for_this_secret = {
            "StringEquals": {
                "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                "kms:EncryptionContext:SecretARN": secret_arn,
            }
        }
        statements.append(allow(f"{sid}Key", ["kms:Decrypt"], [kms_key_arn], only_for_this_secret))
    return statements


def app_database_statements(
    secret_arn: str, app_user_arn: str | None, kms_key_arn: str | None
) -> list[Statement]:
    """What the application's task role needs to log in to the database.

    With an IAM database user: `rds-db:connect` as that user only, and no secret at all
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html).
    Without one (an existing server): read the secret at connect time, as before.
    """
    if app_user_arn:
        return [allow("ConnectAsAppUser", ["rds-db:connect"], [app_user_arn])]
    return secret_statements("ReadDatabaseSecret", secret_arn, kms_key_arn)


def app_database_grants(
    secret_arn: pulumi.Input[str],
    app_user_arn: pulumi.Input[str] | None,
    kms_key_arn: str | None,
) -> pulumi.Output[list[Statement]]:
    """`app_database_statements` once the ARNs are known."""
    return pulumi.Output.all(secret=secret_arn, app_user=app_user_arn).apply(
        lambda v: app_database_statements(v["secret"], v["app_user"], kms_key_arn)
    )


def endpoint_environment(db: DatabaseEndpoint) -> dict[str, str]:
    """Where the database is; TLS with the server's name verified."""
    return {
        envvars.DATABASE_HOST: db.host,
        envvars.DATABASE_PORT: str(db.port),
        envvars.DATABASE_NAME: db.name,
        envvars.DATABASE_SSLMODE: "verify-full",
    }


def database_environment(db: DatabaseEndpoint) -> dict[str, str]:
    """How the application reaches the database: its IAM user, or the secret's ARN; no password."""
    if db.app_user:
        return {**endpoint_environment(db), envvars.DATABASE_IAM_USER: db.app_user}
    return {**endpoint_environment(db), envvars.DATABASE_SECRET_ARN: db.secret_arn}
