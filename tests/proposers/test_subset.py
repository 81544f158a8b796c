"""fit_subset and goal_utility: which observations a GP is fit on past `max_points`."""

from __future__ import annotations

import numpy as np
import pytest

from daedalus.errors import InvalidCampaign
from daedalus.goal import Goal, Maximize, Minimize
from daedalus.proposers.bayes import BayesProposer
from daedalus.proposers.subset import MIN_POINTS, fit_subset, goal_utility


def _data(n: int, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    utility = -((X - 0.3) ** 2).sum(axis=1) + 0.01 * rng.standard_normal(n)
    return X, utility


@pytest.mark.parametrize("n", [0, 1, 7, 50, 200])
def test_every_row_below_max_points(n: int) -> None:
    X, utility = _data(n)
    assert fit_subset(X, utility, max_points=200).tolist() == list(range(n))


@pytest.mark.parametrize(("n", "m"), [(201, 200), (1000, 100), (3000, 500), (500, MIN_POINTS)])
def test_at_most_max_points_distinct_sorted_rows(n: int, m: int) -> None:
    X, utility = _data(n)
    keep = fit_subset(X, utility, max_points=m)
    assert len(keep) == m
    assert np.all(np.diff(keep) > 0)
    assert keep.min() >= 0 and keep.max() < n


@pytest.mark.parametrize("seed", range(5))
def test_keeps_the_incumbent(seed: int) -> None:
    X, utility = _data(2000, seed=seed)
    for draw in range(3):
        keep = fit_subset(X, utility, max_points=400, seed=draw)
        assert int(np.argmax(utility)) in keep


def test_keeps_every_best_row_up_to_a_quarter() -> None:
    """Rows tied at the best utility (a Pareto front ranks 0) are all kept, up to m // 4."""
    X, utility = _data(2000)
    front = np.arange(0, 2000, 50)  # 40 rows
    tied = utility.copy()
    tied[front] = utility.max() + 1.0
    assert set(front.tolist()) <= set(fit_subset(X, tied, max_points=400, seed=1).tolist())
    keep = fit_subset(X, tied, max_points=80, seed=1)
    assert len(set(front.tolist()) & set(keep.tolist())) == 20


def test_deterministic_and_independent_of_row_order() -> None:
    X, utility = _data(3000, seed=3)
    first = fit_subset(X, utility, max_points=300)
    assert np.array_equal(first, fit_subset(X.copy(), utility.copy(), max_points=300))
    order = np.random.default_rng(9).permutation(len(X))
    shuffled = fit_subset(X[order], utility[order], max_points=300)
    assert sorted(order[shuffled].tolist()) == first.tolist()


def test_keeps_the_regions_in_the_proportions_explored() -> None:
    """A sample, not a cover: where the campaign took 80 % of its observations, about 80 % of
    the subset lies (the earlier rule's best quarter, neighbours and farthest-point spread put
    1 of 400 there), and another seed draws another subset."""
    rng = np.random.default_rng(4)
    cluster = 0.3 + 0.05 * rng.random((3200, 2))
    X = np.vstack([cluster, rng.random((800, 2))])
    utility = -((X - 0.9) ** 2).sum(axis=1)
    keep = fit_subset(X, utility, max_points=400, seed=0)
    inside = ((X[keep] >= 0.3) & (X[keep] <= 0.35)).all(axis=1).mean()
    assert 0.72 < inside < 0.88
    other = fit_subset(X, utility, max_points=400, seed=1)
    assert len(set(keep.tolist()) ^ set(other.tolist())) > 0


@pytest.mark.parametrize(
    ("X", "utility", "m", "match"),
    [
        (np.zeros((3, 2)), np.zeros(3), MIN_POINTS - 1, "max_points must be >="),
        (np.zeros((3, 2)), np.zeros(4), 10, "shapes"),
        (np.zeros(3), np.zeros(3), 10, "shapes"),
        (np.zeros((3, 2)), np.array([0.0, np.nan, 1.0]), 10, "finite"),
    ],
)
def test_refuses_bad_arguments(X: np.ndarray, utility: np.ndarray, m: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fit_subset(X, utility, max_points=m)


def test_goal_utility_signs_the_objective_and_ranks_violations_last() -> None:
    goal = Goal(Minimize("cost"), constraints=["purity >= 0.9"])
    Y = np.array([[5.0, 0.95], [1.0, 0.5], [3.0, 0.92], [0.5, 0.8]])
    utility = goal_utility(goal, Y)
    assert np.argsort(-utility).tolist() == [2, 0, 3, 1]
    assert utility[2] == -3.0 and utility[0] == -5.0


def test_goal_utility_maximises_and_checks_the_shape() -> None:
    goal = Goal(Maximize("y"))
    assert goal_utility(goal, np.array([[1.0], [2.0]])).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="n x 1"):
        goal_utility(goal, np.zeros((2, 2)))


def test_bayes_proposer_validates_max_fit_points() -> None:
    assert BayesProposer().max_fit_points == 500
    with pytest.raises(InvalidCampaign, match="max_fit_points"):
        BayesProposer(max_fit_points=MIN_POINTS - 1)


def test_several_objectives_rank_the_pareto_front_first() -> None:
    goal = Goal(Maximize("a"), Minimize("b"))
    Y = np.array([[1.0, 1.0], [2.0, 2.0], [0.5, 3.0], [3.0, 0.5], [0.0, 4.0]])
    # Dominated by: row 0 by row 3; row 1 by row 3; row 2 by rows 0, 1, 3; row 3 by none;
    # row 4 by every other row.
    assert goal_utility(goal, Y).tolist() == [-1.0, -1.0, -3.0, 0.0, -4.0]
    rng = np.random.default_rng(0)
    many = rng.random((1500, 2))
    utility = goal_utility(goal, many)
    front = set(goal.pareto_indices([{"a": a, "b": b} for a, b in many]))
    assert {int(i) for i in np.flatnonzero(utility == 0)} == front
    keep = fit_subset(rng.random((1500, 3)), utility, max_points=200)
    assert front <= {int(i) for i in keep}  # a small front fits inside the elite quarter


def test_a_large_fit_is_held_to_fewer_iterations(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from daedalus.proposers import bayes

    asked: list[int] = []
    fit = bayes.fit_gpytorch_mll

    def spy(mll, *, optimizer_kwargs):  # type: ignore[no-untyped-def]
        asked.append(optimizer_kwargs["options"]["maxiter"])
        return fit(mll, optimizer_kwargs=optimizer_kwargs)

    monkeypatch.setattr(bayes, "fit_gpytorch_mll", spy)
    rng = np.random.default_rng(0)
    for n in (40, 500):
        X = torch.from_numpy(rng.random((n, 3)))
        Y = torch.sin(6 * X).sum(dim=-1, keepdim=True)
        bayes._fit_model(X, Y, {}, light_tails=True)
    # A campaign's size keeps the full fit; a subset at the default max_fit_points does not.
    assert asked[0] == bayes._FIT_MAXITER
    assert bayes._FIT_MIN_ITER <= asked[1] < bayes._FIT_MAXITER / 2
    sizes = [100, 300, 400, 500, 1000, 4000]
    iterations = [bayes._fit_iterations(n) for n in sizes]
    assert iterations == sorted(iterations, reverse=True)
    assert all(
        i * n**3 <= 200 * 320**3 or i == bayes._FIT_MIN_ITER
        for i, n in zip(iterations, sizes, strict=True)
    )
