"""CloudWatch metric math, evaluated over the datapoints an alarm retrieves.

A value is a scalar (`float`), a time series (`list[float | None]`, oldest first, `None` where
the period has no datapoint) or an array of time series (`list` of those). The rules are the
ones the CloudWatch user guide states for metric math
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html):
- arithmetic between time series treats a missing value as 0 (a timestamp missing in every
  operand stays missing), and drops a datapoint that would divide by zero;
- comparisons between time series treat a missing value in one of them as 0;
- MAX/MIN/SUM/AVG of an array give a time series (AVG counts missing as 0), of one time series
  a scalar over all its datapoints;
- IF(condition, a, b) and FILL(series, value | REPEAT | LINEAR) as documented there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from itertools import pairwise

from devtools.planner.mathsyntax import OPERATORS, MetricMathError, Node, ids_in, parse

__all__ = ["Array", "MetricMathError", "Node", "Series", "Value", "evaluate", "ids_in", "parse"]

Series = list[float | None]
Array = tuple[Series, ...]
Value = float | Series | Array


def evaluate(node: Node, series: Mapping[str, Series]) -> Value:
    """Evaluate a parsed expression over time series aligned on the same timestamps."""
    if node.kind == "num":
        return node.number
    if node.kind == "id":
        if node.text not in series:
            raise MetricMathError(f"unknown id {node.text!r}")
        return list(series[node.text])
    if node.kind == "neg":
        return _binary("*", -1.0, evaluate(node.args[0], series))
    if node.kind == "array":
        return tuple(_as_series(evaluate(arg, series), _length(series)) for arg in node.args)
    if node.kind == "op":
        left, right = (evaluate(arg, series) for arg in node.args)
        return _binary(node.text, left, right)
    if node.kind == "call":
        return _call(node, series)
    raise MetricMathError(f"{node.text!r} is not a value here")


def _length(series: Mapping[str, Series]) -> int:
    return max((len(values) for values in series.values()), default=0)


def _as_series(value: Value, length: int) -> Series:
    if isinstance(value, tuple):
        raise MetricMathError("an array of time series is not allowed here")
    if isinstance(value, float):
        return [value] * length
    return list(value)


def _binary(op: str, left: Value, right: Value) -> Value:
    if isinstance(left, tuple):
        return tuple(_as_series(_binary(op, item, right), len(item)) for item in left)
    if isinstance(right, tuple):
        return tuple(_as_series(_binary(op, left, item), len(item)) for item in right)
    fn = OPERATORS[op][1]
    if isinstance(left, float) and isinstance(right, float):
        result = _apply(fn, op, left, right)
        if result is None:
            raise MetricMathError(f"{left} {op} {right} has no value")
        return result
    if isinstance(left, float) or isinstance(right, float):
        # A time series with a scalar: a missing datapoint stays missing.
        length = len(right) if isinstance(right, list) else len(left)  # type: ignore[arg-type]
        pairs = zip(_as_series(left, length), _as_series(right, length), strict=True)
        return [None if a is None or b is None else _apply(fn, op, a, b) for a, b in pairs]
    # Two time series: a missing value counts as 0 where the other one has a datapoint.
    return [
        None if a is None and b is None else _apply(fn, op, a or 0.0, b or 0.0)
        for a, b in zip(left, right, strict=True)
    ]


def _apply(fn: Callable[[float, float], float], op: str, a: float, b: float) -> float | None:
    if op == "/" and b == 0:
        return None  # "the data point is dropped"
    result = fn(a, b)
    return None if math.isnan(result) or math.isinf(result) else float(result)


def _call(node: Node, series: Mapping[str, Series]) -> Value:
    name = node.text
    if name == "FILL":
        return _fill(node, series)
    if name == "IF":
        return _if(node, series)
    args = [evaluate(arg, series) for arg in node.args]
    if name in _REDUCERS and len(args) == 1:
        return _reduce(name, args[0])
    if name in _ELEMENTWISE and len(args) == 1:
        return _elementwise(_ELEMENTWISE[name], args[0])
    if name == "TIME_SERIES" and len(args) == 1 and isinstance(args[0], float):
        return _as_series(args[0], _length(series))
    raise MetricMathError(f"function {name} with {len(args)} argument(s) is not supported")


def _elementwise(fn: Callable[[float], float], value: Value) -> Value:
    if isinstance(value, float):
        return fn(value)
    if isinstance(value, tuple):
        return tuple([None if v is None else fn(v) for v in item] for item in value)
    return [None if v is None else fn(v) for v in value]


_ELEMENTWISE: dict[str, Callable[[float], float]] = {
    "ABS": abs,
    "CEIL": lambda v: float(math.ceil(v)),
    "FLOOR": lambda v: float(math.floor(v)),
}
_REDUCERS: dict[str, Callable[[list[float]], float]] = {
    "MAX": max,
    "MIN": min,
    "SUM": math.fsum,
    "AVG": lambda values: math.fsum(values) / len(values),
}


def _reduce(name: str, value: Value) -> Value:
    reducer = _REDUCERS[name]
    if isinstance(value, float):
        return value
    if isinstance(value, tuple):
        result: Series = []
        for column in zip(*value, strict=True):
            present = [v for v in column if v is not None]
            if name == "AVG":  # "Missing values are treated as 0."
                result.append(reducer([v or 0.0 for v in column]))
            else:
                result.append(reducer(present) if present else None)
        return result
    present = [v for v in value if v is not None]
    if not present:
        raise MetricMathError(f"{name} of a time series with no datapoints")
    return reducer(present)


def _fill(node: Node, series: Mapping[str, Series]) -> Value:
    if len(node.args) != 2:
        raise MetricMathError("FILL takes a time series and a filler")
    target = evaluate(node.args[0], series)
    filler_node = node.args[1]
    if isinstance(target, tuple):
        return tuple(_fill_one(item, filler_node, series) for item in target)
    return _fill_one(_as_series(target, _length(series)), filler_node, series)


def _fill_one(values: Series, filler_node: Node, series: Mapping[str, Series]) -> Series:
    if filler_node.kind == "word" and filler_node.text == "REPEAT":
        filled: Series = []
        last: float | None = None
        for value in values:
            last = value if value is not None else last
            filled.append(last)
        return filled
    if filler_node.kind == "word" and filler_node.text == "LINEAR":
        return _linear(values)
    filler = _as_series(evaluate(filler_node, series), len(values))
    return [v if v is not None else f for v, f in zip(values, filler, strict=True)]


def _linear(values: Series) -> Series:
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    filled = list(values)
    for (i0, v0), (i1, v1) in pairwise(known):
        for i in range(i0 + 1, i1):
            filled[i] = v0 + (v1 - v0) * (i - i0) / (i1 - i0)
    return filled


def _if(node: Node, series: Mapping[str, Series]) -> Value:
    if len(node.args) not in (2, 3):
        raise MetricMathError("IF takes a condition, a true value and an optional false value")
    length = _length(series)
    condition = evaluate(node.args[0], series)
    when_true = _as_series(evaluate(node.args[1], series), length)
    when_false = _as_series(evaluate(node.args[2], series), length) if len(node.args) == 3 else None
    if isinstance(condition, float):
        chosen = when_true if condition else when_false
        return chosen if chosen is not None else [None] * length  # "an empty time series"
    result: Series = []
    for i, flag in enumerate(_as_series(condition, length)):
        if flag is None:
            result.append(None)
        elif flag:
            # True with no datapoint in the true series gives 0, as documented.
            result.append(when_true[i] if when_true[i] is not None else 0.0)
        else:
            result.append(when_false[i] if when_false is not None else None)
    return result
