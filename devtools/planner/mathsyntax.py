"""CloudWatch metric-math syntax: expressions parsed into a small tree.

The grammar is the one the CloudWatch user guide documents
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html):
numbers, query ids (lower case first), `+ - * / ^`, unary minus, comparisons `== != < > <= >=`,
`AND`/`&&`, `OR`/`||`, parentheses, arrays `[a, b]` and upper-case function calls.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

_TOKEN = re.compile(
    r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(&&|\|\||[<>!=]=|[-+*/^(),<>\[\]]))"
)
OPERATORS: dict[str, tuple[int, Callable[[float, float], float]]] = {
    "OR": (1, lambda a, b: float(bool(a) or bool(b))),
    "AND": (2, lambda a, b: float(bool(a) and bool(b))),
    "==": (3, lambda a, b: float(a == b)),
    "!=": (3, lambda a, b: float(a != b)),
    "<": (4, lambda a, b: float(a < b)),
    ">": (4, lambda a, b: float(a > b)),
    "<=": (4, lambda a, b: float(a <= b)),
    ">=": (4, lambda a, b: float(a >= b)),
    "+": (5, operator.add),
    "-": (5, operator.sub),
    "*": (6, operator.mul),
    "/": (6, operator.truediv),
    "^": (7, operator.pow),
}


class MetricMathError(ValueError):
    """An expression the planner cannot parse or evaluate."""


@dataclass(frozen=True)
class Node:
    """One node of a parsed expression: a number, an id, an operator, a call or an array."""

    kind: str  # "num" | "id" | "op" | "neg" | "call" | "array" | "word"
    text: str = ""
    number: float = 0.0
    args: tuple[Node, ...] = ()


def parse(expression: str) -> Node:
    """Parse a metric-math expression into a tree."""
    symbols = _symbols(expression)
    node, position = _parse_binary(symbols, 0, 0)
    if position != len(symbols):
        raise MetricMathError(f"unexpected {symbols[position]!r} in {expression!r}")
    return node


def ids_in(node: Node) -> set[str]:
    """The query ids an expression refers to."""
    found = {node.text} if node.kind == "id" else set()
    for arg in node.args:
        found |= ids_in(arg)
    return found


def _symbols(expression: str) -> list[str]:
    symbols: list[str] = []
    position = 0
    text = expression.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise MetricMathError(f"cannot read {text[position:]!r} in {expression!r}")
        symbols.append(next(group for group in match.groups() if group is not None))
        position = match.end()
    return symbols


def _word(symbol: str) -> str:
    return {"&&": "AND", "||": "OR"}.get(symbol, symbol)


def _parse_binary(symbols: list[str], position: int, min_rank: int) -> tuple[Node, int]:
    left, position = _parse_unary(symbols, position)
    while position < len(symbols) and _word(symbols[position]) in OPERATORS:
        op = _word(symbols[position])
        rank = OPERATORS[op][0]
        if rank < min_rank:
            break
        # `^` binds right to left, every other operator left to right.
        right, position = _parse_binary(symbols, position + 1, rank if op == "^" else rank + 1)
        left = Node("op", op, args=(left, right))
    return left, position


def _parse_unary(symbols: list[str], position: int) -> tuple[Node, int]:
    if position >= len(symbols):
        raise MetricMathError("the expression ends too early")
    symbol = symbols[position]
    if symbol == "-":
        operand, position = _parse_binary(symbols, position + 1, OPERATORS["^"][0])
        return Node("neg", args=(operand,)), position
    if symbol in ("(", "["):
        items, position = _parse_list(symbols, position + 1, ")" if symbol == "(" else "]")
        if symbol == "[":
            return Node("array", args=tuple(items)), position
        if len(items) != 1:
            raise MetricMathError("a parenthesis holds one expression")
        return items[0], position
    if symbol[0].isdigit():
        return Node("num", symbol, float(symbol)), position + 1
    if symbol[0].isalpha() or symbol[0] == "_":
        if position + 1 < len(symbols) and symbols[position + 1] == "(":
            args, end = _parse_list(symbols, position + 2, ")")
            return Node("call", symbol.upper(), args=tuple(args)), end
        kind = "word" if symbol.isupper() else "id"  # ids start lower case, keywords are upper
        return Node(kind, symbol), position + 1
    raise MetricMathError(f"unexpected {symbol!r}")


def _parse_list(symbols: list[str], position: int, close: str) -> tuple[list[Node], int]:
    items: list[Node] = []
    while True:
        if position < len(symbols) and symbols[position] == close:
            return items, position + 1
        item, position = _parse_binary(symbols, position, 0)
        items.append(item)
        if position < len(symbols) and symbols[position] == ",":
            position += 1
        elif position >= len(symbols) or symbols[position] != close:
            raise MetricMathError(f"expected {close!r}")
