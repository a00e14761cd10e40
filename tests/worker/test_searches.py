"""Saved searches are hostile input: limits in the database, and a bad one costs only itself.

Scenario for the fault matrix (`make faults`): `poison_searches` (searches that stopped every
job before: a 5,000-character keyword, searches far over the limits) and
`store_legacy_searches` (such rows written before the database enforced the limits).
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from jobping.db import open_pool
from jobping.migrate import MIGRATIONS_DIR, migrate
from tests.faultmatrix import FaultMatrix, FaultRow, sent_twice
from tests.worker.conftest import wait_for
from tests.worker.test_match import make_analysis, make_job
from tests.worker.test_pipeline import (
    RecordingNotifier,
    insert_job,
    insert_search,
    make_pipeline,
    message,
)
from worker.analyze import RuleAnalyzer
from worker.match import SearchIndex, _WordScan
from worker.model import MAX_SEARCHES_PER_USER, SavedSearch
from worker.notify import NotificationSender
from worker.pipeline import JobPipeline
from worker.searches import SearchCache

USER = uuid.UUID(int=7)
GOOD = SavedSearch(id=uuid.UUID(int=1), user_id=uuid.UUID(int=8), keywords=("kubernetes",))


def poison_searches() -> list[SavedSearch]:
    """Fault "poison search": searches that must cost only themselves when indexed.

    A single word of 5,000 characters (it raised RecursionError while the index was built, so
    every job failed), and searches over each limit the database now enforces.
    """
    return [
        SavedSearch(id=uuid.UUID(int=101), user_id=USER, keywords=("x" * 5000,)),
        SavedSearch(id=uuid.UUID(int=102), user_id=USER, keywords=("kubernetes " * 500,)),
        SavedSearch(
            id=uuid.UUID(int=103), user_id=USER, keywords=tuple(f"k{i}" for i in range(1000))
        ),
        SavedSearch(id=uuid.UUID(int=104), user_id=USER, locations=("berlin" * 1000,)),
        SavedSearch(id=uuid.UUID(int=105), user_id=USER, seniority=("senior",) * 50),
        SavedSearch(id=uuid.UUID(int=106), user_id=USER, keywords=(["not", "text"],)),  # type: ignore[arg-type]
    ]


def test_poison_searches_cost_only_themselves(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="worker.match")
    index = SearchIndex.build([*poison_searches(), GOOD])
    assert len(index) == 1
    job = make_job(title="Kubernetes Engineer", description="x" * 5000)
    assert [m.saved_search_id for m in index.match(job, make_analysis())] == [GOOD.id]
    skipped = [r for r in caplog.records if r.getMessage().startswith("saved search skipped")]
    assert sorted(r.saved_search_id for r in skipped) == [  # type: ignore[attr-defined]
        str(s.id) for s in poison_searches()
    ]


def test_keywords_that_nest_the_word_scan_as_deep_as_the_limits_allow_still_match() -> None:
    # "a", "aa", …: every character of the longest word opens a group in the scan's regex.
    chain = [
        SavedSearch(id=uuid.UUID(int=n), user_id=USER, keywords=("a" * n,)) for n in range(1, 101)
    ]
    index = SearchIndex.build(chain)
    assert len(index) == 100
    job = make_job(title="Engineer", description=f"{'a' * 50} {'a' * 100} {'a' * 101}")
    found = sorted(m.saved_search_id.int for m in index.match(job, make_analysis()))
    assert found == [50, 100]


def test_a_word_scan_too_deep_to_compile_finds_words_by_splitting() -> None:
    scan = _WordScan.of(["a" * n for n in range(1, 1500)])  # far past any limit
    assert scan.scan is None
    assert scan.present(f"x {'a' * 700} {'a' * 1500} y") == {"a" * 700}


@pytest.fixture
def pool(db: str) -> Iterator[ConnectionPool]:
    """Two autocommit connections, as the worker's."""
    with open_pool(db, size=2, wait=True, autocommit=True) as pool:
        yield pool


def _insert_raw(url: str, user_id: Any, name: str, **columns: Any) -> None:
    keys = ["user_id", "name", *columns]
    with psycopg.connect(url) as conn:
        conn.execute(
            psycopg.sql.SQL("INSERT INTO saved_searches ({}) VALUES ({})").format(
                psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, keys)),
                psycopg.sql.SQL(", ").join(psycopg.sql.Placeholder() * len(keys)),
            ),
            [user_id, name, *columns.values()],
        )


def _user(url: str, email: str) -> uuid.UUID:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "INSERT INTO users (email) VALUES (%s) RETURNING id", (email,)
        ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def store_legacy_searches(url: str, tmp_path: Path) -> None:
    """Fault "poison search" in the database: rows written before the limits existed.

    Migrates `url` to the first schema only, stores Eve's poison searches (a 5,000-character
    keyword, a two-dimensional keyword array, a NULL keyword), then applies the remaining
    migrations, whose limits do not fail on old rows (NOT VALID).
    """
    first_only = tmp_path / "first"
    first_only.mkdir()
    shutil.copy(MIGRATIONS_DIR / "0001_initial.sql", first_only)
    migrate(url, first_only)
    eve = _user(url, "eve@example.com")
    _insert_raw(url, eve, "long", keywords=["x" * 5000])
    _insert_raw(url, eve, "grid", keywords=[["kubernetes", "go"], ["a", "b"]])
    _insert_raw(url, eve, "null", keywords=["kubernetes", None])
    migrate(url)


@pytest.mark.fault
def test_searches_stored_before_the_limits_do_not_stop_other_users_matches(
    new_database: Callable[[], str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    fault_matrix: FaultMatrix,
) -> None:
    caplog.set_level(logging.WARNING, logger="worker.match")
    url = new_database()
    store_legacy_searches(url, tmp_path)
    job_id = insert_job(url)
    insert_search(url, "ana@example.com", "k8s", keywords=["kubernetes"])
    notifier = RecordingNotifier()
    with open_pool(url, size=2, wait=True, autocommit=True) as pool:
        make_pipeline(pool, notifier)(message(job_id))
    assert [n.email for n in notifier.sent] == ["ana@example.com"]
    skipped = [r for r in caplog.records if r.getMessage().startswith("saved search skipped")]
    assert len(skipped) == 3
    with psycopg.connect(url) as conn:  # the job's matches for users other than Eve
        matched = conn.execute(
            "SELECT count(DISTINCT job_id) FROM matches m JOIN users u ON u.id = m.user_id "
            "WHERE u.email <> 'eve@example.com'"
        ).fetchall()
    row = fault_matrix.record(
        FaultRow(
            fault="worker: 3 poison saved searches (stored before the limits)",
            messages_in=1,
            processed=matched[0][0],
            duplicate_effects=sent_twice(notifier.sent),
        )
    )
    assert (row.lost, row.duplicate_effects, row.redriven) == (0, 0, 0), row


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("keywords", ["x" * 101]),
        ("keywords", [f"k{i}" for i in range(21)]),
        ("keywords", ["kubernetes", None]),
        ("keywords", [["kubernetes"], ["go"]]),
        ("locations", ["berlin" * 20]),
        ("locations", [f"city {i}" for i in range(21)]),
        ("seniority", ["senior"] * 11),
        ("seniority", ["s" * 33]),
        ("name", "n" * 201),
    ],
)
def test_the_database_rejects_a_search_over_a_limit(db: str, column: str, value: Any) -> None:
    user = _user(db, "ana@example.com")
    fields: dict[str, Any] = {"name": "search", column: value}
    with pytest.raises(psycopg.errors.CheckViolation):
        _insert_raw(db, user, **fields)


def test_the_database_accepts_a_search_at_every_limit(db: str) -> None:
    user = _user(db, "ana@example.com")
    _insert_raw(
        db,
        user,
        "n" * 200,
        keywords=["k" * 100] + [f"k{i}" for i in range(19)],
        locations=["l" * 100] * 20,
        seniority=["s" * 32] * 10,
    )
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM saved_searches").fetchone() == (1,)


def test_a_user_has_at_most_the_limit_of_searches(db: str) -> None:
    ana, ben = _user(db, "ana@example.com"), _user(db, "ben@example.com")
    with psycopg.connect(db) as conn:  # all in one statement: the trigger sees each row
        conn.execute(
            "INSERT INTO saved_searches (user_id, name) SELECT %s, 's' || n "
            "FROM generate_series(1, %s) AS n",
            (ana, MAX_SEARCHES_PER_USER),
        )
    with pytest.raises(psycopg.errors.CheckViolation, match="maximum of 50"):
        _insert_raw(db, ana, "one too many")
    _insert_raw(db, ben, "bens")
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE saved_searches SET name = 'renamed' WHERE name = 's1'")  # fine
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE saved_searches SET user_id = %s WHERE name = 'bens'", (ana,))


def _waiting_on_a_lock(url: str) -> bool:
    # A connection of its own: within a transaction, pg_stat_activity does not change.
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        ).fetchone()
    return row is not None and row[0] > 0


def test_two_searches_added_at_once_cannot_pass_the_limit_together(db: str) -> None:
    ana = _user(db, "ana@example.com")
    with psycopg.connect(db) as conn:
        conn.execute(
            "INSERT INTO saved_searches (user_id, name) SELECT %s, 's' || n "
            "FROM generate_series(1, %s) AS n",
            (ana, MAX_SEARCHES_PER_USER - 1),
        )
    errors: list[BaseException] = []
    with psycopg.connect(db) as first:
        first.execute("INSERT INTO saved_searches (user_id, name) VALUES (%s, 'first')", (ana,))

        def second() -> None:  # blocks on Ana's row until `first` commits, then counts 51
            try:
                _insert_raw(db, ana, "second")
            except psycopg.Error as error:
                errors.append(error)

        thread = threading.Thread(target=second)
        thread.start()
        wait_for(lambda: _waiting_on_a_lock(db), 10, "the second insert to wait for the first")
    thread.join(10)
    assert [type(e) for e in errors] == [psycopg.errors.CheckViolation]
    with psycopg.connect(db) as conn:
        count = conn.execute("SELECT count(*) FROM saved_searches").fetchone()
    assert count == (MAX_SEARCHES_PER_USER,)


class _CountingCursor(psycopg.Cursor[TupleRow]):
    """Records every statement its connection runs (`Connection.execute` goes through it)."""

    statements: ClassVar[list[str]] = []

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        type(self).statements.append(str(query))
        return super().execute(query, *args, **kwargs)


def _statements_for_one_job(pool: ConnectionPool, url: str, job_id: uuid.UUID) -> tuple[int, int]:
    """(statements run, matches written) for one delivery of `job_id`, results reset first."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE matches, notifications, job_analyses")
    cache = SearchCache(check_interval_s=3600)
    sender = NotificationSender(pool, RecordingNotifier())
    pipeline = JobPipeline(pool, RuleAnalyzer(), sender, searches=cache)
    with pool.connection() as conn:
        cache.get(conn)  # the first look loads every search; none is due during the job
    _CountingCursor.statements.clear()
    pipeline(message(job_id))
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM matches").fetchone()
    assert row is not None
    return len(_CountingCursor.statements), row[0]


def test_a_job_costs_the_same_statements_however_many_searches_match(db: str) -> None:
    job_id = insert_job(db)
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"])
    kwargs = {"autocommit": True, "cursor_factory": _CountingCursor}
    with ConnectionPool(db, kwargs=kwargs, min_size=1, max_size=1, open=True) as pool:
        one = _statements_for_one_job(pool, db, job_id)
        with psycopg.connect(db) as conn:  # 300 more matching searches across 60 more users
            conn.execute(
                "INSERT INTO users (email) SELECT 'u' || n || '@example.com' "
                "FROM generate_series(1, 60) n"
            )
            conn.execute(
                "INSERT INTO saved_searches (user_id, name, keywords) "
                "SELECT u.id, 's' || n, '{python}' FROM users u, generate_series(1, 5) n "
                "WHERE u.email LIKE 'u%%'"
            )
        many = _statements_for_one_job(pool, db, job_id)
    # Read the job, write analysis + matches + notifications, record the sends' outcomes.
    assert one == (3, 1)
    assert many == (3, 301)


def test_a_salary_floor_of_nan_costs_only_its_search(
    db: str, pool: ConnectionPool, caplog: pytest.LogCaptureFixture
) -> None:
    # numeric(12, 2) stores 'NaN', and comparing a salary with it raises in Python: every job
    # with a salary would have failed against this one search.
    caplog.set_level(logging.WARNING, logger="worker.match")
    job_id = insert_job(db)  # its description states a salary in EUR
    insert_search(db, "ana@example.com", "k8s", keywords=["kubernetes"], min_salary=50_000)
    insert_search(db, "eve@example.com", "nan", keywords=["kubernetes"], min_salary="NaN")
    notifier = RecordingNotifier()
    make_pipeline(pool, notifier)(message(job_id))
    assert [n.email for n in notifier.sent] == ["ana@example.com"]
    skipped = [r for r in caplog.records if r.getMessage().startswith("saved search skipped")]
    assert len(skipped) == 1
