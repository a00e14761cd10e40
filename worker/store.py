"""The pipeline's database reads and writes (psycopg 3, `%s` parameters only).

Every write is an upsert on its natural key and is a no-op when nothing changed, so a message
processed twice leaves the database exactly as the first time (ARCHITECTURE.md, "Database").
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from worker.model import Analysis, JobPosting, Match, Notification, SavedSearch

Conn = psycopg.Connection[TupleRow]

_LOAD_JOB = """
SELECT id, source, title, company, location, remote, url, description,
       salary_min, salary_max, salary_currency, content_hash
FROM jobs WHERE id = %s"""

# The job's write is this one statement (one round trip), run under `lock_job` in the pipeline's
# transaction. Every part is an upsert or a no-op when nothing changed:
# * `analysis`: the job's analysis, rewritten only if a field differs;
# * `given`: the index's matches (one JSON parameter: cheaper to send than parallel arrays);
# * `found`: those whose search is still active (a search deleted or deactivated
#   since the index was built is skipped by the join);
# * `stale`: matches of searches that no longer match, for a job whose content changed;
# * `upserted`: the matches, rewritten only if score or reasons differ;
# * `fresh`: per user, the best-scoring match, for users not yet notified of this job. Their
#   notification rows are written by the sender once it knows each send's outcome.
_PERSIST = """
WITH analysis AS (
    INSERT INTO job_analyses AS a (job_id, content_hash, analyzer, skills, seniority, work_mode,
                                   salary_min, salary_max, salary_currency, salary_period)
    VALUES (%(job_id)s, %(content_hash)s, %(analyzer)s, %(skills)s, %(seniority)s,
            %(work_mode)s, %(salary_min)s, %(salary_max)s, %(salary_currency)s,
            %(salary_period)s)
    ON CONFLICT (job_id) DO UPDATE SET
        content_hash = EXCLUDED.content_hash, analyzer = EXCLUDED.analyzer,
        skills = EXCLUDED.skills, seniority = EXCLUDED.seniority,
        work_mode = EXCLUDED.work_mode, salary_min = EXCLUDED.salary_min,
        salary_max = EXCLUDED.salary_max, salary_currency = EXCLUDED.salary_currency,
        salary_period = EXCLUDED.salary_period, analyzed_at = now()
    WHERE (a.content_hash, a.analyzer, a.skills, a.seniority, a.work_mode, a.salary_min,
           a.salary_max, a.salary_currency, a.salary_period)
          IS DISTINCT FROM
          (EXCLUDED.content_hash, EXCLUDED.analyzer, EXCLUDED.skills, EXCLUDED.seniority,
           EXCLUDED.work_mode, EXCLUDED.salary_min, EXCLUDED.salary_max,
           EXCLUDED.salary_currency, EXCLUDED.salary_period)
    RETURNING 1
), given AS (
    SELECT * FROM json_to_recordset(%(matches)s::json)
                  AS v(search_id uuid, score real, reasons jsonb)
), found AS (
    SELECT g.search_id, s.user_id, g.score, g.reasons
    FROM given g JOIN saved_searches s ON s.id = g.search_id AND s.active
), stale AS (
    DELETE FROM matches m
    WHERE m.job_id = %(job_id)s
      AND NOT EXISTS (SELECT FROM given g WHERE g.search_id = m.saved_search_id)
), upserted AS (
    INSERT INTO matches AS m (job_id, saved_search_id, user_id, score, reasons)
    SELECT %(job_id)s, search_id, user_id, score, reasons FROM found
    ON CONFLICT (job_id, saved_search_id) DO UPDATE SET
        score = EXCLUDED.score, reasons = EXCLUDED.reasons, matched_at = now()
    WHERE (m.score, m.reasons) IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.reasons)
    RETURNING 1
), fresh AS (
    SELECT DISTINCT ON (f.user_id) f.user_id, u.email, u.name, f.search_id
    FROM found f JOIN users u ON u.id = f.user_id
    WHERE NOT EXISTS (SELECT FROM notifications n
                      WHERE n.user_id = f.user_id AND n.job_id = %(job_id)s)
    ORDER BY f.user_id, f.score DESC, f.search_id
)
SELECT (SELECT count(*) FROM analysis), (SELECT count(*) FROM upserted),
       fresh.user_id, fresh.email, fresh.name, fresh.search_id
FROM (VALUES (1)) AS one(x) LEFT JOIN fresh ON true"""

# Serializes the transactions of one job (two deliveries of one message at once), so that only
# one of them sees a user as not yet notified. Held until commit; it writes nothing.
_LOCK_JOB = "SELECT pg_advisory_xact_lock(%s, hashtext(%s::text))"
#: The first key of `_LOCK_JOB`, so these locks never meet other advisory locks (`migrate`).
JOB_LOCK_CLASS = 7001

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


def lock_job(conn: Conn, job_id: uuid.UUID) -> None:
    """Wait for, then hold until the transaction ends, the job's advisory lock."""
    conn.execute(_LOCK_JOB, (JOB_LOCK_CLASS, job_id))


@dataclass(frozen=True)
class PersistResult:
    """What one persist call changed, and whom to notify."""

    analysis_written: bool
    matches_written: int
    #: One notification per user not yet notified of this job (new ids, not yet stored).
    to_send: list[Notification]


def persist(conn: Conn, job: JobPosting, analysis: Analysis, matches: list[Match]) -> PersistResult:
    """Write analysis and matches, and find the users to notify, in one statement.

    Call it in a transaction that holds `lock_job`, and store the notifications' outcomes in
    that same transaction (`NotificationSender.send_new`).
    """
    params: dict[str, Any] = {
        "job_id": job.job_id,
        "content_hash": job.content_hash,
        "analyzer": analysis.analyzer,
        "skills": analysis.skills,
        "seniority": analysis.seniority,
        "work_mode": analysis.work_mode,
        "salary_min": analysis.salary_min,
        "salary_max": analysis.salary_max,
        "salary_currency": analysis.salary_currency,
        "salary_period": analysis.salary_period,
        "matches": json.dumps(
            [
                {
                    "search_id": str(m.saved_search_id),
                    "score": _score(m.score),
                    "reasons": m.reasons,
                }
                for m in matches
            ],
            ensure_ascii=False,
        ),
    }
    rows = conn.execute(_PERSIST, params).fetchall()
    by_search = {m.saved_search_id: m for m in matches}
    to_send = [_notification(job, by_search[row[5]], row) for row in rows if row[2] is not None]
    return PersistResult(rows[0][0] > 0, rows[0][1], to_send)


def _notification(job: JobPosting, match: Match, row: tuple[Any, ...]) -> Notification:
    return Notification(
        id=uuid.uuid4(),
        user_id=row[2],
        email=row[3],
        name=row[4],
        job_id=job.job_id,
        saved_search_id=match.saved_search_id,
        title=job.title,
        company=job.company,
        url=job.url,
        score=_score(match.score),
        reasons=match.reasons,
    )


def _score(value: float) -> float:
    # `real` keeps ~6 digits: round so that the same score compares equal on re-delivery.
    return round(value, 4)
