"""`python -m devtools`: the development commands, which the container image does not contain.

`local up|down|status|run` the local system, `plan` the stack previewed offline, `simulate` and
`cost` the capacity planner. On a checkout `python -m jobping local|plan|simulate|cost` forwards
here (`jobping.cli`), naming itself in messages; in the image those exit 2 with one line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from devtools import plan
from devtools.local import run as local_run
from devtools.local.system import LOCAL_CREDENTIALS, LocalSystem
from devtools.planner import commands as planner
from jobping.cli import command_parser, run

PROG = "devtools"
Command = Callable[[argparse.Namespace], int]
Arguments = Callable[[argparse.ArgumentParser], None]


def cmd_local(args: argparse.Namespace) -> int:
    """`local up|down|status|run`: the local system (moto SQS + embedded PostgreSQL)."""
    root = Path(args.root).resolve()
    if args.local_command == "run":
        return local_run.run(root, workers=args.workers)
    os.environ.update(LOCAL_CREDENTIALS)
    system = LocalSystem(root)
    if args.local_command == "up":
        state = system.up()
        print(f"local system up; environment in {root / 'env'} (source it):")
        for key, value in state.env().items():
            print(f"  {key}={value}")
        return 0
    if args.local_command == "down":
        system.down()
        print("local system stopped (database files kept in .local/pg)")
        return 0
    recorded = system.state()
    running = bool(recorded and system.is_up(recorded))
    print(json.dumps({"running": running, **(recorded.env() if recorded else {})}, indent=2))
    return 0 if running else 3


def _add_local_commands(commands: Any) -> None:
    local = commands.add_parser(
        "local",
        help="the local system: moto SQS + embedded PostgreSQL",
        description="up: start in the background and write .local/env; down: stop; "
        "status: exit 0 if running; run: what `make run` does (start, scan, drain, report, stop).",
    )
    local.add_argument("local_command", choices=["up", "down", "status", "run"])
    local.add_argument("--root", default=".local", help="where local state lives (.local)")
    local.add_argument("--workers", type=int, default=2, help="worker processes for `run` (2)")
    local.set_defaults(handler=cmd_local)


def cmd_plan(args: argparse.Namespace) -> int:
    """Print what `pulumi up --stack STACK` would create, from the program under mocks."""
    try:
        print(plan.render(plan.snapshot(args.stack)))
    except plan.PlanError as error:
        sys.stderr.write(f"{args.prog} plan: {error}\n")
        return 1
    return 0


def _stack_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True, help="stack name: dev or prod")


#: The commands that run the Pulumi program under mocks: name, help, description, its
#: arguments, its handler.
PROGRAM_COMMANDS: tuple[tuple[str, str, str, Arguments, Command], ...] = (
    (
        "plan",
        "preview the stack offline (Pulumi program under mocks)",
        "Run the Pulumi program offline under mocks with Pulumi.<stack>.yaml and print the "
        "resources it would create as a tree, with a count. No credentials needed.",
        _stack_argument,
        cmd_plan,
    ),
    (
        "simulate",
        "simulate a day of the stack's scaling (Pulumi program under mocks)",
        "Queue depth, tasks, latency and task-hours for a day of scans, with the stack's own "
        "alarms, scaling policies and schedule. See docs/capacity.md.",
        planner.add_simulate_arguments,
        planner.simulate,
    ),
    (
        "cost",
        "the stack's monthly cost per line item at a load",
        "Monthly cost from the stack's resources and simulated task-hours, with pinned "
        "us-east-1 prices (or --live-prices). See docs/capacity.md.",
        planner.add_cost_arguments,
        planner.cost,
    ),
)


def _add_program_commands(commands: Any) -> None:
    for name, summary, description, add_arguments, handler in PROGRAM_COMMANDS:
        parser = commands.add_parser(name, help=summary, description=description)
        add_arguments(parser)
        parser.set_defaults(handler=handler)


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The argument parser with every development command; `prog` names it in messages."""
    parser, commands = command_parser(prog, "JobPing development tools.")
    _add_local_commands(commands)
    _add_program_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Parse `argv`, run the command, return its exit code."""
    return run(build_parser(prog).parse_args(argv))
