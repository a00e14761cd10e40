"""`python -m scanner`: one scan (or `--loop`), then a JSON summary line on stdout.

Exit codes: 0 every source fine, 1 some source failed (or messages could not be enqueued),
2 bad configuration. Signals as in the worker (`jobping.signals`): the first SIGTERM/SIGINT lets
the scan under way finish and ends `--loop`, a second one exits at once (128 + the signal).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from jobping import logs, settings
from jobping.aws import count_requests, make_client
from jobping.db import ConnectOptions, conninfo_for, open_pool
from jobping.signals import install_signal_handlers
from scanner.config import SourcesConfigError, load_sources
from scanner.http import Fetcher
from scanner.http import make_client as make_http_client
from scanner.outbox import Outbox
from scanner.scan import ScanSummary, SourceStats, fetch_source, run_scan, would_enqueue
from scanner.sources import Source, build_source
from scanner.store import DbValidatorStore, stored_hashes, waiting_jobs

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

    from jobping.settings import ScannerSettings

log = logging.getLogger(__name__)
EXIT_OK, EXIT_SOURCE_FAILED = 0, 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options (everything else comes from the environment)."""
    parser = argparse.ArgumentParser(prog="python -m scanner", description=__doc__)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be enqueued; write nothing, send nothing",
    )
    parser.add_argument("--loop", action="store_true", help="scan repeatedly (local use)")
    parser.add_argument(
        "--interval",
        type=float,
        default=300.0,
        help="seconds between scans with --loop (default 300)",
    )
    return parser.parse_args(argv)


def dry_run(sources: Sequence[Source], fetcher: Fetcher, pool: ConnectionPool) -> int:
    """Print, one JSON line each, the jobs a real run would enqueue; write nothing."""
    store = DbValidatorStore(pool)
    failed = False
    for source in sources:
        outcome = fetch_source(source, fetcher, store)
        if isinstance(outcome, SourceStats):  # the source failed; already logged
            failed = True
            continue
        with pool.connection() as conn:
            stored = stored_hashes(conn, source.name, [job.external_id for job in outcome.jobs])
        for line in would_enqueue(outcome.jobs, stored):
            _print_line(line)
    with pool.connection() as conn:
        waiting = waiting_jobs(conn)
    for job in waiting:
        _print_line(
            {"source": job.source, "external_id": job.external_id, "title": job.title,
             "reason": "outbox"}
        )  # fmt: skip
    return EXIT_SOURCE_FAILED if failed else EXIT_OK


def _print_line(record: dict[str, str]) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


def scan_once(config: ScannerSettings, sources: Sequence[Source], pool: ConnectionPool) -> int:
    """One scan with fresh HTTP and SQS clients; prints the summary line."""
    sqs = make_client("sqs", config)
    counter = count_requests(sqs)
    with make_http_client() as http:
        fetcher = Fetcher(http)
        summary: ScanSummary = run_scan(
            sources, fetcher, pool, DbValidatorStore(pool), Outbox(sqs, str(config.job_queue_url))
        )
    summary.sqs_requests = counter.count
    sys.stdout.write(json.dumps(summary.as_record(), default=str) + "\n")
    sys.stdout.flush()
    ok = not summary.failed_sources and not summary.enqueue_failed and not summary.drain_error
    return EXIT_OK if ok else EXIT_SOURCE_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: settings, sources, database; then scan once, or in a loop until a signal."""
    args = parse_args(argv)
    config = settings.load(settings.ScannerSettings, "scanner")
    logs.configure(config.log_level, config.log_format)
    try:
        sources = [build_source(source) for source in load_sources(config.scanner_sources)]
    except SourcesConfigError as error:
        sys.stderr.write(f"scanner: invalid setting SCANNER_SOURCES: {error}\n")
        return settings.EXIT_BAD_CONFIG
    secrets = make_client("secretsmanager", config) if config.database_secret_arn else None
    # The schema is the `migrate` step's job (it runs before this container, as the owner):
    # this process logs in as a role that may not change it.
    conninfo = conninfo_for(config, secrets)
    stop = install_signal_handlers("scanner")  # the first: finish this scan, then stop
    options = ConnectOptions.from_settings(config)  # the same bounds as the worker's connections
    with open_pool(conninfo, size=2, name="scanner", options=options) as pool:
        if args.dry_run:
            with make_http_client() as http:
                return dry_run(sources, Fetcher(http), pool)
        code = scan_once(config, sources, pool)
        while args.loop and not stop.wait(args.interval):
            code = scan_once(config, sources, pool)
    return code
