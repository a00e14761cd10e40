"""The saved searches a worker matches against: loaded once, then kept current change by change.

`SearchCache.get` looks for changes at most every `check_interval_s` and applies only those to
its `SearchIndex` (migration 0005 stamps every insert and update of a saved search with its
transaction id and leaves a tombstone for every delete): an edit costs work proportional to
what changed, not a reload of every search. The first look, and any look after tombstones the
worker had not read yet were pruned (or the table was truncated), loads every search instead.

Why transaction ids and not a counter: the cache remembers the oldest transaction still
running when it last looked (the snapshot's xmin) and next time reads everything stamped at or
after it. Every transaction below that had finished, so nothing committed late is skipped; a
change may be read twice, which the index ignores (an unchanged search costs a comparison).
https://www.postgresql.org/docs/16/functions-info.html#FUNCTIONS-PG-SNAPSHOT
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from sys import intern
from typing import Any, Final

import psycopg
from psycopg.rows import TupleRow

from worker.match import SearchIndex
from worker.model import SavedSearch

log = logging.getLogger(__name__)
Conn = psycopg.Connection[TupleRow]

_COLUMNS: Final = (
    "id, user_id, keywords, locations, remote_only, min_salary, salary_currency, seniority"
)
# One snapshot: its xmin (where the next look starts) and the ids deleted since `since` (none
# when NULL: a full load), a NULL id being a reload mark. Read before the changed rows, so
# that a delete or a prune that commits in between is seen next time, never lost.
_DELETED = """
SELECT pg_snapshot_xmin(pg_current_snapshot())::text,
       ARRAY(SELECT DISTINCT saved_search_id FROM saved_search_deletions
             WHERE deleted_xid >= %s::text::xid8)"""
_CHANGED = f"SELECT {_COLUMNS}, active FROM saved_searches WHERE change_xid >= %s::text::xid8"  # noqa: S608  # a constant
_PAGE = f"SELECT {_COLUMNS} FROM saved_searches WHERE active AND id > %s ORDER BY id LIMIT %s"  # noqa: S608
_PRUNE = "SELECT prune_saved_search_deletions(%s * interval '1 second')"

#: Searches read and applied at a time on a full load (each page briefly holds matching back).
PAGE_SIZE: Final = 5000
#: Tombstones older than this are pruned; a worker that has not looked since then reloads.
KEEP_TOMBSTONES_S: Final = 86_400.0
#: How often one worker prunes (any number of workers may; they never wait for each other).
PRUNE_INTERVAL_S: Final = 3_600.0


def saved_search(row: tuple[Any, ...], shared: dict[Any, Any] | None = None) -> SavedSearch:
    """A `saved_searches` row (`_COLUMNS` order) as a SavedSearch, its text fields as stored.

    Held for as long as the search is indexed, so it holds as little as it can: texts are
    interned, and values equal to one in `shared` (user ids, lists of texts) are that one.
    """
    share = shared if shared is not None else {}
    return SavedSearch(
        id=row[0],
        user_id=share.setdefault(row[1], row[1]),
        keywords=_texts(row[2], share),
        locations=_texts(row[3], share),
        remote_only=row[4],
        min_salary=row[5],
        salary_currency=intern(row[6].strip()) if row[6] else None,
        seniority=_texts(row[7], share),
    )


def _texts(items: list[Any], shared: dict[Any, Any]) -> tuple[Any, ...]:
    if not all(type(item) is str for item in items):
        return tuple(items)  # a hostile row's: the index refuses it
    texts = tuple(map(intern, items))
    return shared.setdefault(texts, texts)  # type: ignore[no-any-return]


class SearchCache:
    """The saved-search index, brought up to date from the database when a look is due.

    A thread that finds another one looking uses the index as it is rather than wait (except
    before the first load, when there is nothing to use yet).
    """

    def __init__(
        self,
        check_interval_s: float = 5.0,
        *,
        index: SearchIndex | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = check_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._index = index if index is not None else SearchIndex()
        self._since: int | None = None  # the xmin of the last look; None before the first load
        self._checked_at = float("-inf")
        self._pruned_at = float("-inf")

    @property
    def index(self) -> SearchIndex:
        """The index (changed in place by later looks)."""
        return self._index

    def get(self, conn: Conn) -> SearchIndex:
        """The index, first brought up to date from `conn` if a look is due."""
        if self._since is not None and self._clock() - self._checked_at < self._interval:
            return self._index
        if not self._lock.acquire(blocking=self._since is None):
            return self._index  # another thread is looking
        try:
            now = self._clock()
            if self._since is None or now - self._checked_at >= self._interval:
                self._refresh(conn)
                self._checked_at = now
                if now - self._pruned_at >= PRUNE_INTERVAL_S:
                    self._prune(conn)
                    self._pruned_at = now
        finally:
            self._lock.release()
        return self._index

    def _refresh(self, conn: Conn) -> None:
        cpu, started = time.thread_time(), time.perf_counter()
        since = None if self._since is None else str(self._since)
        row = conn.execute(_DELETED, (since,)).fetchone()
        assert row is not None  # a SELECT without FROM returns one row
        horizon, deleted = int(row[0]), row[1]
        figures: dict[str, float]
        if self._since is None or None in deleted:
            figures = self._load_all(conn)
            message = "saved searches loaded"
        else:
            figures = self._apply_changes(conn, self._since, deleted)
            message = "saved searches updated"
        self._since = horizon
        if figures["changed"] or message == "saved searches loaded":
            figures.update(
                indexed=len(self._index),
                cpu_ms=round(1000 * (time.thread_time() - cpu), 3),
                duration_ms=round(1000 * (time.perf_counter() - started), 3),
            )
            log.info(message, extra=figures)

    def _apply_changes(self, conn: Conn, since: int, deleted: list[uuid.UUID]) -> dict[str, float]:
        """Apply the rows stamped at or after `since` and the deletions read with them."""
        rows = conn.execute(_CHANGED, (str(since),)).fetchall()
        current = [saved_search(row) for row in rows if row[8]]
        present = {row[0] for row in rows}
        removed = [row[0] for row in rows if not row[8]]
        removed += [search_id for search_id in deleted if search_id not in present]
        changed = self._index.apply(current, removed) if rows or removed else 0
        return {"rows_read": len(rows), "deletions_read": len(deleted), "changed": changed}

    def _load_all(self, conn: Conn) -> dict[str, float]:
        """Every active search, a page at a time; then drop what is no longer there."""
        seen: set[uuid.UUID] = set()
        shared: dict[Any, Any] = {}
        changed = 0
        last = uuid.UUID(int=0)
        while page := conn.execute(_PAGE, (last, PAGE_SIZE)).fetchall():
            changed += self._index.apply([saved_search(row, shared) for row in page])
            seen.update(row[0] for row in page)
            last = page[-1][0]
        changed += self._index.retain(seen)
        return {"rows_read": len(seen), "changed": changed}

    def _prune(self, conn: Conn) -> None:
        try:
            row = conn.execute(_PRUNE, (KEEP_TOMBSTONES_S,)).fetchone()
        except psycopg.Error as error:  # housekeeping: the next prune may work
            log.warning("saved-search tombstones not pruned: %s", error)
            return
        if row and row[0]:
            log.info("saved-search tombstones pruned", extra={"pruned": row[0]})
