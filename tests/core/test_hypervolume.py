"""Hypervolume, the reference-point rule, and goals with several objectives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daedalus.errors import InvalidGoal
from daedalus.goal import Goal, Maximize, Minimize, hypervolume, infer_reference_point


def monte_carlo(points: np.ndarray, ref: np.ndarray, upper: np.ndarray, n: int) -> float:
    """Independent estimate: the share of uniform samples in [ref, upper] that some point
    dominates, times the box's volume."""
    rng = np.random.default_rng(0)
    samples = ref + rng.random((n, len(ref))) * (upper - ref)
    dominated = np.zeros(n, dtype=bool)
    for p in points:
        dominated |= np.all(samples <= p, axis=1)
    return float(dominated.mean() * np.prod(upper - ref))


def test_known_volumes() -> None:
    assert hypervolume([(1.0, 1.0)], (0.0, 0.0)) == 1.0
    assert hypervolume([(2.0, 1.0), (1.0, 2.0)], (0.0, 0.0)) == 3.0
    assert hypervolume([(1.0, 1.0, 1.0), (2.0, 0.5, 0.5)], (0.0, 0.0, 0.0)) == 1.25
    assert hypervolume([(3.0,)], (1.0,)) == 2.0
    assert hypervolume([], (0.0, 0.0)) == 0.0


def test_points_not_beating_the_reference_add_nothing() -> None:
    assert hypervolume([(1.0, -1.0), (-1.0, 5.0), (0.0, 3.0)], (0.0, 0.0)) == 0.0
    assert hypervolume([(2.0, 2.0), (1.0, 1.0), (2.0, 2.0)], (0.0, 0.0)) == 4.0


def test_mismatched_dimensions_are_refused() -> None:
    with pytest.raises(ValueError, match="one value per reference coordinate"):
        hypervolume([(1.0, 2.0, 3.0)], (0.0, 0.0))


@pytest.mark.parametrize("m", [2, 3, 4])
def test_agrees_with_monte_carlo(m: int) -> None:
    points = np.random.default_rng(m).random((25, m))
    exact = hypervolume(points.tolist(), [0.0] * m)
    estimate = monte_carlo(points, np.zeros(m), np.ones(m), 200_000)
    assert exact == pytest.approx(estimate, abs=4e-3)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.01, 10), st.floats(0.01, 10), st.floats(0.01, 10)),
        min_size=1,
        max_size=12,
    )
)
def test_three_objectives_match_the_two_objective_sweep_on_a_flat_third(
    points: list[tuple[float, float, float]],
) -> None:
    flat = [(a, b, 1.0) for a, b, _ in points]
    two = hypervolume([(a, b) for a, b, _ in points], (0.0, 0.0))
    assert hypervolume(flat, (0.0, 0.0, 0.0)) == pytest.approx(two, rel=1e-12)
    # Adding a point never shrinks the volume; adding a dominated copy changes nothing.
    more = [*points, (5.0, 5.0, 5.0)]
    assert hypervolume(more, (0.0, 0.0, 0.0)) >= hypervolume(points, (0.0, 0.0, 0.0))
    worse = [*points, tuple(v / 2 for v in points[0])]
    assert hypervolume(worse, (0.0, 0.0, 0.0)) == pytest.approx(
        hypervolume(points, (0.0, 0.0, 0.0)), rel=1e-12
    )


def test_reference_point_rule() -> None:
    front = [(10.0, -2.0), (6.0, -1.0), (8.0, -1.5)]
    assert infer_reference_point(front) == pytest.approx((5.6, -2.1))
    # A single point has no range: it backs off by 10 % of max(1, |nadir|).
    assert infer_reference_point([(50.0, 0.0)]) == pytest.approx((45.0, -0.1))
    with pytest.raises(ValueError, match="empty"):
        infer_reference_point([])


def test_goal_hypervolume_uses_signs_and_feasibility() -> None:
    goal = Goal(
        Maximize("sty"),
        Minimize("e_factor"),
        constraints=["conversion >= 0.5"],
        reference_point={"sty": 0, "e_factor": 10},
    )
    outcomes = [
        {"sty": 100.0, "e_factor": 9.0, "conversion": 0.9},
        {"sty": 50.0, "e_factor": 5.0, "conversion": 0.9},
        {"sty": 1000.0, "e_factor": 1.0, "conversion": 0.1},  # infeasible: ignored
    ]
    assert goal.multi
    assert goal.signed(outcomes[0]) == (100.0, -9.0)
    assert goal.hypervolume(outcomes) == 100.0 * 1.0 + 50.0 * 4.0
    assert goal.pareto_indices(outcomes) == [0, 1]


def test_goal_without_a_reference_point_infers_one() -> None:
    goal = Goal(Maximize("a"), Maximize("b"))
    outcomes = [{"a": 2.0, "b": 0.0}, {"a": 0.0, "b": 2.0}]
    assert goal.signed_reference(outcomes) == pytest.approx((-0.2, -0.2))
    assert goal.hypervolume(outcomes) == pytest.approx(2.2 * 0.2 + 0.2 * 2.0)
    assert goal.signed_reference([]) is None
    assert goal.hypervolume([]) == 0.0


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ({"sty": 0.0}, "must name each objective"),
        ({"sty": 0.0, "e_factor": 10.0, "x": 1.0}, "must name each objective"),
        ({"sty": math.nan, "e_factor": 10.0}, "must be finite"),
        ({"sty": "zero", "e_factor": 10.0}, "must be a number"),
    ],
)
def test_bad_reference_points_are_refused(point: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidGoal, match=message):
        Goal(Maximize("sty"), Minimize("e_factor"), reference_point=point)  # type: ignore[arg-type]


def test_reference_point_needs_two_objectives() -> None:
    with pytest.raises(InvalidGoal, match="two or more objectives"):
        Goal(Maximize("sty"), reference_point={"sty": 0.0})


def test_goal_round_trips_with_and_without_a_reference_point() -> None:
    single = Goal(Maximize("sty"), constraints=["e_factor <= 9"])
    assert "reference_point" not in single.to_dict()  # old journals keep their digests
    multi = Goal(Maximize("sty"), Minimize("e_factor"), reference_point={"sty": 0, "e_factor": 10})
    again = Goal.from_dict(multi.to_dict())
    assert again == multi and again.reference_point == {"sty": 0.0, "e_factor": 10.0}
    assert "reference_point" in repr(multi)
