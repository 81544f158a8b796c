"""The feasibility classifier and `BayesProposer`'s feasibility-aware acquisition: P is learnt
from infeasible failures only, the proposer steers away from failing regions, keeps the
risky-share rule, and stays deterministic."""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest
import torch

from daedalus.errors import InvalidCampaign
from daedalus.goal import Goal, Minimize
from daedalus.models.feasibility import FeasibilityClassifier, training_data
from daedalus.proposers import BayesProposer, History, SobolProposer, Trial, bayes
from daedalus.proposers.bayes import _ModelEncoding
from daedalus.sims.functions import branin, branin_disc_violation
from daedalus.space import Choice, Params, Real, Space, Value

SPACE = Space([Real("x", 0.0, 1.0), Real("y", 0.0, 1.0)])
GOAL = Goal(Minimize("loss"))
CENTRE, RADIUS = (0.75, 0.75), 0.3  # the infeasible disc of the synthetic problem


def inside(params: Mapping[str, Value]) -> bool:
    return math.dist((float(params["x"]), float(params["y"])), CENTRE) < RADIUS


def loss(params: Mapping[str, Value]) -> dict[str, float]:
    """Smallest at (0.85, 0.85), inside the disc: an unconstrained optimiser heads into it."""
    x, y = float(params["x"]), float(params["y"])
    return {"loss": (x - 0.85) ** 2 + (y - 0.85) ** 2}


def trial(i: int, params: Params, *, cause: str = "infeasible") -> Trial:
    """A trial of the synthetic problem: it fails with `cause` inside the disc."""
    if inside(params):
        return Trial(f"exp-{i:03d}", params, None, cause=cause)
    return Trial(f"exp-{i:03d}", params, loss(params))


def sobol_trials(n: int, *, seed: int = 7, cause: str = "infeasible") -> list[Trial]:
    designs = SobolProposer().propose(SPACE, GOAL, History(), n=n, seed=seed)
    return [trial(i, d, cause=cause) for i, d in enumerate(designs)]


def prob(classifier: FeasibilityClassifier, *points: tuple[float, float]) -> list[float]:
    return classifier.prob(torch.tensor(points, dtype=torch.float64)).tolist()


# -- the classifier ---------------------------------------------------------------------------


def test_p_is_low_where_failures_were_seen_and_high_where_successes_were() -> None:
    trials = sobol_trials(48)
    assert 5 <= sum(t.values is None for t in trials) < 48
    classifier = FeasibilityClassifier.from_trials(SPACE, trials)
    centre, far, near_origin = prob(classifier, CENTRE, (0.1, 0.2), (0.25, 0.1))
    assert classifier.fitted
    assert centre < 0.2, centre
    assert far > 0.8 and near_origin > 0.8, (far, near_origin)


@pytest.mark.parametrize("cause", ["machine_fault", "timeout", "safety_abort"])
def test_other_failures_do_not_lower_p(cause: str) -> None:
    base = sobol_trials(32)
    # Failures of another cause all over the feasible corner, where successes were seen.
    extra = [
        Trial(f"exp-{100 + i}", {"x": 0.1 + 0.02 * i, "y": 0.15}, None, cause=cause)
        for i in range(10)
    ]
    with_extra = FeasibilityClassifier.from_trials(SPACE, [*base, *extra])
    without = FeasibilityClassifier.from_trials(SPACE, base)
    points = [(0.2, 0.15), (0.75, 0.75)]
    assert prob(with_extra, *points) == prob(without, *points)
    only_faults = FeasibilityClassifier.from_trials(SPACE, sobol_trials(16, cause=cause))
    assert not only_faults.fitted
    assert prob(only_faults, *points) == [1.0, 1.0]


def test_no_infeasible_trial_means_p_is_one() -> None:
    successes = [t for t in sobol_trials(20) if t.values is not None]
    classifier = FeasibilityClassifier.from_trials(SPACE, successes)
    assert not classifier.fitted
    assert prob(classifier, CENTRE) == [1.0]
    X, feasible = training_data(SPACE, successes)
    assert X.shape == (len(successes), 2) and bool((feasible == 1).all())


def test_fit_is_deterministic_ignores_trial_order_and_leaves_the_random_state_alone() -> None:
    trials = sobol_trials(24)
    shuffled = list(trials)
    random.Random(0).shuffle(shuffled)
    state = torch.random.get_rng_state()
    first = FeasibilityClassifier.from_trials(SPACE, trials)
    assert torch.equal(torch.random.get_rng_state(), state)
    points = [(0.5, 0.5), CENTRE, (0.1, 0.9)]
    assert prob(first, *points) == prob(FeasibilityClassifier.from_trials(SPACE, trials), *points)
    assert prob(first, *points) == prob(FeasibilityClassifier.from_trials(SPACE, shuffled), *points)


def test_matches_gpytorch_variational_classifier() -> None:
    """The hand-written ELBO and predictive agree with GPyTorch's SVGP with a Bernoulli
    likelihood and the same mean, kernel, priors and inducing points."""
    from botorch.optim.fit import fit_gpytorch_mll_scipy
    from gpytorch.distributions import MultivariateNormal
    from gpytorch.kernels import RBFKernel, ScaleKernel
    from gpytorch.likelihoods import BernoulliLikelihood
    from gpytorch.means import ConstantMean
    from gpytorch.mlls import VariationalELBO
    from gpytorch.models import ApproximateGP
    from gpytorch.priors import GammaPrior, LogNormalPrior, NormalPrior
    from gpytorch.variational import CholeskyVariationalDistribution, VariationalStrategy

    X, feasible = training_data(SPACE, sobol_trials(24))

    class Latent(ApproximateGP):  # type: ignore[misc]
        def __init__(self) -> None:
            distribution = CholeskyVariationalDistribution(len(X))
            strategy = VariationalStrategy(self, X, distribution, learn_inducing_locations=False)
            super().__init__(strategy)
            self.mean_module = ConstantMean(constant_prior=NormalPrior(0.0, 2.0))
            prior = LogNormalPrior(math.sqrt(2) + 0.5 * math.log(2), math.sqrt(3))
            kernel = RBFKernel(ard_num_dims=2, lengthscale_prior=prior)
            kernel.lengthscale = prior.mode
            self.covar_module = ScaleKernel(kernel, outputscale_prior=GammaPrior(2.0, 0.5))
            self.covar_module.outputscale = 1.0

        def forward(self, x: torch.Tensor) -> MultivariateNormal:
            return MultivariateNormal(self.mean_module(x), self.covar_module(x))

    latent = Latent().double()
    likelihood = BernoulliLikelihood()
    latent.train_inputs, latent.train_targets = (X,), feasible
    with torch.random.fork_rng(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jitter and iteration-limit notes
        torch.manual_seed(0)
        fit_gpytorch_mll_scipy(VariationalELBO(likelihood, latent, num_data=len(X)))
    latent.eval()
    grid = torch.tensor(np.random.default_rng(0).random((200, 2)))
    with torch.no_grad():
        posterior = latent(grid)
        reference = likelihood(posterior).mean
    ours = FeasibilityClassifier.fit(X, feasible).prob(grid)
    assert torch.allclose(ours, reference, atol=2e-3), (ours - reference).abs().max()


# -- the proposer -----------------------------------------------------------------------------


@pytest.mark.slow
def test_proposes_far_fewer_designs_in_the_infeasible_region() -> None:
    # Branin with infeasible discs over two of its three minima: a GP fitted to the successes
    # extrapolates into the discs, so a blind optimiser keeps trying them.
    space = Space([Real("x1", -5.0, 10.0), Real("x2", 0.0, 15.0)])
    goal = Goal(Minimize("value"))

    def failures(proposer: BayesProposer, seed: int) -> int:
        trials: list[Trial] = []
        while len(trials) < 25:
            history = History(trials=trials, n_proposed=len(trials))
            (d,) = proposer.propose(space, goal, history, n=1, seed=seed * 1000 + len(trials))
            x1, x2 = float(d["x1"]), float(d["x2"])
            i = f"exp-{len(trials):03d}"
            if branin_disc_violation(x1, x2):
                trials.append(Trial(i, d, None, cause="infeasible"))
            else:
                trials.append(Trial(i, d, {"value": branin(x1, x2)}))
        return sum(t.values is None for t in trials[5:])  # after the shared Sobol start

    # A blind proposer believes each failed design no better than the incumbent, so it keeps
    # off the failed designs themselves, but not off the discs around them. Per seed the counts
    # scatter (aware 2, 1, 2, 5 against blind 4, 0, 6, 3; with qLogNEI, which had failures
    # pending, 3, 3, 2, 6 against 8, 6, 9, 5), hence four seeds.
    aware = sum(failures(BayesProposer(), seed) for seed in range(4))
    blind = sum(failures(BayesProposer(feasibility=False), seed) for seed in range(4))
    assert aware < blind, (aware, blind)


def test_risky_share_rule_holds_in_a_batch() -> None:
    history = History(trials=sobol_trials(24), n_proposed=24)
    classifier = FeasibilityClassifier.from_trials(SPACE, history.trials)
    risky = {}
    for share in (0.0, 0.25, 1.0):
        proposer = BayesProposer(max_risky_share=share)
        designs = proposer.propose(SPACE, GOAL, history, n=4, seed=3)
        p = classifier.prob(torch.tensor(SPACE.encode_many(designs)))
        risky[share] = int((p < proposer.feasibility_threshold).sum())
        assert risky[share] <= proposer.risky_allowed(4) == math.floor(4 * share)
    assert risky[1.0] > risky[0.0], risky  # the rule binds: unlimited, the batch takes risks


def test_same_history_and_seed_give_the_same_designs() -> None:
    trials = sobol_trials(16)
    pending = [{"x": 0.3, "y": 0.4}]
    history = History(trials=trials, pending=pending, n_proposed=17)
    shuffled_trials = list(trials)
    random.Random(1).shuffle(shuffled_trials)
    shuffled = History(trials=shuffled_trials, pending=pending, n_proposed=17)
    proposer = BayesProposer()
    first = proposer.propose(SPACE, GOAL, history, n=2, seed=5)
    assert proposer.propose(SPACE, GOAL, history, n=2, seed=5) == first
    assert proposer.propose(SPACE, GOAL, shuffled, n=2, seed=5) == first


def test_pending_designs_still_push_the_batch_away() -> None:
    history = History(trials=sobol_trials(16), n_proposed=16)
    proposer = BayesProposer()
    first = proposer.propose(SPACE, GOAL, history, n=2, seed=1)
    busy = History(trials=history.trials, pending=first, n_proposed=18)
    second = proposer.propose(SPACE, GOAL, busy, n=2, seed=1)
    distances = np.linalg.norm(
        SPACE.encode_many(second)[:, None, :] - SPACE.encode_many(first)[None, :, :], axis=-1
    )
    assert distances.min() > 1e-3, distances


def test_without_infeasible_trials_the_model_changes_nothing() -> None:
    faults = sobol_trials(12, cause="machine_fault")
    history = History(trials=faults, n_proposed=12)
    on = BayesProposer().propose(SPACE, GOAL, history, n=2, seed=2)
    off = BayesProposer(feasibility=False).propose(SPACE, GOAL, history, n=2, seed=2)
    assert on == off


def test_when_everything_failed_it_moves_away_from_the_failures() -> None:
    # Every experiment so far failed, all of them in the upper-right quarter.
    designs = SobolProposer().propose(SPACE, GOAL, History(), n=64, seed=0)
    corner = [d for d in designs if float(d["x"]) > 0.5 and float(d["y"]) > 0.5][:6]
    history = History(
        trials=[Trial(f"exp-{i}", d, None, cause="infeasible") for i, d in enumerate(corner)],
        n_proposed=64,
    )
    proposed = BayesProposer().propose(SPACE, GOAL, history, n=4, seed=0)
    assert len({tuple(d.values()) for d in proposed}) == 4
    assert all(SPACE.contains(d) for d in proposed)
    outside = [d for d in proposed if not (float(d["x"]) > 0.5 and float(d["y"]) > 0.5)]
    assert len(outside) >= 3, proposed


def test_mixed_space_with_linear_constraints_avoids_a_failing_category() -> None:
    space = Space(
        [Real("x", 0.0, 1.0), Real("y", 0.0, 1.0), Choice("tool", ("a", "b"))],
        constraints=["x + y <= 1.5"],
    )
    goal = Goal(Minimize("loss"))

    def outcome(i: int, p: Params) -> Trial:
        if p["tool"] == "b":  # tool b always fails, and would otherwise look best
            return Trial(f"exp-{i:03d}", p, None, cause="infeasible")
        return Trial(f"exp-{i:03d}", p, {"loss": (float(p["x"]) - 0.3) ** 2 + 0.5})

    designs = SobolProposer().propose(space, goal, History(), n=12, seed=4)
    history = History(trials=[outcome(i, d) for i, d in enumerate(designs)], n_proposed=12)
    proposed = BayesProposer().propose(space, goal, history, n=3, seed=4)
    assert all(space.contains(d) for d in proposed)
    assert [d["tool"] for d in proposed].count("b") <= BayesProposer().risky_allowed(3)


ENUMERABLE = Space([Real("x", 0.0, 2.0), Choice("c", ("p", "q", "r")), Real("z", -1.0, 1.0)])
# 2^6 = 64 combinations of categories: more than are optimised one by one.
MANY_CHOICES = Space([Real("x", 0.0, 1.0), *(Choice(f"c{i}", ("a", "b")) for i in range(6))])


@pytest.mark.parametrize(
    ("space", "multi", "one_hot"),
    [(ENUMERABLE, False, True), (ENUMERABLE, True, False), (MANY_CHOICES, False, False)],
)
def test_model_to_unit_encoding_matches_the_space(space: Space, multi: bool, one_hot: bool) -> None:
    encoding = _ModelEncoding.of(space, time=True, multi=multi)
    assert encoding.one_hot is one_hot
    designs = SobolProposer().propose(space, GOAL, History(), n=8, seed=0)
    unit = space.encode_many(designs)
    model = encoding.to_model(unit)
    width = space.dim if one_hot else len(space)
    assert model.shape == (8, width + 1)  # and the time column
    assert np.allclose(encoding.to_unit_tensor(model).numpy(), unit)
    assert np.allclose(encoding.to_unit(model), unit)
    assert encoding.bounds().shape == (2, width + 1)


def test_one_hot_categories_fix_one_option_of_each_block() -> None:
    space = Space([Choice("a", ("p", "q")), Real("x", 0.0, 1.0), Choice("b", ("r", "s", "t"))])
    encoding = _ModelEncoding.of(space)
    combinations = encoding.categories()
    assert len(combinations) == 6
    designs = []
    for fixed in combinations:
        assert sorted(fixed) == [0, 1, 3, 4, 5]  # every one-hot column, never x's
        row = torch.zeros(1, space.dim, dtype=torch.float64)
        for column, value in fixed.items():
            row[0, column] = value
        designs.append(space.decode(encoding.to_unit(row)[0]))
    assert sorted((d["a"], d["b"]) for d in designs) == [
        (a, b) for a in ("p", "q") for b in ("r", "s", "t")
    ]


def test_many_categories_are_searched_by_index() -> None:
    encoding = _ModelEncoding.of(MANY_CHOICES)
    assert encoding.cat_columns == {i: 2 for i in range(1, 7)}
    goal = Goal(Minimize("loss"))
    designs = SobolProposer().propose(MANY_CHOICES, goal, History(), n=14, seed=3)

    def loss(p: Params) -> float:  # best with every choice "b" and x = 0.4
        return sum(p[f"c{i}"] == "a" for i in range(6)) + (float(p["x"]) - 0.4) ** 2

    trials = [Trial(f"exp-{i:03d}", d, {"loss": loss(d)}) for i, d in enumerate(designs)]
    proposed = BayesProposer().propose(
        MANY_CHOICES, goal, History(trials=trials, n_proposed=14), n=2, seed=3
    )
    assert all(MANY_CHOICES.contains(d) for d in proposed)
    best_seen = min(loss(d) for d in designs)
    assert min(loss(d) for d in proposed) < best_seen, (best_seen, proposed)


TWO_OBJECTIVES = Goal(Minimize("loss"), Minimize("cost"))


def recording(
    name: str, original: Callable[..., Any], calls: list[tuple[str, dict[str, Any]]]
) -> Callable[..., Any]:
    """`original`, noting its name and keyword arguments in `calls` at each call."""

    def recorded(*args: Any, **kwargs: Any) -> Any:
        calls.append((name, kwargs))
        return original(*args, **kwargs)

    return recorded


@pytest.mark.parametrize(
    ("space", "goal", "optimiser", "fixed_columns"),
    [
        (ENUMERABLE, GOAL, "optimize_acqf_mixed", [1, 2, 3]),  # one-hot: 3 columns fixed
        (ENUMERABLE, TWO_OBJECTIVES, "optimize_acqf_mixed", [1]),  # index: 1 column
        (MANY_CHOICES, GOAL, "optimize_acqf_mixed_alternating", None),
    ],
)
def test_categories_are_enumerated_unless_there_are_too_many(
    space: Space,
    goal: Goal,
    optimiser: str,
    fixed_columns: list[int] | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    for name in ("optimize_acqf", "optimize_acqf_mixed", "optimize_acqf_mixed_alternating"):
        monkeypatch.setattr(bayes, name, recording(name, getattr(bayes, name), calls))
    designs = SobolProposer().propose(space, goal, History(), n=16, seed=5)  # past n_init
    trials = [
        Trial(f"exp-{i:03d}", d, {"loss": float(d["x"]) ** 2, "cost": 1.0 - float(d["x"])})
        for i, d in enumerate(designs)
    ]
    BayesProposer().propose(space, goal, History(trials=trials, n_proposed=16), n=1, seed=5)
    assert [name for name, _ in calls] == [optimiser]
    if fixed_columns is not None:
        fixed = calls[0][1]["fixed_features_list"]
        assert isinstance(fixed, list) and len(fixed) == 3
        assert all(sorted(f) == fixed_columns for f in fixed)


def test_linear_constraints_map_to_model_columns_after_a_choice() -> None:
    space = Space(
        [Choice("c", ("p", "q", "r")), Real("x", 0.0, 1.0), Real("y", 0.0, 1.0)],
        constraints=["x + y <= 1.5"],
    )
    for multi, columns in ((False, [3, 4]), (True, [1, 2])):
        (inequality,) = _ModelEncoding.of(space, multi=multi).inequalities()
        assert inequality[0].tolist() == columns


@pytest.mark.parametrize(
    "options",
    [
        {"feasibility": "yes"},
        {"feasibility_threshold": 0.0},
        {"feasibility_threshold": 1.0},
        {"feasibility_threshold": "half"},
        {"max_risky_share": -0.1},
        {"max_risky_share": 1.5},
        {"max_risky_share": True},
    ],
)
def test_rejects_bad_feasibility_options(options: dict[str, object]) -> None:
    with pytest.raises(InvalidCampaign, match="BayesProposer"):
        BayesProposer(**options)  # type: ignore[arg-type]
