"""`python -m jobping`: the operator's command line.

Subcommands are small functions registered in `build_parser`; each reads only the settings it
needs, so `jobping migrate` works with just the database variables set. The image ships
`migrate`, `queue` and `dlq`; `local`, `plan`, `simulate` and `cost` are development commands
(`python -m devtools`), forwarded there on a checkout and refused with exit 2 in the image.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field

from jobping import logs, ops, settings
from jobping.aws import make_client
from jobping.db import conninfo_for
from jobping.migrate import MigrationError, discover, migrate

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

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


class QueueCommandSettings(settings.AwsSettings):
    """Queue commands: AWS, and the job queue from JOB_QUEUE_URL unless given as a flag."""

    job_queue_url: str | None = Field(default=None, min_length=1)


def _queues(args: argparse.Namespace) -> tuple[QueueCommandSettings, SQSClient, str]:
    config = settings.load(QueueCommandSettings, f"{PROG} {args.command}")
    sqs = make_client("sqs", config, max_attempts=2)
    # A flag beats the environment: --queue-name ignores $JOB_QUEUE_URL.
    default_url = None if args.queue_name else config.job_queue_url
    url = ops.resolve_queue_url(sqs, args.queue_url or default_url, args.queue_name)
    return config, sqs, url


def _dlq(sqs: SQSClient, url: str) -> str:
    dlq = ops.dlq_url_of(sqs, url)
    if dlq is None:
        raise ops.QueueError(f"queue {url} has no RedrivePolicy, so no DLQ")
    return dlq


def cmd_queue_stats(args: argparse.Namespace) -> int:
    """Print depths of the job queue and its DLQ, and the oldest message's age."""
    config, sqs, url = _queues(args)
    main = ops.queue_stats(sqs, url)
    dlq_url = ops.dlq_url_of(sqs, url)
    dlq = ops.queue_stats(sqs, dlq_url) if dlq_url else None
    age = ops.oldest_age_seconds(make_client("cloudwatch", config, max_attempts=2), url)
    report = {
        "queue": url,
        "visible": main.visible,
        "in_flight": main.in_flight,
        "delayed": main.delayed,
        "oldest_age_seconds": age,
        "dlq": dlq_url,
        "dlq_depth": dlq.visible + dlq.in_flight if dlq else None,
    }
    if args.json:
        print(json.dumps(report))
        return 0
    width = max(len(key) for key in report)
    for key, value in report.items():
        shown = (
            "n/a (no CloudWatch data)" if key == "oldest_age_seconds" and value is None else value
        )
        print(f"{key:<{width}}  {'-' if shown is None else shown}")
    return 0


def cmd_dlq_peek(args: argparse.Namespace) -> int:
    """Show DLQ messages and their failure reasons, without deleting them."""
    _, sqs, url = _queues(args)
    messages = ops.peek(sqs, _dlq(sqs, url), args.n)
    for message in messages:
        print(
            json.dumps(
                {
                    "message_id": message.message_id,
                    "receive_count": message.receive_count,
                    "attributes": message.attributes,
                    "body": message.body[:2000],
                },
                ensure_ascii=False,
            )
        )
    print(f"{len(messages)} message(s) shown, none deleted", file=sys.stderr)
    return 0


def cmd_dlq_redrive(args: argparse.Namespace) -> int:
    """Move DLQ messages back to the job queue."""
    _, sqs, url = _queues(args)
    result = ops.redrive(sqs, _dlq(sqs, url), url, args.max)
    if result.method == "move-task":
        print(f"started SQS message move task {result.task_handle}")
    else:
        print(f"moved {result.moved} message(s) back to {url}")
    return 0


#: Development commands: `python -m devtools …` (devtools/cli.py); the image has no devtools.
DEV_COMMANDS = ("local", "plan", "simulate", "cost")


def cmd_development(args: argparse.Namespace) -> int:
    """Forward to `python -m devtools` on a checkout; in the image, one line and exit 2."""
    if importlib.util.find_spec("devtools") is None:
        sys.stderr.write(f"{PROG} {args.command}: development command; not in the image\n")
        return 2
    devtools_cli = importlib.import_module("devtools.cli")
    argv = ["--log-level", args.log_level, args.command, *args.development_args]
    return int(devtools_cli.main(argv, prog=PROG))


def _add_development_commands(commands: Any) -> None:
    for name in DEV_COMMANDS:
        parser = commands.add_parser(
            name, add_help=False, help=f"development only: python -m devtools {name}"
        )
        parser.set_defaults(handler=cmd_development)


def _queue_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue-url", help="the job queue's URL (default: $JOB_QUEUE_URL)")
    parser.add_argument("--queue-name", help="find the job queue by name instead")


def _add_queue_commands(commands: Any) -> None:
    queue = commands.add_parser("queue", help="job queue tools").add_subparsers(
        dest="queue_command", required=True, metavar="COMMAND"
    )
    stats = queue.add_parser("stats", help="visible, in flight, delayed, DLQ depth, oldest age")
    stats.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    _queue_flags(stats)
    stats.set_defaults(handler=cmd_queue_stats)

    dlq = commands.add_parser("dlq", help="dead-letter queue tools").add_subparsers(
        dest="dlq_command", required=True, metavar="COMMAND"
    )
    peek = dlq.add_parser("peek", help="show DLQ messages with their failure reasons")
    peek.add_argument("-n", type=int, default=10, help="how many messages (default 10)")
    _queue_flags(peek)
    peek.set_defaults(handler=cmd_dlq_peek)
    redrive = dlq.add_parser(
        "redrive",
        help="move DLQ messages back to the job queue",
        description="Uses SQS StartMessageMoveTask where the endpoint supports it; otherwise "
        "copies in batches, deleting from the DLQ only what the job queue accepted.",
    )
    redrive.add_argument("--max", type=int, default=None, help="move at most N messages")
    _queue_flags(redrive)
    redrive.set_defaults(handler=cmd_dlq_redrive)


def command_parser(prog: str, description: str) -> tuple[argparse.ArgumentParser, Any]:
    """A parser with `--log-level` and its (required) subcommands, for this CLI and devtools'."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    parser.set_defaults(prog=prog)
    return parser, parser.add_subparsers(dest="command", required=True, metavar="COMMAND")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser, commands = command_parser(PROG, "JobPing operator tools.")
    migrate_parser = commands.add_parser(
        "migrate",
        help="apply database migrations",
        description="Apply pending migrations from jobping/migrations under an advisory lock. "
        "Reads DATABASE_URL, or DATABASE_SECRET_ARN with DATABASE_HOST/PORT/NAME.",
    )
    migrate_parser.set_defaults(handler=cmd_migrate)
    _add_queue_commands(commands)
    _add_development_commands(commands)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; every failure is one line naming `args.prog` and the command."""
    logs.configure(args.log_level.upper(), "text")
    handler: Command = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except ops.QueueError as error:
        sys.stderr.write(f"{args.prog} {args.command}: {error}\n")
        return 1
    except Exception as error:  # one clear line for the operator, details at debug level
        logging.getLogger(__name__).debug("command failed", exc_info=True)
        sys.stderr.write(f"{args.prog} {args.command}: {type(error).__name__}: {error}\n")
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the subcommand, return its exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.handler is cmd_development:
        args.development_args = extra  # devtools parses them, in their order
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return run(args)
