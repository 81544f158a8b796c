"""`BayesProposer`: Bayesian optimization with a BoTorch Gaussian process and qLogEI (one
objective) or qLogNEHVI (several).

How a batch is made:

1. Until the initial design is in place, propose Sobol designs (`SobolProposer`).
2. Fit one GP over every goal metric (objectives and constrained metrics), standardized, in
   float64, on the model encoding below: with one objective a Matern 5/2 kernel under
   light-tailed Gamma priors (`_kernel`, `_likelihood`); with several, BoTorch's default
   `SingleTaskGP`; with categories in the index layout below (several objectives, or more
   than `_MAX_ENUMERATED` combinations), BoTorch's `MixedSingleTaskGP` with its defaults. A
   constrained metric (not an objective) that is positive in every reading and has positive
   bounds is modelled as its logarithm, its bounds with it (`logged_constraints`); with one
   objective, the objective is warped towards a normal distribution by a fitted Yeo-Johnson
   transform (`gaussianised_objective`).
   With `feasibility` on and at least one trial that failed as `infeasible`, also fit a GP
   classifier of P(feasible | x) (`daedalus.models.feasibility.FeasibilityClassifier`).
3. Pick the batch one design at a time (q=1, `_optimize`), each maximising
   `qLogExpectedImprovement` of the first objective over the best feasible reading, or of
   the posterior mean with drift (`_incumbent`), or, when the goal has several objectives,
   `qLogNoisyExpectedHypervolumeImprovement` at the reference point of `reference_point`.
   Outcome constraints enter as smooth feasibility weights and the space's linear constraints
   as `inequality_constraints`; the pending designs and the earlier picks enter as
   observations at their posterior mean (`_believe`; one predicted to beat the incumbent
   raises it) with one objective, as `X_pending` with several. With a fitted classifier the
   acquisition is `log EI(x) + log P(feasible | x)` (expected improvement weighted by the
   probability that the experiment runs at all), under the risky-share rule of
   `BayesProposer`.
4. Decode, validate, drop repeats, and top the batch up with Sobol designs if any were dropped.

Drift: when the history says when each trial ran (`history.extra["times"]` and `["now"]`, set
by the planner's `time` treatment of drift), the model has one more input, campaign time scaled
to 0 at the first trial and 1 now (a spatio-temporal GP, as in Nyikosa, Osborne and Roberts,
"Bayesian optimization for dynamic problems", arXiv:1803.03432, 2018): its ARD kernel learns how
fast and where the response moves, the incumbent is the best of the observed designs as they
would read now (posterior mean), and every pick is made with time pinned at now.

The model encoding (`_ModelEncoding`), with one objective, is the space's unit cube: the
coordinate of a `Real` or `Integer` and the one-hot block of a `Choice`, whose columns the ARD
kernel gives a lengthscale each, as Ax's default does; the acquisition is then optimised over the
continuous columns for every combination of categories (exact over the categories, cost grows
with their number). `Integer`s are enumerated with the categories, each level at the centre of
its cell, while the combinations stay at most `_MAX_ENUMERATED`. Each combination is searched
over the columns it leaves free, under the linear constraints restated on them
(`_ModelEncoding.subproblem`). With more combinations, an `Integer` is relaxed to its coordinate
for the search, and the design found is searched again with the `Integer`s fixed at the levels
on either side of it (`_polished`). Relaxed and rounded alone, an optimum on a linear constraint can
end up to a level off it (`max x + k` under `x + k <= 7.5`, batches of 2, best of 12
experiments on seeds 0 to 3: with `k` in 0 .. 10, 7.13 to 7.45 relaxed and rounded, 7.5 on all
four enumerated, at about the same CPU; with `k` in 0 .. 40, 7.0 to 7.49994 relaxed and
rounded, 7.5 on all four polished, at up to twice the CPU). With several objectives, or more
than `_MAX_ENUMERATED` combinations of categories, a `Choice` is one column instead, its
category index `0 .. k-1`, for `MixedSingleTaskGP`'s categorical kernel, and the combinations
are enumerated up to `_MAX_ENUMERATED` and searched beyond by BoTorch's alternating
continuous/local-categorical optimiser, with `Integer`s relaxed and then polished. The classifier
reads the space's unit cube; `_ModelEncoding.to_unit_tensor` maps model inputs to it.

Why one-hot with one objective, measured with the suite's seeds: `branin_cat` (40 experiments,
20 seeds) median final regret 0.144 [0.052, 0.466] against 0.148 [0.060, 0.499] with the
categorical kernel (lower on 8 of 20 seeds: no real difference), at 22 CPU s a run against 60;
`benchmarks/worlds.py`'s best-found share of the reference after 30 experiments, 5 seeds, one-hot
against categorical: `catalyst` 1.002 against 1.004 (42 against 78 CPU s a run), `turning` 0.956
against 0.917 (36 against 82 s), `gripper` 1.09 against 1.11 (19 against 62 s; its seeds range
from 0.42 to 1.96). With several objectives it was not adopted: `catalyst_pareto` true
hypervolume share 0.953 to 0.957 on 3 seeds, below the 0.960 to 0.970 quartiles an earlier
version recorded with the categorical kernel.

Failed trials (values None) never reach the objective GP. An `infeasible` one teaches the
classifier when `feasibility` is on; every other failure (`machine_fault`, `timeout`,
`safety_abort`, or any failure with `feasibility` off) is treated as a design in flight (believed
at its posterior mean with one objective, in `X_pending` with several), so the acquisition
values its neighbourhood as taken; with one objective it never sets the incumbent, since
nothing will be read there. A design equal
to any failed one is never returned.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import cast

import numpy as np
import torch
from scipy.optimize import OptimizeWarning, linprog
from scipy.stats import yeojohnson, yeojohnson_normmax
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
from torch import Tensor

from daedalus.errors import DaedalusError, InvalidCampaign
from daedalus.goal import Goal, infer_reference_point
from daedalus.models.feasibility import INFEASIBLE, FeasibilityClassifier
from daedalus.proposers.base import History, Trial
from daedalus.proposers.sobol import (
    DesignKey,
    SobolProposer,
    check_batch,
    design_key,
    sobol_seed,
)
from daedalus.proposers.subset import MIN_POINTS, fit_subset, goal_utility
from daedalus.space import Choice, FloatArray, Integer, Params, Space, Value

with warnings.catch_warnings():
    # linear_operator, under gpytorch, decorates functions with `torch.jit.script`, which
    # torch 2.13 deprecates at import time; nothing here can act on it, so it stays quiet.
    warnings.filterwarnings(
        "ignore", message="`torch.jit.script` is deprecated", category=DeprecationWarning
    )
    from botorch.acquisition.acquisition import AcquisitionFunction
    from botorch.acquisition.fixed_feature import FixedFeatureAcquisitionFunction
    from botorch.acquisition.logei import qLogExpectedImprovement
    from botorch.acquisition.multi_objective.logei import (
        qLogNoisyExpectedHypervolumeImprovement,
    )
    from botorch.acquisition.multi_objective.objective import WeightedMCMultiOutputObjective
    from botorch.acquisition.objective import GenericMCObjective
    from botorch.acquisition.utils import compute_best_feasible_objective
    from botorch.exceptions.errors import ModelFittingError
    from botorch.exceptions.warnings import (
        BadInitialCandidatesWarning,
        InputDataWarning,
        NumericsWarning,
        OptimizationWarning,
    )
    from botorch.fit import fit_gpytorch_mll
    from botorch.models.gp_regression import SingleTaskGP
    from botorch.models.gp_regression_mixed import MixedSingleTaskGP
    from botorch.models.gpytorch import GPyTorchModel
    from botorch.models.model import Model
    from botorch.models.transforms.outcome import Standardize
    from botorch.optim.optimize import optimize_acqf, optimize_acqf_mixed
    from botorch.optim.optimize_mixed import optimize_acqf_mixed_alternating
    from gpytorch.constraints import GreaterThan
    from gpytorch.kernels import MaternKernel, ScaleKernel
    from gpytorch.likelihoods import GaussianLikelihood
    from gpytorch.mlls import ExactMarginalLogLikelihood
    from gpytorch.priors import GammaPrior
    from linear_operator.utils.warnings import NumericalWarning

_DTYPE = torch.float64
_LOG_FLOOR = 1e-3  # a logged metric's readings are raised to this share of its smallest bound
_MAX_ENUMERATED = 32  # largest number of category combinations optimised one by one
_MIN_OBSERVED = 2  # a GP needs at least two observations to say anything
_MARGIN = 1e-6  # slack kept inside linear constraints: SLSQP ends up to ~1e-9 outside them
_MAX_REPAIR_INTEGERS = 8  # Integers re-rounded (2^8 floor/ceil combinations) to meet a constraint
# L-BFGS-B iterations of a GP fit. Past ~200 the marginal likelihood only creeps (noise-free
# data walks the noise toward its lower bound) while a mixed-kernel fit takes 5x longer.
_FIT_MAXITER = 200
# On more points, fewer (`_fit_iterations`): a fit's cost, iterations x points^3 (one Cholesky
# per iteration), is held to that of `_FIT_LARGE[0]` iterations on `_FIT_LARGE[1]` points, and
# never below `_FIT_MIN_ITER` iterations.
_FIT_LARGE = (50, 500)
_FIT_MIN_ITER = 20
# Weight of the squared shortfall of log P(feasible) below log(threshold) when a pick must be
# safe: a shortfall of 0.1 in log P costs 100 in log EI, more than any improvement is worth,
# and a square keeps the landscape smooth for L-BFGS-B at the threshold.
_RISK_PENALTY = 1e3
# The penalty starts this far (in log P) above log(threshold), so that the small shortfall a
# square tolerates still leaves the pick on the safe side.
_RISK_MARGIN = 0.03
# Hit-and-run burn-in before the raw samples of a linearly constrained search (BoTorch's
# default), divided among enumerated combinations down to a floor for each.
_BURNIN, _MIN_BURNIN = 10_000, 500
# Shortfall up to which a linear constraint still counts as met, so that a level on it meets
# it: per unit of max(1, |bound|) over fixed columns alone (`LinearConstraint.holds`' default),
# per unit of the coefficient sum for the room of a linear programme (`_room`).
_LEVEL_TOLERANCE = 1e-9
# The Yeo-Johnson exponent of the objective's warp is kept in this range (1 leaves it as it is).
_YEO_JOHNSON_RANGE = (-3.0, 5.0)
_SOBOL_CANDIDATES = 64  # Sobol designs screened per requested design when no GP can be fit

InequalityConstraint = tuple[Tensor, Tensor, float]


@dataclass(frozen=True, slots=True)
class _Row:
    """A linear constraint on free columns: `sum(c * x[i] for i, c in part) >= rest`, with
    `scale` (its coefficient sum, at least 1) the unit of its slack."""

    part: list[tuple[int, float]]
    rest: float
    scale: float


def _room(rows: Sequence[_Row], box: Tensor) -> tuple[FloatArray, FloatArray] | None:
    """The point of `box` (`2 x n`) with the most room under `rows` (the largest smallest
    slack, in units of each row's `scale`, capped at 1; a linear programme), and each row's
    slack there; None when no point meets them all."""
    n = box.shape[1]
    A = np.zeros((len(rows), n + 1))  # -sum(c * x) + scale * t <= -rest
    b = np.zeros(len(rows))
    for j, row in enumerate(rows):
        for i, c in row.part:
            A[j, i] = -c
        A[j, n], b[j] = row.scale, -row.rest
    result = linprog(
        -np.eye(n + 1)[n],
        A_ub=A,
        b_ub=b,
        bounds=[*zip(box[0].tolist(), box[1].tolist(), strict=True), (None, 1.0)],
        method="highs",
    )
    if result.status != 0 or result.x[n] < -_LEVEL_TOLERANCE:
        return None
    point = result.x[:n]
    slack = (b - A[:, :n] @ point) / np.array([row.scale for row in rows])
    return point, slack


def _tightened(rows: Sequence[_Row]) -> list[InequalityConstraint]:
    """`rows` as BoTorch inequality constraints, tightened by `_MARGIN` per unit of each
    row's `scale`."""
    return [
        (
            torch.tensor([i for i, _ in row.part], dtype=torch.long),
            torch.tensor([c for _, c in row.part], dtype=_DTYPE),
            row.rest + _MARGIN * row.scale,
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class _Subproblem:
    """One enumerated combination of `_ModelEncoding.subproblem`: the `fixed` model columns
    and their values, the `free` columns, their `bounds` (`2 x len(free)`) and the linear
    constraints on them (`inequalities`, indices into `free`)."""

    fixed: dict[int, float]
    free: list[int]
    bounds: Tensor
    inequalities: list[InequalityConstraint]

    def full(self, X_free: Tensor) -> Tensor:
        """The `1 x p` model inputs with the free columns at `X_free` (`1 x len(free)`)."""
        X = torch.empty(1, len(self.fixed) + len(self.free), dtype=_DTYPE)
        for column, value in self.fixed.items():
            X[0, column] = value
        X[0, self.free] = X_free.reshape(-1).to(_DTYPE)
        return X


@dataclass(frozen=True, slots=True)
class _ModelEncoding:
    """Maps the space's unit cube (`dim` columns, one-hot choices) to model inputs and back.

    Two layouts. `one_hot` (one objective, and at most `_MAX_ENUMERATED` combinations of
    categories): the model inputs are the unit cube itself, a `Choice` as its one-hot block,
    for a `SingleTaskGP` whose ARD kernel gives each option its own lengthscale. Otherwise one
    column per parameter, a `Choice` as its category index `0 .. k-1`, for
    `MixedSingleTaskGP`'s categorical kernel.
    """

    space: Space
    slices: tuple[slice, ...]  # where each parameter sits in the unit vector
    n_options: tuple[int, ...]  # options of each Choice; 0 for a Real or Integer
    time: bool = False  # one more, last column: campaign time, 0 at the first trial, 1 now
    one_hot: bool = True  # else the index layout; `of` decides

    @classmethod
    def of(cls, space: Space, *, time: bool = False, multi: bool = False) -> _ModelEncoding:
        """The encoding of `space`: one-hot unless the goal has several objectives (`multi`)
        or the categories have more than `_MAX_ENUMERATED` combinations."""
        slices = space.slices()
        options = tuple(len(p.options) if isinstance(p, Choice) else 0 for p in space.parameters)
        return cls(
            space,
            tuple(slices[p.name] for p in space.parameters),
            options,
            time,
            one_hot=not multi and _combinations(options) <= _MAX_ENUMERATED,
        )

    @property
    def n_combinations(self) -> int:
        """How many combinations of categories the space has (1 without a `Choice`)."""
        return _combinations(self.n_options)

    @property
    def n_levels(self) -> int:
        """How many combinations of `Integer` levels the space has (1 without an `Integer`)."""
        return math.prod(p.levels for p in self._integers().values())

    @property
    def integers_enumerated(self) -> bool:
        """Whether `combinations` fixes the `Integer`s at their levels too: when the space has
        some and they, times the combinations of categories, are at most `_MAX_ENUMERATED`.
        Otherwise an `Integer` is optimised as its continuous coordinate, and the design found
        searched again at the levels on either side (`_polished`)."""
        return self.n_levels > 1 and self.n_combinations * self.n_levels <= _MAX_ENUMERATED

    @property
    def cat_columns(self) -> dict[int, int]:
        """Model column of each `Choice` index, mapped to its number of options (none in the
        one-hot layout)."""
        if self.one_hot:
            return {}
        return {i: k for i, k in enumerate(self.n_options) if k}

    def categories(self) -> list[dict[int, float]]:
        """Every combination of categories as model-column values to fix while the
        continuous columns are optimised (a one-hot block, or an index); `[{}]` when the space
        has no `Choice`.

        Raises:
            ValueError: there are more than `_MAX_ENUMERATED` combinations.
        """
        if self.n_combinations > _MAX_ENUMERATED:
            raise ValueError(
                f"{self.n_combinations} combinations of categories are too many to enumerate"
            )
        blocks = []
        for column, k in self._columns():
            if k and self.one_hot:
                blocks.append([{column + j: float(j == i) for j in range(k)} for i in range(k)])
            elif k:
                blocks.append([{column: float(i)} for i in range(k)])
        return _merged_product(blocks)

    def combinations(self) -> list[dict[int, float]]:
        """`categories` times every combination of `Integer` levels, each level at the centre
        of its cell (where the space's linear constraints are exact); `categories` alone
        unless `integers_enumerated`."""
        if not self.integers_enumerated:
            return self.categories()
        levels = [
            [{column: p.encode(level)[0]} for level in range(p.low, p.high + 1)]
            for column, p in self._integers().items()
        ]
        return _merged_product([self.categories(), *levels])

    def levels_of(self, X: Tensor) -> dict[int, float]:
        """The model columns that fix the combination of the `1 x p` model input `X`: its
        categories as they are, and each `Integer` at the centre of the cell its relaxed
        coordinate lies in (the level it decodes to); `{}` without either."""
        fixed: dict[int, float] = {}
        for (column, k), p in zip(self._columns(), self.space.parameters, strict=True):
            if k:
                width = k if self.one_hot else 1
                fixed.update({c: float(X[0, c]) for c in range(column, column + width)})
            elif isinstance(p, Integer):
                fixed[column] = p.encode(p.decode([float(X[0, column])]))[0]
        return fixed

    def neighbours_of(self, X: Tensor) -> list[dict[int, float]]:
        """The combinations of levels around the `1 x p` model input `X`, as `levels_of` gives
        them: its categories as they are, and each `Integer` at the level below and the level
        above its relaxed coordinate (one level where that is a level's centre, or past the
        first or last); the one `levels_of(X)` among them. With more than `_MAX_ENUMERATED`
        such combinations (over 5 `Integer`s), `levels_of(X)` alone."""
        integers = self._integers()
        if 2 ** len(integers) > _MAX_ENUMERATED:
            return [self.levels_of(X)]
        categories = {c: v for c, v in self.levels_of(X).items() if c not in integers}
        blocks = [[categories]]
        for column, p in integers.items():
            relaxed = float(X[0, column]) * p.levels - 0.5  # in levels from the first
            near = {min(max(f(relaxed), 0), p.levels - 1) for f in (math.floor, math.ceil)}
            blocks.append([{column: p.encode(p.low + i)[0]} for i in sorted(near)])
        return _merged_product(blocks)

    def _integers(self) -> dict[int, Integer]:
        """Model column of each `Integer`, mapped to the parameter."""
        return {
            column: p
            for (column, _), p in zip(self._columns(), self.space.parameters, strict=True)
            if isinstance(p, Integer)
        }

    def subproblem(self, fixed: Mapping[int, float]) -> _Subproblem | None:
        """The search left with the model columns `fixed` (a time column, pinned at now, is
        fixed with them): the free columns, their box, and the space's linear constraints
        restated on them and tightened by `_MARGIN`; None when no design meets the
        constraints. Constraints that leave less room than twice the margin (a level on a
        constraint that pins a `Real` at its bound, say) fix their free columns too, at the
        point of most room (a linear programme); the other columns stay free."""
        box = self.bounds()
        fixed = dict(fixed)
        if self.time:
            fixed[box.shape[1] - 1] = 1.0
        while True:  # each pass fixes at least one more column, or returns
            free = [c for c in range(box.shape[1]) if c not in fixed]
            rows = self._rows_left(fixed, free)
            if rows is None:
                return None
            if not rows:
                return _Subproblem(fixed, free, box[:, free], [])
            room = _room(rows, box[:, free])
            if room is None:
                return None
            point, slack = room
            if slack.min() >= 2 * _MARGIN:
                return _Subproblem(fixed, free, box[:, free], _tightened(rows))
            tight = {
                i
                for row, s in zip(rows, slack, strict=True)
                if s < 2 * _MARGIN
                for i, _ in row.part
            }
            fixed.update({free[i]: float(point[i]) for i in tight})

    def _rows_left(self, fixed: Mapping[int, float], free: Sequence[int]) -> list[_Row] | None:
        """The space's linear constraints (`Space.unit_inequalities`, each unit coordinate
        moved to its model column) with the `fixed` columns moved to the right-hand side, on
        positions in `free`; those left with no free column are dropped when the fixed values
        meet them (to `LinearConstraint.holds`' tolerance), and None returned when they do
        not."""
        pairs = zip(self._columns(), self.slices, strict=True)
        column_of = {s.start: column for (column, _), s in pairs}
        position = {c: i for i, c in enumerate(free)}
        rows = []
        for ineq, constraint in zip(
            self.space.unit_inequalities(), self.space.constraints, strict=True
        ):
            terms = [
                (column_of[j], float(c))
                for j, c in zip(ineq.indices, ineq.coefficients, strict=True)
            ]
            scale = max(1.0, float(torch.tensor(ineq.coefficients, dtype=_DTYPE).abs().sum()))
            rest = float(ineq.rhs) - sum(c * fixed[i] for i, c in terms if i in fixed)
            part = [(position[i], c) for i, c in terms if i not in fixed]
            if part:
                rows.append(_Row(part, rest, scale))
            elif rest > _LEVEL_TOLERANCE * max(1.0, abs(constraint.bound)):
                return None
        return rows

    def _columns(self) -> list[tuple[int, int]]:
        """(first model column, options) of each parameter, options 0 for a Real or Integer."""
        if self.one_hot:
            return [(s.start, k) for s, k in zip(self.slices, self.n_options, strict=True)]
        return list(enumerate(self.n_options))

    def to_model(self, unit: FloatArray) -> Tensor:
        """Map an `n x dim` unit-cube array to `n x p` model inputs (`p` is `dim` one-hot, the
        number of parameters by index; one more with a time column)."""
        model = unit
        if not self.one_hot:
            model = np.stack(
                [
                    unit[:, s].argmax(axis=1).astype(np.float64) if k else unit[:, s.start]
                    for s, k in zip(self.slices, self.n_options, strict=True)
                ],
                axis=1,
            )
        if self.time:  # a design proposed or pending runs now
            model = np.column_stack([model, np.ones(len(unit))])
        return torch.tensor(model, dtype=_DTYPE)

    def to_unit(self, X: Tensor) -> FloatArray:
        """Map `q x p` model inputs back to a `q x dim` unit-cube array (a time column is
        dropped)."""
        x = X.detach().cpu().numpy()
        unit = np.zeros((len(x), self.space.dim), dtype=np.float64)
        rows = np.arange(len(x))
        for (column, k), s in zip(self._columns(), self.slices, strict=True):
            if not k:
                unit[:, s.start] = np.clip(x[:, column], 0.0, 1.0)
            elif self.one_hot:
                unit[rows, s.start + x[:, column : column + k].argmax(axis=1)] = 1.0
            else:
                index = np.clip(np.rint(x[:, column]), 0, k - 1).astype(int)
                unit[rows, s.start + index] = 1.0
        return unit

    def to_unit_tensor(self, X: Tensor) -> Tensor:
        """Map `batch x p` model inputs to `batch x dim` unit-cube inputs, differentiably in the
        continuous columns (a category is rounded to its one-hot block)."""
        columns = []
        for column, k in self._columns():
            if not k:
                columns.append(X[..., column : column + 1])
                continue
            if self.one_hot:
                index = X[..., column : column + k].detach().argmax(dim=-1)
            else:
                index = X[..., column].detach().round().clamp(0, k - 1).long()
            columns.append(torch.nn.functional.one_hot(index, k).to(X.dtype))
        return torch.cat(columns, dim=-1)

    def bounds(self) -> Tensor:
        """`2 x p` box of the model inputs: `[0, 1]`, or `[0, k-1]` for a category index; the
        time column, when there is one, is pinned at 1 (now)."""
        if self.one_hot:
            upper = [1.0] * self.space.dim
        else:
            upper = [float(k - 1) if k else 1.0 for k in self.n_options]
        lower = [0.0] * len(upper)
        if self.time:
            lower.append(1.0)
            upper.append(1.0)
        return torch.tensor([lower, upper], dtype=_DTYPE)

    def inequalities(self) -> list[InequalityConstraint]:
        """The space's linear constraints as BoTorch `(indices, coefficients, rhs)` on model
        columns (`sum(c * x[indices]) >= rhs`), tightened by `_MARGIN` so that the optimiser's
        small constraint violations stay valid after decoding."""
        rows = self._rows_left({}, range(self.bounds().shape[1]))
        assert rows is not None  # with nothing fixed, every constraint keeps a free column
        return _tightened(rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class BayesProposer:
    """Bayesian optimization: a GP per goal metric and qLogEI on the first objective (qLogNEHVI
    on all of them when the goal has several), weighted
    by a classifier's probability that the design runs at all.

    Risky-share rule: a design is risky when the classifier gives it P(feasible) below
    `feasibility_threshold`. At most `floor(max_risky_share * n)` designs of a batch of `n` are
    risky: once that many risky picks are made (none for a batch smaller than
    `1 / max_risky_share`), each further pick maximises `log EI + log P` minus a steep penalty
    on `log P` below `log(threshold)`. If even that pick is risky, the model finds no safe design
    anywhere it searched, and the pick is the design of highest P instead (the only case where
    the share can be exceeded). The rule reads P at the optimiser's point (with the `Integer`s
    at their levels, or relaxed where `_polished` keeps the relaxed point for decoding to
    repair), before a top-up Sobol design is screened.

    With the classifier fitted but too few successful trials for a GP (everything failed so
    far), designs come from the Sobol sequence restricted to P >= `feasibility_threshold`
    (sequence order, so they stay space-filling); when fewer pass, the rest maximise
    `log P + log(distance to the nearest known design)` over the Sobol candidates.

    Args:
        n_init: Sobol designs before the first model, counting observed and pending trials;
            None sizes it to the space as `max(5, 2 * number of parameters)`. The model is used
            once observed + pending reach `n_init` and at least half of `n_init` (and at least
            two) are observed; until then the campaign keeps exploring with Sobol.
        num_restarts: starting points of the acquisition optimiser (L-BFGS-B or SLSQP).
        raw_samples: random points scored to choose those starting points.
        num_threads: torch threads during a proposal, set for the call and restored after
            (None leaves torch alone). One is the default: a GP on a few hundred points gains
            nothing from more, on a busy host OpenMP threads spin-wait (measured 5 s instead of
            0.3 s per proposal on 2 loaded cores), and one thread gives bit-identical designs
            on every host, which replay relies on.
        feasibility: learn P(feasible | x) from `infeasible` failures and weight the
            acquisition by it. False treats every failure as a pending design (no model).
        feasibility_threshold: P(feasible) below which a design counts as risky, in (0, 1).
            0.7 rather than an even 0.5: the classifier's constant mean is learnt from trials
            that cluster where the optimiser has been, mostly successes, so its 50 % contour
            sits on the optimistic side of the true boundary, and picks held to it failed about
            two times in three on `branin_disc`. On 12 seeds of 60 experiments there, 0.7 gave
            a median of 7 failures (0.5: 13.5; no model: 37.5) at a lower median regret.
        max_risky_share: largest share of a batch that may be risky, in [0, 1].
        max_fit_points: the most observations the GP is fit on; past it, a subset chosen by
            `daedalus.proposers.subset.fit_subset` (the incumbent, and a random sample of the
            rest drawn with the proposal's seed). 500 keeps a proposal under 5 s at 10^4
            observations on one core (`benchmarks/scale.py`, `docs/benchmarks-scale.md`); an
            exact fit costs O(n^3).
    """

    n_init: int | None = None
    num_restarts: int = 10
    raw_samples: int = 256
    num_threads: int | None = 1
    feasibility: bool = True
    feasibility_threshold: float = 0.7
    max_risky_share: float = 0.25
    max_fit_points: int = 500
    name: str = field(default="bayes", init=False)

    def __post_init__(self) -> None:
        _check_int("n_init", self.n_init, low=1, optional=True)
        _check_int("num_restarts", self.num_restarts, low=1)
        _check_int("raw_samples", self.raw_samples, low=self.num_restarts)
        _check_int("num_threads", self.num_threads, low=1, optional=True)
        if not isinstance(self.feasibility, bool):
            raise InvalidCampaign(
                f"BayesProposer: feasibility must be true or false, got {self.feasibility!r}"
            )
        _check_share("feasibility_threshold", self.feasibility_threshold, open_ends=True)
        _check_share("max_risky_share", self.max_risky_share, open_ends=False)
        _check_int("max_fit_points", self.max_fit_points, low=MIN_POINTS)

    def initial_designs(self, space: Space) -> int:
        """Return the size of the initial Sobol design for `space`."""
        return self.n_init if self.n_init is not None else max(5, 2 * len(space))

    def propose(
        self, space: Space, goal: Goal, history: History, *, n: int, seed: int
    ) -> list[Params]:
        """Return `n` distinct valid designs, none equal to a pending or failed design.

        Same `space`, `goal`, `history` (in any trial order) and `seed` give the same designs.

        Raises:
            DaedalusError: an observed trial lacks a goal metric, or the GP could not be fit.
        """
        check_batch(n)
        observed = sorted(history.observed, key=_trial_id)
        n_init = self.initial_designs(space)
        initial = len(observed) < max(_MIN_OBSERVED, math.ceil(n_init / 2)) or (
            len(observed) + len(history.pending) < n_init
        )
        started = len(history.trials) + len(history.pending) >= n_init
        if initial and not (started and self._learns_feasibility(history)):
            return SobolProposer().propose(space, goal, history, n=n, seed=seed)
        with _torch_threads(self.num_threads):
            classifier = self._classifier(space, history)
            if initial:
                return _feasible_sobol(space, goal, history, classifier, self, n=n, seed=seed)
            failed = sorted((t for t in history.trials if t.values is None), key=_trial_id)
            # An infeasible design is the classifier's to avoid; other failures stay pending.
            unmodelled = [t for t in failed if not (classifier.fitted and t.cause == INFEASIBLE)]
            in_order = partial(sorted, key=lambda d: tuple(space.encode(d)))
            # Failed designs first: they are believed, like those in flight, but never read.
            faults = in_order(t.params for t in unmodelled)
            busy = [*faults, *in_order(history.pending)]
            times = _relative_times(history, observed)
            encoding = _ModelEncoding.of(space, time=times is not None, multi=goal.multi)
            with _seeded(seed), _expected_warnings():
                X = self._optimized_batch(
                    goal,
                    encoding,
                    observed,
                    busy,
                    classifier,
                    n=n,
                    times=times,
                    failed=len(faults),
                    seed=seed,
                )
            designs = [_valid_design(space, u) for u in encoding.to_unit(X)]
            excluded = {
                design_key(space, d) for d in [*history.pending, *(t.params for t in failed)]
            }
            return _complete(
                space, goal, history, designs, excluded, classifier, self, n=n, seed=seed
            )

    def risky_allowed(self, n: int) -> int:
        """How many designs of a batch of `n` may have P(feasible) below the threshold."""
        return math.floor(self.max_risky_share * n + 1e-9)

    def _learns_feasibility(self, history: History) -> bool:
        return self.feasibility and any(t.cause == INFEASIBLE for t in history.trials)

    def _classifier(self, space: Space, history: History) -> FeasibilityClassifier:
        """The fitted classifier, or the constant P = 1 when it has nothing to learn."""
        if not self._learns_feasibility(history):
            return FeasibilityClassifier()
        return FeasibilityClassifier.from_trials(space, history.trials)

    def _optimized_batch(
        self,
        goal: Goal,
        encoding: _ModelEncoding,
        observed: Sequence[Trial],
        avoid: Sequence[Mapping[str, Value]],
        classifier: FeasibilityClassifier,
        *,
        n: int,
        seed: int,
        times: Sequence[float] | None = None,
        failed: int = 0,
    ) -> Tensor:
        """Fit the GP and return `n x p` designs (model encoding), chosen greedily. The first
        `failed` designs of `avoid` failed: taken, but never read (`_incumbent`).

        With `times` (one per observed trial, 0 for the first, 1 now) the GP has campaign time
        as its last input, the incumbent is the best observed design as it would read now, and
        the picks are for now.

        Each pick maximises qLogEI on the model conditioned on the designs in `avoid` and the
        earlier picks, or incremental qLogNEHVI with them pending (plus log P(feasible) with a
        fitted `classifier`): BoTorch's own sequential mode only appends earlier picks to the
        candidate, which leaves the next pick's landscape almost flat wherever it cannot beat
        them, so later picks of a batch landed next to pending designs.
        """
        space = encoding.space
        X, Y = _training_data(space, goal, encoding, observed)
        if times is not None:
            X[:, -1] = torch.tensor(times, dtype=_DTYPE)
        utility = goal_utility(goal, Y.numpy())
        keep = fit_subset(X.numpy(), utility, max_points=self.max_fit_points, seed=seed)
        X, Y = X[torch.from_numpy(keep)], Y[torch.from_numpy(keep)]
        modelled, bounds = gaussianised_objective(goal, *logged_constraints(goal, Y))
        model = _fit_model(
            X, winsorized(goal, modelled), encoding.cat_columns, light_tails=not goal.multi
        )
        if times is not None:
            X = X.clone()
            X[:, -1] = 1.0  # judge improvement against what the known designs would read now
        busy = encoding.to_model(space.encode_many(avoid))
        risky_left = self.risky_allowed(n)
        optimize = partial(
            _optimize,
            encoding=encoding,
            num_restarts=self.num_restarts,
            raw_samples=self.raw_samples,
        )
        for _ in range(n):
            acquisition = _acquisition(
                model,
                goal,
                X,
                Y,
                busy if len(busy) else None,
                modelled=modelled,
                bounds=bounds,
                readings=times is None,
                failed=failed,
            )
            if not classifier.fitted:
                pick = optimize(acquisition)
            else:
                pick, risky = _feasible_pick(
                    acquisition,
                    classifier,
                    encoding,
                    optimize,
                    self.feasibility_threshold,
                    safe_only=risky_left == 0,
                )
                risky_left -= risky
            busy = torch.cat([busy, pick])
        return busy[len(avoid) :]


def _relative_times(history: History, observed: Sequence[Trial]) -> list[float] | None:
    """Each observed trial's time as a share of the campaign so far (0 at the first, 1 now),
    from `history.extra["times"]` and `["now"]` (the planner's `time` drift strategy); None
    when the history carries no times or they span no time."""
    times = history.extra.get("times")
    now = history.extra.get("now")
    if not isinstance(times, Mapping) or not isinstance(now, int | float):
        return None
    at = [float(times[t.experiment_id]) for t in observed]
    start = min(at, default=float(now))
    span = float(now) - start
    if span <= 0:
        return None
    return [(t - start) / span for t in at]


def _feasible_pick(
    acquisition: AcquisitionFunction,
    classifier: FeasibilityClassifier,
    encoding: _ModelEncoding,
    optimize: Callable[[AcquisitionFunction], Tensor],
    threshold: float,
    *,
    safe_only: bool,
) -> tuple[Tensor, int]:
    """One `1 x p` pick under the risky-share rule, and 1 if it is risky (else 0).

    Unless `safe_only`, the pick maximises `log EI + log P` as it comes. A safe-only pick is
    penalised below `log(threshold) + _RISK_MARGIN`; should it still be risky, nothing the
    optimiser found is safe, and the design of highest P is taken instead.
    """
    log_feasible = partial(_log_feasible, classifier, encoding)
    log_threshold = math.log(threshold)
    floor = log_threshold + _RISK_MARGIN if safe_only else None
    pick = optimize(_FeasibilityWeighted(acquisition, log_feasible, floor=floor))
    if float(log_feasible(pick).detach()) >= log_threshold:
        return pick, 0
    if not safe_only:
        return pick, 1
    safest = optimize(_FeasibilityWeighted(None, log_feasible, floor=None, model=acquisition.model))
    return safest, int(float(log_feasible(safest).detach()) < log_threshold)


def _log_feasible(classifier: FeasibilityClassifier, encoding: _ModelEncoding, X: Tensor) -> Tensor:
    """`log P(feasible)` of `batch x q x p` model inputs, shape `batch x q`."""
    return classifier.log_prob(encoding.to_unit_tensor(X))


class _FeasibilityWeighted(AcquisitionFunction):
    """`base(X) + sum_q log P(feasible | x_q)` for `batch x q x p` inputs, minus
    `_RISK_PENALTY` times the squared shortfall of `log P` below `floor` when one is given.
    With no `base` it is the sum of `log P` alone (to find the safest design), on `model`,
    which BoTorch's optimisers read only for its batch shape.

    `X_pending` is the base acquisition's: setting it here sets it there.
    """

    def __init__(
        self,
        base: AcquisitionFunction | None,
        log_feasible: Callable[[Tensor], Tensor],
        *,
        floor: float | None,
        model: Model | None = None,
    ) -> None:
        owner = base.model if base is not None else model
        if owner is None:
            raise ValueError("_FeasibilityWeighted needs a base acquisition or a model")
        super().__init__(model=owner)
        self.base = base
        self._log_feasible = log_feasible
        self._floor = floor
        super().set_X_pending(getattr(base, "X_pending", None))

    def set_X_pending(self, X_pending: Tensor | None = None) -> None:
        if self.base is not None:
            self.base.set_X_pending(X_pending)
        super().set_X_pending(X_pending)

    def forward(self, X: Tensor) -> Tensor:
        log_p = self._log_feasible(X)
        value = log_p.sum(dim=-1)
        if self._floor is not None:
            shortfall = torch.relu(self._floor - log_p)
            value = value - _RISK_PENALTY * shortfall.pow(2).sum(dim=-1)
        return value if self.base is None else value + self.base(X)


def _feasible_sobol(
    space: Space,
    goal: Goal,
    history: History,
    classifier: FeasibilityClassifier,
    proposer: BayesProposer,
    *,
    n: int,
    seed: int,
) -> list[Params]:
    """`n` Sobol designs with P(feasible) >= the threshold, in sequence order (so they stay
    space-filling); if fewer pass, the rest one at a time by the largest `log P(x) + log d(x)`,
    `d` the unit-cube distance to the nearest trial, pending design or earlier pick."""
    try:
        candidates = SobolProposer().propose(
            space, goal, history, n=_SOBOL_CANDIDATES * n, seed=seed
        )
    except DaedalusError:  # a small or tightly constrained space: take what is left
        return SobolProposer().propose(space, goal, history, n=n, seed=seed)
    unit = torch.tensor(space.encode_many(candidates), dtype=_DTYPE)
    with torch.no_grad():
        log_p = classifier.log_prob(unit)
    log_threshold = math.log(proposer.feasibility_threshold)
    safe = [i for i, v in enumerate(log_p.tolist()) if v >= log_threshold][:n]
    known = [*(t.params for t in history.trials), *history.pending]
    taken = torch.tensor(space.encode_many(known), dtype=_DTYPE).reshape(-1, space.dim)
    return [candidates[i] for i in _spread(unit, log_p, taken, safe, n=n)]


def _spread(
    unit: Tensor, log_p: Tensor, taken: Tensor, chosen: Sequence[int], *, n: int
) -> list[int]:
    """Extend `chosen` (rows of the `k x dim` candidates `unit`) to `n` rows, each next one
    maximising `log_p + log(distance to the nearest row of taken or of the chosen)`."""
    picks = list(chosen)
    near = torch.cat([taken, unit[picks]])
    while len(picks) < n:
        if len(near):
            distance = torch.cdist(unit, near).min(dim=-1).values
        else:
            distance = torch.ones(len(unit), dtype=unit.dtype)
        score = log_p + distance.clamp_min(1e-12).log()
        score[picks] = -math.inf
        pick = int(score.argmax())
        picks.append(pick)
        near = torch.cat([near, unit[pick : pick + 1]])
    return picks


def _check_int(option: str, value: object, *, low: int, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidCampaign(
            f"BayesProposer: {option} must be an int >= {low}"
            f"{' or None' if optional else ''}, got {value!r}"
        )


def _check_share(option: str, value: object, *, open_ends: bool) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and open_ends:
        ok = 0.0 < float(value) < 1.0  # type: ignore[arg-type]
    elif ok:
        ok = 0.0 <= float(value) <= 1.0  # type: ignore[arg-type]
    if not ok:
        interval = "(0, 1)" if open_ends else "[0, 1]"
        raise InvalidCampaign(
            f"BayesProposer: {option} must be a number in {interval}, got {value!r}"
        )


def _trial_id(trial: Trial) -> str:
    return trial.experiment_id


@contextmanager
def _torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run the block with `num_threads` torch and BLAS threads (scipy's L-BFGS-B calls BLAS),
    restoring the previous counts after."""
    if num_threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        with threadpool_limits(limits=num_threads, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed torch for the block only; the caller's global random state is restored after."""
    with torch.random.fork_rng():
        torch.manual_seed(sobol_seed(seed))
        yield


@contextmanager
def _expected_warnings() -> Iterator[None]:
    """Silence the warnings BoTorch and GPyTorch raise in normal operation of a fit or an
    acquisition optimisation, only around that work; anything else still surfaces."""
    with warnings.catch_warnings():
        # The scaling checks flag tiny or constant data sets, which are normal early on; inputs
        # are in the unit box by construction and outputs are standardized by the model.
        warnings.simplefilter("ignore", InputDataWarning)
        # Near-duplicate inputs (re-measured designs, noise-free sims) need Cholesky jitter;
        # the jittered factorisation is what we want.
        warnings.simplefilter("ignore", NumericalWarning)
        warnings.simplefilter("ignore", NumericsWarning)
        # L-BFGS-B/SLSQP stopping on an iteration limit still return a usable optimum, and
        # fit_gpytorch_mll retries a failed fit itself; a flat acquisition landscape (for
        # example right after the initial design) makes poor starting points, which is fine.
        warnings.simplefilter("ignore", OptimizationWarning)
        warnings.simplefilter("ignore", BadInitialCandidatesWarning)
        # optimize_acqf restates a failed L-BFGS-B run as a RuntimeWarning and retries from new
        # starting points; the retry, or the best of the other restarts, is what we want.
        warnings.filterwarnings("ignore", "Optimization failed", RuntimeWarning)
        # BoTorch's alternating mixed search hands SLSQP a `tol` option that scipy's SLSQP
        # does not take; SLSQP runs with its own tolerance, as it would without the option.
        warnings.filterwarnings("ignore", "Unknown solver options: tol", OptimizeWarning)
        # With no feasible observation yet the incumbent is set below the objective's range, so
        # expected improvement is led by the probability that the outcome constraints hold.
        warnings.filterwarnings("ignore", "When all training points are infeasible")
        # linear_operator builds a sparse interpolation matrix for multi-output posteriors;
        # torch warns once that it skips sparse invariant checks, about an internal tensor.
        warnings.filterwarnings("ignore", "Sparse invariant checks", UserWarning)
        yield


def _training_data(
    space: Space, goal: Goal, encoding: _ModelEncoding, observed: Sequence[Trial]
) -> tuple[Tensor, Tensor]:
    """Return model inputs `n x p` and outcomes `n x m` (columns in `goal.metrics` order)."""
    rows = []
    for trial in observed:
        values = trial.values or {}
        missing = [m for m in goal.metrics if not math.isfinite(values.get(m, math.nan))]
        if missing:
            raise DaedalusError(
                f"trial '{trial.experiment_id}': values lack finite goal metrics {missing}; "
                f"every observed trial needs {list(goal.metrics)}, got {dict(values)}"
            )
        rows.append([float(values[m]) for m in goal.metrics])
    X = encoding.to_model(space.encode_many([t.params for t in observed]))
    return X, torch.tensor(rows, dtype=_DTYPE)


def winsorized(goal: Goal, Y: Tensor) -> Tensor:
    """`Y` (`n x m`, columns in `goal.metrics` order) with each objective's bad tail clipped at
    Tukey's fence: values worse than the first quartile (of the objective signed larger-is-
    better) less 1.5 times the interquartile range are set to that fence.

    Ax clips objectives the same way before fitting (its `Winsorize` transform). Without it a
    few very bad readings (Branin's corners are 700 times its minimum) set the standardised
    scale, so the whole region near the optimum spans a sliver of it, and the GP, whose noise
    is learnt in standardised units, cannot resolve differences there: on `branin`, 10 seeds of
    30 experiments, the median final regret fell from 0.024 to 0.011. The good tail, the
    constraint metrics, and sets of fewer than 4 readings are left as they are, and so is every
    column when the goal has several objectives: there the front's extremes carry the
    hypervolume, and on `branin_currin` (4 seeds of 18 experiments) clipping lowered it (mean
    51.1 against 52.4).
    """
    if len(Y) < 4 or goal.multi:
        return Y
    clipped = Y.clone()
    for column, objective in enumerate(goal.objectives):
        signed = objective.sign * Y[:, column]
        q1, q3 = torch.quantile(signed, torch.tensor([0.25, 0.75], dtype=Y.dtype))
        fence = q1 - 1.5 * (q3 - q1)
        clipped[:, column] = objective.sign * torch.clamp(signed, min=fence)
    return clipped


def logged_constraints(goal: Goal, Y: Tensor) -> tuple[Tensor, tuple[float, ...]]:
    """`Y` (`n x m`, columns in `goal.metrics` order) with each constrained metric that is not
    an objective, is positive in every reading, and has only positive bounds replaced by its
    logarithm (readings first raised to `_LOG_FLOOR` times its smallest bound); and the bound
    of every constraint (in `goal.constraints` order) on the modelled scale.

    Physical quantities held to a bound (a volume, an E-factor, an impurity) are often positive
    and span orders of magnitude over the design space; their logarithm is closer to additive
    in the design, which a stationary GP models far better, and the log is monotone, so every
    reading keeps its side of its bound. On `pressure_vessel` (volume >= 1,296,000 in^3;
    readings from about 10^4 to 10^7), 50 experiments, the median final regret over 10 seeds
    fell from 233 to 131 (range 69 to 445; Ax 162 in the previous suite); on `snar` (E-factor
    <= 9) the median true regret stayed at 40 over 10 seeds, with one best measured design
    infeasible on the noiseless model instead of three. Objectives are left as they are:
    logging the cost as well was worse on `pressure_vessel` (first two seeds 179 and 249,
    against 69 and 106). Ax warps constrained metrics with a bilog about the bound instead
    (`BilogY`); that measured worse here (566 to 1,178 on the first three seeds), as its slope
    is steep only within one unit of the bound, and a volume's unit is one cubic inch.
    """
    objectives = {o.name for o in goal.objectives}
    warped, logged = Y.clone(), set()
    for column, metric in enumerate(goal.metrics):
        held = [c.bound for c in goal.constraints if c.name == metric]
        if metric in objectives or not held or min(held) <= 0 or len(Y) == 0:
            continue
        if not bool(torch.all(Y[:, column] > 0)):
            continue
        # A reading far below every bound (an impurity of 1e-9 against 0.05) is raised to a
        # thousandth of the smallest one first: its log would otherwise sit tens of units away
        # and set the scale; the floor is below every bound, so no reading changes side.
        warped[:, column] = torch.log(torch.clamp(Y[:, column], min=min(held) * _LOG_FLOOR))
        logged.add(metric)
    bounds = tuple(math.log(c.bound) if c.name in logged else c.bound for c in goal.constraints)
    return warped, bounds


def gaussianised_objective(
    goal: Goal, Y: Tensor, bounds: Sequence[float]
) -> tuple[Tensor, tuple[float, ...]]:
    """`Y` (`n x m`, columns in `goal.metrics` order) with the objective, when the goal has one,
    warped towards a normal distribution: standardised, then the Yeo-Johnson power transform
    with the exponent of largest likelihood (kept in `_YEO_JOHNSON_RANGE`); and `bounds` (of
    `goal.constraints`, on `Y`'s scale) with those on the objective warped the same way. The
    warp is strictly increasing, so every reading keeps its order and its side of each bound,
    and improvement over the best reading is still improvement.

    A stationary GP with one noise level fits a skewed objective poorly: Branin's values near
    its minimum are packed into a sliver of the standardised range, the fitted noise there is as
    large as the differences to resolve, and expected improvement cannot tell them apart. HEBO
    (Cowen-Rivers et al., "HEBO: pushing the limits of sample-efficient hyper-parameter
    optimisation", JAIR 74, 2022) warps its objective the same way. Median final regret over
    seeds 0 to 19 (`benchmarks/peers.py`'s problems and budgets, without the warp / with it,
    and the seeds on which the warp ended lower-higher): `branin_cat` 0.095 / 0.018 (13-7),
    `hartmann6` 0.0023 / 0.0022 (15-5; runs ending near a local optimum, regret above 0.03,
    9 / 6), `branin` 0.0034 / 0.0016 (11-9). Several objectives are left as they are (their
    hypervolume is measured on the readings' own scale), and so are fewer than 4 readings,
    whose exponent means nothing.
    """
    bounds = tuple(bounds)
    if goal.multi or len(Y) < 4:
        return Y, bounds
    objective = goal.primary
    column = goal.metrics.index(objective.name)
    signed = objective.sign * Y[:, column].numpy()
    centre, spread = float(signed.mean()), float(signed.std())
    if not 0 < spread < math.inf:  # equal readings, or a spread past float range
        return Y, bounds
    # Standardised readings are finite and within sqrt(n) of 0, so the exponent's search and
    # the warp (its exponent clipped) stay finite.
    exponent = float(np.clip(yeojohnson_normmax((signed - centre) / spread), *_YEO_JOHNSON_RANGE))

    def warp(values: FloatArray) -> FloatArray:
        standard = (objective.sign * values - centre) / spread
        return objective.sign * np.asarray(yeojohnson(standard, lmbda=exponent))

    warped = Y.clone()
    warped[:, column] = torch.from_numpy(warp(Y[:, column].numpy()))
    held = [
        float(warp(np.array([bound]))[0]) if c.name == objective.name else bound
        for c, bound in zip(goal.constraints, bounds, strict=True)
    ]
    return warped, tuple(held)


def _fit_model(
    X: Tensor, Y: Tensor, cat_columns: Mapping[int, int], *, light_tails: bool = False
) -> GPyTorchModel:
    """Fit a GP with one output per column of `Y` (`n x m`) on inputs `X` (`n x p`): with
    `light_tails` (one objective, no category index columns) the kernel and likelihood of
    `_kernel` and `_likelihood`, else BoTorch's defaults. With several objectives the light
    tails were measured worse: `snar_pareto`, the first 7 seeds of `benchmarks/pareto.py`, true
    hypervolume share 0.824 to 0.933 against 0.851 to 0.945, and a closed-loop test against
    Sobol failed."""
    outcome = Standardize(m=Y.shape[-1])
    model: GPyTorchModel
    if cat_columns:
        model = MixedSingleTaskGP(X, Y, cat_dims=sorted(cat_columns), outcome_transform=outcome)
    elif not light_tails:
        model = SingleTaskGP(X, Y, outcome_transform=outcome)
    else:
        batch = torch.Size([Y.shape[-1]]) if Y.shape[-1] > 1 else torch.Size([])
        model = SingleTaskGP(
            X,
            Y,
            covar_module=_kernel(X.shape[-1], batch),
            likelihood=_likelihood(batch),
            outcome_transform=outcome,
        )
    try:
        fit_gpytorch_mll(
            ExactMarginalLogLikelihood(model.likelihood, model),
            optimizer_kwargs={"options": {"maxiter": _fit_iterations(len(X))}},
        )
    except ModelFittingError as err:
        raise DaedalusError(
            f"BayesProposer: the Gaussian process could not be fit to {len(X)} observations "
            f"({err}); check the observed values for extreme outliers"
        ) from err
    return model


def _fit_iterations(n: int) -> int:
    """L-BFGS-B iterations for a GP fit on `n` points: `_FIT_MAXITER` up to about 315 points,
    then fewer as n^-3, 50 at 500, and at least `_FIT_MIN_ITER`.

    The marginal likelihood of a fit on hundreds of points creeps on for all 200 iterations
    while each costs a Cholesky: on `benchmarks/scale.py`'s noisy Hartmann6 histories of 1,000
    observations (fitted on the default 500-point subset), 200 iterations took 7 to 9 CPU s of
    a proposal, 50 about 2 s, for a likelihood per point of 0.47 instead of 0.50. The designs
    were as good (measured with the subset rule `fit_subset` had then: the best quarter, the
    incumbent's neighbours and a spread): on 12 histories, each continued for 10 experiments,
    the median noiseless regret of the first design was 0.094 (200 iterations: 0.128) and of
    the best of the 10, 0.022 (0.024), lower on 6 histories, higher on 5, at a median 2.4 to
    2.7 CPU s per proposal against 8.2 to 9.5."""
    iterations, points = _FIT_LARGE
    return max(_FIT_MIN_ITER, min(_FIT_MAXITER, int(iterations * (points / max(n, 1)) ** 3)))


def _kernel(d: int, batch: torch.Size) -> ScaleKernel:
    """Matern 5/2 with one lengthscale per input under Gamma(3, rate) priors whose mode,
    exp(sqrt 2 - 3) * sqrt(d), is that of the dimension-scaled log-normal prior of Hvarfner et
    al. ("Vanilla Bayesian optimization performs great in high dimensions", ICML 2024; BoTorch's
    default), with light tails instead of heavy ones, as BayBE's default preset has it; and an
    output scale.

    Against BoTorch's default (an RBF kernel under the heavy-tailed log-normal, no output
    scale), over 10 seeds in the same harness, median final regret: `hartmann6` (40
    experiments) 0.091 -> 0.014, 6 of 10 seeds below 0.008 against 2; `snar` (40, true regret
    of the best measured design) 162 -> 40; but `branin` (30) 0.011 -> 0.019 and `branin_disc`
    (40) 0.0011 -> 0.0023. Why the tails matter so much is not established here.
    """
    concentration = 3.0
    mode = math.exp(math.sqrt(2.0) - 3.0) * math.sqrt(d)  # exp(mu - sigma^2) of Hvarfner's
    prior = GammaPrior(concentration, (concentration - 1.0) / mode)
    base = MaternKernel(
        nu=2.5,
        ard_num_dims=d,
        batch_shape=batch,
        lengthscale_prior=prior,
        lengthscale_constraint=GreaterThan(2.5e-2, transform=None, initial_value=prior.mode),
    )
    return ScaleKernel(base, batch_shape=batch)


def _likelihood(batch: torch.Size) -> GaussianLikelihood:
    """Gaussian noise under a Gamma(2, rate) prior with mode exp(-5) on standardised outputs,
    the mode of BoTorch's LogNormal(-4, 1) default but with a light tail, so a small misfit
    is not explained away as noise; floor 1e-4 as BoTorch's."""
    prior = GammaPrior(2.0, 1.0 / math.exp(-5.0))
    return GaussianLikelihood(
        noise_prior=prior,
        noise_constraint=GreaterThan(1e-4, transform=None, initial_value=prior.mode),
        batch_shape=batch,
    )


def _signed_objective(samples: Tensor, X: Tensor | None = None, *, sign: float) -> Tensor:
    """`sample_shape x batch x q x m` samples to the larger-is-better first objective."""
    return sign * samples[..., 0]


def _constraint_slack(
    samples: Tensor, *, column: int, bound: float, sign: float, scale: float
) -> Tensor:
    """Map `sample_shape x batch x q x m` samples to `sample_shape x batch x q` values that are
    <= 0 where the outcome constraint holds (BoTorch's convention). Divided by the metric's
    spread so that the sigmoid temperature `eta` of the acquisition means the same in every unit."""
    return sign * (samples[..., column] - bound) / scale


def _acquisition(
    model: GPyTorchModel,
    goal: Goal,
    X: Tensor,
    Y: Tensor,
    X_pending: Tensor | None,
    *,
    modelled: Tensor,
    bounds: Sequence[float],
    readings: bool = True,
    failed: int = 0,
) -> AcquisitionFunction:
    """The acquisition given observed inputs `X` (`n x p`), outcomes `Y` (`n x m`, columns in
    `goal.metrics` order) and designs in flight `X_pending` (`k x p`): qLogEI of the first
    objective on the model believing `X_pending` (`_believe`) over `_incumbent` (of the
    readings, or of the posterior mean at `X` without `readings`), or with several objectives
    qLogNEHVI at `reference_point(goal, Y)` with `X_pending` pending. The model was fit to
    `modelled`, `Y` on the scale of `logged_constraints`, whose `bounds` (in
    `goal.constraints` order) the constraints are held to. The first `failed` rows of
    `X_pending` are designs that failed: believed like the others, but out of the incumbent,
    since nothing will ever be read there."""
    spread = modelled.std(dim=0) if len(Y) > 1 else torch.ones(Y.shape[-1], dtype=_DTYPE)
    constraints: list[Callable[[Tensor], Tensor]] = [
        partial(
            _constraint_slack,
            column=goal.metrics.index(c.name),
            bound=bound,
            sign=1.0 if c.op == "<=" else -1.0,
            scale=float(spread[goal.metrics.index(c.name)]) or 1.0,
        )
        for c, bound in zip(goal.constraints, bounds, strict=True)
    ]
    if goal.multi:
        return qLogNoisyExpectedHypervolumeImprovement(
            model=model,
            ref_point=list(reference_point(goal, Y)),
            X_baseline=X,
            objective=WeightedMCMultiOutputObjective(
                weights=torch.tensor([o.sign for o in goal.objectives], dtype=_DTYPE),
                outcomes=list(range(len(goal.objectives))),
            ),
            constraints=constraints or None,
            X_pending=X_pending,
            prune_baseline=True,
        )
    objective = GenericMCObjective(partial(_signed_objective, sign=goal.primary.sign))
    with torch.no_grad():
        # The readings, or with drift what the observed designs would read now.
        known, values = X, (modelled if readings else model.posterior(X).mean)
        if X_pending is not None:
            believed = model.posterior(X_pending).mean.clone()
            known = torch.cat([known, X_pending[failed:]])
            values = torch.cat([values, believed[failed:]])
        best = _incumbent(model, objective, constraints, known, values)
        if X_pending is not None:
            # A failed design will never be read: believed no better than the incumbent it is
            # kept out of, so no improvement is left there however highly the model rates it.
            sign = goal.primary.sign
            believed[:failed, 0] = sign * torch.minimum(sign * believed[:failed, 0], best)
    return qLogExpectedImprovement(
        model=model if X_pending is None else _believe(model, X_pending, believed),
        best_f=best,
        objective=objective,
        constraints=constraints or None,
    )


def _believe(model: GPyTorchModel, X_pending: Tensor, believed: Tensor) -> GPyTorchModel:
    """`model` conditioned on the designs in flight `X_pending` (`k x p`) reading `believed`
    (`k x m`, their posterior mean: the kriging believer of Ginsbourger, Le Riche and Carraro,
    "Kriging is well-suited to parallelize optimization", 2010): the variance there falls to
    the noise level, so expected improvement values their neighbourhood as taken, and the mean
    elsewhere is unchanged."""
    # BoTorch returns a model of the same class, typed as its base `Model`.
    return cast(GPyTorchModel, model.condition_on_observations(X_pending, believed))


def _incumbent(
    model: GPyTorchModel,
    objective: GenericMCObjective,
    constraints: Sequence[Callable[[Tensor], Tensor]],
    X: Tensor,
    values: Tensor,
) -> Tensor:
    """The incumbent of expected improvement: the best objective among the designs `X`
    (`n x p`) whose `values` (`n x m`, on the model's scale) meet every constraint; with none
    feasible, a value below the objective's posterior range at `X`, so that improvement is
    feasibility.

    `_acquisition` passes the observed designs with their readings (with drift, their
    posterior mean now) and the designs in flight with their posterior mean: one predicted to
    beat every reading raises the bar, else expected improvement at it stayed its predicted
    gain and the next pick of a batch landed on it. Failed designs are left out.

    Why not qLogNEI, whose incumbent is the largest of joint posterior samples over every
    observed design: on a noise-free problem the posterior spread at the observed designs is
    the likelihood's noise floor, and that sampled best (its median) lay 0.22 to 0.50 beyond
    the best reading on three 25-experiment `branin` histories (a noise sd of 0.4 to 1.0
    there), so improvements smaller than that were worth next to nothing. Why the readings
    rather than the posterior mean: where the GP explains a rugged response partly as noise
    (`ackley10`) the smoothed mean's best lies behind the best reading, and expected
    improvement over it refined the basin at hand instead of looking for a better one. On noisy
    readings the best one is biased high, which leans expected improvement towards exploring;
    on the noisy `snar` the true regret was level with qLogNEI's (below).

    Median final regret over the suite's seeds 0 to 9 (`benchmarks/peers.py`), qLogNEI / EI
    over the best posterior mean / EI over the best reading (this): `branin` 0.0185 / 0.0057 /
    0.0047; `branin_disc` 0.0015 / 0.00029 / 0.00011; `branin_cat` 0.124 / 0.043 / 0.042;
    `pressure_vessel` 130 / 101 / 116; `snar` (true regret) 35.7 / 54.7 / 36; `ackley10` 1.17 /
    1.89 / 1.35; `hartmann6` 0.0047 / 0.044 / 0.030, with 4, 5 and 5 of the 10 runs ending
    near a local optimum (regret above 0.03); over seeds 0 to 19 level: 0.0028 / 0.0025 /
    0.0023, with 7, 9 and 9 of 20 runs stuck. CPU in the proposer fell by 15 to 50 % on
    every problem but `snar` (level).
    """
    values = values.unsqueeze(0)
    best = compute_best_feasible_objective(
        values,
        objective(values),
        list(constraints) or None,
        model=model,
        objective=objective,
        X_baseline=X,
    )
    return best.reshape(())


def reference_point(goal: Goal, Y: Tensor) -> tuple[float, ...]:
    """The hypervolume reference point for qLogNEHVI, signed (larger is better), from outcomes
    `Y` (`n x m`, columns in `goal.metrics` order).

    The goal's own `reference_point` when it has one. Otherwise `goal.signed_reference` of the
    observed outcomes: the nadir of the observed feasible Pareto front less 10 % of its range
    (BoTorch's `infer_reference_point` rule); with no feasible observation yet, the same rule
    applied to every observation, so that the acquisition still has a box to grow.
    """
    outcomes = [dict(zip(goal.metrics, row, strict=True)) for row in Y.tolist()]
    ref = goal.signed_reference(outcomes)
    if ref is None:
        ref = infer_reference_point([goal.signed(v) for v in outcomes])
    return ref


def _optimize(
    acquisition: AcquisitionFunction,
    encoding: _ModelEncoding,
    *,
    num_restarts: int,
    raw_samples: int,
) -> Tensor:
    """Return the `1 x p` design (model encoding) maximising `acquisition`."""
    X = _search(acquisition, encoding, num_restarts=num_restarts, raw_samples=raw_samples)
    if encoding.n_levels == 1 or encoding.integers_enumerated:
        return X
    return _polished(acquisition, encoding, X, num_restarts=num_restarts, raw_samples=raw_samples)


def _search(
    acquisition: AcquisitionFunction,
    encoding: _ModelEncoding,
    *,
    num_restarts: int,
    raw_samples: int,
) -> Tensor:
    """The `1 x p` maximiser of `acquisition`: over every combination of `Integer` levels and
    categories when `integers_enumerated`, else with each `Integer` relaxed to its coordinate
    (and the categories enumerated, or searched by BoTorch's alternating optimiser beyond
    `_MAX_ENUMERATED`)."""
    bounds, inequalities = encoding.bounds(), encoding.inequalities() or None
    if encoding.n_combinations > _MAX_ENUMERATED:  # too many to enumerate: index layout
        X, _ = optimize_acqf_mixed_alternating(
            acquisition,
            bounds,
            cat_dims={c: [float(i) for i in range(k)] for c, k in encoding.cat_columns.items()},
            q=1,
            num_restarts=num_restarts,
            raw_samples=raw_samples,
            inequality_constraints=inequalities,
        )
        return X
    if encoding.integers_enumerated:
        subproblems = [
            sub
            for fixed in encoding.combinations()
            if (sub := encoding.subproblem(fixed)) is not None
        ]
        if subproblems:
            return _optimize_subproblems(
                acquisition, subproblems, num_restarts=num_restarts, raw_samples=raw_samples
            )
        # No level meets the linear constraints: the relaxed search below, as before
        # enumeration, whose rounded designs are then refused as invalid.
    combinations = encoding.categories()
    if combinations == [{}]:
        X, _ = optimize_acqf(
            acquisition,
            bounds,
            q=1,
            num_restarts=num_restarts,
            raw_samples=raw_samples,
            inequality_constraints=inequalities,
        )
        return X
    # Share the restart budget across combinations, keeping a floor for each one.
    per_combination = max(2, num_restarts // len(combinations))
    X, _ = optimize_acqf_mixed(
        acquisition,
        bounds,
        q=1,
        num_restarts=per_combination,
        raw_samples=max(4 * per_combination, raw_samples // len(combinations)),
        fixed_features_list=combinations,
        inequality_constraints=inequalities,
    )
    return X


def _optimize_subproblems(
    acquisition: AcquisitionFunction,
    subproblems: Sequence[_Subproblem],
    *,
    num_restarts: int,
    raw_samples: int,
) -> Tensor:
    """The `1 x p` design maximising `acquisition` over every subproblem: each searched over
    its free columns alone (the acquisition with the fixed ones inserted), under its own
    linear constraints, so that the raw samples of a constrained search are drawn from its
    own polytope; one with no free column is scored at its point. Categories never enter a
    linear constraint, so `optimize_acqf_mixed` serves them with one set of constraints;
    fixed `Integer` levels change the constraints left on the other columns."""
    searched = max(1, sum(1 for sub in subproblems if sub.free))  # share the budget among these
    per_subproblem = max(2, num_restarts // searched)
    raw = max(4 * per_subproblem, raw_samples // searched)
    burnin = max(_MIN_BURNIN, _BURNIN // searched)
    best: tuple[float, Tensor] | None = None
    for sub in subproblems:
        if not sub.free:
            X = sub.full(torch.empty(1, 0, dtype=_DTYPE))
            with torch.no_grad():
                value = float(acquisition(X.unsqueeze(0)))
        else:
            columns = sorted(sub.fixed)
            reduced = FixedFeatureAcquisitionFunction(
                acquisition,
                d=len(columns) + len(sub.free),
                columns=columns,
                values=[sub.fixed[c] for c in columns],
            )
            X_free, acq_value = optimize_acqf(
                reduced,
                sub.bounds,
                q=1,
                num_restarts=per_subproblem,
                raw_samples=raw,
                inequality_constraints=sub.inequalities or None,
                options={"n_burnin": burnin},
            )
            X, value = sub.full(X_free), float(cast(Tensor, acq_value))
        if best is None or value > best[0]:
            best = (value, X)
    assert best is not None  # subproblems is not empty
    return best[1]


def _polished(
    acquisition: AcquisitionFunction,
    encoding: _ModelEncoding,
    X: Tensor,
    *,
    num_restarts: int,
    raw_samples: int,
) -> Tensor:
    """`X` (`1 x p`, found with relaxed `Integer`s) searched again with its `Integer`s fixed at
    the levels around it (`_ModelEncoding.neighbours_of`: the level below and the level above
    each): the other continuous columns are searched under the linear constraints restated for
    each combination of those levels (`_ModelEncoding.subproblem`; half the restarts and raw
    samples in all), and the better by `acquisition` of that search and `X` with its `Integer`s
    moved to the levels they decode to (what decoding `X` alone proposes), when that design is
    valid, is returned. `X` is returned unchanged when no design at those levels meets the
    linear constraints; decoding then repairs it (`_round_into_constraints`), as without this
    step.

    A relaxed optimum sits where the model is read between levels: on a linear constraint
    that holds an `Integer` the level decoded is off the line the search kept to, and the
    nearest level need not be the better one. On the pressure vessel (shell thickness
    `>= 0.0193` radius) the relaxed shell ended a fraction of a sixteenth below 13, so the
    radius stopped short of its bound at 13, 41.5 to 41.7 in against 42.098; searched again at
    13 alone it reached the bound, and the median final regret over the suite's 10 seeds fell
    from 116 to 77 (lower on 6 seeds, higher on 4, each of those at a thicker shell or at the
    length's bound), at 3.96 CPU s a suggestion against 3.22. Searching the levels on both sides
    took it to 5.52 [2.38, 10.6], lower on all 10 seeds, every run ending at the optimum's
    plates with the radius at its bound, at 4.91 CPU s a suggestion
    (`benchmarks/results/peers_bayes_polish.json`)."""
    subproblems = [
        sub
        for fixed in encoding.neighbours_of(X)
        if (sub := encoding.subproblem(fixed)) is not None
    ]
    if not subproblems:
        return X
    restarts = max(2, num_restarts // 2)
    raw = max(4 * restarts, raw_samples // 2)
    found = _optimize_subproblems(acquisition, subproblems, num_restarts=restarts, raw_samples=raw)
    rounded = X.clone()
    levels = encoding.levels_of(X)
    rounded[0, list(levels)] = torch.tensor(list(levels.values()), dtype=_DTYPE)
    space = encoding.space
    if not space.contains(space.decode(encoding.to_unit(rounded)[0])):
        return found
    with torch.no_grad():
        values = acquisition(torch.stack([found, rounded]))
    return found if float(values[0]) >= float(values[1]) else rounded


def _merged_product(blocks: Sequence[Sequence[dict[int, float]]]) -> list[dict[int, float]]:
    """One merged dict per element of the product of `blocks` (`[{}]` without blocks)."""
    return [
        {column: value for part in combo for column, value in part.items()}
        for combo in itertools.product(*blocks)
    ]


def _combinations(n_options: Sequence[int]) -> int:
    """Combinations of categories given the options of each parameter (0 for no `Choice`)."""
    return math.prod(k for k in n_options if k)


def _valid_design(space: Space, u: FloatArray) -> Params | None:
    """Decode unit-cube point `u` (shape `(dim,)`); None when no valid design is near it."""
    params = space.decode(u)
    if space.contains(params):
        return space.validate(params)
    return _round_into_constraints(space, u)


def _round_into_constraints(space: Space, u: FloatArray) -> Params | None:
    """Rounding relaxed `Integer`s can break a linear constraint the relaxed point met: try the
    floor and ceiling of each constrained Integer and keep the nearest valid design."""
    base, slices = space.decode(u), space.slices()
    constrained = {name for c in space.constraints for name in c.coefficients}
    integers = [p for p in space.parameters if isinstance(p, Integer) and p.name in constrained]
    integers = integers[:_MAX_REPAIR_INTEGERS]
    options = []
    for p in integers:
        cells = p.high - p.low + 1
        relaxed = p.low - 0.5 + float(u[slices[p.name].start]) * cells
        values = {min(max(f(relaxed), p.low), p.high) for f in (math.floor, math.ceil)}
        options.append([(v, abs(v - relaxed) / cells) for v in sorted(values)])
    best: tuple[float, Params] | None = None
    for combo in itertools.product(*options):
        design = {**base, **{p.name: v for p, (v, _) in zip(integers, combo, strict=True)}}
        distance = sum(d for _, d in combo)
        if space.contains(design) and (best is None or distance < best[0]):
            best = (distance, space.validate(design))
    return None if best is None else best[1]


def _complete(
    space: Space,
    goal: Goal,
    history: History,
    designs: Sequence[Params | None],
    excluded: set[DesignKey],
    classifier: FeasibilityClassifier,
    proposer: BayesProposer,
    *,
    n: int,
    seed: int,
) -> list[Params]:
    """Keep the designs that are valid, new and distinct; top up with Sobol designs (screened
    by the classifier when it is fitted)."""
    accepted: list[Params] = []
    seen = set(excluded)
    for design in designs:
        if design is not None and (key := design_key(space, design)) not in seen:
            seen.add(key)
            accepted.append(design)
    if len(accepted) < n:
        busy = History(
            trials=history.trials,
            pending=[*history.pending, *accepted],
            n_proposed=history.n_proposed,
        )
        missing = n - len(accepted)
        if classifier.fitted:
            accepted += _feasible_sobol(
                space, goal, busy, classifier, proposer, n=missing, seed=seed
            )
        else:
            accepted += SobolProposer().propose(space, goal, busy, n=missing, seed=seed)
    return accepted[:n]
