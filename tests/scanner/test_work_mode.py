"""Work mode from board to analysis: the board's structured value is stored as it was given
(remote / hybrid / onsite), the worker decides from it first, and both programs read text with
the one vocabulary in `jobping.workmode`."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest
from local_http import LocalServer, Reply, fetch
from scanning import Scanner

from jobping import workmode
from scanner.http import Fetcher
from scanner.normalize import remote_from_text
from worker.analyze import RuleAnalyzer, detect_work_mode
from worker.model import JobPosting
from worker.store import load_job


def _lever_posting(posting_id: str, workplace: str, location: str) -> dict[str, Any]:
    return {
        "id": posting_id, "text": "Backend Engineer", "workplaceType": workplace,
        "categories": {"location": location}, "hostedUrl": f"https://jobs.example/{posting_id}",
        "descriptionPlain": "You will work remotely with a distributed team.",
    }  # fmt: skip


def test_a_hybrid_posting_is_stored_and_analysed_as_hybrid(
    scanner: Scanner, http_server: LocalServer, db: str
) -> None:
    postings = [
        _lever_posting("h1", "hybrid", "Remote - Berlin"),  # the location text says remote
        _lever_posting("o1", "on-site", "Lisbon"),
        _lever_posting("r1", "remote", "Europe"),
        _lever_posting("u1", "unspecified", "Remote - US"),
    ]
    http_server.route("/v0/postings/globex", Reply(body=json.dumps(postings)))
    scanner.sources.append({"type": "lever", "board": "globex", "base_url": http_server.url})

    assert scanner.scan().sources["lever:globex"].new == 4

    with psycopg.connect(db) as conn:
        rows = conn.execute("SELECT external_id, id, work_mode, remote FROM jobs").fetchall()
        stored = {external_id: (mode, remote) for external_id, _, mode, remote in rows}
        analysed = {
            external_id: RuleAnalyzer().analyze(load_job(conn, job_id)).work_mode  # type: ignore[arg-type]
            for external_id, job_id, _, _ in rows
        }
    assert stored == {
        "h1": ("hybrid", False), "o1": ("onsite", False), "r1": ("remote", True),
        "u1": ("unknown", True),  # the board said nothing: the location text decides the flag
    }  # fmt: skip
    assert analysed == {"h1": "hybrid", "o1": "onsite", "r1": "remote", "u1": "remote"}


@pytest.mark.parametrize(
    ("sample", "board", "external_id", "mode"),
    [
        ("lever_globex.json", {"type": "lever", "board": "globex"},
         "e2e447c3-e737-9da1-9f7f-a4d1cb735c86", "hybrid"),
        ("lever_globex.json", {"type": "lever", "board": "globex"},
         "2a3c422c-7c74-b8f1-ffd9-dfd94ef8e47f", "unknown"),
        ("ashby_initech.json", {"type": "ashby", "board": "initech"},
         "9e29fa76-9140-3f82-d789-69053687343a", "hybrid"),
        ("ashby_initech.json", {"type": "ashby", "board": "initech"},
         "56f24b54-94c0-6580-2eb1-8d28e14f0530", "remote"),
        ("greenhouse_acme.json", {"type": "greenhouse", "board": "acme"}, "4012345", "hybrid"),
        ("greenhouse_acme.json", {"type": "greenhouse", "board": "acme"}, "4020117", "unknown"),
    ],
)  # fmt: skip
def test_each_board_keeps_its_structured_work_mode(
    http_server: LocalServer,
    fetcher: Fetcher,
    sample: str,
    board: dict[str, str],
    external_id: str,
    mode: str,
) -> None:
    http_server.serve_sample(sample)
    jobs = {
        job.external_id: job for job in fetch({**board, "base_url": http_server.url}, fetcher).jobs
    }
    assert jobs[external_id].work_mode == mode


@pytest.mark.parametrize(
    "headline",
    [
        "Distributed Systems Engineer",  # the scanner's old list said remote, the worker's not
        "On-site or Remote, Berlin",  # the scanner's old order said on-site, the worker's remote
        "Hybrid (remote 2 days)",
        "Office-based, Munich",
        "Remote - US",
        "Berlin, Germany",
    ],
)
def test_scanner_and_worker_read_a_headline_alike(headline: str) -> None:
    """The scanner's remote flag and the worker's work mode come from one vocabulary."""
    posting = JobPosting(
        job_id=uuid.UUID(int=1), source="s", title="Engineer", company="c", location=headline,
        remote=None, url="", description="", salary_min=None, salary_max=None,
        salary_currency=None, content_hash="h",
    )  # fmt: skip
    assert remote_from_text(headline) == workmode.remote_flag(detect_work_mode(posting))
