"""The normalized job: its cleaning rules and its content hash."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from scanner.model import NormalizedJob


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
