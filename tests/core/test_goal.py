"""Goals: objectives, outcome constraints, feasibility, the best outcome and the Pareto front."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daedalus.errors import InvalidGoal
from daedalus.goal import Goal, Maximize, Minimize, OutcomeConstraint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("e_factor <= 9", OutcomeConstraint("e_factor", "<=", 9.0)),
        ("sty >= 0.5", OutcomeConstraint("sty", ">=", 0.5)),
        ("cost < 10", OutcomeConstraint("cost", "<=", 10.0)),
        ("  purity > 0.9 ", OutcomeConstraint("purity", ">=", 0.9)),
    ],
)
def test_outcome_constraint_parses(text: str, expected: OutcomeConstraint) -> None:
    assert OutcomeConstraint.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("9 >= e", "expected 'name <= number'"),
        ("e <= f", "must be a number"),
        ("e <= 1e999", "must be finite"),
        ("e == 1", "expected 'name <= number'"),
        ("e <=", "cannot parse"),
    ],
)
def test_outcome_constraint_refuses_bad_text(text: str, fragment: str) -> None:
    with pytest.raises(InvalidGoal) as info:
        OutcomeConstraint.parse(text)
    assert fragment in str(info.value)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: OutcomeConstraint("e", "<", 1.0), "op must be '<=' or '>='"),
        (lambda: OutcomeConstraint("e", "<=", math.nan), "bound must be finite"),
        (lambda: OutcomeConstraint("e", ">=", -math.inf), "bound must be finite"),
        (lambda: OutcomeConstraint("1e", "<=", 1.0), "identifier"),
        (lambda: Maximize("a b"), "Maximize('a b')"),
        (lambda: Minimize(""), "identifier"),
        (lambda: Goal(), "at least one objective"),
        (lambda: Goal(Maximize("y"), Minimize("y")), "optimised once"),
        (lambda: Goal("y"), "Maximize or Minimize"),
        (lambda: Goal(Maximize("y"), constraints=["y <= x"]), "must be a number"),
    ],
)
def test_invalid_goals_are_refused(build: Any, fragment: str) -> None:
    with pytest.raises(InvalidGoal) as info:
        build()
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("values", "feasible"),
    [
        ({"y": 1.0, "e": 9.0, "p": 0.5}, True),
        ({"y": 1.0, "e": 9.0001, "p": 0.5}, False),
        ({"y": 1.0, "e": 0.0, "p": 0.4999}, False),
        ({"y": 1.0, "e": math.nan, "p": 0.5}, False),
        ({"y": 1.0, "e": -math.inf, "p": math.inf}, True),
    ],
)
def test_feasibility(values: dict[str, float], feasible: bool) -> None:
    goal = Goal(Maximize("y"), constraints=["e <= 9", "p >= 0.5"])
    assert goal.is_feasible(values) is feasible


def test_slack_is_negative_when_violated() -> None:
    assert OutcomeConstraint("e", "<=", 9.0).slack({"e": 10.0}) == -1.0
    assert OutcomeConstraint("p", ">=", 0.5).slack({"p": 0.75}) == 0.25


def test_metrics_lists_objectives_then_constrained_metrics_once() -> None:
    goal = Goal(Maximize("y"), Minimize("cost"), constraints=["e <= 9", "y >= 0", "e >= 1"])
    assert goal.metrics == ("y", "cost", "e")
    assert goal.primary == Maximize("y")


@pytest.mark.parametrize(
    ("objective", "value", "utility"),
    [(Maximize("y"), 3.0, 3.0), (Minimize("y"), 3.0, -3.0), (Minimize("y"), -2.0, 2.0)],
)
def test_utility_is_larger_is_better(objective: Any, value: float, utility: float) -> None:
    assert Goal(objective).utility({"y": value}) == utility


@pytest.mark.parametrize(
    ("objective", "expected"),
    [(Maximize("y"), 2), (Minimize("y"), 3)],
)
def test_best_picks_the_best_feasible_outcome(objective: Any, expected: int) -> None:
    goal = Goal(objective, constraints=["e <= 9"])
    outcomes = [
        {"y": 5.0, "e": 10.0},  # best y overall, but infeasible
        {"y": 2.0, "e": 1.0},
        {"y": 4.0, "e": 9.0},
        {"y": -1.0, "e": 0.0},
        {"y": math.nan, "e": 0.0},
    ]
    assert goal.best(outcomes) == expected


def test_best_is_none_without_feasible_outcomes() -> None:
    goal = Goal(Maximize("y"), constraints=["e <= 9"])
    assert goal.best([]) is None
    assert goal.best([{"y": 1.0, "e": 10.0}]) is None


def test_best_keeps_the_first_of_ties() -> None:
    assert Goal(Maximize("y")).best([{"y": 1.0}, {"y": 1.0}]) == 0


def test_pareto_indices_on_a_known_set() -> None:
    goal = Goal(Maximize("y"), Minimize("cost"), constraints=["e <= 9"])
    outcomes = [
        {"y": 1.0, "cost": 1.0, "e": 0.0},  # 0: front (cheapest)
        {"y": 2.0, "cost": 2.0, "e": 0.0},  # 1: front
        {"y": 2.0, "cost": 3.0, "e": 0.0},  # 2: dominated by 1
        {"y": 3.0, "cost": 5.0, "e": 0.0},  # 3: front
        {"y": 9.0, "cost": 0.0, "e": 10.0},  # 4: dominates all, but infeasible
        {"y": 0.5, "cost": 1.0, "e": 0.0},  # 5: dominated by 0
        {"y": 3.0, "cost": 5.0, "e": 1.0},  # 6: ties 3: neither dominates
    ]
    assert goal.pareto_indices(outcomes) == [0, 1, 3, 6]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries({"a": st.integers(0, 5), "b": st.integers(0, 5)}),
        max_size=12,
    )
)
def test_pareto_front_is_exactly_the_non_dominated_outcomes(outcomes: list[dict[str, int]]) -> None:
    goal = Goal(Maximize("a"), Minimize("b"))
    front = goal.pareto_indices(outcomes)  # type: ignore[arg-type]

    def dominates(q: dict[str, int], p: dict[str, int]) -> bool:
        return q["a"] >= p["a"] and q["b"] <= p["b"] and (q["a"] > p["a"] or q["b"] < p["b"])

    expected = [i for i, p in enumerate(outcomes) if not any(dominates(q, p) for q in outcomes)]
    assert front == expected
    if outcomes:  # the best first objective is also reached on the front
        best = goal.best(outcomes)  # type: ignore[arg-type]
        assert best is not None
        assert outcomes[best]["a"] == max(outcomes[i]["a"] for i in front)


@pytest.mark.parametrize(
    "goal",
    [
        Goal(Maximize("y")),
        Goal(Minimize("cost"), constraints=["e <= 9"]),
        Goal(Maximize("y"), Minimize("cost"), constraints=["e <= 9", "p >= -0.5"]),
        Goal(Maximize("y"), constraints=["e <= 1e-05", "p >= 250000"]),
    ],
)
def test_to_dict_from_dict_round_trips(goal: Goal) -> None:
    again = Goal.from_dict(goal.to_dict())
    assert again == goal
    assert again.objectives == goal.objectives
    assert again.constraints == goal.constraints
    assert hash(again) == hash(goal)


@pytest.mark.parametrize("bound", [0.1234567, 1234567.0, 9.0000001])
def test_to_dict_keeps_the_exact_constraint_bound(bound: float) -> None:
    goal = Goal(Maximize("y"), constraints=[OutcomeConstraint("e", "<=", bound)])
    assert Goal.from_dict(goal.to_dict()).constraints[0].bound == bound


def test_from_dict_refuses_an_unknown_sense() -> None:
    with pytest.raises(InvalidGoal, match="sense must be 'max' or 'min'"):
        Goal.from_dict({"objectives": [{"name": "y", "sense": "up"}]})


def test_from_dict_defaults_to_no_constraints() -> None:
    assert Goal.from_dict({"objectives": [{"name": "y", "sense": "min"}]}) == Goal(Minimize("y"))
