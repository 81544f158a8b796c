"""Standard global-optimisation test functions as seeded `Simulator`s with known optima.

Both come from Dixon and Szegő, "The global optimisation problem: an introduction", in Towards
Global Optimisation 2 (North-Holland, 1978), with the constants and minimisers as tabulated in
Surjanovic and Bingham's Virtual Library of Simulation Experiments
(https://www.sfu.ca/~ssurjano/branin.html and hart6.html).

- Branin (Branin-Hoo): `a (x2 - b x1^2 + c x1 - r)^2 + s (1 - t) cos(x1) + s` with a = 1,
  b = 5.1 / (4 pi^2), c = 5 / pi, r = 6, s = 10, t = 1 / (8 pi), on x1 in [-5, 10], x2 in [0, 15].
  Three global minimisers, (-pi, 12.275), (pi, 2.275) and (3 pi, 2.475), where the value is
  exactly 5 / (4 pi) = 0.397887...
- Hartmann6: `-sum_i alpha_i exp(-sum_j A_ij (x_j - P_ij)^2)` on [0, 1]^6; global minimum
  -3.322368 at (0.201690, 0.150011, 0.476874, 0.275332, 0.311652, 0.657301). The minimiser and
  value here were polished with L-BFGS-B from the tabulated point.
- BraninDisc: Branin with an unknown constraint, the `BraninConstr` surface of Atlas's
  unknown-constraint benchmarks (`atlas.unknown_constraints.benchmark_functions`, used in Hickman
  et al., "Anubis: Bayesian optimization with unknown feasibility constraints for scientific
  experimentation", Digital Discovery 2025). On the unit square `u = ((x1 + 5) / 15, x2 / 15)`
  Atlas makes infeasible the open discs of radius 0.2 around (0.12389382, 0.81833333) and of
  radius 0.35 around (0.961652, 0.165), which are the minimisers (-pi, 12.275) and
  (3 pi, 2.475). Both axes span 15, so these are the circles of radius 3 and 5.25 around those
  minimisers in the problem's units, which is how they are written here (our choice: centred
  exactly on the minimisers rather than on Atlas's rounded coordinates; the difference is below
  1e-6). The third minimiser (pi, 2.275) lies 6.29 from the larger centre, outside both discs,
  so the feasible optimum is still 5 / (4 pi) = 0.397887, there alone.

These are not physical processes: only BraninDisc fails, and only inside its discs, where an
evaluation returns `Failure(Cause.INFEASIBLE, ...)` (the optimiser is not told where the discs
are: they are not an outcome constraint of the goal). Noise is optional additive Gaussian noise
on `value` (`noise_sd`, default 0), and each evaluation, failed or not, takes a nominal
`duration_s` (60 s).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from daedalus.errors import InvalidCampaign
from daedalus.events import Cause
from daedalus.goal import Goal, Minimize
from daedalus.machines.base import Evaluation, Failure, Outcome
from daedalus.problem import Problem, Reference
from daedalus.space import Real, Space, Value

_SOURCE = "Dixon & Szego 1978; Surjanovic & Bingham, Virtual Library of Simulation Experiments"

BRANIN_MINIMIZERS = ((-math.pi, 12.275), (math.pi, 2.275), (3 * math.pi, 2.475))
BRANIN_MINIMUM = 5.0 / (4.0 * math.pi)
# BraninDisc: (centre, radius) of each infeasible disc, in the problem's units; the first two
# minimisers are infeasible, the third, BRANIN_MINIMIZERS[1], is the feasible optimum.
BRANIN_DISCS = ((BRANIN_MINIMIZERS[0], 3.0), (BRANIN_MINIMIZERS[2], 5.25))

HARTMANN6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
HARTMANN6_A = np.array(
    [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ]
)
HARTMANN6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
HARTMANN6_MINIMIZER = (
    0.20168950968761765,
    0.15001069413863433,
    0.47687396963094986,
    0.27533242916768874,
    0.31165161370991157,
    0.6573005333899428,
)
HARTMANN6_MINIMUM = -3.322368011415514


def branin(x1: float, x2: float) -> float:
    """Return the Branin function at `(x1, x2)`."""
    b, c = 5.1 / (4.0 * math.pi**2), 5.0 / math.pi
    t = 1.0 / (8.0 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6.0) ** 2 + 10.0 * (1.0 - t) * math.cos(x1) + 10.0


def branin_disc_violation(x1: float, x2: float) -> str | None:
    """Why `(x1, x2)` is infeasible for BraninDisc, or None when it is feasible."""
    for (c1, c2), radius in BRANIN_DISCS:
        distance = math.hypot(x1 - c1, x2 - c2)
        if distance < radius:
            return (
                f"design ({x1:.4g}, {x2:.4g}) lies inside the infeasible disc of radius "
                f"{radius:g} around ({c1:.4g}, {c2:.4g}) (distance {distance:.4g})"
            )
    return None


def hartmann6(x: Sequence[float]) -> float:
    """Return the six-dimensional Hartmann function at `x` (length 6)."""
    point = np.asarray(x, dtype=np.float64)
    inner = np.sum(HARTMANN6_A * (point - HARTMANN6_P) ** 2, axis=1)
    return float(-HARTMANN6_ALPHA @ np.exp(-inner))


def _check_option(owner: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidCampaign(f"{owner}: {name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise InvalidCampaign(f"{owner}: {name} must be finite and >= 0, got {value!r}")
    return float(value)


def _problem(name: str, space: Space, reference: Reference, description: str) -> Problem:
    units = {p: "1" for p in space.names} | {"value": "1"}
    return Problem(
        name=name,
        space=space,
        goal=Goal(Minimize("value")),
        reference=reference,
        units=units,
        description=description,
    )


class _FunctionSimulator:
    """A function of named parameters run as a `Simulator`; the base of the classes below."""

    def __init__(
        self,
        problem: Problem,
        function: Callable[[Mapping[str, float]], float],
        *,
        noise_sd: float,
        duration_s: float,
    ) -> None:
        owner = type(self).__name__
        self.noise_sd = _check_option(owner, "noise_sd", noise_sd)
        self.duration_s = _check_option(owner, "duration_s", duration_s)
        self.problem: Problem = problem
        self._function = function

    def __repr__(self) -> str:
        return f"{type(self).__name__}(noise_sd={self.noise_sd}, duration_s={self.duration_s})"

    def evaluate(self, params: Mapping[str, Value], *, seed: int) -> Evaluation:
        """Return `value` at `params`, plus Gaussian noise of sd `noise_sd` drawn from `seed`.

        Raises:
            InvalidParams: `params` does not fit the space.
        """
        clean = self.problem.space.validate(params)
        value = self._function({k: float(v) for k, v in clean.items()})
        if self.noise_sd > 0:
            value += self.noise_sd * float(np.random.default_rng(seed).standard_normal())
        return Outcome(values={"value": value}, duration_s=self.duration_s)


class Branin(_FunctionSimulator):
    """Branin on x1 in [-5, 10], x2 in [0, 15]; minimise `value`, optimum 0.397887.

    Args:
        noise_sd: standard deviation of additive Gaussian noise on `value`; 0 is noiseless.
        duration_s: simulated seconds per evaluation.
    """

    def __init__(self, *, noise_sd: float = 0.0, duration_s: float = 60.0) -> None:
        space = Space([Real("x1", -5.0, 10.0), Real("x2", 0.0, 15.0)])
        x1, x2 = BRANIN_MINIMIZERS[1]
        reference = Reference(BRANIN_MINIMUM, {"x1": x1, "x2": x2}, f"{_SOURCE}: 5 / (4 pi)")
        problem = _problem("branin", space, reference, "Branin-Hoo test function (2-D).")
        super().__init__(
            problem, lambda p: branin(p["x1"], p["x2"]), noise_sd=noise_sd, duration_s=duration_s
        )


class BraninDisc(_FunctionSimulator):
    """Branin with two infeasible discs over two of its minima; minimise `value`, feasible
    optimum 0.397887 at (pi, 2.275). A design inside a disc fails as `infeasible`.

    Args:
        noise_sd: standard deviation of additive Gaussian noise on `value`; 0 is noiseless.
        duration_s: simulated seconds per evaluation, failed or not.
    """

    def __init__(self, *, noise_sd: float = 0.0, duration_s: float = 60.0) -> None:
        space = Space([Real("x1", -5.0, 10.0), Real("x2", 0.0, 15.0)])
        x1, x2 = BRANIN_MINIMIZERS[1]
        source = f"{_SOURCE}: 5 / (4 pi); discs from Atlas's BraninConstr (Hickman et al. 2025)"
        reference = Reference(BRANIN_MINIMUM, {"x1": x1, "x2": x2}, source)
        problem = _problem(
            "branin_disc",
            space,
            reference,
            "Branin-Hoo test function (2-D) with infeasible discs over two of its minima.",
        )
        super().__init__(
            problem, lambda p: branin(p["x1"], p["x2"]), noise_sd=noise_sd, duration_s=duration_s
        )

    def evaluate(self, params: Mapping[str, Value], *, seed: int) -> Evaluation:
        """Return `value` at `params` as `Branin` does, or an `infeasible` failure inside a disc.

        Raises:
            InvalidParams: `params` does not fit the space.
        """
        clean = self.problem.space.validate(params)
        reason = branin_disc_violation(float(clean["x1"]), float(clean["x2"]))
        if reason is not None:
            return Failure(Cause.INFEASIBLE, reason, duration_s=self.duration_s)
        return super().evaluate(clean, seed=seed)


class Hartmann6(_FunctionSimulator):
    """Hartmann6 on [0, 1]^6; minimise `value`, optimum -3.32237.

    Args:
        noise_sd: standard deviation of additive Gaussian noise on `value`; 0 is noiseless.
        duration_s: simulated seconds per evaluation.
    """

    def __init__(self, *, noise_sd: float = 0.0, duration_s: float = 60.0) -> None:
        names = [f"x{i}" for i in range(1, 7)]
        space = Space([Real(n, 0.0, 1.0) for n in names])
        params = dict(zip(names, HARTMANN6_MINIMIZER, strict=True))
        reference = Reference(HARTMANN6_MINIMUM, params, _SOURCE)
        problem = _problem("hartmann6", space, reference, "Hartmann test function (6-D).")
        super().__init__(
            problem,
            lambda p: hartmann6([p[n] for n in names]),
            noise_sd=noise_sd,
            duration_s=duration_s,
        )


__all__ = ["Branin", "BraninDisc", "Hartmann6", "branin", "branin_disc_violation", "hartmann6"]
