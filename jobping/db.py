"""PostgreSQL connection pool whose credentials are looked up each time a connection opens.

RDS rotates a managed master password every 7 days, but ECS injects secrets only at task start.
So the pool is given a *callable* conninfo: with `DATABASE_SECRET_ARN` set, every new physical
connection reads the secret from Secrets Manager first, and a rotated password is picked up by
the next connection without a restart. Connections opened before the rotation keep working
(Postgres checks the password only at log-in); `max_lifetime` retires them in time.

Every connection, pooled or not, is opened with the same bounds (`connection_kwargs`): a
`statement_timeout`, so a statement the server runs never holds a job for long, and TCP
keepalives plus `tcp_user_timeout`, so a half-open connection (a failover, a dropped NAT entry)
fails in seconds instead of hanging a thread for the kernel's default of about two hours.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
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
# How long the pool keeps retrying a lost connection in the background (its delays double from
# 1 s) before it gives up and connects again on demand. psycopg_pool's default, 300 s, lets the
# delay grow to minutes, so after a long outage the pool could stay empty well after the
# database is back; a short one means the next request after recovery connects at once.
RECONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True, kw_only=True)
class ConnectOptions:
    """Bounds on every connection (libpq parameters, see `connection_kwargs`).

    The defaults are `DatabaseSettings`' defaults; `from_settings` reads the configured ones.
    """

    connect_timeout_s: int = 5
    """Most seconds to establish a connection (libpq `connect_timeout`; 2 s at least)."""
    statement_timeout_ms: int = 30_000
    """Server-side limit per statement (`statement_timeout`); 0 disables it."""
    keepalives_idle_s: int = 15
    """Idle seconds before the first TCP keepalive probe."""
    keepalives_interval_s: int = 5
    """Seconds between unanswered keepalive probes."""
    keepalives_count: int = 3
    """Unanswered probes after which the connection is dead."""
    tcp_user_timeout_ms: int = 30_000
    """Most milliseconds sent data may stay unacknowledged (Linux `TCP_USER_TIMEOUT`)."""

    @classmethod
    def from_settings(cls, settings: DatabaseSettings) -> ConnectOptions:
        """The options configured through `DATABASE_*` variables."""
        return cls(
            connect_timeout_s=settings.database_connect_timeout_seconds,
            statement_timeout_ms=round(settings.database_statement_timeout_seconds * 1000),
            keepalives_idle_s=settings.database_keepalives_idle_seconds,
            keepalives_interval_s=settings.database_keepalives_interval_seconds,
            keepalives_count=settings.database_keepalives_count,
            tcp_user_timeout_ms=round(settings.database_tcp_user_timeout_seconds * 1000),
        )


def connection_kwargs(
    options: ConnectOptions, *, name: str = "jobping", autocommit: bool = False
) -> dict[str, Any]:
    """Keyword arguments for `psycopg.connect` (and the pool) that bound every connection.

    libpq parameters: https://www.postgresql.org/docs/16/libpq-connect.html#LIBPQ-PARAMKEYWORDS
    (`keepalives*` and `tcp_user_timeout` apply to TCP connections; libpq ignores them on Unix
    sockets). `statement_timeout` is set at log-in through `options`, so it also holds for
    connections a pool reopens; it is an integer, never user input.
    """
    return {
        "application_name": name,
        "autocommit": autocommit,
        "connect_timeout": options.connect_timeout_s,
        "keepalives": 1,
        "keepalives_idle": options.keepalives_idle_s,
        "keepalives_interval": options.keepalives_interval_s,
        "keepalives_count": options.keepalives_count,
        "tcp_user_timeout": options.tcp_user_timeout_ms,
        "options": f"-c statement_timeout={int(options.statement_timeout_ms)}",
    }


def connect(
    conninfo: str | Callable[[], str],
    options: ConnectOptions | None = None,
    *,
    name: str = "jobping",
    autocommit: bool = True,
) -> psycopg.Connection[tuple[Any, ...]]:
    """One connection outside any pool, with the same bounds (the health probe's own)."""
    dsn = conninfo() if callable(conninfo) else conninfo
    return psycopg.connect(
        dsn, **connection_kwargs(options or ConnectOptions(), name=name, autocommit=autocommit)
    )


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
    options: ConnectOptions | None = None,
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
        options: bounds on each connection (default `ConnectOptions()`).
    """
    pool = ConnectionPool(
        conninfo,
        kwargs=connection_kwargs(options or ConnectOptions(), name=name, autocommit=autocommit),
        min_size=size,
        max_size=size,
        name=name,
        timeout=timeout,
        max_lifetime=MAX_CONNECTION_LIFETIME_S,
        reconnect_timeout=RECONNECT_TIMEOUT_S,
        open=False,
    )
    pool.open(wait=wait, timeout=timeout)
    return pool
