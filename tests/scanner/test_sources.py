"""Each source adapter against its bundled sample, served by a real local HTTP server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from local_http import LocalServer, Reply, config, fetch

from devtools.samples import demo_sources, read_sample, sample_path
from scanner.config import parse_sources
from scanner.http import Fetcher, InMemoryValidatorStore
from scanner.model import NormalizedJob
from scanner.sources import (
    AshbyBoard,
    Feed,
    FetchOutcome,
    GreenhouseBoard,
    JobPingFile,
    LeverSite,
    MalformedBody,
    build_source,
)


def by_id(outcome: FetchOutcome) -> dict[str, NormalizedJob]:
    return {job.external_id: job for job in outcome.jobs}


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- Greenhouse -----------------------------------------------------------------------------


def test_greenhouse_board_is_fetched_with_content(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    http_server.serve_sample("greenhouse_acme.json")

    outcome = fetch({"type": "greenhouse", "board": "acme", "base_url": http_server.url}, fetcher)

    assert outcome.source == "greenhouse:acme"
    assert not outcome.not_modified
    assert len(outcome.jobs) == 8
    assert outcome.skipped == 0
    (seen,) = http_server.requests_to("/v1/boards/acme/jobs")
    assert seen.query == "content=true"
    assert seen.headers["accept"] == "application/json"


def test_greenhouse_jobs_are_normalized_field_by_field(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    http_server.serve_sample("greenhouse_acme.json")
    jobs = by_id(
        fetch({"type": "greenhouse", "board": "acme", "base_url": http_server.url}, fetcher)
    )

    backend = jobs["4012345"]
    assert backend.source == "greenhouse:acme"
    assert backend.title == "Senior Backend Engineer, Fleet Platform"
    assert backend.company == "Acme Robotics"  # the board's company_name
    assert backend.location == "Boston, MA"
    assert backend.remote is False  # "Workplace Type: Hybrid" custom field
    assert backend.url == "https://boards.greenhouse.io/acme/jobs/4012345"
    assert backend.posted_at == utc(2026, 10, 20, 13, 0)  # first_published, -04:00
    assert backend.salary_min is None  # Greenhouse has no structured salary
    assert backend.description.startswith("About Acme Robotics\n\nAcme Robotics builds")
    assert "- Own the event pipeline (Kafka → Postgres → ClickHouse)" in backend.description
    assert "$165,000 – $205,000" in backend.description
    assert "medical, dental & vision" in backend.description
    assert "trackApply" not in backend.description
    assert "<" not in backend.description

    designer = jobs["4033650"]
    assert designer.company == "acme"  # no company_name, none configured: the board token
    assert designer.location == "Montréal, QC, Canada"
    assert designer.remote is False
    assert "CA$95,000 – CA$115,000" in designer.description

    assert jobs["4012398"].remote is True  # "Remote - US"
    assert jobs["4020117"].remote is None  # no custom field, "London, United Kingdom"
    assert jobs["4050010"].posted_at == utc(2026, 11, 12, 19, 0)  # no first_published
    assert jobs["4052233"].title == "Technical Support Engineer (日本語)"
    assert jobs["4052233"].location == "東京, 日本 (Tokyo, Japan)"


def test_configured_company_wins_over_the_board(http_server: LocalServer, fetcher: Fetcher) -> None:
    http_server.serve_sample("greenhouse_acme.json")
    entry = {"type": "greenhouse", "board": "acme", "company": "ACME", "base_url": http_server.url}

    assert {job.company for job in fetch(entry, fetcher).jobs} == {"ACME"}


# --- Lever ----------------------------------------------------------------------------------


def test_lever_postings_are_normalized_field_by_field(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    http_server.serve_sample("lever_globex.json")

    outcome = fetch(
        {"type": "lever", "board": "globex", "company": "Globex", "base_url": http_server.url},
        fetcher,
    )

    assert len(outcome.jobs) == 7
    (seen,) = http_server.requests_to("/v0/postings/globex")
    assert seen.query == "mode=json"
    jobs = by_id(outcome)
    ledger = jobs["e2e447c3-e737-9da1-9f7f-a4d1cb735c86"]
    assert ledger.source == "lever:globex"
    assert ledger.title == "Backend Engineer, Ledger"
    assert ledger.company == "Globex"
    assert ledger.location == "Berlin; Lisbon"
    assert ledger.remote is False  # workplaceType hybrid
    assert ledger.url == "https://jobs.lever.co/globex/e2e447c3-e737-9da1-9f7f-a4d1cb735c86"
    assert ledger.posted_at == utc(2026, 10, 12, 8, 30)  # createdAt in epoch ms
    assert (ledger.salary_min, ledger.salary_max) == (Decimal("75000"), Decimal("95000"))
    assert (ledger.salary_currency, ledger.salary_period) == ("EUR", "year")
    assert "What you'll do\n\n- Build and operate the ledger services" in ledger.description
    assert "30 Urlaubstage" in ledger.description  # `additional`
    assert "final offers depend on experience" in ledger.description  # salaryDescription
    assert "trackApply" not in ledger.description

    ops = jobs["2a3c422c-7c74-b8f1-ffd9-dfd94ef8e47f"]
    assert ops.title == "Customer Operations Lead (Português)"
    assert ops.location == "Lisbon"
    assert ops.remote is None  # no workplaceType
    assert ops.salary_min is None
    assert "€38,000 – €46,000" in ops.description  # descriptionPlain only


def test_lever_salary_ranges_keep_their_period(http_server: LocalServer, fetcher: Fetcher) -> None:
    http_server.serve_sample("lever_globex.json")
    jobs = by_id(fetch({"type": "lever", "board": "globex", "base_url": http_server.url}, fetcher))

    contract = jobs["b4ce55a8-1693-1548-0458-1b627af756de"]
    assert (contract.salary_min, contract.salary_max, contract.salary_period) == (
        Decimal("65"), Decimal("80"), "hour"
    )  # fmt: skip
    monthly = jobs["0dcc0074-d3f7-855e-b206-6eb7e5385c80"]
    assert (monthly.salary_period, monthly.remote) == ("month", True)
    assert jobs["68b9cafb-b4fa-4ad2-e556-e38e56587489"].remote is None  # "unspecified"


def test_lever_salary_with_an_unknown_interval_is_left_to_the_text(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    posting = json.loads(read_sample("lever_globex.json"))[0]
    posting["salaryRange"] = {"currency": "EUR", "interval": "per-week-salary", "min": 1, "max": 2}
    http_server.route("/v0/postings/globex", Reply(body=json.dumps([posting])))

    (job,) = fetch({"type": "lever", "board": "globex", "base_url": http_server.url}, fetcher).jobs

    assert (job.salary_min, job.salary_max, job.salary_currency, job.salary_period) == (
        None, None, None, None
    )  # fmt: skip


# --- Ashby ----------------------------------------------------------------------------------


def test_ashby_jobs_are_normalized_field_by_field(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    http_server.serve_sample("ashby_initech.json")

    outcome = fetch({"type": "ashby", "board": "initech", "base_url": http_server.url}, fetcher)

    assert len(outcome.jobs) == 7  # the eighth is unlisted
    assert all("confidential" not in job.title for job in outcome.jobs)
    (seen,) = http_server.requests_to("/posting-api/job-board/initech")
    assert seen.query == "includeCompensation=true"
    jobs = by_id(outcome)
    full_stack = jobs["9e29fa76-9140-3f82-d789-69053687343a"]
    assert full_stack.source == "ashby:initech"
    assert full_stack.title == "Full-Stack Engineer (TypeScript)"
    assert full_stack.company == "initech"
    assert full_stack.location == "Berlin; München"
    assert full_stack.remote is False  # Hybrid
    assert full_stack.url.endswith("/initech/9e29fa76-9140-3f82-d789-69053687343a")
    assert full_stack.posted_at == datetime(2026, 10, 27, 7, 15, 12, 482000, tzinfo=UTC)
    assert (full_stack.salary_min, full_stack.salary_max) == (Decimal(65000), Decimal(85000))
    assert (full_stack.salary_currency, full_stack.salary_period) == ("EUR", "year")
    assert "Wir bieten: 30 Urlaubstage" in full_stack.description
    assert "Friedrichstraße 68" in full_stack.description
    assert "trackApply" not in full_stack.description

    devops = jobs["56f24b54-94c0-6580-2eb1-8d28e14f0530"]
    assert (devops.location, devops.remote) == ("Remote (Germany)", True)
    designer = jobs["74b23c6a-6179-8341-f578-e867b07c756c"]
    assert (designer.salary_currency, designer.salary_max) == ("CHF", Decimal(130000))
    writer = jobs["c8c68220-2584-f838-7cf5-8a831891ac63"]
    assert writer.salary_min is None  # equity only, no "Salary" component
    assert writer.location == "Berlin; Hamburg; Wien"
    no_show = jobs["1e50bae5-c2b0-4f7c-c6e8-d2a8bbefb6c1"]
    assert (no_show.remote, no_show.salary_min) == (False, None)  # isRemote, no compensation
    # an answer without `id`: the posting id comes from jobUrl
    assert jobs["f134b23f-4b32-d8bc-635c-e23993e9b65b"].title == "Product Manager, Patient Booking"


# --- RSS and Atom ---------------------------------------------------------------------------


def test_rss_feed_items_are_normalized(http_server: LocalServer, fetcher: Fetcher) -> None:
    url = http_server.serve_sample("rss_remote.xml")

    outcome = fetch({"type": "rss", "url": url}, fetcher)

    assert outcome.source == "rss:127.0.0.1"
    assert len(outcome.jobs) == 7
    jobs = by_id(outcome)
    ios = jobs["rjw-2601"]
    assert ios.title == "Stark Logistics: iOS Engineer"
    assert ios.company == "Stark Logistics"  # dc:creator
    assert ios.location == "Remote – USA only"  # <region>
    assert ios.remote is True
    assert ios.url == "https://remotejobs.example.org/jobs/2601-stark-logistics-mobile"
    assert ios.posted_at == utc(2026, 11, 24, 19, 5)  # -05:00 in pubDate
    assert "- Build features in Swift and SwiftUI, offline-first" in ios.description
    assert "$135,000 – $160,000 a year" in ios.description
    assert "trackApply" not in ios.description

    no_guid = jobs["https://remotejobs.example.org/jobs/2604-wayne-freight-devrel"]
    assert no_guid.title == "Wayne Freight: Developer Advocate"
    assert jobs["rjw-2605"].remote is False  # "Hybrid – London, UK"
    assert jobs["rjw-2606"].posted_at is None  # no pubDate
    assert "£45,000 per annum" in jobs["rjw-2607"].description  # plain-text description


def test_atom_feed_entries_are_normalized(http_server: LocalServer, fetcher: Fetcher) -> None:
    url = http_server.serve_sample("atom_board.xml")

    outcome = fetch({"type": "rss", "name": "rss:umbrella", "url": url}, fetcher)

    assert len(outcome.jobs) == 6
    jobs = by_id(outcome)
    first = jobs["tag:umbrella-health.example,2026:job/7100"]
    assert first.source == "rss:umbrella"
    assert first.title == "Clinical Data Engineer (Hybrid)"
    assert first.company == "Umbrella Health"  # the feed's author
    assert first.location == "Basel, Switzerland"  # <job:location>
    assert first.remote is False
    assert first.url == "https://careers.umbrella-health.example/jobs/clin-data"
    assert first.posted_at == utc(2026, 11, 2, 10, 0)
    assert "CHF 115'000 – 135'000 per year" in first.description
    assert "trackApply" not in first.description
    unpublished = jobs["tag:umbrella-health.example,2026:job/7102"]
    assert unpublished.posted_at == utc(2026, 11, 12, 13, 30)  # <updated> instead
    tokyo = jobs["tag:umbrella-health.example,2026:job/7104"]
    assert tokyo.location == "東京 (Tokyo), Japan"
    assert "¥12,000,000 – ¥15,000,000" in tokyo.description  # from <summary type="html">
    assert jobs["tag:umbrella-health.example,2026:job/7105"].remote is True


def test_a_body_that_is_no_feed_is_malformed(http_server: LocalServer, fetcher: Fetcher) -> None:
    url = http_server.route("/feed", Reply(body=b"<html><body>Login</body>"))

    with pytest.raises(MalformedBody, match=r"rss:127\.0\.0\.1: not a feed"):
        fetch({"type": "rss", "url": url}, fetcher)


# --- JobPing's own format -------------------------------------------------------------------


def test_jobping_file_is_read_and_validated(fetcher: Fetcher) -> None:
    outcome = fetch({"type": "jobping", "path": str(sample_path("jobping_jobs.json"))}, fetcher)

    assert outcome.source == "jobping:jobping_jobs"
    assert len(outcome.jobs) == 6
    jobs = by_id(outcome)
    manager = jobs["jp-1001"]
    assert manager.title == "Engineering Manager, Payments"
    assert manager.company == "Northwind Payments"
    assert (manager.location, manager.remote) == ("Amsterdam, Netherlands", False)
    assert manager.url == "https://jobs.example.com/northwind/1001"
    assert manager.posted_at == utc(2026, 11, 3, 8, 0)
    assert (manager.salary_min, manager.salary_max) == (Decimal("95000"), Decimal("120000"))
    assert (manager.salary_currency, manager.salary_period) == ("EUR", "year")
    assert manager.description.startswith("About Northwind Payments")
    rust = jobs["jp-1005"]  # optional fields missing
    assert rust.title == "Platform Engineer (Rust) 🦀"
    assert (rust.remote, rust.url, rust.posted_at, rust.salary_min) == (None, "", None, None)
    assert jobs["jp-1006"].location == ""
    assert jobs["jp-1003"].company == "Müller & Söhne Logistik"
    assert fetcher.requests_made == 0


def test_an_unchanged_jobping_file_is_not_modified(fetcher: Fetcher) -> None:
    source = build_source(
        config({"type": "jobping", "path": str(sample_path("jobping_jobs.json"))})
    )
    store = InMemoryValidatorStore()

    source.fetch(fetcher, store).remember(store)
    again = source.fetch(fetcher, store)

    assert again.not_modified
    assert again.jobs == ()


def test_jobping_url_and_invalid_listings(http_server: LocalServer, fetcher: Fetcher) -> None:
    good = json.loads(read_sample("jobping_jobs.json"))[:2]
    bad = {**good[0], "external_id": "jp-bad", "salary_period": "week"}
    url = http_server.route("/export.json", Reply(body=json.dumps([*good, bad]).encode()))

    outcome = fetch({"type": "jobping", "url": url}, fetcher)

    assert [job.external_id for job in outcome.jobs] == ["jp-1001", "jp-1002"]
    assert outcome.skipped == 1


def test_build_source_picks_the_adapter() -> None:
    sources = parse_sources(demo_sources("http://127.0.0.1:1"))
    kinds = [type(build_source(source)) for source in sources]

    assert kinds == [GreenhouseBoard, LeverSite, AshbyBoard, Feed, Feed, JobPingFile]
    assert [build_source(source).name for source in sources] == [
        "greenhouse:acme", "lever:globex", "ashby:initech", "rss:remote-jobs-weekly",
        "rss:umbrella-health", "jobping:samples",
    ]  # fmt: skip
