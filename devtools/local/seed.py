"""Demo users and saved searches for the local system; safe to run again (upserts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import psycopg


@dataclass(frozen=True)
class DemoSearch:
    """One saved search of a demo user."""

    name: str
    keywords: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    remote_only: bool = False
    min_salary: Decimal | None = None
    salary_currency: str | None = None
    seniority: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoUser:
    """A demo user and what they look for."""

    email: str
    name: str
    searches: tuple[DemoSearch, ...] = field(default_factory=tuple)


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(
        "ana@example.com",
        "Ana (platform engineer)",
        (
            DemoSearch("Remote Kubernetes", ("kubernetes", "terraform"), remote_only=True),
            DemoSearch("Senior Go", ("go",), seniority=("senior", "staff")),
        ),
    ),
    DemoUser(
        "ben@example.com",
        "Ben (data engineer)",
        (
            DemoSearch(
                "Data in Europe",
                ("spark", "airflow", "data engineer"),
                locations=("Berlin", "London", "Amsterdam", "Remote"),
            ),
            DemoSearch(
                "Well-paid Python", ("python",), min_salary=Decimal(120000), salary_currency="USD"
            ),
        ),
    ),
    DemoUser(
        "chloe@example.com",
        "Chloé (product designer)",
        (DemoSearch("Design", ("figma", "product designer", "ux")),),
    ),
    DemoUser(
        "dev@example.com",
        "Dev (frontend)",
        (
            DemoSearch("React anywhere", ("react", "typescript")),
            DemoSearch("Junior frontend", ("javascript", "css"), seniority=("junior", "mid")),
        ),
    ),
    DemoUser(
        "eve@example.com",
        "Eve (security)",
        (DemoSearch("Security", ("security", "penetration testing", "iam")),),
    ),
)

_UPSERT_USER = """
INSERT INTO users (email, name) VALUES (%s, %s)
ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name
WHERE users.name IS DISTINCT FROM EXCLUDED.name
RETURNING id"""

_UPSERT_SEARCH = """
INSERT INTO saved_searches AS s (user_id, name, keywords, locations, remote_only, min_salary,
                                 salary_currency, seniority)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (user_id, name) DO UPDATE SET
    keywords = EXCLUDED.keywords, locations = EXCLUDED.locations,
    remote_only = EXCLUDED.remote_only, min_salary = EXCLUDED.min_salary,
    salary_currency = EXCLUDED.salary_currency, seniority = EXCLUDED.seniority, active = true
WHERE (s.keywords, s.locations, s.remote_only, s.min_salary, s.salary_currency, s.seniority,
       s.active)
      IS DISTINCT FROM
      (EXCLUDED.keywords, EXCLUDED.locations, EXCLUDED.remote_only, EXCLUDED.min_salary,
       EXCLUDED.salary_currency, EXCLUDED.seniority, true)"""


def seed(conninfo: str, users: tuple[DemoUser, ...] = DEMO_USERS) -> tuple[int, int]:
    """Upsert the demo users and searches; return (users, searches) in the seed."""
    searches = 0
    with psycopg.connect(conninfo) as conn:
        for user in users:
            conn.execute(_UPSERT_USER, (user.email, user.name))
            row = conn.execute("SELECT id FROM users WHERE email = %s", (user.email,)).fetchone()
            assert row is not None  # just upserted
            for search in user.searches:
                conn.execute(
                    _UPSERT_SEARCH,
                    (
                        row[0],
                        search.name,
                        list(search.keywords),
                        list(search.locations),
                        search.remote_only,
                        search.min_salary,
                        search.salary_currency,
                        list(search.seniority),
                    ),
                )
                searches += 1
    return len(users), searches
