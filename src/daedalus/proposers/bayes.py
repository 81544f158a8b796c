"""`BayesProposer`: Bayesian optimization with a BoTorch Gaussian process and qLogNEI.

How a batch is made:

1. Until the initial design is in place, propose Sobol designs (`SobolProposer`).
2. Fit one GP over every goal metric (objectives and constrained metrics), standardized, in
   float64, on the model encoding below.
3. Pick the batch one design at a time, each maximising `qLogNoisyExpectedImprovement` of the
   first objective (`optimize_acqf`, q=1), with outcome constraints as smooth feasibility
   weights, the pending designs and the earlier picks as `X_pending`, and the space's linear
   constraints as `inequality_constraints`.
4. Decode, validate, drop repeats, and top the batch up with Sobol designs if any were dropped.

The model encoding has one column per parameter: the unit-cube coordinate of a `Real` or
`Integer` (an `Integer` is relaxed to its continuous coordinate and rounded on decode), and the
category index `0 .. k-1` of a `Choice`, which `MixedSingleTaskGP`'s categorical kernel needs
instead of the space's one-hot block. With categorical parameters the acquisition is optimised
for every combination of categories when there are at most `_MAX_ENUMERATED` of them (exact
over the categories, cost grows with their number), and by BoTorch's alternating
continuous/local-categorical search beyond that.

Failed trials (values None) are not modelled yet; their designs are added to `X_pending`, so
the acquisition sees them as already being tried and values their neighbourhood as taken, and
a design equal to one of them is never returned.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
from torch import Tensor

from daedalus.errors import DaedalusError, InvalidCampaign
from daedalus.goal import Goal
from daedalus.proposers.base import History, Trial
from daedalus.proposers.sobol import (
    DesignKey,
    SobolProposer,
    check_batch,
    design_key,
    sobol_seed,
)
from daedalus.space import Choice, FloatArray, Integer, Params, Space, Value

with warnings.catch_warnings():
    # linear_operator, under gpytorch, decorates functions with `torch.jit.script`, which
    # torch 2.13 deprecates at import time; nothing here can act on it, so it stays quiet.
    warnings.filterwarnings(
        "ignore", message="`torch.jit.script` is deprecated", category=DeprecationWarning
    )
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.acquisition.objective import GenericMCObjective
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
    from botorch.models.transforms.outcome import Standardize
    from botorch.optim.optimize import optimize_acqf, optimize_acqf_mixed
    from botorch.optim.optimize_mixed import optimize_acqf_mixed_alternating
    from gpytorch.mlls import ExactMarginalLogLikelihood
    from linear_operator.utils.warnings import NumericalWarning

_DTYPE = torch.float64
_MAX_ENUMERATED = 32  # largest number of category combinations optimised one by one
_MIN_OBSERVED = 2  # a GP needs at least two observations to say anything
_MARGIN = 1e-6  # slack kept inside linear constraints: SLSQP ends up to ~1e-9 outside them
_MAX_REPAIR_INTEGERS = 8  # Integers re-rounded (2^8 floor/ceil combinations) to meet a constraint
# L-BFGS-B iterations of a GP fit. Past ~200 the marginal likelihood only creeps (noise-free
# data walks the noise toward its lower bound) while a mixed-kernel fit takes 5x longer.
_FIT_MAXITER = 200

InequalityConstraint = tuple[Tensor, Tensor, float]


@dataclass(frozen=True, slots=True)
class _ModelEncoding:
    """Maps the space's unit cube (`dim` columns, one-hot choices) to model inputs (`p`
    columns, one per parameter, category index for a `Choice`) and back."""

    space: Space
    slices: tuple[slice, ...]  # where each parameter sits in the unit vector
    n_options: tuple[int, ...]  # options of each Choice; 0 for a Real or Integer

    @classmethod
    def of(cls, space: Space) -> _ModelEncoding:
        slices = space.slices()
        return cls(
            space,
            tuple(slices[p.name] for p in space.parameters),
            tuple(len(p.options) if isinstance(p, Choice) else 0 for p in space.parameters),
        )

    @property
    def cat_columns(self) -> dict[int, int]:
        """Model column of each `Choice`, mapped to its number of options."""
        return {i: k for i, k in enumerate(self.n_options) if k}

    def to_model(self, unit: FloatArray) -> Tensor:
        """Map an `n x dim` unit-cube array to `n x p` model inputs."""
        columns = [
            unit[:, s].argmax(axis=1).astype(np.float64) if k else unit[:, s.start]
            for s, k in zip(self.slices, self.n_options, strict=True)
        ]
        return torch.tensor(np.stack(columns, axis=1), dtype=_DTYPE)

    def to_unit(self, X: Tensor) -> FloatArray:
        """Map `q x p` model inputs back to a `q x dim` unit-cube array."""
        x = X.detach().cpu().numpy()
        unit = np.zeros((len(x), self.space.dim), dtype=np.float64)
        rows = np.arange(len(x))
        for column, (s, k) in enumerate(zip(self.slices, self.n_options, strict=True)):
            if k:
                index = np.clip(np.rint(x[:, column]), 0, k - 1).astype(int)
                unit[rows, s.start + index] = 1.0
            else:
                unit[:, s.start] = np.clip(x[:, column], 0.0, 1.0)
        return unit

    def bounds(self) -> Tensor:
        """`2 x p` box of the model inputs: `[0, 1]`, or `[0, k-1]` for a category index."""
        upper = [float(k - 1) if k else 1.0 for k in self.n_options]
        return torch.tensor([[0.0] * len(upper), upper], dtype=_DTYPE)

    def inequalities(self) -> list[InequalityConstraint]:
        """The space's linear constraints as BoTorch `(indices, coefficients, rhs)` on model
        columns (`sum(c * x[indices]) >= rhs`), tightened by `_MARGIN` so that the optimiser's
        small constraint violations stay valid after decoding."""
        column_of = {s.start: i for i, s in enumerate(self.slices)}
        result = []
        for ineq in self.space.unit_inequalities():
            coefficients = torch.tensor(ineq.coefficients, dtype=_DTYPE)
            indices = torch.tensor([column_of[j] for j in ineq.indices], dtype=torch.long)
            margin = _MARGIN * max(1.0, float(coefficients.abs().sum()))
            result.append((indices, coefficients, float(ineq.rhs) + margin))
        return result


@dataclass(frozen=True, slots=True, kw_only=True)
class BayesProposer:
    """Bayesian optimization: a GP per goal metric and qLogNEI on the first objective.

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
    """

    n_init: int | None = None
    num_restarts: int = 10
    raw_samples: int = 256
    num_threads: int | None = 1
    name: str = field(default="bayes", init=False)

    def __post_init__(self) -> None:
        _check_int("n_init", self.n_init, low=1, optional=True)
        _check_int("num_restarts", self.num_restarts, low=1)
        _check_int("raw_samples", self.raw_samples, low=self.num_restarts)
        _check_int("num_threads", self.num_threads, low=1, optional=True)

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
        observed = sorted(history.observed, key=lambda t: t.experiment_id)
        n_init = self.initial_designs(space)
        if len(observed) < max(_MIN_OBSERVED, math.ceil(n_init / 2)) or (
            len(observed) + len(history.pending) < n_init
        ):
            return SobolProposer().propose(space, goal, history, n=n, seed=seed)
        failed = sorted((t for t in history.trials if t.values is None), key=_trial_id)
        avoid = sorted(
            [*history.pending, *(t.params for t in failed)], key=lambda d: tuple(space.encode(d))
        )
        encoding = _ModelEncoding.of(space)
        with _torch_threads(self.num_threads), _seeded(seed), _expected_warnings():
            X = self._optimized_batch(goal, encoding, observed, avoid, n=n)
        designs = [_valid_design(space, u) for u in encoding.to_unit(X)]
        excluded = {design_key(space, d) for d in avoid}
        return _complete(space, goal, history, designs, excluded, n=n, seed=seed)

    def _optimized_batch(
        self,
        goal: Goal,
        encoding: _ModelEncoding,
        observed: Sequence[Trial],
        avoid: Sequence[Mapping[str, Value]],
        *,
        n: int,
    ) -> Tensor:
        """Fit the GP and return `n x p` designs (model encoding), chosen greedily.

        Each pick maximises incremental qLogNEI with the designs in `avoid` and the earlier
        picks as pending: BoTorch's own sequential mode only appends earlier picks to the
        candidate, which leaves the next pick's landscape almost flat wherever it cannot beat
        them, so later picks of a batch landed next to pending designs.
        """
        space = encoding.space
        X, Y = _training_data(space, goal, encoding, observed)
        model = _fit_model(X, Y, encoding.cat_columns)
        busy = encoding.to_model(space.encode_many(avoid))
        for _ in range(n):
            acquisition = _acquisition(model, goal, X, Y, busy if len(busy) else None)
            pick = _optimize(
                acquisition,
                encoding,
                num_restarts=self.num_restarts,
                raw_samples=self.raw_samples,
            )
            busy = torch.cat([busy, pick])
        return busy[len(avoid) :]


def _check_int(option: str, value: object, *, low: int, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidCampaign(
            f"BayesProposer: {option} must be an int >= {low}"
            f"{' or None' if optional else ''}, got {value!r}"
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
        # With no feasible observation yet qLogNEI still ranks by probability of feasibility;
        # a dedicated feasibility model arrives with failure modelling.
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


def _fit_model(X: Tensor, Y: Tensor, cat_columns: Mapping[int, int]) -> GPyTorchModel:
    """Fit a GP with one output per column of `Y` (`n x m`) on inputs `X` (`n x p`)."""
    outcome = Standardize(m=Y.shape[-1])
    model: GPyTorchModel
    if cat_columns:
        model = MixedSingleTaskGP(X, Y, cat_dims=sorted(cat_columns), outcome_transform=outcome)
    else:
        model = SingleTaskGP(X, Y, outcome_transform=outcome)
    try:
        fit_gpytorch_mll(
            ExactMarginalLogLikelihood(model.likelihood, model),
            optimizer_kwargs={"options": {"maxiter": _FIT_MAXITER}},
        )
    except ModelFittingError as err:
        raise DaedalusError(
            f"BayesProposer: the Gaussian process could not be fit to {len(X)} observations "
            f"({err}); check the observed values for extreme outliers"
        ) from err
    return model


def _signed_objective(samples: Tensor, X: Tensor | None = None, *, sign: float) -> Tensor:
    """`sample_shape x batch x q x m` samples to the larger-is-better first objective."""
    return sign * samples[..., 0]


def _constraint_slack(
    samples: Tensor, *, column: int, bound: float, sign: float, scale: float
) -> Tensor:
    """Map `sample_shape x batch x q x m` samples to `sample_shape x batch x q` values that are
    <= 0 where the outcome constraint holds (BoTorch's convention). Divided by the metric's
    spread so that qLogNEI's sigmoid temperature `eta` means the same in every unit."""
    return sign * (samples[..., column] - bound) / scale


def _acquisition(
    model: GPyTorchModel, goal: Goal, X: Tensor, Y: Tensor, X_pending: Tensor | None
) -> qLogNoisyExpectedImprovement:
    """qLogNEI of the first objective given observed inputs `X` (`n x p`), outcomes `Y`
    (`n x m`) and designs in flight `X_pending` (`k x p`)."""
    spread = Y.std(dim=0) if len(Y) > 1 else torch.ones(Y.shape[-1], dtype=_DTYPE)
    constraints: list[Callable[[Tensor], Tensor]] = [
        partial(
            _constraint_slack,
            column=goal.metrics.index(c.name),
            bound=c.bound,
            sign=1.0 if c.op == "<=" else -1.0,
            scale=float(spread[goal.metrics.index(c.name)]) or 1.0,
        )
        for c in goal.constraints
    ]
    return qLogNoisyExpectedImprovement(
        model=model,
        X_baseline=X,
        objective=GenericMCObjective(partial(_signed_objective, sign=goal.primary.sign)),
        constraints=constraints or None,
        X_pending=X_pending,
        prune_baseline=True,
    )


def _optimize(
    acquisition: qLogNoisyExpectedImprovement,
    encoding: _ModelEncoding,
    *,
    num_restarts: int,
    raw_samples: int,
) -> Tensor:
    """Return the `1 x p` design (model encoding) maximising `acquisition`."""
    bounds, inequalities = encoding.bounds(), encoding.inequalities() or None
    cats = encoding.cat_columns
    if not cats:
        X, _ = optimize_acqf(
            acquisition,
            bounds,
            q=1,
            num_restarts=num_restarts,
            raw_samples=raw_samples,
            inequality_constraints=inequalities,
        )
        return X
    if math.prod(cats.values()) > _MAX_ENUMERATED:
        X, _ = optimize_acqf_mixed_alternating(
            acquisition,
            bounds,
            cat_dims={c: [float(i) for i in range(k)] for c, k in cats.items()},
            q=1,
            num_restarts=num_restarts,
            raw_samples=raw_samples,
            inequality_constraints=inequalities,
        )
        return X
    combinations = [
        {c: float(i) for c, i in zip(cats, combo, strict=True)}
        for combo in itertools.product(*(range(k) for k in cats.values()))
    ]
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
    *,
    n: int,
    seed: int,
) -> list[Params]:
    """Keep the designs that are valid, new and distinct; top up with Sobol designs."""
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
        accepted += SobolProposer().propose(space, goal, busy, n=n - len(accepted), seed=seed)
    return accepted[:n]
