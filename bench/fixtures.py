"""Deterministic benchmark data: realistic job listings and a population of saved searches.

Jobs look like the boards' listings: a title with a seniority, a location, a salary line in some,
and a plain-text description of a few KB that names skills from the bundled taxonomy. Searches
mix keyword-only, location, remote-only, salary and seniority criteria, so matching and the
writes that follow (matches, notifications) cost what they would in production.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import uuid
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

import psycopg

#: Skills named in descriptions and searches: the taxonomy's first `VOCABULARY` skills that match
#: in lower case, the popular ones a little more often (weight rank^-1/4).
VOCABULARY = 400
ROLES = (
    "Backend Engineer", "Frontend Engineer", "Platform Engineer", "Data Engineer",
    "Site Reliability Engineer", "Machine Learning Engineer", "Product Designer",
    "Security Engineer", "Mobile Developer", "Full Stack Developer", "Data Scientist",
    "Engineering Manager", "DevOps Engineer", "QA Engineer", "Solutions Architect",
)  # fmt: skip
LEVELS = ("", "Junior ", "Senior ", "Staff ", "Principal ", "Lead ", "Sr. ", "Mid-level ")
CITIES = (
    "Berlin, Germany", "London, UK", "Amsterdam, Netherlands", "Paris, France",
    "Lisbon, Portugal", "Madrid, Spain", "New York, NY", "San Francisco, CA", "Toronto, Canada",
    "Remote", "Remote, Europe", "Stockholm, Sweden", "Warsaw, Poland", "Dublin, Ireland",
)  # fmt: skip
SEARCH_LOCATIONS = (
    "Berlin", "London", "Amsterdam", "Paris", "Remote", "New York", "Europe", "Lisbon", "Dublin",
)  # fmt: skip
PHRASES = (
    "data engineer", "machine learning", "site reliability", "product designer", "full stack",
    "distributed systems", "payments", "developer experience", "observability", "mobile",
)  # fmt: skip
FILLER = (
    "We ship small changes many times a day and review every one of them.",
    "Our customers range from two-person shops to public companies in twelve countries.",
    "You will pair with product and design from the first sketch to the release.",
    "On-call is shared across the team, one week in six, with a paid stipend.",
    "We write things down: design docs, runbooks and decision records live next to the code.",
    "The team is spread over four time zones and meets in person twice a year.",
    "We care about performance budgets and boring, reliable infrastructure.",
    "Benefits include a learning budget, 30 days of paid leave and a home-office allowance.",
    "Our interview process has four steps and we answer every application within a week.",
    "We are an equal opportunity employer and welcome applicants of every background.",
)  # fmt: skip
SENIORITY_FILTERS = (("senior", "staff"), ("junior", "mid"), ("lead", "manager"), ("senior",))


@functools.cache
def _skills() -> tuple[list[str], list[float]]:
    document = json.loads(resources.files("worker").joinpath("skills.json").read_text())
    names = [s["name"] for s in document["skills"] if not s.get("exact")][:VOCABULARY]
    return names, [(rank + 1) ** -0.25 for rank in range(len(names))]


def _pick_skills(rng: random.Random, count: int) -> list[str]:
    names, weights = _skills()
    return list(dict.fromkeys(rng.choices(names, weights, k=count)))


def _description(rng: random.Random, title: str, skills: list[str], location: str) -> str:
    paragraphs = [f"About the role\n\nWe are hiring a {title} in {location}."]
    for _ in range(rng.randint(5, 9)):
        sentences = rng.sample(FILLER, 4)
        sentences.insert(rng.randint(0, 4), f"You will work with {', '.join(skills[:3])} daily.")
        if rng.random() < 0.3:
            sentences.append(f"Experience with {rng.choice(PHRASES)} is a plus.")
        paragraphs.append(" ".join(sentences))
    paragraphs.append("What you'll bring\n\n" + "\n".join(f"- {s} in production" for s in skills))
    if "Remote" in location:
        paragraphs.append("This role is fully remote; we hire across Europe.")
    elif rng.random() < 0.4:
        paragraphs.append("Hybrid: two days a week in the office.")
    return "\n\n".join(paragraphs)


def make_jobs(count: int, seed: int = 6) -> list[dict[str, Any]]:
    """`count` listings in JobPing's own JSON format (scanner `jobping` source), 3-6 KB each."""
    rng = random.Random(seed)
    jobs = []
    for index in range(count):
        title = f"{rng.choice(LEVELS)}{rng.choice(ROLES)}"
        location = rng.choice(CITIES)
        skills = _pick_skills(rng, rng.randint(3, 7))
        job: dict[str, Any] = {
            "external_id": f"bench-{seed}-{index}",
            "title": title,
            "company": f"Company {index % 97}",
            "location": location,
            "remote": "Remote" in location,
            "url": f"https://jobs.example.com/bench/{index}",
            "description": _description(rng, title, skills, location),
        }
        if rng.random() < 0.5:
            low = rng.randrange(50_000, 150_000, 5_000)
            job.update(salary_min=low, salary_max=low + 20_000, salary_currency="EUR")
            job["salary_period"] = "year"
        jobs.append(job)
    return jobs


@dataclass(frozen=True)
class SearchSpec:
    """One saved search to insert."""

    name: str
    keywords: list[str]
    locations: list[str]
    remote_only: bool
    min_salary: Decimal | None
    seniority: list[str]


def make_searches(count: int, seed: int = 6) -> list[SearchSpec]:
    """`count` saved searches with a realistic mix of criteria."""
    rng = random.Random(seed)
    specs = []
    for index in range(count):
        keywords = _pick_skills(rng, rng.choice((1, 1, 1, 2)))
        if rng.random() < 0.03:
            keywords.append(rng.choice(PHRASES))
        specs.append(
            SearchSpec(
                name=f"search {index}",
                keywords=keywords,
                locations=rng.sample(SEARCH_LOCATIONS, 2) if rng.random() < 0.6 else [],
                remote_only=rng.random() < 0.1,
                min_salary=Decimal(rng.randrange(60_000, 140_000, 10_000))
                if rng.random() < 0.2
                else None,
                seniority=list(rng.choice(SENIORITY_FILTERS)) if rng.random() < 0.5 else [],
            )
        )
    return specs


def seed_searches(conninfo: str, users: int, searches: int) -> None:
    """Insert `users` users sharing `searches` saved searches (round-robin); idempotent."""
    specs = make_searches(searches)
    with psycopg.connect(conninfo) as conn:
        user_ids = [
            row[0]
            for row in conn.execute(
                "INSERT INTO users (email, name) SELECT e, e FROM unnest(%s::text[]) AS e "
                "ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name RETURNING id",
                ([f"user{i}@bench.example" for i in range(users)],),
            )
        ]
        conn.execute(
            "INSERT INTO saved_searches (user_id, name, keywords, locations, remote_only, "
            "min_salary, salary_currency, seniority) "
            "SELECT u, n, k::text[], l::text[], r, m, CASE WHEN m IS NULL THEN NULL ELSE 'EUR' END,"
            " s::text[] FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], "
            "%s::boolean[], %s::numeric[], %s::text[]) AS v(u, n, k, l, r, m, s) "
            "ON CONFLICT (user_id, name) DO NOTHING",
            (
                [user_ids[i % users] for i in range(len(specs))],
                [spec.name for spec in specs],
                [_pg_array(spec.keywords) for spec in specs],
                [_pg_array(spec.locations) for spec in specs],
                [spec.remote_only for spec in specs],
                [spec.min_salary for spec in specs],
                [_pg_array(spec.seniority) for spec in specs],
            ),
        )


def _pg_array(values: list[str]) -> str:
    """A text[] literal (unnest cannot take an array of arrays of different lengths)."""
    return "{" + ",".join(json.dumps(value) for value in values) + "}"


def insert_jobs(conninfo: str, jobs: list[dict[str, Any]]) -> list[uuid.UUID]:
    """Store `jobs` as the scanner would (already enqueued); return their ids."""
    columns = ("external_id", "title", "company", "location", "remote", "url", "description")
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "INSERT INTO jobs (source, external_id, title, company, location, remote, url, "
            "description, salary_min, salary_max, salary_currency, salary_period, content_hash, "
            "enqueued_at) SELECT 'jobping:bench', *, now() FROM unnest(%s::text[], %s::text[], "
            "%s::text[], %s::text[], %s::boolean[], %s::text[], %s::text[], %s::numeric[], "
            "%s::numeric[], %s::text[], %s::text[], %s::text[]) "
            "ON CONFLICT (source, external_id) DO UPDATE SET title = EXCLUDED.title "
            "RETURNING id",
            [
                *([job[column] for job in jobs] for column in columns),
                [job.get("salary_min") for job in jobs],
                [job.get("salary_max") for job in jobs],
                [job.get("salary_currency") for job in jobs],
                [job.get("salary_period") for job in jobs],
                [hashlib.sha256(json.dumps(job).encode()).hexdigest() for job in jobs],
            ],
        ).fetchall()
    return [row[0] for row in rows]


def reset_results(conninfo: str) -> None:
    """Forget every analysis, match and notification, so the next drain does all the work."""
    with psycopg.connect(conninfo) as conn:
        conn.execute("TRUNCATE job_analyses, matches, notifications")


def reset_all(conninfo: str) -> None:
    """Empty the jobs and everything derived from them (users and searches stay)."""
    with psycopg.connect(conninfo) as conn:
        conn.execute("TRUNCATE jobs, job_analyses, matches, notifications, source_state")
