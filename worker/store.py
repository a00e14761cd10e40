"""The pipeline's database reads and writes (psycopg 3, `%s` parameters only).

Every write is an upsert on its natural key and is a no-op when nothing changed, so a message
processed twice leaves the database exactly as the first time (ARCHITECTURE.md, "Database").
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from worker.model import Analysis, JobPosting, Match, SavedSearch

Conn = psycopg.Connection[TupleRow]

_LOAD_JOB = """
SELECT id, source, title, company, location, remote, url, description,
       salary_min, salary_max, salary_currency, content_hash
FROM jobs WHERE id = %s"""

_UPSERT_ANALYSIS = """
INSERT INTO job_analyses AS a (job_id, content_hash, analyzer, skills, seniority, work_mode,
                               salary_min, salary_max, salary_currency, salary_period)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (job_id) DO UPDATE SET
    content_hash = EXCLUDED.content_hash, analyzer = EXCLUDED.analyzer,
    skills = EXCLUDED.skills, seniority = EXCLUDED.seniority, work_mode = EXCLUDED.work_mode,
    salary_min = EXCLUDED.salary_min, salary_max = EXCLUDED.salary_max,
    salary_currency = EXCLUDED.salary_currency, salary_period = EXCLUDED.salary_period,
    analyzed_at = now()
WHERE (a.content_hash, a.analyzer, a.skills, a.seniority, a.work_mode, a.salary_min,
       a.salary_max, a.salary_currency, a.salary_period)
      IS DISTINCT FROM
      (EXCLUDED.content_hash, EXCLUDED.analyzer, EXCLUDED.skills, EXCLUDED.seniority,
       EXCLUDED.work_mode, EXCLUDED.salary_min, EXCLUDED.salary_max, EXCLUDED.salary_currency,
       EXCLUDED.salary_period)"""

# Matches for searches deleted or deactivated since the index was built are skipped by the join.
_UPSERT_MATCHES = """
INSERT INTO matches AS m (job_id, saved_search_id, user_id, score, reasons)
SELECT %(job_id)s, v.search_id, s.user_id, v.score, v.reasons::jsonb
FROM unnest(%(search_ids)s::uuid[], %(scores)s::real[], %(reasons)s::text[])
     AS v(search_id, score, reasons)
JOIN saved_searches s ON s.id = v.search_id AND s.active
ON CONFLICT (job_id, saved_search_id) DO UPDATE SET
    score = EXCLUDED.score, reasons = EXCLUDED.reasons, matched_at = now()
WHERE (m.score, m.reasons) IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.reasons)"""

# A job whose content changed may no longer match a search it matched before.
_DELETE_STALE_MATCHES = """
DELETE FROM matches WHERE job_id = %(job_id)s AND saved_search_id <> ALL(%(search_ids)s::uuid[])"""

# One notification per user and job: for the user's best-scoring matching search.
_INSERT_NOTIFICATIONS = """
INSERT INTO notifications (user_id, job_id, saved_search_id, channel)
SELECT DISTINCT ON (m.user_id) m.user_id, m.job_id, m.saved_search_id, %(channel)s
FROM matches m WHERE m.job_id = %(job_id)s
ORDER BY m.user_id, m.score DESC, m.saved_search_id
ON CONFLICT (user_id, job_id) DO NOTHING"""

_LOAD_SEARCHES = """
SELECT id, user_id, keywords, locations, remote_only, min_salary, salary_currency, seniority
FROM saved_searches WHERE active ORDER BY id"""

_SEARCHES_VERSION = "SELECT count(*), max(updated_at) FROM saved_searches WHERE active"


def load_job(conn: Conn, job_id: uuid.UUID) -> JobPosting | None:
    """The job as the scanner stored it, or None if there is no such job."""
    row = conn.execute(_LOAD_JOB, (job_id,)).fetchone()
    if row is None:
        return None
    return JobPosting(
        job_id=row[0],
        source=row[1],
        title=row[2],
        company=row[3],
        location=row[4],
        remote=row[5],
        url=row[6],
        description=row[7],
        salary_min=row[8],
        salary_max=row[9],
        salary_currency=row[10].strip() if row[10] else None,
        content_hash=row[11],
    )


def searches_version(conn: Conn) -> tuple[Any, ...]:
    """A cheap fingerprint of the active saved searches (count, newest update)."""
    row = conn.execute(_SEARCHES_VERSION).fetchone()
    return tuple(row) if row else ()


def load_searches(conn: Conn) -> list[SavedSearch]:
    """Every active saved search."""
    return [
        SavedSearch(
            id=row[0],
            user_id=row[1],
            keywords=tuple(row[2]),
            locations=tuple(row[3]),
            remote_only=row[4],
            min_salary=row[5],
            salary_currency=row[6].strip() if row[6] else None,
            seniority=tuple(row[7]),
        )
        for row in conn.execute(_LOAD_SEARCHES)
    ]


@dataclass(frozen=True)
class PersistResult:
    """What one persist call changed."""

    analysis_written: bool
    matches_written: int
    notifications_created: int


def persist(
    conn: Conn, job: JobPosting, analysis: Analysis, matches: list[Match], channel: str
) -> PersistResult:
    """Write analysis, matches and pending notifications; the caller owns the transaction."""
    cur = conn.execute(
        _UPSERT_ANALYSIS,
        (
            job.job_id,
            job.content_hash,
            analysis.analyzer,
            analysis.skills,
            analysis.seniority,
            analysis.work_mode,
            analysis.salary_min,
            analysis.salary_max,
            analysis.salary_currency,
            analysis.salary_period,
        ),
    )
    analysis_written = cur.rowcount > 0
    params: dict[str, Any] = {
        "job_id": job.job_id,
        "search_ids": [m.saved_search_id for m in matches],
        "scores": [_score(m.score) for m in matches],
        "reasons": [json.dumps(list(m.reasons), ensure_ascii=False) for m in matches],
        "channel": channel,
    }
    conn.execute(_DELETE_STALE_MATCHES, params)
    matches_written = conn.execute(_UPSERT_MATCHES, params).rowcount if matches else 0
    notifications = conn.execute(_INSERT_NOTIFICATIONS, params).rowcount if matches else 0
    return PersistResult(analysis_written, max(matches_written, 0), max(notifications, 0))


def _score(value: float) -> float:
    # `real` keeps ~6 digits: round so that the same score compares equal on re-delivery.
    return float(round(Decimal(value), 4))
