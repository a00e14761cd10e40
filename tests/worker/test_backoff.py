"""Backoff: full jitter under a ceiling that doubles per receive, capped twice."""

from __future__ import annotations

import random

from worker.backoff import Backoff


def test_backoff_doubles_per_receive_up_to_the_caps() -> None:
    top = Backoff(base=2, cap=300, rand=lambda: 0.999999)
    assert [top.delay(n, 900) for n in (1, 2, 3, 5)] == [2, 4, 8, 32]
    assert top.delay(20, 900) == 300  # the configured cap
    assert top.delay(20, 60) == 60  # never longer than the visibility timeout
    assert top.delay(10_000, 10**6) == 300  # huge receive counts do not overflow
    assert Backoff(base=2, cap=10**6, rand=lambda: 0.999999).delay(60, 10**6) == 43_200
    assert Backoff(base=2, rand=lambda: 0.0).delay(7, 900) == 0


def test_backoff_has_full_jitter_within_the_ceiling() -> None:
    rng = random.Random(7)
    backoff = Backoff(base=2, cap=300, rand=rng.random)
    delays = [backoff.delay(5, 900) for _ in range(500)]
    assert min(delays) <= 2
    assert max(delays) >= 30
    assert all(0 <= d <= 32 for d in delays)
    assert len(set(delays)) > 20
