"""The pool reads credentials from Secrets Manager per connection: rotation needs no restart.

And every connection is bounded: a statement timeout, TCP keepalives and a TCP user timeout.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg import sql

from devtools.local.postgres import EmbeddedPostgres
from jobping.aws import make_client
from jobping.db import ConnectOptions, CredentialsError, connect, conninfo_for, open_pool
from jobping.settings import AwsSettings, DatabaseSettings

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


def _set_password(postgres: EmbeddedPostgres, role: str, password: str) -> None:
    with psycopg.connect(postgres.superuser_url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
        )


def _kick(postgres: EmbeddedPostgres, role: str) -> None:
    """Close the role's server connections, as a restart, failover or max_lifetime would."""
    with psycopg.connect(postgres.superuser_url(), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
        )


def _secret_value(role: str, password: str) -> str:
    """A database secret's value, as RDS writes it."""
    return json.dumps({"username": role, "password": password})


def _secret_conninfo(
    postgres: EmbeddedPostgres, dbname: str, arn: str, secrets: SecretsManagerClient
) -> str | Callable[[], str]:
    """The pool's conninfo for `dbname`, its log-in read from the secret `arn`."""
    settings = DatabaseSettings(
        database_secret_arn=arn,
        database_host="127.0.0.1",
        database_port=postgres.port,
        database_name=dbname,
        database_sslmode="disable",
    )
    return conninfo_for(settings, secrets)


@dataclass(frozen=True)
class Rotating:
    """A role with its own database, the secret holding its password, and the pool's conninfo."""

    role: str
    arn: str
    secrets: SecretsManagerClient
    conninfo: str | Callable[[], str]

    def put_secret(self, password: str) -> None:
        """Store `password` in the secret, as a rotation's last step does."""
        self.secrets.put_secret_value(
            SecretId=self.arn, SecretString=_secret_value(self.role, password)
        )


@pytest.fixture
def rotating(postgres: EmbeddedPostgres, aws_settings: AwsSettings) -> Rotating:
    """A role, its database and a Secrets Manager secret holding its first password."""
    role = f"rot_{uuid.uuid4().hex[:8]}"
    postgres.ensure_database(role, role, "first-password")
    secrets = make_client("secretsmanager", aws_settings)
    arn = secrets.create_secret(
        Name=f"db/{role}", SecretString=_secret_value(role, "first-password")
    )["ARN"]
    return Rotating(role, arn, secrets, _secret_conninfo(postgres, role, arn, secrets))


def test_rotated_password_is_used_by_new_connections(
    postgres: EmbeddedPostgres, rotating: Rotating
) -> None:
    role = rotating.role
    with open_pool(rotating.conninfo, size=2, wait=True, timeout=10) as pool:
        with pool.connection() as conn:
            assert conn.execute("SELECT current_user").fetchone() == (role,)

        # Rotate the way RDS does: new password in the database and in the secret.
        _set_password(postgres, role, "second-password")
        rotating.put_secret("second-password")
        with pool.connection() as conn:  # connections opened before rotation still work
            assert conn.execute("SELECT 1").fetchone() == (1,)

        _kick(postgres, role)
        pool.check()  # drops the dead connections and opens new ones with the new password
        for _ in range(4):
            with pool.connection() as conn:
                assert conn.execute("SELECT current_user").fetchone() == (role,)


def test_stale_secret_fails_to_connect(postgres: EmbeddedPostgres, rotating: Rotating) -> None:
    """The control for the test above: without reading the secret again, log-in fails."""
    conninfo = rotating.conninfo
    assert callable(conninfo)
    frozen = conninfo()
    _set_password(postgres, rotating.role, "third-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(frozen).close()
    rotating.put_secret("third-password")
    psycopg.connect(conninfo()).close()


def test_secret_without_password_is_a_clear_error(
    postgres: EmbeddedPostgres, aws_settings: AwsSettings
) -> None:
    secrets = make_client("secretsmanager", aws_settings)
    arn = secrets.create_secret(Name=f"db/bad-{uuid.uuid4().hex[:6]}", SecretString="{}")["ARN"]
    conninfo = _secret_conninfo(postgres, "jobping", arn, secrets)
    assert callable(conninfo)
    with pytest.raises(CredentialsError, match="no username/password"):
        conninfo()


def test_database_url_is_used_as_given(db: str) -> None:
    assert conninfo_for(DatabaseSettings(database_url=db)) == db
    with open_pool(db, size=1, wait=True) as pool, pool.connection() as conn:
        assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (0,)


def test_embedded_server_survives_stop_and_start(postgres: EmbeddedPostgres, db: str) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("INSERT INTO users (email) VALUES ('kept@example.com')")
    postgres.stop()
    assert not postgres.is_running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(db, connect_timeout=2).close()
    postgres.start()
    assert postgres.is_running()
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT email FROM users").fetchall() == [("kept@example.com",)]


BOUNDS = ConnectOptions(
    connect_timeout_s=3,
    statement_timeout_ms=300,
    keepalives_idle_s=11,
    keepalives_interval_s=4,
    keepalives_count=2,
    tcp_user_timeout_ms=7000,
)


def _socket_options(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """The TCP options libpq set on the connection's socket, read back from the kernel."""
    sock = socket.fromfd(conn.pgconn.socket, socket.AF_INET, socket.SOCK_STREAM)  # a dup
    try:
        return {
            "keepalive": sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            "idle": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            "interval": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
            "count": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
            "user_timeout_ms": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
        }
    finally:
        sock.close()


def test_every_connection_has_a_statement_timeout_keepalives_and_a_tcp_user_timeout(
    db: str,
) -> None:
    expected = {"keepalive": 1, "idle": 11, "interval": 4, "count": 2, "user_timeout_ms": 7000}
    with open_pool(db, size=1, wait=True, options=BOUNDS) as pool, pool.connection() as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("300ms",)
        assert _socket_options(conn) == expected
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(5)")
    with connect(db, BOUNDS) as probe:  # the health probe's own connection: the same bounds
        assert probe.execute("SHOW statement_timeout").fetchone() == ("300ms",)
        assert _socket_options(probe) == expected


def test_pools_are_bounded_by_default(db: str) -> None:
    defaults = ConnectOptions()
    with open_pool(db, size=1, wait=True) as pool, pool.connection() as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("30s",)
        assert _socket_options(conn) == {
            "keepalive": 1,
            "idle": defaults.keepalives_idle_s,
            "interval": defaults.keepalives_interval_s,
            "count": defaults.keepalives_count,
            "user_timeout_ms": defaults.tcp_user_timeout_ms,
        }
