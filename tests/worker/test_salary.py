"""parse_salary: the formats job boards use, the false positives it must ignore, and properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.salary import SalaryRange, parse_salary, period_of


def _range(low: int | str, high: int | str, currency: str, period: str = "year") -> SalaryRange:
    return SalaryRange(Decimal(low), Decimal(high), currency, period)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$120k–150k", _range(120_000, 150_000, "USD")),
        ("$120k-$150k", _range(120_000, 150_000, "USD")),
        ("$120–150k", _range(120_000, 150_000, "USD")),
        ("$120,000 - $150,000", _range(120_000, 150_000, "USD")),
        ("USD 120000-150000", _range(120_000, 150_000, "USD")),
        ("$120k to $150k", _range(120_000, 150_000, "USD")),
        ("between $100k and $120k", _range(100_000, 120_000, "USD")),
        ("€75.000 — €95.000 per year", _range(75_000, 95_000, "EUR")),
        ("€60.000", _range(60_000, 60_000, "EUR")),
        ("60.000 €", _range(60_000, 60_000, "EUR")),
        ("60 000 - 70 000 EUR", _range(60_000, 70_000, "EUR")),
        ("Salary: 85.000,00 EUR", _range(85_000, 85_000, "EUR")),
        ("£45,000 per annum", _range(45_000, 45_000, "GBP")),
        ("£45k pa", _range(45_000, 45_000, "GBP")),
        ("CHF 120'000", _range(120_000, 120_000, "CHF")),
        ("CA$90,000", _range(90_000, 90_000, "CAD")),
        ("120k USD", _range(120_000, 120_000, "USD")),
        ("$50/hour", _range(50, 50, "USD", "hour")),
        ("$58.50 per hour", _range("58.50", "58.50", "USD", "hour")),
        ("hourly rate: $65", _range(65, 65, "USD", "hour")),
        ("€3.500 brutto monatlich", _range(3_500, 3_500, "EUR", "month")),
        ("¥8,000,000 per year", _range(8_000_000, 8_000_000, "JPY")),
        ("$150k–120k", _range(120_000, 150_000, "USD")),
    ],
)
def test_parses_common_salary_formats(text: str, expected: SalaryRange) -> None:
    assert parse_salary(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "We offer a 401(k) with a 4% match.",
        "401k plan and dental",
        "$5 coffee vouchers every Friday",
        "We raised $50M in our Series B.",
        "$2.5M ARR and growing",
        "a learning budget of €1,500 per year",
        "a $5,000 signing bonus",
        "120000-150000",  # no currency
        "Founded in 2015, 250 employees, 12 offices.",
        "",
    ],
)
def test_ignores_amounts_that_are_not_salaries(text: str) -> None:
    assert parse_salary(text) is None


def test_prefers_a_range_over_an_earlier_single_amount() -> None:
    text = "Relocation bonus $10,000. Base salary $140,000 - $170,000."
    assert parse_salary(text) == _range(140_000, 170_000, "USD")


def test_a_stray_number_before_an_amount_is_not_taken_as_its_range_start() -> None:
    assert parse_salary("Founded 2015 - $120k base") == _range(120_000, 120_000, "USD")


@pytest.mark.parametrize(
    "text",
    ["Base $120k and a $20k bonus", "Base $120k and $20k bonus", "$120k - 2 days in the office"],
)
def test_an_amount_followed_by_an_unrelated_number_stands_alone(text: str) -> None:
    assert parse_salary(text) == _range(120_000, 120_000, "USD")


def test_finds_a_salary_at_the_end_of_a_long_description() -> None:
    text = "We build things. " * 300 + "Compensation: $130k–$160k + equity."
    assert parse_salary(text) == _range(130_000, 160_000, "USD")


def test_period_of_an_amount_without_one_follows_its_size() -> None:
    assert [period_of(Decimal(n)) for n in (45, 4_500, 45_000)] == ["hour", "month", "year"]


@given(st.text(max_size=400))
def test_never_raises_and_keeps_min_at_most_max(text: str) -> None:
    found = parse_salary(text)
    if found is not None:
        assert found.minimum <= found.maximum
        assert len(found.currency) == 3


@given(
    st.lists(st.sampled_from(["$", "€", "£", "k", "K", "-", "–", " ", ",", ".", "'", "/hour",
                              " per annum", "USD", "EUR", "401(k)", "1", "2", "5", "0", "000"]),
             max_size=30).map("".join)
)  # fmt: skip
def test_never_raises_on_salary_like_noise(text: str) -> None:
    found = parse_salary(text)
    if found is not None:
        assert found.minimum <= found.maximum


@given(
    st.integers(min_value=10_000, max_value=900_000),
    st.integers(min_value=0, max_value=200_000),
)
def test_round_trips_us_and_european_formatting(low: int, spread: int) -> None:
    high = low + spread
    us = f"Pay: ${low:,} - ${high:,} per year"
    european = f"Gehalt: {low:,} – {high:,} € pro Jahr".replace(",", ".")
    assert parse_salary(us) == _range(low, high, "USD")
    assert parse_salary(european) == _range(low, high, "EUR")
