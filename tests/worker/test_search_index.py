"""SearchIndex changed in place: edits cost what changed, and match as a fresh build would."""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.worker.test_match import (
    analyses,
    jobs_strategy,
    make_job,
    search,
    searches_strategy,
)
from worker.analyze import RuleAnalyzer
from worker.match import _MERGE_AT, SearchIndex
from worker.model import JobPosting, SavedSearch

JOB = make_job(title="Platform Engineer", description="We run Kubernetes and Python.")


def _ids(index: SearchIndex, job: JobPosting = JOB) -> list[int]:
    return sorted(m.saved_search_id.int for m in index.match(job, RuleAnalyzer().analyze(job)))


def _many(count: int) -> list[SavedSearch]:
    return [search(n, keywords=(f"word{n}",), locations=("berlin",)) for n in range(1, count + 1)]


def test_an_edit_is_applied_alone_not_by_reindexing_every_search() -> None:
    searches = _many(1000)
    index = SearchIndex.build(searches)
    assert index.changes_applied == 1000
    assert index.apply([dataclasses.replace(searches[0], keywords=("kubernetes",))]) == 1
    assert index.changes_applied == 1001
    assert _ids(index) == [1]


def test_searches_given_again_unchanged_cost_no_change() -> None:
    searches = _many(200)
    index = SearchIndex.build(searches)
    assert index.apply(searches) == 0
    assert index.changes_applied == 200


def test_a_removed_search_stops_matching_and_a_new_one_matches() -> None:
    index = SearchIndex.build([search(1, keywords=("kubernetes",)), search(2, keywords=("go",))])
    assert _ids(index) == [1]
    assert index.apply([search(3, keywords=("python",))], [uuid.UUID(int=1)]) == 2
    assert _ids(index) == [3]
    assert len(index) == 2


def test_a_search_edited_into_a_bad_one_costs_only_itself(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="worker.match")
    index = SearchIndex.build(
        [search(1, keywords=("kubernetes",)), search(2, keywords=("python",))]
    )
    bad = search(2, keywords=("python", "x" * 5000))
    assert index.apply([bad]) == 1
    assert _ids(index) == [1]  # the old version of search 2 is gone too
    assert len(index) == 1
    skipped = [r for r in caplog.records if r.getMessage().startswith("saved search skipped")]
    assert [r.saved_search_id for r in skipped] == [str(bad.id)]  # type: ignore[attr-defined]
    caplog.clear()
    assert index.apply([bad]) == 0  # read again unchanged: not indexed, not logged again
    assert not caplog.records
    assert index.apply([search(2, keywords=("python",))]) == 1  # fixed: it matches again
    assert _ids(index) == [1, 2]


def test_words_added_one_at_a_time_are_found_before_and_after_their_scans_merge() -> None:
    index = SearchIndex.build([])
    count = _MERGE_AT + 10
    for n in range(1, count + 1):
        index.apply([search(n, keywords=(f"word{n}",))])
        job = make_job(title="Engineer", description=f"about word{n} and word1")
        assert _ids(index, job) == sorted({1, n})
    everything = make_job(description=" ".join(f"word{n}" for n in range(1, count + 1)))
    assert _ids(index, everything) == list(range(1, count + 1))
    index.apply(removals=[uuid.UUID(int=n) for n in range(2, count + 1)])
    assert _ids(index, everything) == [1]


def test_retain_removes_every_search_not_kept() -> None:
    index = SearchIndex.build([*_many(5), search(6, keywords=("x" * 5000,))])
    assert index.retain({uuid.UUID(int=2)}) == 5  # four indexed, one skipped
    assert len(index) == 1


@settings(max_examples=150, deadline=None)
@given(
    before=searches_strategy,
    after=searches_strategy,
    job=jobs_strategy,
    keep=st.lists(st.booleans(), min_size=40, max_size=40),
    data=st.data(),
)
def test_an_index_changed_in_place_matches_like_one_built_from_scratch(
    before: list[SavedSearch],
    after: list[SavedSearch],
    job: JobPosting,
    keep: list[bool],
    data: st.DataObject,
) -> None:
    # Some searches of `before` survive unchanged, the rest are deleted; some of `after` take
    # the ids (and so replace the versions) of `before` searches, the rest are new.
    before = list({s.id: s for s in before}.values())
    kept = [s for s, k in zip(before, keep, strict=False) if k]
    edited = [
        dataclasses.replace(new, id=old.id) if old is not None else new
        for new, old in zip(after, [*before, *([None] * len(after))], strict=False)
    ]
    final = {s.id: s for s in [*kept, *edited]}
    index = SearchIndex.build(before)
    index.apply(edited, [s.id for s in before if s.id not in final])
    analysis = data.draw(analyses(job))
    expected = SearchIndex.build(list(final.values())).match(job, analysis)
    assert index.match(job, analysis) == expected
    assert len(index) == len(final)


def test_matching_goes_on_while_searches_change() -> None:
    stable = search(1, keywords=("kubernetes",))
    index = SearchIndex.build([stable, *[search(n, keywords=(f"w{n}",)) for n in range(10, 300)]])
    versions = [search(2, keywords=("python",)), search(2, keywords=("golang",))]
    errors: list[BaseException] = []
    seen: set[tuple[int, ...]] = set()
    done = threading.Event()

    def match_repeatedly() -> None:
        try:
            while not done.is_set():
                seen.add(tuple(_ids(index)))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=match_repeatedly) for _ in range(4)]
    for thread in threads:
        thread.start()
    for n in range(300):
        index.apply([versions[n % 2], search(1000 + n, keywords=(f"new{n}",))])
    done.set()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert seen <= {(1,), (1, 2)}  # search 2 matches in its python version only
    assert _ids(index) == [1]  # the last version of search 2 is the golang one
