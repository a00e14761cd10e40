"""SearchCache against the real database: each look applies only what changed since the last.

Every look here is due at once (`check_interval_s=0`); `changes_applied` counts the searches
the index added, replaced or removed, so a test sees whether a look reloaded everything.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from jobping.db import open_pool
from jobping.migrate import migrate
from tests.worker.test_match import make_job
from tests.worker.test_pipeline import insert_search
from worker.analyze import RuleAnalyzer
from worker.model import JobPosting
from worker.searches import SearchCache

JOB = make_job(title="Platform Engineer", description="We run Kubernetes and Python in Berlin.")


@pytest.fixture
def pool(db: str) -> Iterator[ConnectionPool]:
    """Two autocommit connections, as the worker's."""
    with open_pool(db, size=2, wait=True, autocommit=True) as pool:
        yield pool


def _look(cache: SearchCache, pool: ConnectionPool, job: JobPosting = JOB) -> set[str]:
    """Bring the cache up to date; the names of the searches `job` matches."""
    with pool.connection() as conn:
        index = cache.get(conn)
        found = {m.saved_search_id for m in index.match(job, RuleAnalyzer().analyze(job))}
        names = conn.execute(
            "SELECT name FROM saved_searches WHERE id = ANY(%s)", (list(found),)
        ).fetchall()
    return {row[0] for row in names}


def _searches(url: str, count: int, keyword: str = "cobol") -> None:
    for user in range(count // 10 + 1):
        with psycopg.connect(url) as conn:
            conn.execute(
                "WITH u AS (INSERT INTO users (email) VALUES (%s) RETURNING id) "
                "INSERT INTO saved_searches (user_id, name, keywords) "
                "SELECT u.id, 'bulk ' || %s || '-' || n, ARRAY[%s] "
                "FROM u, generate_series(1, %s) n",
                (f"bulk{user}@example.com", user, keyword, min(10, count - 10 * user)),
            )


def _execute(url: str, sql: str, *params: object) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.encode(), params)


def test_an_edit_is_applied_alone_not_by_reloading_every_search(
    db: str, pool: ConnectionPool
) -> None:
    _searches(db, 100)
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    cache = SearchCache(check_interval_s=0)
    assert _look(cache, pool) == {"k8s"}
    assert cache.index.changes_applied == 101
    _execute(db, "UPDATE saved_searches SET keywords = '{golang}' WHERE name = 'k8s'")
    assert _look(cache, pool) == set()
    assert cache.index.changes_applied == 102
    assert _look(cache, pool) == set()  # nothing changed since: nothing applied
    assert cache.index.changes_applied == 102


def test_a_new_search_matches_after_the_next_look(db: str, pool: ConnectionPool) -> None:
    _searches(db, 50)
    cache = SearchCache(check_interval_s=0)
    assert _look(cache, pool) == set()
    insert_search(db, "ben@example.com", "python", keywords=["python"])
    assert _look(cache, pool) == {"python"}
    assert cache.index.changes_applied == 51


def test_a_deleted_search_stops_matching_after_the_next_look(db: str, pool: ConnectionPool) -> None:
    _searches(db, 50)
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    insert_search(db, "cy@example.com", "py", keywords=["python"])
    cache = SearchCache(check_interval_s=0)
    assert _look(cache, pool) == {"k8s", "py"}
    _execute(db, "DELETE FROM saved_searches WHERE name = 'k8s'")
    _execute(db, "DELETE FROM users WHERE email = 'cy@example.com'")  # cascades to 'py'
    _execute(db, "UPDATE saved_searches SET active = false WHERE name = 'bulk 0-1'")
    assert _look(cache, pool) == set()
    assert cache.index.changes_applied == 52 + 3
    assert len(cache.index) == 49


def test_a_bad_search_edited_in_costs_only_itself(
    new_database: Callable[[], str], caplog: pytest.LogCaptureFixture
) -> None:
    # A row the database let through: one written before its limits existed, say (migration
    # 0002 added them NOT VALID), edited by something that bypasses them.
    caplog.set_level(logging.WARNING, logger="worker.match")
    url = new_database()
    migrate(url)
    _execute(url, "ALTER TABLE saved_searches DROP CONSTRAINT saved_searches_keywords_limit")
    insert_search(url, "ana@example.com", "k8s", keywords=["kubernetes"])
    insert_search(url, "eve@example.com", "py", keywords=["python"])
    cache = SearchCache(check_interval_s=0)
    with open_pool(url, size=2, wait=True, autocommit=True) as pool:
        assert _look(cache, pool) == {"k8s", "py"}
        for poison in ("{python,NULL}", "{{python,go},{a,b}}", "{" + "x" * 5000 + "}"):
            _execute(url, "UPDATE saved_searches SET keywords = %s WHERE name = 'py'", poison)
            assert _look(cache, pool) == {"k8s"}
        _execute(url, "UPDATE saved_searches SET keywords = '{python}' WHERE name = 'py'")
        assert _look(cache, pool) == {"k8s", "py"}
    skipped = [r for r in caplog.records if r.getMessage().startswith("saved search skipped")]
    assert len(skipped) == 3


def test_an_edit_committed_after_a_later_one_is_not_missed(db: str, pool: ConnectionPool) -> None:
    # Stamps are handed out in statement order but become visible in commit order: a look
    # between the two commits sees the later stamp first.
    insert_search(db, "ana@example.com", "k8s", keywords=["cobol"])
    insert_search(db, "ben@example.com", "py", keywords=["cobol"])
    cache = SearchCache(check_interval_s=0)
    assert _look(cache, pool) == set()
    with psycopg.connect(db) as slow:
        slow.execute("UPDATE saved_searches SET keywords = '{kubernetes}' WHERE name = 'k8s'")
        _execute(db, "UPDATE saved_searches SET keywords = '{python}' WHERE name = 'py'")
        assert _look(cache, pool) == {"py"}
    assert _look(cache, pool) == {"k8s", "py"}


def test_a_truncate_makes_the_next_look_reload_every_search(db: str, pool: ConnectionPool) -> None:
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    cache = SearchCache(check_interval_s=0)
    assert _look(cache, pool) == {"k8s"}
    _execute(db, "TRUNCATE saved_searches CASCADE")  # no tombstones: a reload mark instead
    insert_search(db, "ben@example.com", "py", keywords=["python"])
    assert _look(cache, pool) == {"py"}


def test_pruned_tombstones_make_a_worker_that_had_not_seen_them_reload(
    db: str, pool: ConnectionPool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="worker.searches")
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    insert_search(db, "ben@example.com", "py", keywords=["python"])
    behind, current = SearchCache(check_interval_s=0), SearchCache(check_interval_s=0)
    assert _look(behind, pool) == _look(current, pool) == {"k8s", "py"}
    _execute(db, "DELETE FROM saved_searches WHERE name = 'k8s'")
    assert _look(current, pool) == {"py"}  # `current` reads the tombstone; `behind` does not
    _execute(
        db,
        "UPDATE saved_search_deletions SET deleted_at = now() - interval '2 days' "
        "WHERE saved_search_id IS NOT NULL",
    )
    with psycopg.connect(db, autocommit=True) as conn:
        assert conn.execute("SELECT prune_saved_search_deletions('1 day')").fetchone() == (1,)
    caplog.clear()
    assert _look(behind, pool) == {"py"}
    assert _look(current, pool) == {"py"}
    loads = [r.getMessage() for r in caplog.records if r.getMessage().startswith("saved searches")]
    assert loads == ["saved searches loaded"]  # `behind` only


def test_threads_that_find_a_look_under_way_use_the_index_as_it_is(
    db: str, pool: ConnectionPool
) -> None:
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    cache = SearchCache(check_interval_s=0)
    assert _look(cache, pool) == {"k8s"}
    insert_search(db, "ben@example.com", "py", keywords=["python"])
    with psycopg.connect(db) as conn:  # holds the cache's lock as a look in progress would
        cache._lock.acquire()
        try:
            result: list[object] = []
            thread = threading.Thread(target=lambda: result.append(cache.get(conn)))
            thread.start()
            thread.join(10)
            assert result == [cache.index]  # returned at once, not blocked
            assert len(cache.index) == 1  # and without looking
        finally:
            cache._lock.release()
    assert _look(cache, pool) == {"k8s", "py"}
