"""The scan loop end to end: real HTTP server, moto's SQS, embedded Postgres.

Dedup, the outbox (crash safety, partial SQS failures, two scanners), failing sources, and the
SQS request budget.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import psycopg
import pytest
from local_http import LocalServer, Reply
from psycopg_pool import ConnectionPool
from scanning import Scanner, jobs_of

from devtools.local.moto import MotoServer
from devtools.local.queues import JobQueues
from jobping.aws import count_requests
from jobping.messages import decode
from scanner.outbox import Outbox


def _outbox_size(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM jobs WHERE enqueued_at IS NULL").fetchone()
    return int(row[0]) if row else -1


def test_second_run_enqueues_nothing_and_a_change_is_enqueued_again(
    scanner: Scanner, db: str
) -> None:
    scanner.board("acme", jobs_of(5))
    first = scanner.scan()
    assert (first.sources["jobping:acme"].new, first.enqueued) == (5, 5)
    assert sorted(scanner.queued()) == [f"job-{i}" for i in range(5)]

    second = scanner.scan()
    assert (second.sources["jobping:acme"].unchanged, second.enqueued) == (5, 0)
    assert scanner.queued() == []

    changed = jobs_of(5)
    changed[2]["title"] = "Staff Engineer 2"
    scanner.board("acme", changed)
    third = scanner.scan()
    assert (third.sources["jobping:acme"].changed, third.enqueued) == (1, 1)
    assert scanner.queued() == ["job-2"]
    assert _outbox_size(db) == 0


def test_not_modified_board_costs_one_request_and_no_work(
    scanner: Scanner, http_server: LocalServer
) -> None:
    scanner.board("acme", jobs_of(3), ETag='"v1"')
    scanner.scan()
    scanner.queued()
    http_server.route("/acme.json", Reply(status=304, headers={"ETag": '"v1"'}))
    summary = scanner.scan()
    assert summary.sources["jobping:acme"].not_modified is True
    assert summary.enqueued == 0
    requests = http_server.requests_to("/acme.json")
    assert requests[-1].headers.get("if-none-match") == '"v1"'


@pytest.mark.parametrize("failure", ["500", "timeout", "malformed"])
def test_failing_source_is_skipped_and_the_others_scanned(
    scanner: Scanner, http_server: LocalServer, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    scanner.board("good", jobs_of(3))
    scanner.board("bad", [])
    reply = {
        "500": Reply(status=500, body="oops"),
        "timeout": Reply(delay=2.5, body="[]"),
        "malformed": Reply(body="{not json"),
    }[failure]
    http_server.route("/bad.json", reply)
    summary = scanner.scan()
    assert summary.failed_sources == ["jobping:bad"]
    assert summary.sources["jobping:good"].new == 3
    assert summary.enqueued == 3
    assert summary.sources["jobping:bad"].error
    assert any(getattr(r, "source", None) == "jobping:bad" for r in caplog.records)


def test_crash_between_upsert_and_enqueue_loses_nothing(
    scanner: Scanner, sqs: Any, db: str
) -> None:
    class CrashingOutbox(Outbox):
        def drain(self, pool: ConnectionPool, *, limit: int | None = None) -> Any:
            raise SystemExit("killed after the upsert")

    scanner.board("acme", jobs_of(4))
    with pytest.raises(SystemExit):
        scanner.scan(CrashingOutbox(sqs, scanner.queues.url))
    assert _outbox_size(db) == 4
    summary = scanner.scan()
    assert summary.sources["jobping:acme"].unchanged == 4  # nothing new fetched...
    assert summary.enqueued == 4  # ...but the outbox is sent
    assert sorted(scanner.queued()) == [f"job-{i}" for i in range(4)]


class FlakySqs:
    """Wraps the moto client; rejects chosen entries of SendMessageBatch a number of times."""

    def __init__(self, sqs: Any, reject_ids: set[str], times: int) -> None:
        self._sqs, self._reject, self._times = sqs, reject_ids, times
        self.calls = 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        self.calls += 1
        rejected = [
            e
            for e in Entries
            if self._times > 0 and decode(e["MessageBody"]).data.external_id in self._reject
        ]
        keep = [e for e in Entries if e not in rejected]
        result = self._sqs.send_message_batch(QueueUrl=QueueUrl, Entries=keep) if keep else {}
        if rejected:
            self._times -= 1
        return {
            "Successful": result.get("Successful", []),
            "Failed": [
                {"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in rejected
            ],
        }


def test_rejected_entries_are_retried_and_never_marked_wrongly(
    scanner: Scanner, sqs: Any, db: str
) -> None:
    scanner.board("acme", jobs_of(12))
    flaky = FlakySqs(sqs, {"job-3", "job-11"}, times=1)
    summary = scanner.scan(Outbox(flaky, scanner.queues.url))  # type: ignore[arg-type]
    assert (summary.enqueued, summary.enqueue_failed) == (12, 0)
    assert sorted(scanner.queued()) == sorted(f"job-{i}" for i in range(12))

    scanner.board("acme", [*jobs_of(12), *jobs_of(2, start=12)])
    stubborn = FlakySqs(sqs, {"job-13"}, times=99)
    summary = scanner.scan(Outbox(stubborn, scanner.queues.url, attempts=3))  # type: ignore[arg-type]
    assert (summary.enqueued, summary.enqueue_failed) == (1, 1)
    with psycopg.connect(db) as conn:
        unsent = conn.execute("SELECT external_id FROM jobs WHERE enqueued_at IS NULL").fetchall()
    assert unsent == [("job-13",)]  # left in the outbox for the next run
    assert scanner.queued() == ["job-12"]


def test_two_scanners_at_once_enqueue_each_job_once(
    scanner: Scanner, sqs: Any, pool: ConnectionPool, db: str
) -> None:
    scanner.board("acme", jobs_of(120))
    scanner.scan(Outbox(FlakySqs(sqs, set(), 0), scanner.queues.url))  # type: ignore[arg-type]
    scanner.queued()
    with psycopg.connect(db) as conn:  # put everything back in the outbox
        conn.execute("UPDATE jobs SET enqueued_at = NULL")
    results = []
    barrier = threading.Barrier(2)

    def drain() -> None:
        barrier.wait()
        results.append(Outbox(sqs, scanner.queues.url, chunk=20).drain(pool))

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r.enqueued for r in results) == 120
    queued = scanner.queued()
    assert sorted(queued) == sorted(f"job-{i}" for i in range(120))  # no duplicates


def test_sqs_requests_per_job_at_most_0_11_for_500_new_jobs(scanner: Scanner, sqs: Any) -> None:
    counter = count_requests(sqs)
    try:
        scanner.board("big", jobs_of(500))
        summary = scanner.scan()
    finally:
        sqs.meta.events.unregister("before-send.sqs", counter)
    assert summary.enqueued == 500
    assert counter.count / summary.enqueued <= 0.11
    assert counter.count == 50  # 500 jobs, 10 per SendMessageBatch


def test_scanner_process_exit_codes_and_summary(
    http_server: LocalServer, moto_server: MotoServer, queues: JobQueues, db: str, tmp_path: Path
) -> None:
    http_server.route("/ok.json", Reply(body=json.dumps(jobs_of(2))))
    http_server.route("/broken.json", Reply(status=503))
    sources = [{"type": "jobping", "name": "jobping:ok", "url": http_server.url + "/ok.json"}]
    env = {
        **os.environ,
        "JOB_QUEUE_URL": queues.url,
        "DATABASE_URL": db,
        "AWS_ENDPOINT_URL": moto_server.url,
        "LOG_FORMAT": "json",
    }

    def run(source_list: list[dict[str, Any]] | str) -> subprocess.CompletedProcess[str]:
        value = source_list if isinstance(source_list, str) else json.dumps(source_list)
        return _run_scanner({**env, "SCANNER_SOURCES": value})

    ok = run(sources)
    assert ok.returncode == 0, ok.stderr
    summary = json.loads(ok.stdout.strip().splitlines()[-1])
    assert summary["event"] == "scan_summary"
    assert (summary["enqueued"], summary["sqs_requests"]) == (2, 1)

    failing = run(
        [
            *sources,
            {"type": "jobping", "name": "jobping:broken", "url": http_server.url + "/broken.json"},
        ]
    )
    assert failing.returncode == 1
    assert json.loads(failing.stdout.strip().splitlines()[-1])["failed_sources"] == [
        "jobping:broken"
    ]

    bad = run('[{"type": "nope"}]')
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
    assert bad.stderr.startswith("scanner: invalid setting SCANNER_SOURCES:")


def _scanner_env(
    moto_server: MotoServer, queues: JobQueues, db: str, sources: Any
) -> dict[str, str]:
    return {
        **os.environ,
        "JOB_QUEUE_URL": queues.url,
        "DATABASE_URL": db,
        "AWS_ENDPOINT_URL": moto_server.url,
        "LOG_FORMAT": "json",
        "SCANNER_SOURCES": json.dumps(sources),
    }


def _run_scanner(env: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    """`python -m scanner` with `options`, to its end."""
    args = [sys.executable, "-m", "scanner", *options]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)


def _start_scanner(
    env: dict[str, str], *options: str, stderr: IO[str] | int = subprocess.DEVNULL
) -> subprocess.Popen[str]:
    """`python -m scanner` with `options`, started; its stdout is a pipe."""
    args = [sys.executable, "-m", "scanner", *options]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)


def _dry_run(env: dict[str, str]) -> list[dict[str, str]]:
    """The lines `python -m scanner --dry-run` prints; it must exit 0."""
    result = _run_scanner(env, "--dry-run")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def _reasons(lines: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(line["external_id"], line["reason"]) for line in lines]


def test_dry_run_prints_what_would_be_enqueued_and_writes_nothing(
    http_server: LocalServer, moto_server: MotoServer, queues: JobQueues, db: str, sqs: Any
) -> None:
    http_server.route("/acme.json", Reply(body=json.dumps(jobs_of(3))))
    sources = [{"type": "jobping", "name": "jobping:acme", "url": http_server.url + "/acme.json"}]
    lines = _dry_run(_scanner_env(moto_server, queues, db, sources))
    assert _reasons(lines) == [("job-0", "new"), ("job-1", "new"), ("job-2", "new")]
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM source_state").fetchone() == (0,)
    assert (
        sqs.get_queue_attributes(
            QueueUrl=queues.url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )


def test_loop_scans_repeatedly_until_sigterm(
    http_server: LocalServer, moto_server: MotoServer, queues: JobQueues, db: str
) -> None:
    http_server.route("/acme.json", Reply(body=json.dumps(jobs_of(2))))
    sources = [{"type": "jobping", "name": "jobping:acme", "url": http_server.url + "/acme.json"}]
    env = _scanner_env(moto_server, queues, db, sources)
    proc = _start_scanner(env, "--loop", "--interval", "0.3")
    assert proc.stdout is not None
    summaries = [json.loads(proc.stdout.readline()) for _ in range(3)]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert [s["enqueued"] for s in summaries] == [2, 0, 0]


def test_dry_run_names_new_and_changed_jobs_and_the_waiting_outbox_and_writes_nothing(
    scanner: Scanner, moto_server: MotoServer, queues: JobQueues, db: str
) -> None:
    scanner.board("acme", jobs_of(3))
    scanner.scan()
    assert sorted(scanner.queued()) == ["job-0", "job-1", "job-2"]
    with psycopg.connect(db) as conn:  # job-0's message is not sent yet
        conn.execute("UPDATE jobs SET enqueued_at = NULL WHERE external_id = 'job-0'")
    board = jobs_of(4)
    board[1]["title"] = "Staff Engineer 1"
    scanner.board("acme", board)
    lines = _dry_run(_scanner_env(moto_server, queues, db, scanner.sources))
    assert _reasons(lines) == [("job-1", "changed"), ("job-3", "new"), ("job-0", "outbox")]
    assert lines[0]["title"] == "Staff Engineer 1"
    with psycopg.connect(db) as conn:
        stored = conn.execute("SELECT external_id, title FROM jobs ORDER BY external_id")
        assert stored.fetchall() == [(f"job-{i}", f"Engineer {i}") for i in range(3)]
    assert _outbox_size(db) == 1
    assert scanner.queued() == []


def test_a_second_sigterm_stops_a_scan_at_once(
    http_server: LocalServer, moto_server: MotoServer, queues: JobQueues, db: str, tmp_path: Path
) -> None:
    http_server.route("/slow.json", Reply(body=json.dumps(jobs_of(1)), delay=60))
    sources = [{"type": "jobping", "name": "jobping:slow", "url": http_server.url + "/slow.json"}]
    with (tmp_path / "stderr").open("w") as stderr:  # a file: a pipe nobody reads could fill
        proc = _start_scanner(_scanner_env(moto_server, queues, db, sources), stderr=stderr)
    try:
        deadline = time.monotonic() + 60
        while not http_server.requests_to("/slow.json") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert http_server.requests_to("/slow.json"), "the scan never reached the board"
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert proc.poll() is None  # the first signal lets the scan finish
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 128 + signal.SIGTERM  # not after the board's 60 s
        stdout, _ = proc.communicate()
    finally:
        proc.kill()
    assert stdout == ""  # no summary: the scan never finished
    lines = (tmp_path / "stderr").read_text().splitlines()
    assert f"scanner: second signal {signal.SIGTERM.value}, exiting now" in lines
    assert _outbox_size(db) == 0
