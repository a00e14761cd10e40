"""The normalized job: its cleaning rules and its content hash."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from scanner.model import NormalizedJob
from scanner.normalize import parse_datetime


def job(**changes: object) -> NormalizedJob:
    fields: dict[str, object] = {
        "source": "greenhouse:acme",
        "external_id": "4012345",
        "title": "Senior Backend Engineer",
        "company": "Acme Robotics",
        "location": "Boston, MA",
        "remote": False,
        "url": "https://boards.greenhouse.io/acme/jobs/4012345",
        "description": "About Acme\n\n- Python\n- Go",
        "posted_at": datetime(2026, 10, 20, 13, 0, tzinfo=UTC),
        "salary_min": Decimal("165000"),
        "salary_max": Decimal("205000"),
        "salary_currency": "USD",
        "salary_period": "year",
    }
    fields.update(changes)
    return NormalizedJob(**fields)  # type: ignore[arg-type]


def test_hash_is_sha256_hex_and_stable() -> None:
    first, second = job(), job()

    assert first.content_hash == second.content_hash
    assert len(first.content_hash) == 64
    # pinned: changing the canonical form re-enqueues every stored job, so it must be
    # deliberate (and come with a HASH_VERSION bump)
    assert first.content_hash == "02cd61b49159ceecd5943aee77303f7b67f4f394270207d4dfb4f4a0fa27d852"


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Staff Backend Engineer"},
        {"company": "Acme Inc."},
        {"location": "Remote - US"},
        {"remote": True},
        {"remote": None},
        {"url": "https://boards.greenhouse.io/acme/jobs/4012346"},
        {"description": "About Acme\n\n- Python\n- Rust"},
        {"posted_at": datetime(2026, 10, 21, 13, 0, tzinfo=UTC)},
        {"salary_min": Decimal("170000")},
        {"salary_max": None},
        {"salary_currency": "CAD"},
        {"salary_period": "month"},
    ],
)
def test_hash_changes_when_content_changes(change: dict[str, object]) -> None:
    assert job(**change).content_hash != job().content_hash


def test_hash_ignores_identity_and_equivalent_spellings() -> None:
    same = job(
        source="greenhouse:acme-eu",
        external_id="other",
        title="  Senior   Backend Engineer ",
        posted_at=datetime(2026, 10, 20, 9, 0, tzinfo=timezone(timedelta(hours=-4))),
        salary_min=Decimal("165000.000"),
        salary_currency="usd",
    )

    assert same.content_hash == job().content_hash


def test_unicode_is_normalized_before_hashing() -> None:
    composed = job(location="Montr\u00e9al")
    decomposed = job(location="Montre\u0301al")

    assert decomposed.location == "Montréal"
    assert composed.content_hash == decomposed.content_hash


def test_replace_recomputes_the_hash() -> None:
    original = job()
    changed = dataclasses.replace(original, title="Principal Engineer")

    assert changed.content_hash == job(title="Principal Engineer").content_hash
    assert changed.content_hash != original.content_hash


def test_values_are_cleaned() -> None:
    cleaned = job(
        posted_at=datetime(2026, 10, 20, 9, 0),  # naive: taken as UTC
        salary_min=Decimal("205000"),
        salary_max=Decimal("165000.5"),  # swapped into order
        salary_currency="euro",  # not an ISO code
        salary_period="week",
    )

    assert cleaned.posted_at == datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
    assert (cleaned.salary_min, cleaned.salary_max) == (Decimal("165000.50"), Decimal("205000.00"))
    assert cleaned.salary_currency is None
    assert cleaned.salary_period is None
    assert job(salary_min=Decimal("-1")).salary_min is None
    assert job(salary_max=Decimal("1e12")).salary_max is None


def test_a_job_needs_its_key() -> None:
    with pytest.raises(ValueError, match="source and an external_id"):
        job(external_id="  ")


def test_jobs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        job().title = "changed"  # type: ignore[misc]


def test_text_is_made_storable_in_postgres() -> None:
    dirty = job(
        title="Data\x00Engineer\x1b[31m",
        company="Acme\ud800 Inc",  # a lone surrogate, as JSON's "\ud800" decodes
        description="Line one\x00\r\nLine two\x7f\tend",
    )

    assert dirty.title == "Data Engineer [31m"
    assert dirty.company == "Acme\ufffd Inc"
    assert dirty.description == "Line one \nLine two \tend"
    for value in (dirty.title, dirty.company, dirty.description):
        value.encode("utf-8")  # would raise on a surrogate


def test_lengths_are_bounded() -> None:
    long = job(title="T" * 600, location="L" * 900, description="D" * 30_000)
    assert (len(long.title), len(long.location)) == (500, 500)
    assert len(long.description) == 20_000
    assert long.description.endswith("…")
    assert job(url="https://example.com/" + "x" * 3000).url == ""  # a cut URL leads elsewhere
    with pytest.raises(ValueError, match="external_id is longer than 200"):
        job(external_id="x" * 201)  # cutting a key could merge two listings


def test_a_time_before_year_one_in_utc_costs_only_posted_at() -> None:
    moment = datetime.fromisoformat("0001-01-01T00:00:00+14:00")
    assert job(posted_at=moment).posted_at is None
    assert parse_datetime("0001-01-01T00:00:00+14:00") is None
    assert parse_datetime("9999-12-31T23:59:59-10:00") is None  # after year 9999 in UTC


def test_a_known_work_mode_decides_the_remote_flag_and_the_hash() -> None:
    hybrid = job(work_mode="hybrid", remote=True)
    assert (hybrid.work_mode, hybrid.remote) == ("hybrid", False)
    assert job(work_mode="remote", remote=False).remote is True
    assert job(work_mode="nonsense").work_mode == "unknown"  # type: ignore[arg-type]
    assert hybrid.content_hash != job(work_mode="onsite").content_hash
    # "unknown" is left out of the hashed document: stored hashes stay valid
    assert job(work_mode="unknown").content_hash == job().content_hash
