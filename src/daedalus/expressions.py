"""Safe, small expression languages for campaign files: linear constraints and predicates.

Users write `"x + 2*y <= 10"` for a linear parameter constraint, `"e_factor <= 9"` for an outcome
constraint, and `"temperature_c > 100 and equivalents > 4"` for a forbidden region. These are
parsed with `ast` into a closed set of nodes and never passed to `eval`.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

_COMPARE: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_ARITH: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


class ExpressionError(ValueError):
    """An expression uses syntax outside the small language; callers wrap it with context."""


def _parse(text: str) -> ast.expr:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ExpressionError(f"cannot parse {text!r}: {err.msg}") from err
    return tree.body


# ----------------------------------------------------------------------------- linear


@dataclass(frozen=True, slots=True)
class Linear:
    """`sum(coefficients[name] * value) <op> bound` with op in {"<=", ">="}."""

    coefficients: Mapping[str, float]
    op: str
    bound: float


def _linear_terms(node: ast.expr) -> tuple[dict[str, float], float]:
    """Return (coefficients, constant) of a linear expression node."""
    match node:
        case ast.Constant(value=bool()):
            raise ExpressionError("booleans are not numbers here")
        case ast.Constant(value=int() | float() as value):
            return {}, float(value)
        case ast.Name(id=name):
            return {name: 1.0}, 0.0
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            coefs, const = _linear_terms(operand)
            return {k: -v for k, v in coefs.items()}, -const
        case ast.UnaryOp(op=ast.UAdd(), operand=operand):
            return _linear_terms(operand)
        case ast.BinOp(left=left, op=ast.Add() | ast.Sub() as op, right=right):
            lc, lk = _linear_terms(left)
            rc, rk = _linear_terms(right)
            sign = 1.0 if isinstance(op, ast.Add) else -1.0
            merged = dict(lc)
            for k, v in rc.items():
                merged[k] = merged.get(k, 0.0) + sign * v
            return merged, lk + sign * rk
        case ast.BinOp(left=left, op=ast.Mult() | ast.Div() as op, right=right):
            lc, lk = _linear_terms(left)
            rc, rk = _linear_terms(right)
            if isinstance(op, ast.Div):
                if rc or rk == 0:
                    raise ExpressionError("division only by a non-zero number")
                return {k: v / rk for k, v in lc.items()}, lk / rk
            if lc and rc:
                raise ExpressionError("a product of two parameters is not linear")
            scale, (coefs, const) = (rk, (lc, lk)) if lc else (lk, (rc, rk))
            return {k: v * scale for k, v in coefs.items()}, const * scale
    raise ExpressionError(f"unsupported syntax {ast.unparse(node)!r}")


def parse_linear(text: str) -> Linear:
    """Parse `"a + 2*b <= 10"` (or `>=`, either side may hold terms) into a `Linear`.

    Raises:
        ExpressionError: the text is not one linear inequality.
    """
    node = _parse(text)
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
        raise ExpressionError(f"expected one comparison like 'a + b <= 10', got {text!r}")
    op_node = node.ops[0]
    if not isinstance(op_node, ast.LtE | ast.GtE):
        raise ExpressionError(f"use <= or >= in {text!r}")
    lc, lk = _linear_terms(node.left)
    rc, rk = _linear_terms(node.comparators[0])
    coefs = dict(lc)
    for k, v in rc.items():
        coefs[k] = coefs.get(k, 0.0) - v
    coefs = {k: v for k, v in coefs.items() if v != 0.0}
    if not coefs:
        raise ExpressionError(f"{text!r} names no parameter")
    return Linear(coefs, "<=" if isinstance(op_node, ast.LtE) else ">=", rk - lk)


# ----------------------------------------------------------------------------- predicates


@dataclass(frozen=True, slots=True)
class Predicate:
    """A boolean expression over named numbers: comparisons, arithmetic, and/or/not."""

    text: str
    names: frozenset[str]
    _node: ast.expr

    def __call__(self, values: Mapping[str, object]) -> bool:
        return bool(_evaluate(self._node, values))


def _names(node: ast.expr) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))


def _check(node: ast.AST) -> None:
    allowed = (
        ast.Expression,
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.UnaryOp,
        ast.Not,
        ast.USub,
        ast.UAdd,
        ast.Compare,
        ast.BinOp,
        ast.Name,
        ast.Load,
        ast.Constant,
        *_COMPARE,
        *_ARITH,
    )
    for child in ast.walk(node):
        if not isinstance(child, allowed):
            raise ExpressionError(f"unsupported syntax {type(child).__name__}")
        if isinstance(child, ast.Constant) and not isinstance(child.value, int | float | str):
            raise ExpressionError(f"unsupported constant {child.value!r}")


def _evaluate(node: ast.expr, values: Mapping[str, object]) -> object:
    match node:
        case ast.Constant(value=value):
            return value
        case ast.Name(id=name):
            return values[name]
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            return not _evaluate(operand, values)
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            return -_as_number(_evaluate(operand, values))
        case ast.UnaryOp(op=ast.UAdd(), operand=operand):
            return _as_number(_evaluate(operand, values))
        case ast.BoolOp(op=ast.And(), values=parts):
            return all(_evaluate(p, values) for p in parts)
        case ast.BoolOp(op=ast.Or(), values=parts):
            return any(_evaluate(p, values) for p in parts)
        case ast.BinOp(left=left, op=op, right=right):
            a, b = _as_number(_evaluate(left, values)), _as_number(_evaluate(right, values))
            return _ARITH[type(op)](a, b)
        case ast.Compare(left=left, ops=ops, comparators=rest):
            current = _evaluate(left, values)
            for cmp, comparator in zip(ops, rest, strict=True):
                nxt = _evaluate(comparator, values)
                if not _compare(type(cmp), current, nxt):
                    return False
                current = nxt
            return True
    raise ExpressionError(f"unsupported syntax {ast.unparse(node)!r}")


def _compare(op: type[ast.cmpop], a: object, b: object) -> bool:
    if op in (ast.Eq, ast.NotEq):
        return _COMPARE[op](a, b)  # type: ignore[arg-type]
    return _COMPARE[op](_as_number(a), _as_number(b))


def _as_number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExpressionError(f"expected a number, got {value!r}")
    return float(value)


def parse_predicate(text: str) -> Predicate:
    """Parse a boolean expression such as `"temperature_c > 100 and equivalents >= 4"`.

    Raises:
        ExpressionError: the text uses anything but comparisons, + - * /, and/or/not,
            names and number or string constants.
    """
    node = _parse(text)
    _check(node)
    return Predicate(text.strip(), _names(node), node)


def parse_bound(text: str) -> tuple[str, str, float]:
    """Parse `"e_factor <= 9"` into `("e_factor", "<=", 9.0)`; also `>=`, `<`, `>`."""
    node = _parse(text)
    ops = {ast.LtE: "<=", ast.GtE: ">=", ast.Lt: "<=", ast.Gt: ">="}
    match node:
        case ast.Compare(left=ast.Name(id=name), ops=[op], comparators=[right]) if type(op) in ops:
            _, bound = _linear_terms(right)
            if _linear_terms(right)[0]:
                raise ExpressionError(f"the right side of {text!r} must be a number")
            if not math.isfinite(bound):
                raise ExpressionError(f"the bound in {text!r} must be finite")
            return name, ops[type(op)], bound
    raise ExpressionError(f"expected 'name <= number' or 'name >= number', got {text!r}")
