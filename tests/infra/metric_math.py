"""Evaluate the CloudWatch metric-math expressions the scaling alarms use, on per-minute series.

A series maps a minute to a value; a minute without a datapoint is absent. The semantics are
those of https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
for the subset the program uses: `+ - * /` (a missing value in one time series is 0; a division
by zero drops the point), comparisons (1 or 0), `IF(cond, a[, b])` (no condition point or a false
one without `b`: dropped; a missing `a` point: 0), `CEIL`, and `FILL(ts, REPEAT | number)` over
the query's minutes.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable

Series = dict[int, float]
Value = Series | float
_TOKEN = re.compile(r"\s*(>=|<=|==|!=|[-+*/(),<>]|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?)")
_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    ">=": lambda a, b: float(a >= b), "<=": lambda a, b: float(a <= b),
    ">": lambda a, b: float(a > b), "<": lambda a, b: float(a < b),
    "==": lambda a, b: float(a == b), "!=": lambda a, b: float(a != b),
}  # fmt: skip
_LEVELS = (("<", ">", "<=", ">=", "==", "!="), ("+", "-"), ("*", "/"))


def evaluate(expression: str, metrics: dict[str, Series], minutes: range) -> Series:
    """The expression's series, given each metric id's series over the query's minutes."""
    tokens = [t for t in _TOKEN.findall(expression) if t]
    parser = _Parser(tokens, metrics, minutes)
    result = parser.expression(0)
    assert parser.done(), f"unparsed: {tokens[parser.at :]}"
    assert isinstance(result, dict), "an alarm's expression must give a time series"
    return result


class _Parser:
    def __init__(self, tokens: list[str], metrics: dict[str, Series], minutes: range) -> None:
        self.tokens, self.metrics, self.minutes, self.at = tokens, metrics, minutes, 0

    def done(self) -> bool:
        return self.at == len(self.tokens)

    def take(self, expected: str | None = None) -> str:
        token = self.tokens[self.at]
        assert expected is None or token == expected, f"expected {expected}, got {token}"
        self.at += 1
        return token

    def expression(self, level: int) -> Value:
        if level == len(_LEVELS):
            return self.atom()
        left = self.expression(level + 1)
        while not self.done() and self.tokens[self.at] in _LEVELS[level]:
            op = _BINARY[self.take()]
            left = _combine(op, left, self.expression(level + 1))
        return left

    def atom(self) -> Value:
        token = self.take()
        if token == "(":
            inner = self.expression(0)
            self.take(")")
            return inner
        if token == "-":
            return _combine(operator.sub, 0.0, self.atom())
        if token[0].isdigit():
            return float(token)
        if token in self.metrics:
            return dict(self.metrics[token])
        self.take("(")
        args = [self.argument()]
        while self.tokens[self.at] == ",":
            self.take(",")
            args.append(self.argument())
        self.take(")")
        return self.call(token, args)

    def argument(self) -> Value | str:
        return self.take() if self.tokens[self.at] == "REPEAT" else self.expression(0)

    def call(self, name: str, args: list[Value | str]) -> Value:
        if name == "CEIL":
            (series,) = args
            assert isinstance(series, dict)
            return {m: float(math.ceil(v)) for m, v in series.items()}
        if name == "FILL":
            series, filler = args
            assert isinstance(series, dict)
            return _fill(series, filler, self.minutes)
        assert name == "IF", f"unsupported function {name}"
        condition, when_true, *when_false = args
        assert isinstance(condition, dict)
        assert not isinstance(when_true, str)
        other = when_false[0] if when_false else None
        assert not isinstance(other, str)
        return _if(condition, when_true, other)


def _at(value: Value, minute: int, missing: float | None = 0.0) -> float | None:
    if isinstance(value, dict):
        return value.get(minute, missing)
    return value


def _combine(op: Callable[[float, float], float], left: Value, right: Value) -> Value:
    if not isinstance(left, dict) and not isinstance(right, dict):
        return op(left, right)
    keys = set(left if isinstance(left, dict) else {}) | set(
        right if isinstance(right, dict) else {}
    )
    out: Series = {}
    for minute in sorted(keys):
        a, b = _at(left, minute), _at(right, minute)
        assert a is not None
        assert b is not None
        if op is operator.truediv and b == 0:
            continue  # a division by zero drops the point
        out[minute] = op(a, b)
    return out


def _fill(series: Series, filler: Value | str, minutes: range) -> Series:
    out: Series = {}
    last: float | None = None
    for minute in minutes:
        if minute in series:
            last = out[minute] = series[minute]
        elif filler == "REPEAT":
            if last is not None:
                out[minute] = last
        else:
            value = _at(filler, minute)  # type: ignore[arg-type]
            assert value is not None
            out[minute] = value
    return out


def _if(condition: Series, when_true: Value, when_false: Value | None) -> Series:
    out: Series = {}
    for minute, truth in condition.items():
        if truth:
            out[minute] = _at(when_true, minute) or 0.0  # a missing `a` point counts as 0
        elif when_false is not None and (value := _at(when_false, minute, None)) is not None:
            out[minute] = value
    return out
