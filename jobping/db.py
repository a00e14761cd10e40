"""PostgreSQL connection pool whose credentials are looked up each time a connection opens.

RDS rotates a managed master password every 7 days, but ECS injects secrets only at task start.
So the pool is given a *callable* conninfo: with `DATABASE_SECRET_ARN` set, every new physical
connection reads the secret from Secrets Manager first, and a rotated password is picked up by
the next connection without a restart. Connections opened before the rotation keep working
(Postgres checks the password only at log-in); `max_lifetime` retires them in time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from jobping.dbauth import login_conninfo

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from jobping.dbauth import TokenSigner
    from jobping.settings import DatabaseSettings

log = logging.getLogger(__name__)

# Retire connections well inside RDS's 7-day rotation window and after failovers.
MAX_CONNECTION_LIFETIME_S = 30 * 60


class CredentialsError(RuntimeError):
    """The database secret could not be read or has no username/password."""


def secret_conninfo(
    secrets: SecretsManagerClient,
    secret_arn: str,
    *,
    host: str,
    port: int,
    dbname: str,
    sslmode: str,
) -> Callable[[], str]:
    """Return a function that builds a conninfo from the secret's current value.

    RDS-managed secrets hold only `username` and `password`; the endpoint comes from settings.
    """

    def conninfo() -> str:
        try:
            raw = secrets.get_secret_value(SecretId=secret_arn)["SecretString"]
            value = json.loads(raw)
            user, password = value["username"], value["password"]
        except (KeyError, ValueError, TypeError) as error:
            raise CredentialsError(f"secret {secret_arn} has no username/password") from error
        return make_conninfo(
            host=host, port=port, dbname=dbname, user=user, password=password, sslmode=sslmode
        )

    return conninfo


def conninfo_for(
    settings: DatabaseSettings,
    secrets: SecretsManagerClient | None = None,
    signer: TokenSigner | None = None,
) -> str | Callable[[], str]:
    """The pool's conninfo: the URL, an IAM or owner log-in (`jobping.dbauth`), or the secret."""
    if settings.database_url:
        return settings.database_url
    login = login_conninfo(settings, signer)
    if login is not None:
        return login
    if secrets is None or settings.database_secret_arn is None or settings.database_host is None:
        raise CredentialsError("DATABASE_SECRET_ARN needs a Secrets Manager client and a host")
    return secret_conninfo(
        secrets,
        settings.database_secret_arn,
        host=settings.database_host,
        port=settings.database_port,
        dbname=settings.database_name,
        sslmode=settings.database_sslmode,
    )


def open_pool(
    conninfo: str | Callable[[], str],
    *,
    size: int,
    name: str = "jobping",
    wait: bool = False,
    timeout: float = 30.0,
    autocommit: bool = False,
) -> ConnectionPool:
    """Open a fixed-size pool (`size` connections) with short-lived connections.

    Args:
        conninfo: a libpq string or a callable returning one (evaluated per connection).
        size: number of connections; the worker sizes it to its concurrency.
        name: shown in logs and `pg_stat_activity.application_name`.
        wait: block until the pool is full (start-up check) instead of filling it lazily.
        timeout: seconds `getconn` waits for a free connection before failing.
        autocommit: connections run each statement on its own unless the caller opens a
            `transaction()` block (the worker: no BEGIN/COMMIT round trips around its reads).
    """
    pool = ConnectionPool(
        conninfo,
        kwargs={"application_name": name, "connect_timeout": 5, "autocommit": autocommit},
        min_size=size,
        max_size=size,
        name=name,
        timeout=timeout,
        max_lifetime=MAX_CONNECTION_LIFETIME_S,
        open=False,
    )
    pool.open(wait=wait, timeout=timeout)
    return pool
