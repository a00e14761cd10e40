"""`python -m jobping`: the operator's command line.

Subcommands are small functions registered in `build_parser`; each reads only the settings it
needs, so `jobping migrate` works with just the database variables set.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from jobping import logs, settings
from jobping.aws import make_client
from jobping.db import conninfo_for
from jobping.migrate import MigrationError, discover, migrate

PROG = "jobping"
Command = Callable[[argparse.Namespace], int]


class MigrateSettings(settings.DatabaseSettings, settings.AwsSettings):
    """`jobping migrate` needs the database and, with a secret ARN, AWS."""


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations (safe to run from several processes at once)."""
    config = settings.load(MigrateSettings, f"{PROG} migrate")
    secrets = make_client("secretsmanager", config) if config.database_secret_arn else None
    conninfo = conninfo_for(config, secrets)
    url = conninfo if isinstance(conninfo, str) else conninfo()
    try:
        applied = migrate(url)
    except MigrationError as error:
        sys.stderr.write(f"{PROG} migrate: {error}\n")
        return 1
    latest = discover()[-1].version
    if applied:
        print(f"applied {len(applied)} migration(s): {', '.join(f'{v:04d}' for v in applied)}")
    else:
        print(f"database is up to date (version {latest:04d})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog=PROG, description="JobPing operator tools.")
    parser.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    migrate_parser = commands.add_parser(
        "migrate",
        help="apply database migrations",
        description="Apply pending migrations from jobping/migrations under an advisory lock. "
        "Reads DATABASE_URL, or DATABASE_SECRET_ARN with DATABASE_HOST/PORT/NAME.",
    )
    migrate_parser.set_defaults(handler=cmd_migrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the subcommand, return its exit code."""
    args = build_parser().parse_args(argv)
    logs.configure(args.log_level.upper(), "text")
    handler: Command = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # one clear line for the operator, details at debug level
        logging.getLogger(__name__).debug("command failed", exc_info=True)
        sys.stderr.write(f"{PROG} {args.command}: {type(error).__name__}: {error}\n")
        return 1
