"""The shared job vocabulary: the database, the scanner and the worker agree with it."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, LiteralString

import psycopg
import pytest
from pydantic import ValidationError

from jobping.vocabulary import MAX_SALARY, SALARY_PERIODS, WORK_MODES
from scanner.model import NormalizedJob
from worker.model import Analysis

#: (table, column) of every column that stores one of the vocabularies.
WORK_MODE_COLUMNS = [("jobs", "work_mode"), ("job_analyses", "work_mode")]
SALARY_PERIOD_COLUMNS = [("jobs", "salary_period"), ("job_analyses", "salary_period")]
SALARY_COLUMNS = [
    (table, column) for table in ("jobs", "job_analyses") for column in ("salary_min", "salary_max")
]

_CHECKS_ON_COLUMN = """
SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
WHERE c.contype = 'c' AND c.conrelid = %s::regclass AND a.attname = %s"""
_NUMERIC_TYPE = """
SELECT numeric_precision, numeric_scale FROM information_schema.columns
WHERE table_schema = 'public' AND table_name = %s AND column_name = %s"""


def _rows(url: str, query: LiteralString, table: str, column: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, (table, column)).fetchall()


def _allowed_values(url: str, table: str, column: str) -> set[str]:
    """The values the CHECK constraint on `table.column` lists (`column IN ('a', 'b')`)."""
    rows = _rows(url, _CHECKS_ON_COLUMN, table, column)
    assert len(rows) == 1, rows
    return set(re.findall(r"'(\w+)'::text", rows[0][0]))


@pytest.mark.parametrize(("table", "column"), WORK_MODE_COLUMNS)
def test_the_database_accepts_exactly_the_work_modes(db: str, table: str, column: str) -> None:
    assert _allowed_values(db, table, column) == set(WORK_MODES)


@pytest.mark.parametrize(("table", "column"), SALARY_PERIOD_COLUMNS)
def test_the_database_accepts_exactly_the_salary_periods(db: str, table: str, column: str) -> None:
    assert _allowed_values(db, table, column) == set(SALARY_PERIODS)


@pytest.mark.parametrize(("table", "column"), SALARY_COLUMNS)
def test_the_largest_salary_fits_every_salary_column(db: str, table: str, column: str) -> None:
    ((precision, scale),) = _rows(db, _NUMERIC_TYPE, table, column)
    largest_stored = Decimal(10) ** (precision - scale) - Decimal(10) ** -scale
    assert largest_stored >= MAX_SALARY
    assert MAX_SALARY.quantize(Decimal(10) ** -scale) == MAX_SALARY


@pytest.mark.parametrize(
    "amount",
    [
        Decimal(0),
        Decimal("165000.50"),
        MAX_SALARY,
        MAX_SALARY + Decimal("0.01"),
        Decimal("5e9"),  # fits the column, but is no salary
        Decimal("1e12"),
    ],
)
def test_the_scanner_keeps_exactly_the_salaries_the_worker_accepts(amount: Decimal) -> None:
    listing = NormalizedJob(
        source="jobping:acme", external_id="1", title="Engineer", company="Acme",
        salary_max=amount, salary_currency="USD", salary_period="year",
    )  # fmt: skip
    try:
        Analysis(analyzer="rules/1", salary_max=amount, salary_currency="USD")
    except ValidationError:
        accepted = False
    else:
        accepted = True
    assert (listing.salary_max is not None) == accepted == (amount <= MAX_SALARY)
