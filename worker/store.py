"""The pipeline's database reads and writes (psycopg 3, `%s` parameters only).

Every write is an upsert on its natural key and is a no-op when nothing changed, so a message
processed twice leaves the database exactly as the first time (ARCHITECTURE.md, "Database"),
and the job's write happens only if the version analysed is still the job's, so a late delivery
of an older version changes nothing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import TupleRow, class_row, dict_row

from worker.model import Analysis, JobPosting, Match, Notification

Conn = psycopg.Connection[TupleRow]

_LOAD_JOB = """
SELECT id AS job_id, source, title, company, location, remote, url, description,
       salary_min, salary_max, btrim(salary_currency) AS salary_currency, content_hash, work_mode
FROM jobs WHERE id = %s"""

# The job's write is this one statement (one round trip, its own transaction on the worker's
# autocommit connection). Every part is an upsert or a no-op when nothing changed:
# * `job`: the job, only if the analysed version is still its current one (`content_hash`),
#   locked FOR SHARE until the statement commits, so the scanner cannot store a newer version
#   in between (its update waits; a version stored before makes `job` empty). Every write below
#   reads `job`, so a delivery of an older version writes nothing: it never overwrites the
#   results of a newer one (the first column of the result says which happened);
# * `analysis`: the job's analysis, rewritten only if a field differs;
# * `given`: the index's matches (one JSON parameter: cheaper to send than parallel arrays);
# * `found`: those whose search is still active (a search deleted or deactivated since the
#   index was built is skipped). Each search, and each recipient at the end, is looked up by
#   primary key in a LATERAL subquery: the plan psycopg prepares is generic, sized for the
#   100 rows Postgres assumes `json_to_recordset` returns, and a plain join then hash-joined
#   a scan of every saved search and every user for each job;
# * `stale`: matches of searches that no longer match, for a job whose content changed;
# * `upserted`: the matches, rewritten only if score or reasons differ;
# * `notified`: one notification per user and job, for the user's best-scoring search, written
#   as `sending` (attempt 1): the caller sends only once this has committed, so a send that
#   may have happened is always on record and never repeated (`worker.notify`). A user
#   notified already is skipped by the unique key; a second delivery running at the same time
#   waits on that key until this one commits, so of two deliveries only one sends. Only the
#   rows inserted here are returned.
_PERSIST = """
WITH job AS (
    SELECT id FROM jobs WHERE id = %(job_id)s AND content_hash = %(content_hash)s FOR SHARE
), analysis AS (
    INSERT INTO job_analyses AS a (job_id, content_hash, analyzer, skills, seniority, work_mode,
                                   salary_min, salary_max, salary_currency, salary_period)
    SELECT j.id, %(content_hash)s, %(analyzer)s, %(skills)s::text[], %(seniority)s,
           %(work_mode)s, %(salary_min)s::numeric, %(salary_max)s::numeric,
           %(salary_currency)s, %(salary_period)s
    FROM job j
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
), given AS (
    SELECT v.* FROM job CROSS JOIN json_to_recordset(%(matches)s::json)
                  AS v(search_id uuid, score real, reasons jsonb)
), found AS (
    SELECT g.search_id, s.user_id, g.score, g.reasons
    FROM given g CROSS JOIN LATERAL (
        SELECT s.user_id FROM saved_searches s WHERE s.id = g.search_id AND s.active LIMIT 1
    ) s
), stale AS (
    DELETE FROM matches m USING job j
    WHERE m.job_id = j.id
      AND NOT EXISTS (SELECT FROM given g WHERE g.search_id = m.saved_search_id)
), upserted AS (
    INSERT INTO matches AS m (job_id, saved_search_id, user_id, score, reasons)
    SELECT %(job_id)s, search_id, user_id, score, reasons FROM found
    ON CONFLICT (job_id, saved_search_id) DO UPDATE SET
        score = EXCLUDED.score, reasons = EXCLUDED.reasons, matched_at = now()
    WHERE (m.score, m.reasons) IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.reasons)
), notified AS (
    INSERT INTO notifications AS n (user_id, job_id, saved_search_id, channel, status,
                                    attempts, attempted_at)
    SELECT DISTINCT ON (user_id) user_id, %(job_id)s, search_id, %(channel)s, 'sending', 1, now()
    FROM found ORDER BY user_id, score DESC, search_id
    ON CONFLICT (user_id, job_id) DO NOTHING
    RETURNING n.id, n.user_id, n.saved_search_id
)
SELECT c.current, r.id, r.user_id, r.email, r.name, r.saved_search_id::text AS search_key
FROM (SELECT EXISTS (SELECT FROM job) AS current) c
LEFT JOIN LATERAL (
    SELECT n.id, n.user_id, u.email, u.name, n.saved_search_id
    FROM notified n CROSS JOIN LATERAL (
        SELECT u.email, u.name FROM users u WHERE u.id = n.user_id LIMIT 1
    ) u
) r ON true"""


def load_job(conn: Conn, job_id: uuid.UUID) -> JobPosting | None:
    """The job as the scanner stored it, or None if there is no such job."""
    with conn.cursor(row_factory=class_row(JobPosting)) as cur:
        return cur.execute(_LOAD_JOB, (job_id,)).fetchone()


@dataclass(frozen=True, slots=True)
class Persisted:
    """What `persist` did: whether the job's version was current, and whom to notify."""

    #: False when the job changed since it was read: then nothing was written.
    current: bool
    #: The notifications inserted as `sending`, to be sent now.
    notifications: list[Notification]


def persist(
    conn: Conn, job: JobPosting, analysis: Analysis, matches: list[Match], channel: str
) -> Persisted:
    """Write analysis, matches and new notifications in one statement, if `job` is current.

    Run it on an autocommit connection: the statement is its own transaction, and it has
    committed when this returns, before any notification it returns is sent. A job whose
    `content_hash` is no longer the stored one (a newer version was stored since it was read)
    is not written at all.
    """
    # Per match: one pass, its id as text once (also the key back from the notifications,
    # so no UUID is hashed in Python), its score rounded once.
    given = {str(m.saved_search_id): (m, _score(m.score)) for m in matches}
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
                {"search_id": search_id, "score": score, "reasons": m.reasons}
                for search_id, (m, score) in given.items()
            ],
            ensure_ascii=False,
        ),
        "channel": channel,
    }
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_PERSIST, params).fetchall()
    return Persisted(
        current=bool(rows[0]["current"]),
        notifications=[
            _notification(job, *given[row["search_key"]], row)
            for row in rows
            if row["id"] is not None
        ],
    )


def _notification(job: JobPosting, match: Match, score: float, row: dict[str, Any]) -> Notification:
    """The notification the statement inserted (`row`: its id and recipient) for `match`."""
    about = {"job_id": job.job_id, "title": job.title, "company": job.company, "url": job.url}
    chosen = {"saved_search_id": match.saved_search_id, "score": score, "reasons": match.reasons}
    return Notification.from_row(row | about | chosen)


def _score(value: float) -> float:
    # `real` keeps ~6 digits: round so that the same score compares equal on re-delivery.
    return round(value, 4)
