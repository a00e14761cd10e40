"""Slots: the consumer's count of free handler threads."""

from __future__ import annotations

from worker.slots import Slots


def test_slots_hand_out_only_what_is_free() -> None:
    slots = Slots(4)
    assert slots.take(10, timeout=0) == 4
    assert slots.take(10, timeout=0.01) == 0
    slots.give(3)
    assert slots.take(2, timeout=0) == 2
    assert slots.busy() == 3
    assert not slots.wait_all_free(0.01)
    slots.give(3)
    assert slots.wait_all_free(0.01)
