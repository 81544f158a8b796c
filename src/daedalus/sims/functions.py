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

- Ackley10: `-a exp(-b sqrt(mean x_i^2)) - exp(mean cos(c x_i)) + a + e` with a = 20, b = 0.2,
  c = 2 pi, in 10 dimensions on [-5, 10]^10 (the box of the TuRBO and BoTorch benchmarks);
  global minimum 0 at the origin. Ackley, "A connectionist machine for genetic hillclimbing"
  (Kluwer, 1987), as tabulated in the Virtual Library (ackley.html).
- BraninCat: Branin with a categorical `surface` that reshapes it, so the optimum needs the right
  option (our own mixed problem). `plain` is `branin(x1, x2) + 1`, `mirrored` is
  `branin(5 - x1, x2)` (x1 -> 5 - x1 maps [-5, 10] onto itself) and `flipped` is
  `branin(x1, 15 - x2) + 0.5`. Each option's minimum is Branin's plus its offset, exactly, so
  the global minimum is 5 / (4 pi) = 0.397887, on `mirrored` only, at the mirrored minimisers
  (5 - pi, 2.275), (5 + pi, 12.275) and (5 - 3 pi, 2.475); `flipped` bottoms out at 0.897887,
  `plain` at 1.397887.
- PressureVessel: the cylindrical pressure vessel with hemispherical heads of Sandgren (1990) and
  Kannan and Kramer, "An augmented Lagrange multiplier based method for mixed integer discrete
  continuous optimization and its applications to mechanical design", J. Mech. Des. 1994, 116,
  405-411, in the form of Coello Coello and Mezura-Montes (Adv. Eng. Informatics 2002, 16,
  193-203). Minimise the cost of material, forming and welding
  `0.6224 Ts R L + 1.7781 Th R^2 + 3.1661 Ts^2 L + 19.84 Ts^2 R` over the shell and head
  thicknesses Ts, Th (integer multiples of 1/16 in, 1..99 sixteenths: rolled plate) and the
  inner radius R and cylinder length L (inches, [10, 200]), subject to
  g1: Ts >= 0.0193 R and g2: Th >= 0.00954 R (wall thickness for the pressure; linear, so they
  are linear constraints of the space) and g3: volume `pi R^2 L + 4/3 pi R^3 >= 1296000 in^3`
  (an outcome constraint on `volume_in3`); g4, L <= 240, is implied by the bounds. The value
  the literature quotes, 6059.946 (Coello & Mezura-Montes 2002, at Ts = 0.8125, Th = 0.4375,
  R = 42.097398, L = 176.654047), is a best found, not the minimum: with Ts and Th on the 1/16
  grid the exact minimum is 6059.714335 at Ts = 13/16, Th = 7/16, R = 0.8125 / 0.0193 =
  42.098446 and L = 176.636596, where g1 and g3 are active (for each of the 99 x 99 thickness
  pairs the cost is increasing in L, so L is g3's bound and one variable R remains; the search
  over all pairs is in the tests). With continuous thicknesses the minimum would be lower
  (about 5885.3), which is why the discrete form is used here.

These are not physical processes: only BraninDisc fails, and only inside its discs, where an
evaluation returns `Failure(Cause.INFEASIBLE, ...)` (the optimiser is not told where the discs
are: they are not an outcome constraint of the goal). Noise is optional additive Gaussian noise
on `value` (`noise_sd`, default 0), and each evaluation, failed or not, takes a nominal
`duration_s` (60 s).

Gross errors (Branin only; our model, for testing outlier handling): with `outlier_rate` = p, a
reading is wrong with probability p, shifted by +-(100 + 200 u) with u uniform on [0, 1) (a
third of Branin's range on its box to the whole of it, as a transcription slip would), drawn
from a stream of the seed of its own; with p = 0 (the default) the outputs are exactly those
without the option.
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
from daedalus.sims.base import check_option, gross_error
from daedalus.space import Choice, Integer, Real, Space, Value

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

ACKLEY_DIM = 10
ACKLEY_BOUNDS = (-5.0, 10.0)

# BraninCat: option -> (mirror x1, flip x2, offset); see the module docstring.
BRANIN_CAT_SURFACES = {
    "plain": (False, False, 1.0),
    "mirrored": (True, False, 0.0),
    "flipped": (False, True, 0.5),
}

# PressureVessel, Kannan & Kramer 1994 in inches; thicknesses in sixteenths of an inch.
VESSEL_PLATE_IN = 0.0625
VESSEL_MIN_VOLUME_IN3 = 1296000.0
VESSEL_SHELL_RATIO = 0.0193  # g1: Ts >= 0.0193 R
VESSEL_HEAD_RATIO = 0.00954  # g2: Th >= 0.00954 R
VESSEL_LITERATURE_BEST = 6059.946  # Coello & Mezura-Montes 2002: a best found, not the minimum


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


def ackley(x: Sequence[float]) -> float:
    """Return the Ackley function (a = 20, b = 0.2, c = 2 pi) at `x`, any length."""
    point = np.asarray(x, dtype=np.float64)
    rms = math.sqrt(float(np.mean(point**2)))
    waves = float(np.mean(np.cos(2.0 * math.pi * point)))
    return -20.0 * math.exp(-0.2 * rms) - math.exp(waves) + 20.0 + math.e


def branin_cat(surface: str, x1: float, x2: float) -> float:
    """Return BraninCat's value on `surface` (`plain`, `mirrored` or `flipped`) at `(x1, x2)`."""
    mirror, flip, offset = BRANIN_CAT_SURFACES[surface]
    return branin(5.0 - x1 if mirror else x1, 15.0 - x2 if flip else x2) + offset


def vessel_cost(ts_in: float, th_in: float, radius_in: float, length_in: float) -> float:
    """Return the pressure vessel's cost of material, forming and welding (Kannan & Kramer)."""
    return (
        0.6224 * ts_in * radius_in * length_in
        + 1.7781 * th_in * radius_in**2
        + 3.1661 * ts_in**2 * length_in
        + 19.84 * ts_in**2 * radius_in
    )


def vessel_volume_in3(radius_in: float, length_in: float) -> float:
    """Return the vessel's inner volume: a cylinder plus two hemispherical heads, in^3."""
    return math.pi * radius_in**2 * length_in + 4.0 / 3.0 * math.pi * radius_in**3


def vessel_optimum() -> dict[str, float | int]:
    """The exact minimiser on the 1/16 in grid: Ts = 13/16, Th = 7/16, g1 and g3 active.

    L is nudged up to the first float at which the volume is at least 1296000 in^3, so the
    design is feasible in floating point, not just on paper.
    """
    shell, head = 13, 7
    radius = shell * VESSEL_PLATE_IN / VESSEL_SHELL_RATIO
    length = (VESSEL_MIN_VOLUME_IN3 - 4.0 / 3.0 * math.pi * radius**3) / (math.pi * radius**2)
    while vessel_volume_in3(radius, length) < VESSEL_MIN_VOLUME_IN3:
        length = math.nextafter(length, math.inf)
    return {
        "shell_16th_in": shell,
        "head_16th_in": head,
        "radius_in": radius,
        "length_in": length,
    }


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
        outlier_rate: float = 0.0,
    ) -> None:
        owner = type(self).__name__
        self.noise_sd = _check_option(owner, "noise_sd", noise_sd)
        self.duration_s = _check_option(owner, "duration_s", duration_s)
        self.outlier_rate = check_option(owner, "outlier_rate", outlier_rate, high=1.0)
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
        error = gross_error(seed, self.outlier_rate)
        if error is not None:
            value += error[0] * (100.0 + 200.0 * error[1])
        return Outcome(values={"value": value}, duration_s=self.duration_s)


class Branin(_FunctionSimulator):
    """Branin on x1 in [-5, 10], x2 in [0, 15]; minimise `value`, optimum 0.397887.

    Args:
        noise_sd: standard deviation of additive Gaussian noise on `value`; 0 is noiseless.
        duration_s: simulated seconds per evaluation.
        outlier_rate: chance of a gross error per reading (module docstring); 0 is none.
    """

    def __init__(
        self, *, noise_sd: float = 0.0, duration_s: float = 60.0, outlier_rate: float = 0.0
    ) -> None:
        space = Space([Real("x1", -5.0, 10.0), Real("x2", 0.0, 15.0)])
        x1, x2 = BRANIN_MINIMIZERS[1]
        reference = Reference(BRANIN_MINIMUM, {"x1": x1, "x2": x2}, f"{_SOURCE}: 5 / (4 pi)")
        problem = _problem("branin", space, reference, "Branin-Hoo test function (2-D).")
        super().__init__(
            problem,
            lambda p: branin(p["x1"], p["x2"]),
            noise_sd=noise_sd,
            duration_s=duration_s,
            outlier_rate=outlier_rate,
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


class Ackley10(_FunctionSimulator):
    """Ackley in 10 dimensions on [-5, 10]^10; minimise `value`, optimum 0 at the origin.

    Args:
        noise_sd: standard deviation of additive Gaussian noise on `value`; 0 is noiseless.
        duration_s: simulated seconds per evaluation.
    """

    def __init__(self, *, noise_sd: float = 0.0, duration_s: float = 60.0) -> None:
        names = [f"x{i}" for i in range(1, ACKLEY_DIM + 1)]
        space = Space([Real(n, *ACKLEY_BOUNDS) for n in names])
        source = "Ackley 1987; Surjanovic & Bingham, Virtual Library of Simulation Experiments"
        reference = Reference(0.0, dict.fromkeys(names, 0.0), source)
        problem = _problem("ackley10", space, reference, "Ackley test function (10-D).")
        super().__init__(
            problem,
            lambda p: ackley([p[n] for n in names]),
            noise_sd=noise_sd,
            duration_s=duration_s,
        )


class BraninCat(_FunctionSimulator):
    """Branin reshaped by a categorical `surface`; minimise `value`, optimum 0.397887 on
    `mirrored` at (5 - pi, 2.275). See the module docstring.

    Args:
        noise_sd: standard deviation of additive Gaussian noise on `value`; 0 is noiseless.
        duration_s: simulated seconds per evaluation.
    """

    def __init__(self, *, noise_sd: float = 0.0, duration_s: float = 60.0) -> None:
        space = Space(
            [
                Real("x1", -5.0, 10.0),
                Real("x2", 0.0, 15.0),
                Choice("surface", tuple(BRANIN_CAT_SURFACES)),
            ]
        )
        x1, x2 = 5.0 - BRANIN_MINIMIZERS[1][0], BRANIN_MINIMIZERS[1][1]
        params: dict[str, Value] = {"x1": x1, "x2": x2, "surface": "mirrored"}
        source = f"{_SOURCE}: 5 / (4 pi), on the mirrored surface (our own mixed problem)"
        reference = Reference(BRANIN_MINIMUM, params, source)
        problem = _problem(
            "branin_cat",
            space,
            reference,
            "Branin-Hoo (2-D) with a categorical surface: plain, mirrored or flipped.",
        )
        super().__init__(problem, lambda p: 0.0, noise_sd=noise_sd, duration_s=duration_s)

    def evaluate(self, params: Mapping[str, Value], *, seed: int) -> Evaluation:
        """Return `value` at `params`, plus Gaussian noise of sd `noise_sd` drawn from `seed`.

        Raises:
            InvalidParams: `params` does not fit the space.
        """
        clean = self.problem.space.validate(params)
        value = branin_cat(str(clean["surface"]), float(clean["x1"]), float(clean["x2"]))
        if self.noise_sd > 0:
            value += self.noise_sd * float(np.random.default_rng(seed).standard_normal())
        return Outcome(values={"value": value}, duration_s=self.duration_s)


class PressureVessel:
    """The pressure vessel design problem (Kannan & Kramer 1994); minimise `cost` subject to
    `volume_in3 >= 1296000`, thicknesses in sixteenths of an inch. Exact optimum 6059.714335;
    see the module docstring for why not the quoted 6059.946.

    Args:
        noise_sd: standard deviation of additive Gaussian noise on `cost`; 0 is noiseless.
        duration_s: simulated seconds per evaluation.
    """

    def __init__(self, *, noise_sd: float = 0.0, duration_s: float = 60.0) -> None:
        self.noise_sd = _check_option("PressureVessel", "noise_sd", noise_sd)
        self.duration_s = _check_option("PressureVessel", "duration_s", duration_s)
        space = Space(
            [
                # L first: a slice through the optimum along it stays inside g1 and g2.
                Real("length_in", 10.0, 200.0),
                Real("radius_in", 10.0, 200.0),
                Integer("shell_16th_in", 1, 99),
                Integer("head_16th_in", 1, 99),
            ],
            constraints=[
                f"{VESSEL_SHELL_RATIO}*radius_in - {VESSEL_PLATE_IN}*shell_16th_in <= 0",
                f"{VESSEL_HEAD_RATIO}*radius_in - {VESSEL_PLATE_IN}*head_16th_in <= 0",
            ],
        )
        optimum = vessel_optimum()
        source = (
            "Kannan & Kramer 1994, as in Coello & Mezura-Montes 2002 (who report 6059.946); "
            "exact minimum on the 1/16 in grid, g1 and g3 active"
        )
        reference = Reference(self._cost(optimum), dict(optimum), source)
        units = {
            "shell_16th_in": "1/16 in",
            "head_16th_in": "1/16 in",
            "radius_in": "in",
            "length_in": "in",
            "cost": "1 (the formulation's cost units)",
            "volume_in3": "in^3",
        }
        self.problem: Problem = Problem(
            name="pressure_vessel",
            space=space,
            goal=Goal(Minimize("cost"), constraints=[f"volume_in3 >= {VESSEL_MIN_VOLUME_IN3}"]),
            reference=reference,
            units=units,
            description="Pressure vessel design (Kannan & Kramer 1994): minimise cost, "
            "volume >= 1296000 in^3, plate on the 1/16 in grid.",
        )

    def __repr__(self) -> str:
        return f"PressureVessel(noise_sd={self.noise_sd}, duration_s={self.duration_s})"

    @staticmethod
    def _cost(params: Mapping[str, Value]) -> float:
        return vessel_cost(
            VESSEL_PLATE_IN * float(params["shell_16th_in"]),
            VESSEL_PLATE_IN * float(params["head_16th_in"]),
            float(params["radius_in"]),
            float(params["length_in"]),
        )

    def evaluate(self, params: Mapping[str, Value], *, seed: int) -> Evaluation:
        """Return `cost` (plus noise of sd `noise_sd` from `seed`) and the exact `volume_in3`.

        Raises:
            InvalidParams: `params` does not fit the space (bounds or g1, g2).
        """
        clean = self.problem.space.validate(params)
        cost = self._cost(clean)
        if self.noise_sd > 0:
            cost += self.noise_sd * float(np.random.default_rng(seed).standard_normal())
        volume = vessel_volume_in3(float(clean["radius_in"]), float(clean["length_in"]))
        return Outcome(values={"cost": cost, "volume_in3": volume}, duration_s=self.duration_s)


__all__ = [
    "Ackley10",
    "Branin",
    "BraninCat",
    "BraninDisc",
    "Hartmann6",
    "PressureVessel",
    "ackley",
    "branin",
    "branin_cat",
    "branin_disc_violation",
    "hartmann6",
    "vessel_cost",
    "vessel_optimum",
    "vessel_volume_in3",
]
