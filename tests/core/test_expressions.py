"""The small expression languages: linear inequalities, predicates and outcome bounds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daedalus.expressions import (
    ExpressionError,
    Linear,
    parse_bound,
    parse_linear,
    parse_predicate,
)

# --- parse_linear --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a + 2*b <= 10", Linear({"a": 1.0, "b": 2.0}, "<=", 10.0)),
        ("x >= y", Linear({"x": 1.0, "y": -1.0}, ">=", 0.0)),
        ("  a <= 1  ", Linear({"a": 1.0}, "<=", 1.0)),
        ("-a + +b >= -2.5", Linear({"a": -1.0, "b": 1.0}, ">=", -2.5)),
        ("2*(a + b) - 3 <= a", Linear({"a": 1.0, "b": 2.0}, "<=", 3.0)),
        ("a*3 + b/2 <= 1 + 1", Linear({"a": 3.0, "b": 0.5}, "<=", 2.0)),
        ("a + a <= 4", Linear({"a": 2.0}, "<=", 4.0)),
        ("a - (b - c) >= 0", Linear({"a": 1.0, "b": -1.0, "c": 1.0}, ">=", 0.0)),
        ("1e3 >= temperature_c", Linear({"temperature_c": -1.0}, ">=", -1000.0)),
    ],
)
def test_parse_linear(text: str, expected: Linear) -> None:
    parsed = parse_linear(text)
    assert dict(parsed.coefficients) == dict(expected.coefficients)
    assert (parsed.op, parsed.bound) == (expected.op, expected.bound)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a * b <= 1", "product of two parameters"),
        ("a / b <= 1", "division only by a non-zero number"),
        ("a / 0 <= 1", "division only by a non-zero number"),
        ("a < 1", "use <= or >="),
        ("a != 1", "use <= or >="),
        ("0 <= a <= 1", "expected one comparison"),
        ("a and b", "expected one comparison"),
        ("a ** 2 <= 1", "unsupported syntax"),
        ("abs(a) <= 1", "unsupported syntax"),
        ("a.b <= 1", "unsupported syntax"),
        ("a[0] <= 1", "unsupported syntax"),
        ("a <= 'x'", "unsupported syntax"),
        ("a <= True", "booleans are not numbers"),
        ("b - b <= 1", "names no parameter"),
        ("1 <= 2", "names no parameter"),
        ("a <= ", "cannot parse"),
        ("import os", "cannot parse"),
    ],
)
def test_parse_linear_refuses(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=fragment):
        parse_linear(text)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(-20, 20).filter(bool),
        min_size=1,
    ),
    st.integers(-1000, 1000),
    st.sampled_from(["<=", ">="]),
)
def test_parse_linear_reads_back_what_was_written(
    coefficients: dict[str, int], bound: int, op: str
) -> None:
    text = " + ".join(f"{c}*{name}" for name, c in coefficients.items()) + f" {op} {bound}"
    parsed = parse_linear(text)
    assert dict(parsed.coefficients) == {k: float(v) for k, v in coefficients.items()}
    assert (parsed.op, parsed.bound) == (op, float(bound))


# --- parse_predicate -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("t > 100 and e > 4", {"t": 101, "e": 5}, True),
        ("t > 100 and e > 4", {"t": 101, "e": 4}, False),
        ("t > 100 or e > 4", {"t": 0, "e": 5}, True),
        ("t > 100 or e > 4", {"t": 0, "e": 0}, False),
        ("not t > 100", {"t": 50}, True),
        ("not (t > 100 or e > 4)", {"t": 50, "e": 5}, False),
        ("0 < t <= 10", {"t": 10}, True),
        ("0 < t <= 10", {"t": 0}, False),
        ("0 < t <= 10 < e", {"t": 5, "e": 11}, True),
        ("0 < t <= 10 < e", {"t": 5, "e": 10}, False),
        ("a + 2*b - c/4 >= 10", {"a": 1, "b": 5, "c": 4}, True),
        ("a + 2*b - c/4 >= 10", {"a": 1, "b": 4, "c": 4}, False),
        ("-a > 0", {"a": -1}, True),
        ("+a == 2", {"a": 2.0}, True),
        ("solvent == 'ethanol'", {"solvent": "ethanol"}, True),
        ("solvent != 'ethanol'", {"solvent": "ethanol"}, False),
        ("solvent == 'ethanol' and t > 78", {"solvent": "water", "t": 100}, False),
        ("a == b", {"a": 1, "b": 1.0}, True),
        ("(a - b) * 2 == 0", {"a": 3, "b": 3}, True),
    ],
)
def test_predicate_evaluates(text: str, values: dict[str, object], expected: bool) -> None:
    predicate = parse_predicate(text)
    assert predicate(values) is expected


def test_predicate_exposes_names_and_stripped_text() -> None:
    predicate = parse_predicate("  t > 100 and not e < 2 * t  ")
    assert predicate.names == frozenset({"t", "e"})
    assert predicate.text == "t > 100 and not e < 2 * t"


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('x')",
        "open('f')",
        "t.real > 0",
        "().__class__.__bases__",
        "lambda: 1",
        "(lambda: 1)() > 0",
        "t[0] > 1",
        "[t] == [1]",
        "{'a': 1}",
        "{t}",
        "(t, 1)",
        "t if t else 1",
        "(x := 1) > 0",
        "[x for x in t]",
        "f'{t}' == 'x'",
        "t ** 2 > 1",
        "t // 2 > 1",
        "t % 2 == 1",
        "t in (1, 2)",
        "t is None",
        "t > None",
        "t == ...",
        "t == b'x'",
        "t << 1 > 0",
        "~t > 0",
        "await t",
    ],
)
def test_predicate_refuses_anything_but_the_small_language(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_predicate(text)


@pytest.mark.parametrize("text", ["import os", "exec('x')\nx", "t >", "def f(): pass", ""])
def test_predicate_refuses_statements_and_broken_syntax(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_predicate(text)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("t > 'a'", {"t": 1}),
        ("t + 1 > 0", {"t": "a"}),
        ("t > 0", {"t": True}),
        ("-t > 0", {"t": None}),
    ],
)
def test_predicate_refuses_arithmetic_and_order_on_non_numbers(
    text: str, values: dict[str, object]
) -> None:
    with pytest.raises(ExpressionError, match="expected a number"):
        parse_predicate(text)(values)


def test_predicate_reads_names_only_from_the_mapping() -> None:
    with pytest.raises(KeyError):
        parse_predicate("__builtins__ == 1")({})


def test_expression_error_is_a_value_error() -> None:
    assert issubclass(ExpressionError, ValueError)


# --- parse_bound ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("e_factor <= 9", ("e_factor", "<=", 9.0)),
        ("e_factor >= -1.5", ("e_factor", ">=", -1.5)),
        ("y < 3", ("y", "<=", 3.0)),
        ("y > 3", ("y", ">=", 3.0)),
        ("y <= 2*3 - 1", ("y", "<=", 5.0)),
        ("y <= 1e-3", ("y", "<=", 0.001)),
    ],
)
def test_parse_bound(text: str, expected: tuple[str, str, float]) -> None:
    assert parse_bound(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("9 >= e_factor", "expected 'name <= number'"),
        ("e == 9", "expected 'name <= number'"),
        ("e <= 1 <= 2", "expected 'name <= number'"),
        ("a + b <= 1", "expected 'name <= number'"),
        ("e <= f", "must be a number"),
        ("e <= f + 1", "must be a number"),
        ("e <= 1e999", "must be finite"),
        ("e <= True", "booleans"),
        ("e <= 'x'", "unsupported syntax"),
        ("e <=", "cannot parse"),
    ],
)
def test_parse_bound_refuses(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=fragment):
        parse_bound(text)
