"""An embedded PostgreSQL for tests and the local system, from the `pgserver` wheel's binaries.

pgserver ships a full PostgreSQL build on PyPI. Its own `get_server()` listens only on a Unix
socket with `trust` auth; JobPing needs more of a real server than that: a TCP port on loopback,
password (SCRAM) authentication for the credential-rotation test, and stop/start to simulate an
outage. So this module drives the same binaries directly with `initdb` and `pg_ctl`. As root,
PostgreSQL refuses to run, so the server runs as pgserver's unprivileged `pgserver` user.
"""

from __future__ import annotations

import os
import socket
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from psycopg.conninfo import make_conninfo

SUPERUSER = "postgres"


# pgserver looks up a runtime directory at import, which this module never uses.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def _bin_dir() -> Path:
    import pgserver._commands  # noqa: PLC0415  # dev-only dependency, imported on use

    return Path(pgserver._commands.POSTGRES_BIN_PATH)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _system_user() -> str | None:
    """The unprivileged user to run as when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    from pgserver.utils import (  # noqa: PLC0415
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists("pgserver")
    bin_dir = _bin_dir()
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir, 0o055)
    ensure_folder_permissions(bin_dir.parent / "lib", 0o044)
    return "pgserver"


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in `data_dir`, listening on 127.0.0.1:`port`.

    Local (Unix-socket) connections are trusted for the superuser; TCP connections need a
    password (scram-sha-256), like a real server.
    """

    data_dir: Path
    port: int = field(default_factory=free_port)
    _user: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()
        self._user = _system_user()

    @property
    def socket_dir(self) -> Path:
        """Where the server's Unix socket lives (inside the data directory's parent)."""
        return self.data_dir.parent / f"{self.data_dir.name}.sock"

    def superuser_url(self, dbname: str = "postgres") -> str:
        """libpq conninfo for the superuser over the Unix socket (no password)."""
        return make_conninfo(
            host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname=dbname
        )

    def url(self, user: str, password: str, dbname: str) -> str:
        """libpq URL for an application role over TCP."""
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        """Initialise the data directory if needed, then start the server and wait for it."""
        if self._user is not None:
            from pgserver.utils import ensure_prefix_permissions  # noqa: PLC0415

            self.data_dir.mkdir(parents=True, exist_ok=True)
            ensure_prefix_permissions(self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._chown(self.data_dir)
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--encoding=UTF8",
                "--no-sync",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            )
        self.socket_dir.mkdir(exist_ok=True)
        self._chown(self.socket_dir)
        options = f"-h 127.0.0.1 -p {self.port} -k {self.socket_dir} -c fsync=off"
        self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.data_dir / "server.log"),
            "-o",
            options,
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast` disconnects clients; `immediate` is a crash)."""
        self._run("pg_ctl", "stop", "-w", "-D", str(self.data_dir), "-m", mode)

    def is_running(self) -> bool:
        """Whether `pg_ctl status` finds the server up."""
        result = subprocess.run(
            [str(_bin_dir() / "pg_ctl"), "status", "-D", str(self.data_dir)],
            capture_output=True,
            check=False,
            user=self._user,
        )
        return result.returncode == 0

    def ensure_database(self, dbname: str, owner: str, password: str) -> str:
        """Create the login role and database if missing; return the role's TCP URL."""
        import psycopg  # noqa: PLC0415
        from psycopg import sql  # noqa: PLC0415

        with psycopg.connect(self.superuser_url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)).fetchone()
            statement = sql.SQL(
                "ALTER ROLE {} LOGIN PASSWORD {}" if exists else "CREATE ROLE {} LOGIN PASSWORD {}"
            )
            conn.execute(statement.format(sql.Identifier(owner), sql.Literal(password)))
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)
            ).fetchone():
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(dbname), sql.Identifier(owner)
                    )
                )
        return self.url(owner, password, dbname)

    def _chown(self, path: Path) -> None:
        if self._user is not None:
            import pwd  # noqa: PLC0415

            entry = pwd.getpwnam(self._user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, program: str, *args: str) -> None:
        if self._user is not None and self.data_dir.exists():
            # Another pytest session of the same user may have reset its temporary root to 0700
            # since `start` opened the path to the server's user; open it again before each call.
            from pgserver.utils import ensure_prefix_permissions  # noqa: PLC0415

            ensure_prefix_permissions(self.data_dir)
        result = subprocess.run(
            [str(_bin_dir() / program), *args],
            capture_output=True,
            text=True,
            check=False,
            user=self._user,
            cwd=self.data_dir.parent,
        )
        if result.returncode != 0:
            log_file = self.data_dir / "server.log"
            tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
            raise RuntimeError(
                f"{program} failed ({result.returncode}): {result.stderr.strip()}\n{tail}"
            )
