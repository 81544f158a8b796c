"""Hypothesis strategies for the core types: parameters, spaces, designs and journal events.

For tests only: importing this module needs Hypothesis (the `dev` extra). Every strategy
builds values through the public constructors, so whatever it yields passed their validation.

    from hypothesis import given
    from daedalus.testing import strategies as ds

    @given(ds.spaces_and_designs())
    def test_round_trip(pair): ...
"""

from __future__ import annotations

import dataclasses
import keyword
import types
import typing
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from hypothesis import strategies as st

from daedalus.events import EVENT_TYPES
from daedalus.space import Choice, Integer, LinearConstraint, Parameter, Params, Real, Space

KINDS = ("real", "log", "integer", "choice")
"""Parameter kinds `parameters` draws: linear `Real`, log-scaled `Real`, `Integer`, `Choice`."""

names = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True).filter(
    lambda name: not keyword.iskeyword(name)
)
"""Parameter names: identifiers that expressions can refer to (no keywords)."""

choice_options = st.lists(
    st.one_of(
        st.text(max_size=6),
        st.integers(-1000, 1000),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    min_size=2,
    max_size=5,
    unique=True,  # by equality, as `Choice` requires: 1 and 1.0 are one option
)


@st.composite
def parameters(draw: st.DrawFn, name: str, *, kinds: Sequence[str] = KINDS) -> Parameter:
    """One parameter called `name`, of a kind drawn from `kinds`, with moderate bounds."""
    kind = draw(st.sampled_from(tuple(kinds)))
    if kind == "real":
        low = draw(st.floats(-1e6, 1e6))
        width = draw(st.floats(1e-3, 1e6))
        return Real(name, low, low + width)
    if kind == "log":
        low = draw(st.floats(1e-6, 1e6))
        ratio = draw(st.floats(1.001, 1e6))
        return Real(name, low, low * ratio, log=True)
    if kind == "integer":
        low = draw(st.integers(-10_000, 10_000))
        return Integer(name, low, low + draw(st.integers(1, 10_000)))
    if kind == "choice":
        return Choice(name, tuple(draw(choice_options)))
    raise ValueError(f"parameters: unknown kind {kind!r}; use some of {KINDS}")


@st.composite
def spaces(
    draw: st.DrawFn,
    *,
    min_size: int = 1,
    max_size: int = 4,
    kinds: Sequence[str] = KINDS,
    max_constraints: int = 0,
) -> Space:
    """A space of `min_size..max_size` parameters with distinct names.

    With `max_constraints > 0` it also holds up to that many random linear constraints over its
    linear parameters; those may leave no design feasible, so draw designs with `points`.
    """
    labels = draw(st.lists(names, min_size=min_size, max_size=max_size, unique=True))
    params = [draw(parameters(label, kinds=kinds)) for label in labels]
    linear = [
        p.name for p in params if isinstance(p, Integer) or (isinstance(p, Real) and not p.log)
    ]
    constraints: list[LinearConstraint] = []
    if linear and max_constraints:
        count = draw(st.integers(0, max_constraints))
        constraints = [draw(linear_constraints(linear)) for _ in range(count)]
    return Space(params, constraints)


@st.composite
def linear_constraints(draw: st.DrawFn, over: Sequence[str]) -> LinearConstraint:
    """`sum(c * x) <= bound` over a non-empty subset of the names `over`."""
    chosen = draw(st.lists(st.sampled_from(tuple(over)), min_size=1, unique=True))
    coefficient = st.floats(-10.0, 10.0).filter(lambda c: abs(c) >= 1e-3)
    coefficients = {name: draw(coefficient) for name in chosen}
    return LinearConstraint(coefficients, draw(st.floats(-1e4, 1e4)))


def values(parameter: Parameter) -> st.SearchStrategy[Any]:
    """Values inside one parameter's bounds, endpoints included."""
    if isinstance(parameter, Real):
        return st.floats(parameter.low, parameter.high)
    if isinstance(parameter, Integer):
        return st.integers(parameter.low, parameter.high)
    return st.sampled_from(parameter.options)


def points(space: Space) -> st.SearchStrategy[Params]:
    """Designs inside every parameter's bounds; the linear constraints are not applied."""
    return st.fixed_dictionaries({p.name: values(p) for p in space.parameters})


def designs(space: Space) -> st.SearchStrategy[Params]:
    """Valid designs of `space`: `points` that also satisfy its linear constraints."""
    return points(space).filter(space.contains)


@st.composite
def spaces_and_designs(draw: st.DrawFn, *, kinds: Sequence[str] = KINDS) -> tuple[Space, Params]:
    """A space without linear constraints and one valid design of it."""
    space = draw(spaces(kinds=kinds))
    return space, draw(points(space))


# --- events ------------------------------------------------------------------------------------

floats_any = st.floats(allow_nan=True, allow_infinity=True)
"""Every float, NaN and infinities included: the journal must store a NaN reading."""

keys = st.text(max_size=6).filter(lambda key: key != "__float__")
"""Mapping keys in events. `"__float__"` is left out: the codec reserves it for non-finite
floats (a mapping whose only key it is would not round-trip)."""

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | floats_any | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
"""Values an event's free-form mappings (settings, summaries) may hold."""


def _field_values(hint: Any) -> st.SearchStrategy[Any]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(_field_values(a) for a in args))
    if hint is type(None):
        return st.none()
    if isinstance(hint, type) and issubclass(hint, Enum):
        return st.sampled_from(list(hint))
    simple: dict[Any, st.SearchStrategy[Any]] = {
        bool: st.booleans(),
        int: st.integers(-(2**53), 2**53),
        float: floats_any,
        str: st.text(max_size=12),
        Any: json_values,
    }
    if hint in simple:
        return simple[hint]
    if origin in (Mapping, dict):
        return st.dictionaries(keys, _field_values(args[1]), max_size=4)
    if origin in (Sequence, list, tuple):
        return st.lists(_field_values(args[0]), max_size=4)
    raise TypeError(f"events: no strategy for a field of type {hint!r}; extend _field_values")


def events(event_type: str) -> st.SearchStrategy[Any]:
    """Instances of the event class registered as `event_type`, every field drawn.

    Built from the class's type hints, so a new event type is covered without editing this.

    Raises:
        KeyError: `event_type` is not in `events.EVENT_TYPES`.
    """
    cls = EVENT_TYPES[event_type]
    hints = typing.get_type_hints(cls)
    fields = {f.name: _field_values(hints[f.name]) for f in dataclasses.fields(cls)}
    return st.builds(cls, **fields)


__all__ = [
    "KINDS",
    "choice_options",
    "designs",
    "events",
    "floats_any",
    "json_values",
    "keys",
    "linear_constraints",
    "names",
    "parameters",
    "points",
    "spaces",
    "spaces_and_designs",
    "values",
]
