"""Typed settings for the worker and the scanner, read once from the environment.

The names and defaults are ARCHITECTURE.md's environment contract. `load()` turns any missing or
invalid variable into one line on stderr naming it and exit code 2, so a misconfigured task
stops at once instead of failing later on its first message.
"""

from __future__ import annotations

import sys
from typing import Annotated, Literal, TypeVar

from pydantic import AnyUrl, BeforeValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobping import envvars

EXIT_BAD_CONFIG = 2

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


class DatabaseSettings(BaseSettings):
    """Where Postgres is and how to authenticate.

    One of: `DATABASE_URL` (a libpq URL); `DATABASE_SECRET_ARN` (credentials read from Secrets
    Manager each time a connection opens); `DATABASE_IAM_USER` (an IAM authentication token made
    per connection, RDS); or `DATABASE_USER` + `DATABASE_PASSWORD` (injected by ECS into the
    `migrate` step). All but the URL need `DATABASE_HOST`.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    database_url: str | None = Field(default=None, min_length=1)
    database_secret_arn: str | None = Field(default=None, pattern=r"^arn:aws[\w-]*:secretsmanager:")
    database_host: str | None = Field(default=None, min_length=1)
    database_port: int = Field(default=5432, ge=1, le=65535)
    database_name: str = Field(default="jobping", min_length=1)
    database_sslmode: SslMode = "prefer"
    database_iam_user: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    database_user: str | None = Field(default=None, min_length=1)
    database_password: SecretStr | None = Field(default=None, min_length=1)
    #: Bounds on every connection (`jobping.db.connection_kwargs`), so that no database call can
    #: hang a job: a connect, a statement, or a half-open TCP connection.
    database_connect_timeout_seconds: int = Field(default=5, ge=2, le=300)
    database_statement_timeout_seconds: float = Field(default=30, ge=0, le=3600)
    database_keepalives_idle_seconds: int = Field(default=15, ge=1, le=7200)
    database_keepalives_interval_seconds: int = Field(default=5, ge=1, le=600)
    database_keepalives_count: int = Field(default=3, ge=1, le=100)
    database_tcp_user_timeout_seconds: float = Field(default=30, ge=0, le=3600)

    @model_validator(mode="after")
    def _one_credential_source(self) -> DatabaseSettings:
        if (self.database_user is None) != (self.database_password is None):
            raise ValueError(
                f"set {envvars.DATABASE_USER} and {envvars.DATABASE_PASSWORD} together"
            )
        given = [
            name
            for name, value in (
                (envvars.DATABASE_URL, self.database_url),
                (envvars.DATABASE_SECRET_ARN, self.database_secret_arn),
                (envvars.DATABASE_IAM_USER, self.database_iam_user),
                (envvars.DATABASE_USER, self.database_user),
            )
            if value
        ]
        if len(given) > 1:
            raise ValueError(f"set one of {' or '.join(given)}, not both")
        if not given:
            raise ValueError(
                f"{envvars.DATABASE_URL} or {envvars.DATABASE_SECRET_ARN} is required "
                f"(or {envvars.DATABASE_IAM_USER}, or {envvars.DATABASE_USER} with a password)"
            )
        if given[0] != envvars.DATABASE_URL and not self.database_host:
            raise ValueError(f"{envvars.DATABASE_HOST} is required with {given[0]}")
        if self.database_iam_user and not self.database_sslmode.startswith(("require", "verify")):
            # An IAM token is a 15-minute password: RDS accepts it over TLS only.
            raise ValueError(
                f"{envvars.DATABASE_IAM_USER} needs {envvars.DATABASE_SSLMODE} >= require"
            )
        return self


class AwsSettings(BaseSettings):
    """Region and optional endpoint override (moto, ElasticMQ, LocalStack)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    aws_region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    aws_endpoint_url: AnyUrl | None = None

    @classmethod
    def for_endpoint(cls, url: str, region: str = "us-east-1") -> AwsSettings:
        """Settings for a local endpoint (moto, ElasticMQ, LocalStack), not from the env."""
        return cls.model_validate({"aws_endpoint_url": url, "aws_region": region})


class CommonSettings(DatabaseSettings, AwsSettings):
    """What both programs need: the queue, the database, AWS and logging."""

    job_queue_url: AnyUrl
    log_level: Annotated[LogLevel, BeforeValidator(_upper)] = "INFO"
    log_format: Literal["json", "text"] | None = Field(
        default=None, description="json in containers, text on a terminal (auto when unset)"
    )


class WorkerSettings(CommonSettings):
    """The worker's tuning knobs (ARCHITECTURE.md defaults)."""

    worker_concurrency: int = Field(default=8, ge=1, le=256)
    worker_batch_size: int = Field(default=10, ge=1, le=10)
    worker_wait_seconds: int = Field(default=20, ge=0, le=20)
    worker_drain_seconds: float = Field(default=90, ge=0, le=3600)
    #: Received messages that may wait for a free handler thread (0: receive only for free ones).
    #: Two receive batches: a full batch is asked for while the other still keeps threads busy.
    worker_prefetch: int = Field(default=20, ge=0, le=100)
    #: A job still running this long after it started has failed: its message is no longer
    #: kept invisible and is retried (with backoff), whatever the handler thread is stuck on.
    worker_job_timeout_seconds: float = Field(default=120, gt=0, le=43_200)
    health_port: int = Field(default=envvars.DEFAULT_HEALTH_PORT, ge=0, le=65535)
    analyzer: Literal["rules", "bedrock"] = "rules"
    bedrock_model_id: str | None = Field(default=None, min_length=1)
    notifier: Literal["log", "ses"] = "log"
    ses_from_address: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")

    @model_validator(mode="after")
    def _pipeline_choices_complete(self) -> WorkerSettings:
        if self.analyzer == "bedrock" and not self.bedrock_model_id:
            raise ValueError(
                f"{envvars.BEDROCK_MODEL_ID} is required with {envvars.ANALYZER}=bedrock"
            )
        if self.notifier == "ses" and not self.ses_from_address:
            raise ValueError(f"{envvars.SES_FROM_ADDRESS} is required with {envvars.NOTIFIER}=ses")
        return self


class ScannerSettings(CommonSettings):
    """The scanner's sources: a path to a YAML/JSON file, or inline JSON."""

    scanner_sources: str = Field(min_length=1)


S = TypeVar("S", bound=BaseSettings)


def describe_error(error: ValidationError) -> str:
    """One line naming the first invalid variable and why."""
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"]]
    name = loc[0].upper() if loc else ""
    message = first["msg"].removeprefix("Value error, ")
    if not name:  # model-level rule: the message already names the variables
        return f"invalid configuration: {message}"
    if first["type"] == "missing":
        return f"missing setting {name}: required"
    return f"invalid setting {name}: {message}"


def load(cls: type[S], prog: str) -> S:
    """Read `cls` from the environment, or exit 2 with one line naming the bad variable."""
    try:
        return cls()
    except ValidationError as error:
        sys.stderr.write(f"{prog}: {describe_error(error)}\n")
        raise SystemExit(EXIT_BAD_CONFIG) from None
