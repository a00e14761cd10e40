"""The fault matrix's own arithmetic: lost messages and DLQ reasons are counted, not assumed."""

from __future__ import annotations

from pathlib import Path

from tests.faultmatrix import FaultMatrix, FaultRow, dlq_counts, load_rows, render


def test_lost_is_what_is_neither_processed_nor_dead_lettered() -> None:
    row = FaultRow(
        fault="x", messages_in=10, processed=6, dead_lettered={"bad_json": 2}, redriven=1
    )
    assert row.lost == 1


def test_dlq_messages_without_a_reason_count_as_redriven() -> None:
    typed = {"MessageAttributes": {"jobping.error.type": {"StringValue": "bad_json"}}}
    assert dlq_counts([typed, typed, {"MessageAttributes": {}}, {}]) == ({"bad_json": 2}, 2)


def test_recorded_rows_render_as_one_table(tmp_path: Path) -> None:
    matrix = FaultMatrix(tmp_path)
    matrix.record(FaultRow(fault="b", messages_in=3, processed=3))
    matrix.record(
        FaultRow(fault="a", messages_in=2, processed=1, redriven=1, expected_redriven=True)
    )
    table = render(load_rows(tmp_path))
    assert table.splitlines()[2] == "| a | 2 | 1 | 0 | 1 (expected) | 0 | 0 |"
    assert table.splitlines()[3] == "| b | 3 | 3 | 0 | 0 | 0 | 0 |"
