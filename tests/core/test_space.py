"""The design space: parameter validation, encoding to the unit cube, linear constraints."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from daedalus.errors import DaedalusError, InvalidParams, InvalidSpace
from daedalus.space import Choice, Integer, LinearConstraint, Real, Space, UnitInequality
from daedalus.testing import strategies as ds

FAST = settings(max_examples=60, deadline=None)


def _close(a: object, b: object, *, scale: float) -> bool:
    """Equal for non-floats; for floats, within 1e-9 relative to the value or the range."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * scale)
    return a == b and type(a) is type(b)


def _scale(p: object) -> float:
    if isinstance(p, Real):
        # Encoding is affine on [low, high], so the error is relative to that range, not to a
        # value that happens to lie near zero.
        return max(abs(p.low), abs(p.high))
    return 0.0


# --- parameter validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "fragments"),
    [
        (lambda: Real("x", 2, 1), ["Real('x')", "low < high", "low=2", "high=1"]),
        (lambda: Real("x", 1, 1), ["low < high", "low=1", "high=1"]),
        (lambda: Real("x", 0, 10, log=True), ["log-scaled", "low > 0", "low=0", "drop log=True"]),
        (lambda: Real("x", -1, 10, log=True), ["low > 0", "low=-1"]),
        (lambda: Real("x", math.nan, 1), ["low must be a finite number", "nan"]),
        (lambda: Real("x", 0, math.inf), ["high must be a finite number", "inf"]),
        (lambda: Real("x", True, 2), ["low must be a finite number", "True"]),
        (lambda: Real("x", "0", 1), ["low must be a finite number", "'0'"]),
        (lambda: Real("1x", 0, 1), ["Real('1x')", "identifier", "temperature_c"]),
        (lambda: Real("a b", 0, 1), ["identifier"]),
        (lambda: Integer("n", 0.5, 3), ["Integer('n')", "low must be an int", "0.5"]),
        (lambda: Integer("n", 0, True), ["high must be an int", "True"]),
        (lambda: Integer("n", 3, 3), ["low < high", "low=3", "high=3", "use a constant"]),
        (lambda: Integer("n", 4, 3), ["low=4", "high=3"]),
        (lambda: Choice("c", ("a",)), ["Choice('c')", "at least two options", "('a',)"]),
        (lambda: Choice("c", "ab"), ["at least two options", "'ab'"]),
        (lambda: Choice("c", ("a", "a")), ["distinct", "('a', 'a')"]),
        (lambda: Choice("c", (1, 1.0)), ["distinct"]),
        (lambda: Choice("c", ("a", None)), ["strings or numbers", "None"]),
        (lambda: Choice("c", ("a", True)), ["strings or numbers", "True"]),
        (lambda: Choice("c", ("a", ("b",))), ["strings or numbers", "('b',)"]),
        (lambda: Space([]), ["at least one parameter"]),
        (lambda: Space([Real("x", 0, 1), Integer("x", 0, 3)]), ["distinct", "['x']"]),
        (lambda: Space(["x"]), ["expected Real, Integer or Choice", "'x'"]),
    ],
)
def test_invalid_definitions_name_rule_values_and_fix(build: Any, fragments: list[str]) -> None:
    with pytest.raises(InvalidSpace) as info:
        build()
    for fragment in fragments:
        assert fragment in str(info.value)


def test_invalid_space_is_a_daedalus_error_and_a_value_error() -> None:
    with pytest.raises(DaedalusError):
        Real("x", 1, 0)
    with pytest.raises(ValueError):
        Real("x", 1, 0)


def test_real_refuses_a_range_too_wide_to_encode() -> None:
    with pytest.raises(InvalidSpace, match="high - low"):
        Real("x", -1e308, 1e308)


def test_real_bounds_become_floats_and_log_is_keyword_only() -> None:
    p = Real("x", 1, 10, log=True)
    assert (p.low, p.high, p.log) == (1.0, 10.0, True)
    assert type(p.low) is float and type(p.high) is float
    with pytest.raises(TypeError):
        Real("x", 1, 10, True)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(1.0, 0.0), (10.0, 0.5), (100.0, 1.0)],
)
def test_log_real_encodes_on_a_log_scale(value: float, encoded: float) -> None:
    p = Real("x", 1, 100, log=True)
    assert p.encode(value) == pytest.approx([encoded], abs=1e-12)
    assert p.decode([encoded]) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(
    ("u", "expected"),
    [(-0.5, 1.0), (0.0, 1.0), (1.0, 100.0), (1.5, 100.0)],
)
def test_decode_clamps_to_the_bounds(u: float, expected: float) -> None:
    assert Real("x", 1, 100, log=True).decode([u]) == expected
    assert Real("y", 1, 100).decode([u]) == expected


@pytest.mark.parametrize(("u", "value"), [(0.0, 0), (0.249, 0), (0.25, 1), (0.999, 3), (1.0, 3)])
def test_integer_cells_split_the_unit_interval_evenly(u: float, value: int) -> None:
    p = Integer("n", 0, 3)
    assert p.levels == 4
    assert p.decode([u]) == value
    assert p.encode(value) == [(value + 0.5) / 4]


def test_choice_encodes_one_hot_and_decodes_by_argmax() -> None:
    space = Space([Real("x", 0, 1), Choice("c", ("a", "b", "c"))])
    assert space.dim == 4
    assert space.slices() == {"x": slice(0, 1), "c": slice(1, 4)}
    assert list(space.encode({"x": 0.25, "c": "b"})) == [0.25, 0.0, 1.0, 0.0]
    assert space.decode([0.25, 0.1, 0.2, 0.7]) == {"x": 0.25, "c": "c"}


def test_decode_refuses_a_vector_of_the_wrong_length() -> None:
    space = Space([Real("x", 0, 1), Integer("n", 0, 3)])
    with pytest.raises(InvalidParams, match=r"length 2.*\(3,\)"):
        space.decode([0.1, 0.2, 0.3])


def test_encode_many_has_shape_n_by_dim() -> None:
    space = Space([Real("x", 0, 1), Choice("c", ("a", "b"))])
    assert space.encode_many([]).shape == (0, 3)
    many = space.encode_many([{"x": 0.0, "c": "a"}, {"x": 1.0, "c": "b"}])
    assert many.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]


# --- encode / decode properties ------------------------------------------------------------------


@FAST
@given(ds.spaces_and_designs())
def test_decode_inverts_encode_and_encode_lies_in_the_unit_cube(pair: Any) -> None:
    space, params = pair
    u = space.encode(params)
    assert u.shape == (space.dim,)
    assert u.dtype == np.float64
    assert np.all((u >= 0.0) & (u <= 1.0)), u
    back = space.decode(u)
    assert list(back) == list(space.names)
    for p in space.parameters:
        assert _close(back[p.name], params[p.name], scale=_scale(p)) or (
            isinstance(p, Choice) and back[p.name] == params[p.name]
        ), (p, params[p.name], back[p.name])
    assert space.contains(back)


@FAST
@given(ds.spaces(), st.data())
def test_decode_of_any_point_of_the_cube_is_a_valid_design(space: Space, data: Any) -> None:
    u = data.draw(st.lists(st.floats(0, 1), min_size=space.dim, max_size=space.dim))
    params = space.decode(u)
    assert space.validate(params) == params


# --- linear constraints --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "coefficients", "bound"),
    [
        ("a + 2*b <= 10", {"a": 1.0, "b": 2.0}, 10.0),
        ("x >= y", {"x": -1.0, "y": 1.0}, 0.0),
        ("2*a - b >= -3", {"a": -2.0, "b": 1.0}, 3.0),
        ("a <= b + 1", {"a": 1.0, "b": -1.0}, 1.0),
        ("a/4 + 1 <= 2", {"a": 0.25}, 1.0),
        ("10 >= a + b", {"a": 1.0, "b": 1.0}, 10.0),
    ],
)
def test_linear_constraint_parses_text(
    text: str, coefficients: dict[str, float], bound: float
) -> None:
    c = LinearConstraint.parse(text)
    assert dict(c.coefficients) == coefficients
    assert c.bound == bound


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a * b <= 1", "product of two parameters"),
        ("a < 1", "use <= or >="),
        ("a == 1", "use <= or >="),
        ("a <= 1 <= 2", "one comparison"),
        ("a + 1", "one comparison"),
        ("a / 0 <= 1", "non-zero"),
        ("1 / a <= 1", "non-zero"),
        ("a - a <= 1", "names no parameter"),
        ("a ** 2 <= 1", "unsupported syntax"),
        ("f(a) <= 1", "unsupported syntax"),
        ("a <= True", "booleans"),
        ("a <=", "cannot parse"),
    ],
)
def test_linear_constraint_refuses_non_linear_text(text: str, fragment: str) -> None:
    with pytest.raises(InvalidSpace) as info:
        LinearConstraint.parse(text)
    assert fragment in str(info.value)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    ("constraint", "fragments"),
    [
        ("x + z <= 1", ["unknown parameter 'z'", "known: ['c', 'n', 'w', 'x']"]),
        ("x + c <= 1", ["'c' is categorical or log-scaled", "linear Real and Integer"]),
        ("x + w >= 2", ["'w' is categorical or log-scaled"]),
        (LinearConstraint({"q": 1.0}, 1.0), ["unknown parameter 'q'"]),
    ],
)
def test_space_refuses_constraints_over_unknown_choice_or_log_parameters(
    constraint: Any, fragments: list[str]
) -> None:
    params = [
        Real("x", 0, 1),
        Real("w", 1, 10, log=True),
        Integer("n", 0, 5),
        Choice("c", ("a", "b")),
    ]
    with pytest.raises(InvalidSpace) as info:
        Space(params, [constraint])
    for fragment in fragments:
        assert fragment in str(info.value)


def test_space_accepts_constraints_over_real_and_integer() -> None:
    space = Space([Real("x", 0, 10), Integer("n", 0, 5)], ["x + 2*n <= 10"])
    assert space.contains({"x": 10.0, "n": 0})
    assert not space.contains({"x": 9.0, "n": 1})
    with pytest.raises(
        InvalidParams, match=r"violates linear constraints \['1\*x \+ 2\*n <= 10'\]"
    ):
        space.validate({"x": 9.0, "n": 1})


def test_unit_inequalities_restate_constraints_on_the_cube() -> None:
    space = Space([Real("x", 0, 10), Integer("n", 0, 4)], ["x + 2*n <= 10"])
    (ineq,) = space.unit_inequalities()
    # x = 10 u0, n = -0.5 + 5 u1, so x + 2n <= 10 is -10 u0 - 10 u1 >= -11.
    assert ineq == UnitInequality((0, 1), (-10.0, -10.0), -11.0)


@FAST
@given(ds.spaces(kinds=("real", "integer", "choice", "log"), max_constraints=3), st.data())
def test_unit_inequalities_agree_with_holds(space: Space, data: Any) -> None:
    assume(space.constraints)
    params = data.draw(ds.points(space))
    u = space.encode(params)
    for constraint, ineq in zip(space.constraints, space.unit_inequalities(), strict=True):
        total = sum(c * float(params[k]) for k, c in constraint.coefficients.items())
        scale = 1.0 + sum(abs(c * float(params[k])) for k, c in constraint.coefficients.items())
        assume(abs(total - constraint.bound) > 1e-6 * (scale + abs(constraint.bound)))
        lhs = sum(c * u[i] for i, c in zip(ineq.indices, ineq.coefficients, strict=True))
        assert constraint.holds(params, tol=0.0) == (lhs >= ineq.rhs), (constraint, params)


# --- validation ----------------------------------------------------------------------------------

SPACE = Space([Real("x", 0, 1), Integer("n", 1, 5), Choice("c", ("a", "b", 3))])
GOOD = {"x": 0.5, "n": 2, "c": "a"}


@pytest.mark.parametrize(
    ("params", "fragments"),
    [
        ({**GOOD, "z": 1}, ["unknown ['z']", "missing []"]),
        ({"x": 0.5, "n": 2}, ["unknown []", "missing ['c']"]),
        ({}, ["missing ['x', 'n', 'c']"]),
        ({**GOOD, "x": 1.5}, ["x=1.5 is outside [0.0, 1.0]", "within the bounds"]),
        ({**GOOD, "x": -0.0001}, ["outside [0.0, 1.0]"]),
        ({**GOOD, "x": math.nan}, ["x=nan is outside"]),
        ({**GOOD, "x": math.inf}, ["x=inf is outside"]),
        ({**GOOD, "x": True}, ["x: expected a number, got True"]),
        ({**GOOD, "x": "0.5"}, ["expected a number, got '0.5'"]),
        ({**GOOD, "x": None}, ["expected a number, got None"]),
        ({**GOOD, "n": 6}, ["n=6 is outside [1, 5]"]),
        ({**GOOD, "n": 2.5}, ["n: expected an integer, got 2.5"]),
        ({**GOOD, "n": False}, ["expected an integer, got False"]),
        ({**GOOD, "n": math.nan}, ["expected an integer, got nan"]),
        ({**GOOD, "c": "z"}, ["c='z' is not one of the options ['a', 'b', 3]"]),
        ({**GOOD, "c": True}, ["not one of the options"]),
        ([("x", 0.5)], ["must be a mapping"]),
        (None, ["must be a mapping"]),
    ],
)
def test_validate_refuses_bad_designs(params: Any, fragments: list[str]) -> None:
    with pytest.raises(InvalidParams) as info:
        SPACE.validate(params)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert not SPACE.contains(params)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (GOOD, GOOD),
        ({**GOOD, "x": 1}, {**GOOD, "x": 1.0}),
        ({**GOOD, "n": 3.0}, {**GOOD, "n": 3}),
        ({**GOOD, "c": 3.0}, {**GOOD, "c": 3}),
        ({"c": "b", "n": 5, "x": 0}, {"x": 0.0, "n": 5, "c": "b"}),
    ],
)
def test_validate_returns_canonical_types(params: Any, expected: dict[str, Any]) -> None:
    clean = SPACE.validate(params)
    assert clean == expected
    assert list(clean) == ["x", "n", "c"]
    assert [type(v) for v in clean.values()] == [type(v) for v in expected.values()]


def test_validate_refuses_an_int_too_large_for_a_float() -> None:
    with pytest.raises(InvalidParams, match="outside"):
        SPACE.validate({**GOOD, "x": 10**400})


def test_validate_refuses_unknown_keys_of_mixed_types() -> None:
    with pytest.raises(InvalidParams, match="unknown"):
        SPACE.validate({**GOOD, 1: 0, "z": 0})


def test_validate_refuses_a_single_non_string_key() -> None:
    with pytest.raises(InvalidParams, match=r"unknown \[1\]"):
        SPACE.validate({**GOOD, 1: 0})


# --- serialisation -------------------------------------------------------------------------------


@FAST
@given(ds.spaces(max_constraints=2))
def test_to_dict_from_dict_round_trips(space: Space) -> None:
    again = Space.from_dict(space.to_dict())
    assert again == space
    assert again.to_dict() == space.to_dict()
    assert hash(again) == hash(space)
    assert [type(p) for p in again] == [type(p) for p in space]
    assert again.constraints == space.constraints


def test_from_dict_refuses_an_unknown_kind() -> None:
    data = {"parameters": [{"kind": "complex", "name": "z"}], "constraints": []}
    with pytest.raises(InvalidSpace, match="unknown parameter kind 'complex'"):
        Space.from_dict(data)


def test_introspection() -> None:
    assert len(SPACE) == 3
    assert SPACE.names == ("x", "n", "c")
    assert SPACE["n"] == Integer("n", 1, 5)
    assert [p.name for p in SPACE] == ["x", "n", "c"]
    assert Space([Real("x", 0, 1)]) != SPACE
    assert SPACE != "not a space"


@pytest.mark.parametrize(
    "constraint",
    ["x <= 1e999", LinearConstraint({"x": 1.0}, math.nan), LinearConstraint({"x": math.inf}, 1.0)],
    ids=["inf-text", "nan-bound", "inf-coefficient"],
)
def test_space_refuses_non_finite_constraints(constraint: Any) -> None:
    with pytest.raises(InvalidSpace, match="finite"):
        Space([Real("x", 0, 1)], [constraint])
