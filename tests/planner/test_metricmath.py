"""Metric math against the examples of the CloudWatch user guide ("Use metric math").

https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
"""

from __future__ import annotations

import pytest

from devtools.planner.metricmath import MetricMathError, Series, evaluate, ids_in, parse

# The guide's comparison example: metric1 = [30, 20, 0, 0], metric2 = [20, -, 20, -].
COMPARED: dict[str, Series] = {
    "metric1": [30.0, 20.0, 0.0, 0.0],
    "metric2": [20.0, None, 20.0, None],
}
# The guide's IF example.
IF_SERIES: dict[str, Series] = {
    "metric1": [1.0, 1.0, 0.0, 0.0, None],
    "metric2": [30.0, None, 0.0, 0.0, 30.0],
    "metric3": [0.0, 0.0, 20.0, None, 20.0],
}


def value(expression: str, series: dict[str, Series]) -> object:
    return evaluate(parse(expression), series)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("(metric1 < metric2)", [0.0, 0.0, 1.0, 0.0]),
        ("(metric1 >= 30)", [1.0, 0.0, 0.0, 0.0]),
        ("(metric1 > 15 AND metric2 > 15)", [1.0, 0.0, 0.0, 0.0]),
        ("(metric1 > 15 && metric2 > 15)", [1.0, 0.0, 0.0, 0.0]),
    ],
)
def test_comparisons_match_the_guides_table(expression: str, expected: Series) -> None:
    assert value(expression, COMPARED) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("IF(metric1, metric2, metric3)", [30.0, 0.0, 20.0, None, None]),
        ("IF(metric1, 5, metric3)", [5.0, 5.0, 20.0, None, None]),
        ("IF(metric1, metric2, 5)", [30.0, 0.0, 5.0, 5.0, None]),
    ],
)
def test_if_matches_the_guides_tables(expression: str, expected: Series) -> None:
    assert value(expression, IF_SERIES) == expected


def test_arithmetic_counts_a_missing_value_as_zero_where_the_other_series_has_one() -> None:
    # "Missing values in a time series are treated as 0."
    series: dict[str, Series] = {"a": [1.0, None, None], "b": [2.0, 3.0, None]}
    assert value("a + b", series) == [3.0, 3.0, None]


def test_division_by_zero_drops_the_datapoint() -> None:
    series: dict[str, Series] = {"a": [4.0, 4.0], "b": [2.0, 0.0]}
    assert value("a / b", series) == [2.0, None]


def test_a_series_with_a_scalar_keeps_its_missing_datapoints() -> None:
    assert value("a * 2 - 1", {"a": [1.0, None, 3.0]}) == [1.0, None, 5.0]


def test_array_functions_work_per_timestamp_and_avg_counts_missing_as_zero() -> None:
    series: dict[str, Series] = {"a": [1.0, None, None], "b": [3.0, 2.0, None]}
    assert value("MAX([a, b])", series) == [3.0, 2.0, None]
    assert value("MIN([a, b])", series) == [1.0, 2.0, None]
    assert value("SUM([a, b])", series) == [4.0, 2.0, None]
    assert value("AVG([a, b])", series) == [2.0, 1.0, 0.0]


def test_max_of_one_series_is_a_scalar_over_its_datapoints() -> None:
    assert value("a - MAX(a)", {"a": [1.0, None, 4.0]}) == [-3.0, None, 0.0]


def test_fill_with_a_value_repeat_and_linear() -> None:
    series: dict[str, Series] = {"a": [None, 2.0, None, 4.0, None]}
    assert value("FILL(a, 0)", series) == [0.0, 2.0, 0.0, 4.0, 0.0]
    assert value("FILL(a, REPEAT)", series) == [None, 2.0, 2.0, 4.0, 4.0]
    assert value("FILL(a, LINEAR)", series) == [None, 2.0, 3.0, 4.0, None]


def test_backlog_per_running_task_with_no_task_running() -> None:
    # No RunningTaskCount while no task runs: MAX([running, 1]) still divides by one.
    series: dict[str, Series] = {"visible": [40.0, 40.0], "running": [None, 2.0]}
    assert value("visible / MAX([running, 1])", series) == [40.0, 20.0]


def test_shortfall_expression_with_a_late_task_count() -> None:
    expression = "IF(visible >= 0, CEIL(visible / 1000) - FILL(running, REPEAT))"
    series: dict[str, Series] = {
        "visible": [0.0, 1500.0, 2500.0, None],
        "running": [1.0, None, 2.0, 2.0],
    }
    # Minute 2: the late task count repeats the last one (1); the last minute has no SQS data.
    assert value(expression, series) == [-1.0, 1.0, 1.0, None]
    assert ids_in(parse(expression)) == {"visible", "running"}


@pytest.mark.parametrize("expression", ["a +", "FOO(a)", "(a", "a $ b", "MAX(a, b, c)"])
def test_expressions_the_planner_cannot_evaluate_fail_clearly(expression: str) -> None:
    with pytest.raises(MetricMathError):
        value(expression, {"a": [1.0], "b": [2.0], "c": [3.0]})
