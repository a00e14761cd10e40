"""Hostile boards in a whole scan (real HTTP server, moto's SQS, embedded Postgres): each costs
at most itself, never another source, the scan or the outbox drain."""

from __future__ import annotations

import json
from typing import Any

import boto3
import psycopg
import pytest
from botocore.config import Config
from hostile import (
    gzip_bomb_reply,
    hijacking_listing,
    job_listing,
    listings_reply,
    nul_title_listing,
    out_of_range_date_listing,
    redirect_reply,
    trickle_reply,
)
from local_http import LocalServer, Reply
from psycopg_pool import ConnectionPool
from scanning import Scanner, jobs_of

from scanner.http import Validators
from scanner.model import NormalizedJob
from scanner.outbox import Outbox
from scanner.store import DbValidatorStore, store_listings
from tests.faultmatrix import FaultMatrix, FaultRow, listing_row


def _rows(db: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(db) as conn:
        return conn.execute(sql.encode(), params).fetchall()


def _served(source: str, listings: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The fault matrix's unit: each listing a board served, under the board's source name."""
    return [(source, str(listing["external_id"])) for listing in listings]


def _record_nothing_lost(matrix: FaultMatrix, row: FaultRow) -> None:
    """Record the scan's fault-matrix row: no served listing may be lost or queued twice."""
    matrix.record(row)
    assert (row.lost, row.duplicate_effects) == (0, 0), row


@pytest.mark.fault
def test_a_nul_byte_in_a_title_costs_nothing_and_the_outbox_is_drained(
    scanner: Scanner, db: str, fault_matrix: FaultMatrix
) -> None:
    acme, globex = [*jobs_of(3), nul_title_listing()], jobs_of(2, start=10)
    scanner.board("acme", acme)
    scanner.board("globex", globex)

    summary = scanner.scan()

    assert summary.failed_sources == []
    assert (summary.sources["jobping:acme"].new, summary.sources["jobping:globex"].new) == (4, 2)
    assert summary.enqueued == 6
    queued = scanner.queued()
    assert sorted(queued) == sorted(["job-0", "job-1", "job-2", "nul-title", "job-10", "job-11"])
    (row,) = _rows(db, "SELECT title, description FROM jobs WHERE external_id = 'nul-title'")
    assert row == ("Data Engineer", "Python  and SQL")
    served = _served("jobping:acme", acme) + _served("jobping:globex", globex)
    fault = "scanner: NUL byte in a listing's title"
    _record_nothing_lost(fault_matrix, listing_row(fault, db, served=served, queued=queued))


@pytest.mark.fault
def test_an_out_of_range_date_costs_only_that_field(
    scanner: Scanner, http_server: LocalServer, db: str, fault_matrix: FaultMatrix
) -> None:
    acme = [*jobs_of(2), out_of_range_date_listing()]
    scanner.board("acme", acme)
    greenhouse = json.dumps(
        {"jobs": [{"id": 7, "title": "SRE", "updated_at": "0001-01-01T00:00:00+14:00"},
                  {"id": 8, "title": "DBA", "updated_at": "2026-11-20T10:00:00-05:00"}]}
    )  # fmt: skip
    http_server.route("/v1/boards/initech/jobs", Reply(body=greenhouse))
    scanner.sources.append({"type": "greenhouse", "board": "initech", "base_url": http_server.url})

    summary = scanner.scan()

    assert summary.failed_sources == []
    assert summary.sources["jobping:acme"].new == 3
    assert summary.sources["greenhouse:initech"].new == 2
    dates = dict(_rows(db, "SELECT external_id, posted_at IS NULL FROM jobs"))
    assert (dates["year-zero"], dates["7"], dates["8"]) == (True, True, False)
    initech = [("greenhouse:initech", "7"), ("greenhouse:initech", "8")]
    served = _served("jobping:acme", acme) + initech
    fault = "scanner: year-zero dates (2 boards)"
    row = listing_row(fault, db, served=served, queued=scanner.queued())
    _record_nothing_lost(fault_matrix, row)


def test_a_listing_the_database_refuses_costs_only_that_listing(
    pool: ConnectionPool, db: str
) -> None:
    """A value the model let through and Postgres refuses (forced here: a NUL) is skipped."""
    jobs = [NormalizedJob(source="jobping:acme", external_id=f"j{i}", title="T", company="C")
            for i in range(3)]  # fmt: skip
    object.__setattr__(jobs[1], "title", "bad\x00title")  # past the constructor's cleaning

    with pool.connection() as conn:
        counts, refused = store_listings(conn, jobs)

    assert (counts.new, refused) == (2, 1)
    assert _rows(db, "SELECT external_id FROM jobs ORDER BY 1") == [("j0",), ("j2",)]


class _FailingValidatorStore(DbValidatorStore):
    """The database refuses to store one source's validators (after its jobs are committed)."""

    def __init__(self, pool: ConnectionPool, failing: str) -> None:
        super().__init__(pool)
        self._failing = failing

    def put(self, source: str, validators: Validators) -> None:
        if source == self._failing:
            raise psycopg.errors.AdminShutdown("terminating connection due to administrator")
        super().put(source, validators)


@pytest.mark.fault
def test_a_source_failing_in_the_database_never_stops_the_others_or_the_drain(
    scanner: Scanner, pool: ConnectionPool, db: str, fault_matrix: FaultMatrix
) -> None:
    acme, globex = jobs_of(2), jobs_of(2, start=10)
    scanner.board("acme", acme, ETag='"a1"')
    scanner.board("globex", globex, ETag='"g1"')

    summary = scanner.scan(store=_FailingValidatorStore(pool, "jobping:acme"))

    assert summary.failed_sources == ["jobping:acme"]
    assert summary.sources["jobping:acme"].error == (
        "AdminShutdown: terminating connection due to administrator"
    )
    assert summary.sources["jobping:globex"].new == 2
    assert summary.enqueued == 4  # acme's committed jobs are sent too
    queued = scanner.queued()
    assert sorted(queued) == ["job-0", "job-1", "job-10", "job-11"]
    served = _served("jobping:acme", acme) + _served("jobping:globex", globex)
    fault = "scanner: source failing in the database after its jobs were stored"
    _record_nothing_lost(fault_matrix, listing_row(fault, db, served=served, queued=queued))


def test_a_failing_drain_is_reported_in_the_summary_not_raised(scanner: Scanner, db: str) -> None:
    scanner.board("acme", jobs_of(2))
    dead = boto3.client(
        "sqs", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1),
    )  # fmt: skip

    summary = scanner.scan(Outbox(dead, scanner.queues.url))

    assert summary.sources["jobping:acme"].new == 2
    assert summary.drain_error is not None
    assert summary.drain_error.startswith("EndpointConnectionError")
    assert _rows(db, "SELECT count(*) FROM jobs WHERE enqueued_at IS NULL") == [(2,)]


@pytest.mark.fault
def test_a_gzip_bomb_fails_its_source_and_the_others_are_scanned(
    scanner: Scanner, db: str, fault_matrix: FaultMatrix
) -> None:
    scanner.route("bomb", gzip_bomb_reply())
    scanner.board("acme", jobs_of(3))

    summary = scanner.scan()

    assert summary.failed_sources == ["jobping:bomb"]
    assert "larger than 8388608 bytes once decoded" in (summary.sources["jobping:bomb"].error or "")
    assert (summary.sources["jobping:acme"].new, summary.enqueued) == (3, 3)
    # The bomb serves no listing: its body counts as one item, refused if its source failed.
    served = [("jobping:bomb", "(its body)"), *_served("jobping:acme", jobs_of(3))]
    refused = {"gzip bomb, over 8 MiB decoded": int(summary.sources["jobping:bomb"].failed)}
    fault = "scanner: gzip bomb (256 MiB decoded) beside a good board"
    row = listing_row(fault, db, served=served, queued=scanner.queued(), skipped=refused)
    _record_nothing_lost(fault_matrix, row)


@pytest.mark.fault
def test_a_trickling_board_fails_at_its_deadline_and_the_others_are_scanned(
    scanner: Scanner, http_server: LocalServer, db: str, fault_matrix: FaultMatrix
) -> None:
    slow, acme = jobs_of(2), jobs_of(3, start=5)
    body = json.dumps(slow).encode()
    scanner.route("slow", trickle_reply(body, seconds_per_byte=0.05), deadline_seconds=0.5)
    scanner.board("acme", acme)

    summary = scanner.scan()

    assert summary.failed_sources == ["jobping:slow"]
    assert "source deadline of 0.5 s exceeded" in (summary.sources["jobping:slow"].error or "")
    assert http_server.bytes_sent["/slow.json"] < len(body)
    assert summary.sources["jobping:acme"].new == 3
    served = _served("jobping:slow", slow) + _served("jobping:acme", acme)
    refused = {"board past its deadline": len(slow) * summary.sources["jobping:slow"].failed}
    fault = "scanner: board trickling 1 byte per 50 ms (deadline 0.5 s)"
    row = listing_row(fault, db, served=served, queued=scanner.queued(), skipped=refused)
    _record_nothing_lost(fault_matrix, row)


@pytest.mark.fault
def test_a_redirect_to_another_origin_stores_nothing_from_it(
    scanner: Scanner, other_server: LocalServer, db: str, fault_matrix: FaultMatrix
) -> None:
    target = other_server.route("/jobs.json", listings_reply(jobs_of(3)))
    scanner.route("moved", redirect_reply(target))
    summary = scanner.scan()

    assert summary.failed_sources == ["jobping:moved"]
    assert "refused" in (summary.sources["jobping:moved"].error or "")
    assert other_server.requests == []
    assert _rows(db, "SELECT count(*) FROM jobs") == [(0,)]
    # The listings behind the redirect count as served, refused if the source failed.
    refused = {"redirect to another origin": 3 * summary.sources["jobping:moved"].failed}
    fault = "scanner: 302 to another origin"
    served = _served("jobping:moved", jobs_of(3))
    row = listing_row(fault, db, served=served, queued=scanner.queued(), skipped=refused)
    _record_nothing_lost(fault_matrix, row)


@pytest.mark.fault
def test_a_listing_cannot_write_under_another_sources_name(
    scanner: Scanner, db: str, fault_matrix: FaultMatrix
) -> None:
    scanner.board("acme", [job_listing("4012345", url="https://acme.example/jobs/4012345")])
    scanner.scan()
    partner = [
        hijacking_listing("jobping:acme", "4012345", url="https://evil.example/phish"),
        job_listing("p-1", source="jobping:partner"),  # its own name: fine
        job_listing("p-2"),
    ]
    scanner.board("partner", partner)

    summary = scanner.scan()

    assert summary.sources["jobping:partner"].skipped == 1
    assert summary.sources["jobping:partner"].new == 2
    assert _rows(db, "SELECT source, url FROM jobs WHERE external_id = '4012345'") == [
        ("jobping:acme", "https://acme.example/jobs/4012345")
    ]
    assert sorted(_rows(db, "SELECT external_id FROM jobs WHERE source = 'jobping:partner'")) == [
        ("p-1",),
        ("p-2",),
    ]
    # The second scan's row; the queue also holds acme's job from the first scan, once.
    refused = {"names another source": summary.sources["jobping:partner"].skipped}
    fault = "scanner: listing naming another source"
    served = _served("jobping:partner", partner)
    row = listing_row(fault, db, served=served, queued=scanner.queued(), skipped=refused)
    _record_nothing_lost(fault_matrix, row)
