"""A scanner for the tests: JobPing-format boards on the local server, scanned with `run_scan`
against moto's SQS and the embedded Postgres, as `python -m scanner` would."""

from __future__ import annotations

import json
from typing import Any

from local_http import LocalServer, Reply
from psycopg_pool import ConnectionPool

from devtools.local.queues import JobQueues
from jobping.messages import decode
from scanner.config import parse_sources
from scanner.http import Fetcher, ValidatorStore
from scanner.outbox import Outbox
from scanner.scan import ScanSummary, run_scan
from scanner.sources import build_source
from scanner.store import DbValidatorStore


def jobs_of(count: int, *, title: str = "Engineer", start: int = 0) -> list[dict[str, Any]]:
    """`count` JobPing-format listings, `job-{start}` onwards."""
    return [
        {
            "external_id": f"job-{i}",
            "title": f"{title} {i}",
            "company": "Acme",
            "description": f"Python and Kubernetes, job {i}.",
        }
        for i in range(start, start + count)
    ]


class Scanner:
    """Runs scans of a fixed set of sources, as `python -m scanner` would."""

    def __init__(
        self,
        server: LocalServer,
        sqs: Any,
        queues: JobQueues,
        pool: ConnectionPool,
        fetcher: Fetcher,
    ) -> None:
        self.server, self.sqs, self.queues = server, sqs, queues
        self.pool, self.fetcher = pool, fetcher
        self.sources: list[dict[str, Any]] = []

    def board(self, name: str, jobs: list[dict[str, Any]], **headers: str) -> None:
        """Serve `jobs` as the JobPing-format board `jobping:{name}`."""
        self.route(name, Reply(body=json.dumps(jobs), headers=headers))

    def route(self, name: str, *replies: Reply, **settings: Any) -> None:
        """Answer the board `jobping:{name}` with `replies`; `settings` go in its source entry."""
        path = f"/{name}.json"
        self.server.route(path, *replies)
        self.sources = [s for s in self.sources if s["name"] != f"jobping:{name}"]
        self.sources.append(
            {"type": "jobping", "name": f"jobping:{name}", "url": self.server.url + path,
             **settings}
        )  # fmt: skip

    def scan(
        self, outbox: Outbox | None = None, store: ValidatorStore | None = None
    ) -> ScanSummary:
        """One scan of every source, then the outbox drain."""
        sources = [build_source(c) for c in parse_sources(self.sources)]
        return run_scan(
            sources,
            self.fetcher,
            self.pool,
            store or DbValidatorStore(self.pool),
            outbox or Outbox(self.sqs, self.queues.url),
        )

    def queued(self) -> list[str]:
        """Drain the job queue; the external ids of the messages on it."""
        ids = []
        while batch := self.sqs.receive_message(
            QueueUrl=self.queues.url, MaxNumberOfMessages=10
        ).get("Messages"):
            for message in batch:
                ids.append(decode(message["Body"]).data.external_id)
                self.sqs.delete_message(
                    QueueUrl=self.queues.url, ReceiptHandle=message["ReceiptHandle"]
                )
        return ids
