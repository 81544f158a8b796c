"""`BayesProposer` with several objectives: qLogNEHVI, the reference-point rule, pending
designs, outcome constraints, and a closed loop that grows the hypervolume."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
import torch

from daedalus.goal import Goal, Maximize, Minimize, infer_reference_point
from daedalus.proposers import BayesProposer, History, SobolProposer, Trial
from daedalus.proposers.bayes import (
    _acquisition,
    _fit_model,
    logged_constraints,
    reference_point,
)
from daedalus.sims.pareto import BRANIN_CURRIN_REFERENCE_POINT, branin_currin
from daedalus.space import Real, Space, Value

SPACE = Space([Real("x1", 0.0, 1.0), Real("x2", 0.0, 1.0)])
GOAL = Goal(Minimize("branin"), Minimize("currin"), reference_point=BRANIN_CURRIN_REFERENCE_POINT)


def outcome(params: Mapping[str, Value]) -> dict[str, float]:
    return branin_currin(float(params["x1"]), float(params["x2"]))


def loop(proposer: BayesProposer | SobolProposer, goal: Goal, *, budget: int) -> list[Trial]:
    trials: list[Trial] = []
    while len(trials) < budget:
        history = History(trials=trials, n_proposed=len(trials))
        (design,) = proposer.propose(SPACE, goal, history, n=1, seed=len(trials))
        trials.append(Trial(f"e{len(trials):03d}", design, outcome(design)))
    return trials


def history(n: int) -> History:
    designs = SobolProposer().propose(SPACE, GOAL, History(), n=n, seed=3)
    trials = [Trial(f"e{i:03d}", d, outcome(d)) for i, d in enumerate(designs)]
    return History(trials=trials, n_proposed=n)


def test_closed_loop_beats_sobol_on_hypervolume() -> None:
    budget = 18
    bayes = loop(BayesProposer(n_init=6), GOAL, budget=budget)
    sobol = loop(SobolProposer(), GOAL, budget=budget)
    hv_bayes = GOAL.hypervolume([t.values or {} for t in bayes])
    hv_sobol = GOAL.hypervolume([t.values or {} for t in sobol])
    assert hv_bayes > hv_sobol
    assert hv_bayes > 0.85 * 59.36  # BoTorch's stated maximum at (18, 6)


def test_batch_is_distinct_avoids_pending_and_is_deterministic() -> None:
    past = history(8)
    pending = [{"x1": 0.05, "x2": 0.95}]
    busy = History(trials=past.trials, pending=pending, n_proposed=9)
    first = BayesProposer().propose(SPACE, GOAL, busy, n=3, seed=11)
    again = BayesProposer().propose(SPACE, GOAL, busy, n=3, seed=11)
    assert first == again
    keys = {tuple(sorted(d.items())) for d in first}
    assert len(keys) == 3 and tuple(sorted(pending[0].items())) not in keys
    assert all(SPACE.contains(d) for d in first)


def test_acquisition_is_hypervolume_improvement_with_constraints() -> None:
    from botorch.acquisition.multi_objective.logei import (
        qLogNoisyExpectedHypervolumeImprovement,
    )

    goal = Goal(Minimize("branin"), Minimize("currin"), constraints=["branin <= 50"])
    past = history(10)
    X = torch.tensor([[t.params["x1"], t.params["x2"]] for t in past.trials], dtype=torch.float64)
    Y = torch.tensor(
        [[(t.values or {})[m] for m in goal.metrics] for t in past.trials], dtype=torch.float64
    )
    modelled, bounds = logged_constraints(goal, Y)
    acquisition = _acquisition(
        _fit_model(X, modelled, {}), goal, X, Y, None, modelled=modelled, bounds=bounds
    )
    assert isinstance(acquisition, qLogNoisyExpectedHypervolumeImprovement)
    assert acquisition.constraints is not None and len(acquisition.constraints) == 1


def test_reference_point_rule() -> None:
    Y = torch.tensor([[1.0, 5.0], [3.0, 2.0], [4.0, 4.0]], dtype=torch.float64)
    # The goal's own point, signed: both objectives minimised.
    assert reference_point(GOAL, Y) == (-18.0, -6.0)
    # None given: the nadir of the observed front, backed off by 10 % of its range.
    goal = Goal(Minimize("branin"), Minimize("currin"))
    assert reference_point(goal, Y) == pytest.approx(infer_reference_point([(-1, -5), (-3, -2)]))
    assert reference_point(goal, Y) == pytest.approx((-3.2, -5.3))
    # Nothing feasible yet: the same rule over every observation.
    constrained = Goal(Maximize("branin"), Maximize("currin"), constraints=["branin <= 0"])
    assert reference_point(constrained, Y) == pytest.approx((0.7, 1.7))
