"""The summary `make run` prints: what was scanned, processed, matched and notified."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

if TYPE_CHECKING:
    from devtools.local.run import RunResult

TOP_MATCHES = 3

_TOP_MATCHES = """
SELECT u.email, s.name, j.title, j.company, m.score, m.reasons
FROM (SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY score DESC, job_id) AS rank
      FROM matches) m
JOIN users u ON u.id = m.user_id
JOIN saved_searches s ON s.id = m.saved_search_id
JOIN jobs j ON j.id = m.job_id
WHERE m.rank <= %s
ORDER BY u.email, m.score DESC"""

_COUNTS = """
SELECT (SELECT count(*) FROM jobs j JOIN job_analyses a
          ON a.job_id = j.id AND a.content_hash = j.content_hash),
       (SELECT count(*) FROM job_analyses WHERE analyzed_at >= %(since)s),
       (SELECT count(*) FROM notifications WHERE status = 'sent' AND sent_at >= %(since)s),
       (SELECT count(*) FROM notifications WHERE status <> 'sent')"""

_MATCHES_PER_USER = (
    "SELECT u.email, count(*) FROM matches m JOIN users u ON u.id = m.user_id "
    "GROUP BY u.email ORDER BY u.email"
)


@dataclass
class DbResults:
    """What the database says after the run."""

    jobs_total: int = 0  # stored jobs whose current content is processed
    processed: int = 0
    notified: int = 0
    notifications_pending: int = 0
    matches_per_user: dict[str, int] = field(default_factory=dict)
    top: list[tuple[Any, ...]] = field(default_factory=list)


def query_results(url: str, since: datetime) -> DbResults:
    """Counts for this run and the top matches per user."""
    with psycopg.connect(url) as conn:
        counts = conn.execute(_COUNTS, {"since": since}).fetchone() or (0, 0, 0, 0)
        per_user = {str(email): int(n) for email, n in conn.execute(_MATCHES_PER_USER)}
        top = conn.execute(_TOP_MATCHES, (TOP_MATCHES,)).fetchall()
    jobs_total, processed, notified, pending = (int(c) for c in counts)
    return DbResults(jobs_total, processed, notified, pending, per_user, top)


def print_summary(console: Console, run: RunResult, db: DbResults, dlq_depth: int) -> None:
    """The summary a person wants to read after `make run`."""
    scan = run.scan
    console.rule("[bold]JobPing local run")
    console.print(_sources_table(scan.get("sources", {})))
    enqueued = int(scan.get("enqueued", 0))
    if enqueued == 0 and db.processed == 0:
        console.print(
            f"[green]Nothing new[/]: the boards are unchanged since the last run; "
            f"{db.jobs_total} jobs are already stored and processed."
        )
    worker_requests = sum(int(w.get("sqs_requests", 0)) for w in run.worker_stats)
    scanner_requests = int(scan.get("sqs_requests", 0))
    per_job = (scanner_requests + worker_requests) / enqueued if enqueued else 0.0
    totals = Table(show_header=False, box=None)
    for label, value in (
        ("jobs enqueued", enqueued),
        ("jobs processed", db.processed),
        ("notifications sent", db.notified),
        ("notifications pending/failed", db.notifications_pending),
        ("messages in the DLQ", dlq_depth),
        ("SQS requests (scanner + workers)", f"{scanner_requests} + {worker_requests}"),
        ("SQS requests per job", f"{per_job:.2f}" if enqueued else "-"),
        ("wall time", f"{run.wall_s:.1f} s"),
    ):
        totals.add_row(label, str(value))
    console.print(totals)
    console.print(_matches_tree(db))


def _sources_table(sources: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="Scan", title_justify="left")
    for column in ("source", "fetched", "new", "changed", "unchanged", "status"):
        table.add_column(column, justify="left" if column in ("source", "status") else "right")
    for name, stats in sorted(sources.items()):
        status = stats.get("error") or ("304 not modified" if stats.get("not_modified") else "ok")
        table.add_row(
            name,
            *(str(stats.get(key, 0)) for key in ("fetched", "new", "changed", "unchanged")),
            status,
        )
    return table


def _matches_tree(db: DbResults) -> Tree:
    tree = Tree(f"[bold]Top matches per user[/] (best {TOP_MATCHES})")
    users: dict[str, Tree] = {}
    for email, search, title, company, score, reasons in db.top:
        if email not in users:
            users[email] = tree.add(f"{email}: {db.matches_per_user.get(email, 0)} matches")
        why = "; ".join(str(r) for r in reasons[:3])
        users[email].add(f"{score:.2f}  {title} · {company}  [dim]({search}: {why})[/]")
    return tree
