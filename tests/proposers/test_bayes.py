"""Behaviour of `BayesProposer`: it optimises, respects constraints, pending designs and
categories, and is deterministic."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest
import torch
from botorch.acquisition.acquisition import AcquisitionFunction

from daedalus.errors import DaedalusError, InvalidCampaign
from daedalus.goal import Goal, Maximize, Minimize
from daedalus.proposers import BayesProposer, History, Proposer, SobolProposer, Trial, bayes
from daedalus.proposers.bayes import (
    _acquisition,
    _expected_warnings,
    _fit_model,
    _ModelEncoding,
    _optimize,
    _polished,
    gaussianised_objective,
    logged_constraints,
)
from daedalus.space import Choice, Integer, Params, Real, Space, Value

Outcome = Callable[[Mapping[str, Value]], dict[str, float]]

BRANIN_MIN = 0.397887  # Dixon and Szegő (1978), reached at (-pi, 12.275), (pi, 2.275), ...
BRANIN_SPACE = Space([Real("x1", -5.0, 10.0), Real("x2", 0.0, 15.0)])
BRANIN_GOAL = Goal(Minimize("y"))


def branin(params: Mapping[str, Value]) -> dict[str, float]:
    x1, x2 = float(params["x1"]), float(params["x2"])
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return {"y": (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10}


def run(
    proposer: Proposer,
    space: Space,
    goal: Goal,
    outcome: Outcome,
    *,
    budget: int,
    seed: int,
    batch: int = 1,
) -> list[Trial]:
    """Run a closed loop of `budget` experiments, with a fresh seed per decision."""
    trials: list[Trial] = []
    while len(trials) < budget:
        history = History(trials=trials, n_proposed=len(trials))
        designs = proposer.propose(space, goal, history, n=batch, seed=seed * 1000 + len(trials))
        trials += [
            Trial(f"exp-{len(trials) + i:03d}", d, outcome(d)) for i, d in enumerate(designs)
        ]
    return trials


def observed_history(space: Space, goal: Goal, outcome: Outcome, *, n: int) -> History:
    designs = SobolProposer().propose(space, goal, History(), n=n, seed=7)
    trials = [Trial(f"exp-{i:03d}", d, outcome(d)) for i, d in enumerate(designs)]
    return History(trials=trials, n_proposed=n)


def best_params(goal: Goal, trials: list[Trial]) -> Params:
    index = goal.best([t.values or {} for t in trials])
    assert index is not None
    return dict(trials[index].params)


@pytest.mark.slow
def test_beats_sobol_on_branin() -> None:
    def regret(proposer: Proposer, seed: int) -> float:
        trials = run(proposer, BRANIN_SPACE, BRANIN_GOAL, branin, budget=25, seed=seed)
        return min((t.values or {})["y"] for t in trials) - BRANIN_MIN

    bayes = statistics.median(regret(BayesProposer(), seed) for seed in range(3))
    sobol = statistics.median(regret(SobolProposer(), seed) for seed in range(3))
    assert bayes < sobol, f"median regret after 25: bayes {bayes:.4f}, sobol {sobol:.4f}"


@pytest.mark.slow
def test_best_design_respects_the_outcome_constraint() -> None:
    # max x + y s.t. x^2 + y^2 <= 0.5: optimum 1 at (0.5, 0.5); unconstrained it is (1, 1).
    space = Space([Real("x", 0.0, 1.0), Real("y", 0.0, 1.0)])
    goal = Goal(Maximize("total"), constraints=["radius_sq <= 0.5"])

    def outcome(p: Mapping[str, Value]) -> dict[str, float]:
        x, y = float(p["x"]), float(p["y"])
        return {"total": x + y, "radius_sq": x**2 + y**2}

    trials = run(BayesProposer(), space, goal, outcome, budget=15, seed=0)
    best = outcome(best_params(goal, trials))
    assert goal.is_feasible(best)
    assert best["total"] > 0.95


def test_pending_designs_push_the_batch_away() -> None:
    history = observed_history(BRANIN_SPACE, BRANIN_GOAL, branin, n=10)
    proposer = BayesProposer()
    first = proposer.propose(BRANIN_SPACE, BRANIN_GOAL, history, n=2, seed=1)
    busy = History(trials=history.trials, pending=first, n_proposed=12)
    second = proposer.propose(BRANIN_SPACE, BRANIN_GOAL, busy, n=2, seed=1)
    units = BRANIN_SPACE.encode_many(second)
    pending_units = BRANIN_SPACE.encode_many(first)
    assert second[0] != second[1]
    # Not just unequal: the model believes the pending designs, so their neighbourhood is taken.
    distances = np.linalg.norm(units[:, None, :] - pending_units[None, :, :], axis=-1)
    assert distances.min() > 1e-3, distances


@pytest.mark.slow
@pytest.mark.parametrize(
    ("high", "seed", "enumerated"),
    [
        # The levels are enumerated; relaxed and rounded alone, this seed ended at 7.13.
        (10, 0, True),
        # Too many levels to enumerate: k is relaxed, then searched again at the level it
        # decodes to; relaxed and rounded alone, this seed ended at 7.0.
        (40, 1, False),
    ],
)
def test_linear_constraints_hold_at_integer_levels(high: int, seed: int, enumerated: bool) -> None:
    # The optimum lies on the constraint.
    space = Space([Real("x", 0.0, 10.0), Integer("k", 0, high)], constraints=["x + k <= 7.5"])
    assert _ModelEncoding.of(space).integers_enumerated == enumerated
    goal = Goal(Maximize("total"))

    def outcome(p: Mapping[str, Value]) -> dict[str, float]:
        return {"total": float(p["x"]) + float(p["k"])}

    trials = run(BayesProposer(), space, goal, outcome, budget=12, seed=seed, batch=2)
    assert all(space.contains(t.params) for t in trials)
    assert outcome(best_params(goal, trials))["total"] > 7.49


class _Peak(AcquisitionFunction):
    """A stand-in acquisition with one peak at `target` (`1 x p` model inputs); its model, a
    GP on that one point, is never asked."""

    def __init__(self, target: torch.Tensor) -> None:
        super().__init__(_fit_model(target, torch.zeros(1, 1, dtype=torch.float64), {}))
        self.target = target

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return -((X - self.target) ** 2).sum(dim=(-2, -1))


# k = 3 leaves x = 0 alone, k = 4 leaves no x; y is in no constraint.
PINNING = Space(
    [Integer("k", 1, 4), Real("x", 0.0, 10.0), Choice("c", ("a", "b")), Real("y", 0.0, 1.0)],
    constraints=["x + 2 * k <= 6"],
)


@pytest.mark.parametrize("multi", [False, True])
def test_few_integer_levels_are_enumerated_with_the_categories(multi: bool) -> None:
    encoding = _ModelEncoding.of(PINNING, multi=multi)
    assert encoding.integers_enumerated
    x, y = (1, 4) if not multi else (1, 3)  # model columns
    designs = []
    for fixed in encoding.combinations():
        assert x not in fixed and y not in fixed
        sub = encoding.subproblem(fixed)
        row = torch.full((1, encoding.bounds().shape[1]), 0.05, dtype=torch.float64)
        for column, value in fixed.items():
            row[0, column] = value
        unit = encoding.to_unit(row)[0]
        design = PINNING.decode(unit)
        assert np.allclose(unit, PINNING.encode(design))  # a level's centre, exactly
        assert (sub is None) == (design["k"] == 4)
        if sub is not None:
            designs.append(design)
            # No room for the optimiser's margin at k = 3: x is fixed at its bound, y is not.
            assert sub.free == ([x, y] if design["k"] < 3 else [y])
            if design["k"] == 3:
                assert sub.fixed[x] == 0.0
    assert sorted((d["k"], d["c"]) for d in designs) == [
        (k, c) for k in (1, 2, 3) for c in ("a", "b")
    ]


@pytest.mark.parametrize("time", [False, True])
def test_a_level_that_pins_a_real_competes_with_the_free_ones(time: bool) -> None:
    encoding = _ModelEncoding.of(PINNING, time=time)
    best = {"k": 3, "x": 0.0, "c": "b", "y": 0.7}
    peak = encoding.to_model(PINNING.encode_many([best]))
    X = _optimize(_Peak(peak), encoding, num_restarts=8, raw_samples=64)
    design = PINNING.decode(encoding.to_unit(X)[0])
    assert (design["k"], design["x"], design["c"]) == (3, 0.0, "b")
    assert abs(float(design["y"]) - 0.7) < 1e-3


@pytest.mark.parametrize("time", [False, True])
@pytest.mark.parametrize(
    ("options", "multi"),
    [(0, False), (2, False), (2, True), (40, False)],  # 40: BoTorch's alternating search
)
def test_a_relaxed_integer_is_polished_at_its_level(options: int, multi: bool, time: bool) -> None:
    # The peak lies beyond x + k <= 7.5; the relaxed search stops on that line with k between
    # two levels, and decoded as it is the design leaves the line (or breaks the constraint,
    # for the repair to round into it). Searched again at the level k decodes to, x reaches
    # the line; y, in no constraint, stays at its peak.
    parameters = [Real("x", 0.0, 10.0), Integer("k", 0, 40), Real("y", 0.0, 1.0)]
    if options:
        parameters.append(Choice("c", tuple(f"c{i}" for i in range(options))))
    space = Space(parameters, constraints=["x + k <= 7.5"])
    encoding = _ModelEncoding.of(space, time=time, multi=multi)
    assert not encoding.integers_enumerated
    assert encoding.one_hot == (options < 40 and not multi)
    peak = {"x": 10.0, "k": 40, "y": 0.3, **({"c": "c1"} if options else {})}
    target = encoding.to_model(space.encode_many([peak]))
    torch.manual_seed(0)
    with _expected_warnings():  # as the proposer runs it
        X = _optimize(_Peak(target), encoding, num_restarts=4, raw_samples=64)
    design = space.decode(encoding.to_unit(X)[0])
    assert space.contains(design)
    assert float(design["x"]) + int(design["k"]) == pytest.approx(7.5, abs=1e-3)
    assert float(design["y"]) == pytest.approx(0.3, abs=1e-3)
    assert design.get("c", "c1") == "c1"
    k_column = 1
    cells = 41
    assert float(X[0, k_column]) == pytest.approx((int(design["k"]) + 0.5) / cells)


def test_polishing_keeps_the_better_of_its_search_and_the_rounded_design(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    space = Space(
        [Real("x", 0.0, 10.0), Integer("k", 0, 40), Real("y", 0.0, 1.0)],
        constraints=["x + k <= 7.5"],
    )
    encoding = _ModelEncoding.of(space)
    cells = 41

    def relaxed(x: float, k: float, y: float) -> torch.Tensor:
        return torch.tensor([[x / 10.0, (k + 0.5) / cells, y]], dtype=torch.float64)

    corner: list[torch.Tensor] = []

    def poor_search(acquisition: object, subproblems: list[Any], **_: object) -> torch.Tensor:
        sub = subproblems[0]  # the level below, its free columns at their lower bounds
        corner.append(sub.full(sub.bounds[:1]))
        return corner[-1]

    monkeypatch.setattr(bayes, "_optimize_subproblems", poor_search)
    # Rounded (k 2.2 -> 2), the relaxed point is valid and beats the search's: it is kept.
    X = relaxed(3.0, 2.2, 0.3)
    rounded = relaxed(3.0, 2.0, 0.3)
    assert torch.allclose(
        _polished(_Peak(rounded), encoding, X, num_restarts=4, raw_samples=16), rounded
    )
    # Rounded (k 1.6 -> 2), x = 5.8 breaks x + k <= 7.5: the search's design, though worse.
    X = relaxed(5.8, 1.6, 0.3)
    polished = _polished(_Peak(X), encoding, X, num_restarts=4, raw_samples=16)
    assert torch.equal(polished, corner[-1])
    assert space.contains(space.decode(encoding.to_unit(polished)[0]))
    # No x meets x + k <= 7.5 at k = 9: the relaxed point is left for decoding to repair.
    X = relaxed(0.0, 9.0, 0.3)
    assert torch.equal(_polished(_Peak(X), encoding, X, num_restarts=4, raw_samples=16), X)


def test_polishing_searches_the_levels_on_both_sides() -> None:
    # The relaxed optimum (x, k) = (5.8, 1.6) decodes to k = 2, where x + k <= 7.5 holds x to
    # 5.5; at k = 1, the level below, x stays at 5.8, nearer the peak.
    space = Space(
        [Real("x", 0.0, 10.0), Integer("k", 0, 40), Real("y", 0.0, 1.0)],
        constraints=["x + k <= 7.5"],
    )
    encoding = _ModelEncoding.of(space)
    X = torch.tensor([[0.58, (1.6 + 0.5) / 41, 0.3]], dtype=torch.float64)
    assert [sorted(c.values()) for c in encoding.neighbours_of(X)] == [[1.5 / 41], [2.5 / 41]]
    torch.manual_seed(0)
    polished = _polished(_Peak(X), encoding, X, num_restarts=4, raw_samples=64)
    design = space.decode(encoding.to_unit(polished)[0])
    assert design["k"] == 1
    # Near the peak the square is flat to L-BFGS-B's tolerance: x to within 0.01, not 0.3 off.
    assert float(design["x"]) == pytest.approx(5.8, abs=0.01)
    assert float(design["y"]) == pytest.approx(0.3, abs=0.01)


def test_many_integer_levels_are_relaxed() -> None:
    wide = _ModelEncoding.of(Space([Integer("k", 0, 40), Real("x", 0.0, 1.0)]))
    assert not wide.integers_enumerated and wide.combinations() == [{}]
    # 2 categories times 21 levels is more than are optimised one by one.
    mixed = _ModelEncoding.of(Space([Integer("k", 0, 20), Choice("c", ("a", "b"))]))
    assert not mixed.integers_enumerated
    assert [sorted(c) for c in mixed.combinations()] == [[1, 2], [1, 2]]


@pytest.mark.parametrize("time", [False, True])
@pytest.mark.parametrize(
    ("constraints", "expected"), [((), {"a": 3, "b": 1}), (("a + b <= 3",), {"a": 2, "b": 1})]
)
def test_a_space_of_integers_only_is_searched_level_by_level(
    constraints: tuple[str, ...], expected: Params, time: bool
) -> None:
    # Every model column is fixed by an enumerated combination: nothing is left to optimise.
    # Under the constraint the nearest level to the peak at (3, 1) lies on it, at (2, 1).
    space = Space([Integer("a", 0, 4), Integer("b", 0, 3)], constraints=list(constraints))
    encoding = _ModelEncoding.of(space, time=time)
    peak = encoding.to_model(space.encode_many([{"a": 3, "b": 1}]))
    X = _optimize(_Peak(peak + 0.01), encoding, num_restarts=4, raw_samples=16)
    assert space.decode(encoding.to_unit(X)[0]) == expected
    # At the level's centre (and time now), not beside it at the peak.
    assert torch.allclose(X, encoding.to_model(space.encode_many([expected])))


@pytest.mark.slow
def test_finds_the_best_category() -> None:
    space = Space([Real("x", 0.0, 1.0), Choice("catalyst", ("pd", "pt", "ni"))])
    goal = Goal(Maximize("yield_pct"))
    bonus = {"pd": 0.0, "pt": 1.0, "ni": 0.3}

    def outcome(p: Mapping[str, Value]) -> dict[str, float]:
        return {"yield_pct": bonus[str(p["catalyst"])] - 2 * (float(p["x"]) - 0.7) ** 2}

    trials = run(BayesProposer(), space, goal, outcome, budget=12, seed=0)
    best = best_params(goal, trials)
    assert best["catalyst"] == "pt"
    assert abs(float(best["x"]) - 0.7) < 0.1
    model_based = [t.params["catalyst"] for t in trials[5:]]
    assert model_based.count("pt") > len(model_based) / 2, model_based


def test_same_inputs_give_the_same_designs_in_any_trial_order() -> None:
    history = observed_history(BRANIN_SPACE, BRANIN_GOAL, branin, n=12)
    pending = SobolProposer().propose(BRANIN_SPACE, BRANIN_GOAL, history, n=2, seed=3)
    history = History(trials=history.trials, pending=pending, n_proposed=14)
    shuffled_trials = list(history.trials)
    random.Random(0).shuffle(shuffled_trials)
    shuffled = History(trials=shuffled_trials, pending=pending[::-1], n_proposed=14)
    proposer = BayesProposer()
    runs = [proposer.propose(BRANIN_SPACE, BRANIN_GOAL, h, n=2, seed=5) for h in (history,) * 2]
    assert runs[0] == runs[1]
    assert proposer.propose(BRANIN_SPACE, BRANIN_GOAL, shuffled, n=2, seed=5) == runs[0]


def test_leaves_global_torch_state_alone() -> None:
    history = observed_history(BRANIN_SPACE, BRANIN_GOAL, branin, n=8)
    threads, rng = torch.get_num_threads(), torch.random.get_rng_state()
    BayesProposer().propose(BRANIN_SPACE, BRANIN_GOAL, history, n=1, seed=0)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), rng)


def test_does_not_propose_a_failed_design_again() -> None:
    history = observed_history(BRANIN_SPACE, BRANIN_GOAL, branin, n=10)
    proposer = BayesProposer()
    (wanted,) = proposer.propose(BRANIN_SPACE, BRANIN_GOAL, history, n=1, seed=2)
    failed = Trial("exp-999", wanted, None, cause="infeasible")
    after = History(trials=[*history.trials, failed], n_proposed=11)
    (design,) = proposer.propose(BRANIN_SPACE, BRANIN_GOAL, after, n=1, seed=2)
    assert design != wanted


def test_starts_with_the_sobol_design() -> None:
    history = observed_history(BRANIN_SPACE, BRANIN_GOAL, branin, n=2)
    bayes = BayesProposer().propose(BRANIN_SPACE, BRANIN_GOAL, history, n=3, seed=4)
    sobol = SobolProposer().propose(BRANIN_SPACE, BRANIN_GOAL, history, n=3, seed=4)
    assert bayes == sobol


@pytest.mark.parametrize(
    ("params", "n_init"), [({"x": 1.0}, 5), ({"x": 1.0, "k": 2, "c": "a"}, 6)], ids=["1d", "3d"]
)
def test_initial_design_is_sized_to_the_space(params: Params, n_init: int) -> None:
    parameters = {"x": Real("x", 0.0, 2.0), "k": Integer("k", 0, 3), "c": Choice("c", ("a", "b"))}
    space = Space([parameters[name] for name in params])
    assert BayesProposer().initial_designs(space) == n_init
    assert BayesProposer(n_init=3).initial_designs(space) == 3


def test_missing_metric_is_a_clear_error() -> None:
    goal = Goal(Minimize("y"), constraints=["cost_usd <= 3"])
    history = observed_history(BRANIN_SPACE, goal, branin, n=8)
    with pytest.raises(DaedalusError, match=r"lack finite goal metrics \['cost_usd'\]"):
        BayesProposer().propose(BRANIN_SPACE, goal, history, n=1, seed=0)


@pytest.mark.parametrize(
    "options",
    [{"n_init": 0}, {"num_restarts": 0}, {"raw_samples": 2, "num_restarts": 4}, {"n_init": 2.5}],
)
def test_rejects_bad_options(options: dict[str, object]) -> None:
    with pytest.raises(InvalidCampaign, match="BayesProposer"):
        BayesProposer(**options)  # type: ignore[arg-type]


def test_with_trial_times_the_model_proposes_for_now() -> None:
    """A response whose optimum walks from x = 0.2 to x = 0.8 over the campaign: told when each
    reading was taken, the proposer models time and proposes near where the optimum is now."""
    space = Space([Real("x", 0.0, 1.0)])
    goal = Goal(Maximize("y"))
    designs = SobolProposer().propose(space, goal, History(), n=24, seed=5)
    trials, times = [], {}
    for i, design in enumerate(designs):
        t = 10.0 * i / (len(designs) - 1)
        x = float(design["x"])
        trials.append(Trial(f"e{i:03d}", design, {"y": -((x - (0.2 + 0.06 * t)) ** 2)}))
        times[f"e{i:03d}"] = t
    timed = History(trials=trials, n_proposed=24, extra={"times": times, "now": 10.0})
    (now,) = BayesProposer().propose(space, goal, timed, n=1, seed=3)
    assert abs(float(now["x"]) - 0.8) < 0.1
    # The same readings without times mix every stage of the drift.
    (blind,) = BayesProposer().propose(
        space, goal, History(trials=trials, n_proposed=24), n=1, seed=3
    )
    assert abs(float(blind["x"]) - 0.8) > abs(float(now["x"]) - 0.8)


def test_positive_constrained_metrics_are_modelled_on_a_log_scale() -> None:
    goal = Goal(
        Minimize("cost"),
        constraints=["volume >= 1000", "cost <= 50", "ph >= 4", "ph <= 9", "drift <= 1"],
    )
    assert goal.metrics == ("cost", "volume", "ph", "drift")
    volume = torch.tensor([10.0, 999.0, 1000.5, 1001.0, 1e6], dtype=torch.float64)
    Y = torch.stack(
        [
            torch.arange(1.0, 6.0, dtype=torch.float64) * 20,  # an objective: left alone
            volume,  # positive, one positive bound: logged
            torch.tensor([3.0, 5.0, 7.0, 8.9, 11.0], dtype=torch.float64),  # two bounds: logged
            torch.tensor([-0.5, 0.2, 0.4, 1.5, 2.0], dtype=torch.float64),  # not positive
        ],
        dim=1,
    )
    warped, bounds = logged_constraints(goal, Y)
    assert torch.equal(warped[:, [0, 3]], Y[:, [0, 3]])
    assert torch.allclose(warped[:, 1], torch.log(volume))
    assert torch.allclose(warped[:, 2], torch.log(Y[:, 2]))
    assert bounds == pytest.approx((math.log(1000.0), 50.0, math.log(4.0), math.log(9.0), 1.0))
    # A reading far below the bounds is raised to a thousandth of the smallest first.
    tiny = Y.clone()
    tiny[0, 1] = 1e-9
    assert logged_constraints(goal, tiny)[0][0, 1] == pytest.approx(math.log(1.0))
    # Every reading keeps its side of every bound.
    for column, metric in enumerate(goal.metrics):
        for c, bound in zip(goal.constraints, bounds, strict=True):
            if c.name == metric:
                assert torch.equal(Y[:, column] >= c.bound, warped[:, column] >= bound)


def skewness(values: torch.Tensor) -> float:
    centred = values - values.mean()
    return float((centred**3).mean() / (centred**2).mean() ** 1.5)


@pytest.mark.parametrize("objective", [Minimize("y"), Maximize("y")])
def test_a_skewed_objective_is_warped_towards_a_normal_distribution(objective: Any) -> None:
    goal = Goal(objective, constraints=["y <= 200", "y >= 1", "c <= 0.5"])
    designs = SobolProposer().propose(BRANIN_SPACE, BRANIN_GOAL, History(), n=32, seed=3)
    y = torch.tensor([branin(d)["y"] for d in designs], dtype=torch.float64)
    Y = torch.stack([y, torch.linspace(0.0, 1.0, len(y), dtype=torch.float64)], dim=1)
    bounds = (200.0, 1.0, 0.5)
    warped, held = gaussianised_objective(goal, Y, bounds)
    assert skewness(y) > 1.0  # Branin's values: most low, a long tail of high ones
    assert abs(skewness(warped[:, 0])) < 0.25 * skewness(y)
    # Strictly increasing: the readings keep their order, and their side of every bound.
    order = torch.argsort(y)
    assert torch.all(torch.diff(warped[order, 0]) > 0)
    for (metric, op, bound), modelled in zip(
        [("y", "<=", 200.0), ("y", ">=", 1.0), ("c", "<=", 0.5)], held, strict=True
    ):
        column = goal.metrics.index(metric)
        inside = Y[:, column] <= bound if op == "<=" else Y[:, column] >= bound
        modelled_inside = (
            warped[:, column] <= modelled if op == "<=" else warped[:, column] >= modelled
        )
        assert torch.equal(inside, modelled_inside)
    assert torch.equal(warped[:, 1], Y[:, 1])  # only the objective is warped
    assert held[2] == 0.5


def test_the_objective_is_left_as_it_is_when_its_warp_means_nothing() -> None:
    Y = torch.tensor([[1.0, 5.0], [3.0, 2.0], [40.0, 1.0], [7.0, 0.5]], dtype=torch.float64)
    several = Goal(Minimize("a"), Minimize("b"))
    assert torch.equal(gaussianised_objective(several, Y, ())[0], Y)
    one = Goal(Minimize("a"), constraints=["b <= 3"])
    assert torch.equal(gaussianised_objective(one, Y[:3], (3.0,))[0], Y[:3])  # too few
    flat = Y.clone()
    flat[:, 0] = 2.0
    warped, held = gaussianised_objective(one, flat, (3.0,))
    assert torch.equal(warped, flat) and held == (3.0,)
    assert not torch.equal(gaussianised_objective(one, Y, (3.0,))[0], Y)


def test_a_bound_on_a_skewed_objective_holds_on_the_warped_scale() -> None:
    """y = exp(6x) is maximised under y <= exp(3), so the best design is x = 0.5: the bound is
    warped with the readings, else it would sit far above every warped reading and x = 1 win."""
    space = Space([Real("x", 0.0, 1.0)])
    goal = Goal(Maximize("y"), constraints=[f"y <= {math.exp(3.0)}"])
    history = observed_history(space, goal, lambda d: {"y": math.exp(6.0 * float(d["x"]))}, n=10)
    (design,) = BayesProposer().propose(space, goal, history, n=1, seed=0)
    assert float(design["x"]) == pytest.approx(0.5, abs=0.05)


def acquisition_of(
    goal: Goal,
    X: torch.Tensor,
    Y: torch.Tensor,
    pending: torch.Tensor | None,
    *,
    readings: bool = True,
    failed: int = 0,
) -> Any:
    """The acquisition `BayesProposer` builds on its GP fit to `X` (`n x p`, unit cube) and `Y`
    (`goal.metrics` order), with `pending` designs in flight, the first `failed` of them failed."""
    bounds = tuple(c.bound for c in goal.constraints)
    model = _fit_model(X, Y, {}, light_tails=not goal.multi)
    return _acquisition(
        model, goal, X, Y, pending, modelled=Y, bounds=bounds, readings=readings, failed=failed
    )


def test_the_incumbent_is_the_best_feasible_reading() -> None:
    # y rises with x, but c = x as well and c <= 0.65: the best feasible design is x = 0.6.
    X = torch.linspace(0.0, 1.0, 11, dtype=torch.float64).unsqueeze(-1)
    Y = torch.cat([2 * X - X**2, X], dim=-1)
    goal = Goal(Maximize("y"), constraints=["c <= 0.65"])
    acquisition = acquisition_of(goal, X, Y, None)
    assert float(acquisition.best_f) == pytest.approx(0.84, abs=1e-12)
    # Minimising, the incumbent is the negated smallest reading among feasible designs.
    goal = Goal(Minimize("y"), constraints=["c >= 0.25"])
    assert float(acquisition_of(goal, X, Y, None).best_f) == pytest.approx(-0.51, abs=1e-12)
    # A design in flight is believed at its posterior mean: predicted to beat every feasible
    # reading (y(0.62) = 0.8556 > 0.84), it raises the bar; predicted infeasible, it does not.
    goal = Goal(Maximize("y"), constraints=["c <= 0.65"])
    ahead = acquisition_of(goal, X, Y, torch.tensor([[0.62]], dtype=torch.float64))
    with torch.no_grad():
        believed = float(
            ahead.model.posterior(torch.tensor([[0.62]], dtype=torch.float64)).mean[0, 0]
        )
    assert float(ahead.best_f) == pytest.approx(believed, abs=1e-9)
    assert float(ahead.best_f) == pytest.approx(2 * 0.62 - 0.62**2, abs=0.005)
    beyond = acquisition_of(goal, X, Y, torch.tensor([[0.75]], dtype=torch.float64))
    assert float(beyond.best_f) == pytest.approx(0.84, abs=1e-12)
    # With no feasible design the incumbent lies below every design's objective.
    goal = Goal(Maximize("y"), constraints=["c >= 2"])
    with pytest.warns(Warning, match="all training points are infeasible"):
        acquisition = acquisition_of(goal, X, Y, None)
    assert float(acquisition.best_f) < float(Y[:, 0].min())


def test_a_drifting_campaign_takes_the_posterior_mean_as_incumbent() -> None:
    # With campaign time as an input the readings are history: what counts is what the
    # designs would read now, the posterior mean at X (time pinned at now by the caller).
    X = torch.linspace(0.0, 1.0, 11, dtype=torch.float64).unsqueeze(-1)
    Y = torch.cat([2 * X - X**2, X], dim=-1)
    Y[6, 0] += 0.5  # one reading far above its neighbours: the mean does not follow it fully
    goal = Goal(Maximize("y"), constraints=["c <= 0.65"])
    acquisition = acquisition_of(goal, X, Y, None, readings=False)
    with torch.no_grad():
        mean = acquisition.model.posterior(X).mean
    expected = mean[mean[:, 1] <= 0.65, 0].max()
    assert float(acquisition.best_f) == pytest.approx(float(expected), abs=1e-9)
    assert float(acquisition.best_f) < float(Y[6, 0]) - 0.01
    assert float(acquisition_of(goal, X, Y, None).best_f) == pytest.approx(float(Y[6, 0]))


def test_pending_designs_are_believed_at_their_posterior_mean() -> None:
    X = torch.tensor([[0.1], [0.3], [0.5], [0.9]], dtype=torch.float64)
    Y = -((X - 0.7) ** 2)
    goal = Goal(Maximize("y"))
    pending = torch.tensor([[0.7]], dtype=torch.float64)
    free = acquisition_of(goal, X, Y, None)
    busy = acquisition_of(goal, X, Y, pending)
    with torch.no_grad():
        before, after = free.model.posterior(pending), busy.model.posterior(pending)
        far = torch.tensor([[0.2]], dtype=torch.float64)
        assert float(after.mean) == pytest.approx(float(before.mean), abs=1e-6)
        assert float(after.variance) < float(before.variance) / 10
        assert float(busy.model.posterior(far).mean) == pytest.approx(
            float(free.model.posterior(far).mean), abs=1e-6
        )
        # Where the design in flight is, little is left to gain; elsewhere far less changes.
        at, near_far = pending.unsqueeze(0), far.unsqueeze(0)
        assert float(busy(at)) < float(free(at)) - 1.0
        assert float(busy(near_far)) > float(free(near_far)) - 1.0


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_failed_design_is_believed_no_better_than_the_incumbent(sign: float) -> None:
    # The model rates x = 0.7 best, but the experiment there failed: nothing will be read.
    X = torch.tensor([[0.1], [0.3], [0.5], [0.55], [0.85], [0.95]], dtype=torch.float64)
    Y = -sign * (X - 0.7) ** 2
    goal = Goal(Maximize("y") if sign > 0 else Minimize("y"))
    fault = torch.tensor([[0.7]], dtype=torch.float64)
    free = acquisition_of(goal, X, Y, None)
    failed = acquisition_of(goal, X, Y, fault, failed=1)
    pending = acquisition_of(goal, X, Y, fault)
    best_reading = float((sign * Y).max())
    # In flight, the design raises the bar; failed, it does not.
    assert float(pending.best_f) > best_reading + 0.01, float(pending.best_f)
    assert float(failed.best_f) == pytest.approx(best_reading, abs=1e-12)
    with torch.no_grad():
        # Conditioning pulls the mean there from above the best reading down to about it.
        before = sign * float(free.model.posterior(fault).mean)
        after = sign * float(failed.model.posterior(fault).mean)
        assert before > best_reading + 0.01 and after < best_reading + 0.005, (before, after)
        # Nothing is left to gain at the failed design, where the free model saw the most.
        at = fault.unsqueeze(0)
        assert float(failed(at)) < float(free(at)) - 1.0
        grid = torch.linspace(0.0, 1.0, 201, dtype=torch.float64).reshape(-1, 1, 1)
        assert abs(float(grid[failed(grid).argmax()]) - 0.7) > 0.02
