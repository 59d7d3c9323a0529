"""The three tools both τ-bench domains share, answering as upstream's do: ``calculate``, ``think`` and
``transfer_to_human_agents``.

Upstream's ``calculate`` keeps an expression whose characters are all digits, ``+ - * / ( ) .`` or spaces and
hands it to Python's ``eval``; the value is rounded to 2 decimals and printed with ``str``. Those characters
allow more than the schema's "numbers, operators (+, -, *, /), parentheses, and spaces": ``**`` (a power),
``//`` (a floor division), signs, ``1.`` and ``.5``, ``...`` (Ellipsis), ``()`` (an empty tuple) and calls such
as ``(2)(3)``, each answered as Python answers it (``Error: 'int' object is not callable``). Nothing here is
ever ``eval``-ed: the text is compiled (which runs nothing) so that every syntax error reads as upstream's, and
its syntax tree is then walked with Python's own operators, so results and error texts are the same. One
thing upstream lacks: a power or product whose whole-number result would pass :data:`MAX_INT_BITS` bits is
refused with ``Error: the expression is too large to calculate`` (upstream would compute it for minutes).
"""

from __future__ import annotations

import ast
import math
import operator
import warnings
from typing import Any

CALCULATOR_CHARACTERS = "0123456789+-*/(). "
#: the largest whole number (in bits) a power or product may produce; about 30,000 decimal digits
MAX_INT_BITS = 100_000
TOO_LARGE = "the expression is too large to calculate"

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
#: every value the allowed characters can make: numbers (complex from a fractional power of a negative
#: number), the empty tuple ``()`` and Ellipsis ``...``; none of them is callable
_VALUES = (int, float, complex, tuple, type(Ellipsis))


class TooLarge(ArithmeticError):
    """A whole-number result past :data:`MAX_INT_BITS`."""


def _guard(op: type[ast.operator], left: Any, right: Any) -> None:
    """Refuse a power or product of whole numbers that would pass :data:`MAX_INT_BITS` bits."""
    if type(left) is not int or type(right) is not int:
        return
    if op is ast.Pow and right > 0 and abs(left) > 1 and right * math.log2(abs(left)) > MAX_INT_BITS:
        raise TooLarge(TOO_LARGE)
    if op is ast.Mult and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise TooLarge(TOO_LARGE)


def _call(function: Any, node: ast.Call, values: list[Any]) -> Any:
    """A call such as ``(2)(3)``, ``()(*())`` or ``(1)(**())``: made for real, so Python words the error (the
    callee is one of :data:`_VALUES`, none of them callable; the characters allow at most one argument)."""
    if not isinstance(function, _VALUES):  # pragma: no cover - the characters cannot make another value
        raise TypeError(f"{type(function).__name__!r} object is not callable")
    if node.keywords:
        return function(**values[0])
    if node.args and isinstance(node.args[0], ast.Starred):
        return function(*values[0])
    return function(*values)


def _children(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Tuple):
        return list(node.elts)
    if isinstance(node, ast.Call):
        return [node.func, *[a.value if isinstance(a, ast.Starred) else a for a in node.args],
                *[k.value for k in node.keywords]]
    return []


def _combine(node: ast.AST, values: list[Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _guard(type(node.op), *values)
        return _BINARY[type(node.op)](*values)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](*values)
    if isinstance(node, ast.Tuple):
        return tuple(values)
    if isinstance(node, ast.Call):
        return _call(values[0], node, values[1:])
    raise ValueError(f"unsupported expression {type(node).__name__}")  # pragma: no cover - cannot be written


def _walk(tree: ast.AST) -> Any:
    """The value of a syntax tree, children left to right as Python evaluates them; no recursion, so a tree
    as deep as the compiler accepts is fine."""
    results: list[Any] = []
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, ready = stack.pop()
        children = _children(node)
        if not ready:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
            continue
        split = len(results) - len(children)
        values = results[split:]
        del results[split:]
        results.append(_combine(node, values))
    return results[0]


def _value(expression: Any) -> Any:
    """What ``eval(expression)`` gives for text of the calculator's characters, computed without ``eval``."""
    if isinstance(expression, bytes):
        expression = expression.decode("utf-8")
    if not isinstance(expression, str):
        raise TypeError("eval() arg 1 must be a string, bytes or code object")
    source = expression.lstrip(" \t")  # as eval does
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # e.g. "'int' object is not callable; perhaps ..."
        compile(source, "<string>", "eval", dont_inherit=True)  # upstream's syntax errors, word for word
    return _walk(ast.parse(source, mode="eval").body)


def calculate(expression: str) -> str:
    """The value of an arithmetic expression, rounded to 2 decimals, as upstream's ``calculate`` answers (see
    the module docstring); a refusal is an ``Error: ...`` string."""
    if not all(char in CALCULATOR_CHARACTERS for char in expression):
        return "Error: invalid characters in expression"
    try:
        return str(round(float(_value(expression)), 2))
    except Exception as err:  # noqa: BLE001 - upstream answers every failure as its message
        return f"Error: {err}"


def think(thought: str) -> str:
    """A no-op: the thought stays in the call log."""
    return ""


def transfer_to_human_agents(summary: str) -> str:
    """Hand the user to a human agent (the environment ends the conversation)."""
    return "Transfer successful"
