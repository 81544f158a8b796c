"""Airfoil in a low-speed wind tunnel: lift-to-drag ratio of a Kulfan (CST) section.

Aerodynamics from NeuralFoil (Sharpe & Hansman, "NeuralFoil: an airfoil aerodynamics analysis
tool using physics-informed machine learning", arXiv:2503.16323, 2025; MIT licence), a neural
network trained on XFoil that returns the lift and drag coefficients and an
`analysis_confidence` in [0, 1] for a Kulfan shape, an angle of attack and a Reynolds number.
Its weights ship inside the `neuralfoil` package, so it runs offline. It has no Mach input: the
flow is incompressible, as in a low-speed tunnel (chord 0.25 m at Re 5e5 in air is about
30 m/s, Mach 0.09). Transition is free with the e^n criterion at n_crit = 9, XFoil's "average
wind tunnel".

Geometry: Kulfan's class/shape transformation (Kulfan, "Universal parametric geometry
representation method", J. Aircraft 2008, 45(1), 142-158, doi:10.2514/1.29958) with the class
function C(x) = sqrt(x) (1 - x) of a round-nosed, sharp-tailed airfoil and Bernstein shape
functions of degree 7, which NeuralFoil requires (8 weights per surface), plus a trailing-edge
thickness and Kulfan's leading-edge modification (LEM), as in AeroSandbox:

    y_upper(x) = C(x) sum_i u_i B_i^7(x) + x t_te / 2 + w_le x (1 - x)^8.5
    y_lower(x) = C(x) sum_i l_i B_i^7(x) - x t_te / 2 + w_le x (1 - x)^8.5
    B_i^n(x) = binom(n, i) x^i (1 - x)^(n - i),   x = chord fraction in [0, 1]

Design space (our choice, documented): a 17-D space (16 weights and the angle) cannot even be
seeded within a 30-experiment budget (2 x 17 = 34 space-filling designs before the first
model), and most of its volume is unflyable, so the shape is set by a camber line and a
thickness distribution, each a degree-2 CST (three weights: front, mid, aft), raised exactly to
degree 7 by Bernstein degree elevation (Farin, "Curves and Surfaces for CAGD", ch. 6):

    camber(x)    = C(x) sum_k c_k B_k^2(x)        thickness(x) = C(x) sum_k t_k B_k^2(x) + x t_te
    u = E (c + t / 2),  l = E (c - t / 2),  E_jk = binom(2, k) binom(5, j - k) / binom(7, j)

The leading-edge weight is 0 and the trailing-edge thickness 0.25 % of chord (a machinable
edge, close to the NACA 4-digit value), both fixed. A degree-2 camber and thickness fit
NACA 4412 to 0.2 % of chord. Outputs: `cl`, `cd` (section coefficients), `lift_to_drag` =
cl / cd, and `thickness_ratio` = max over x of thickness(x), the maximum t/c, measured on the
model, not in the flow, so without noise.

OUR OWN ASSUMPTIONS, not from NeuralFoil or Kulfan, so that the simulator behaves like a tunnel
campaign that takes time and fails:

- Unbuildable shapes: if the upper surface lies below the lower one anywhere aft of the leading
  edge (thickness(x) < 0 at any of 1001 cosine-spaced stations), the model cannot be made:
  `Cause.INFEASIBLE` after a 5-minute design check, before any tunnel time.
- Non-converged analysis: NeuralFoil's confidence below 0.9 means XFoil would probably not
  have converged (massively separated or unsteady flow). It is a property of the design and
  the angle, the same on every repeat, so it is `Cause.INFEASIBLE` (the planner learns to avoid
  it), not `Cause.MACHINE_FAULT` (which the operator would retry in vain): "the balance readings
  did not settle", after the full run.
- Tunnel faults: 1 % of runs lose their balance data (`Cause.MACHINE_FAULT`, retried), part-way
  through the run.
- Measurement noise: the measured CD is the model's times exp(noise * z1) and the measured CL
  times exp(0.5 * noise * z2), z1, z2 standard normal (a median-unbiased log-normal factor;
  default noise 0.02, drag from a wake rake being less precise than lift); L/D is their ratio.
- Duration: 20 minutes per run, 10 to change and zero the model and 10 to set the angle, let
  the flow settle and acquire.

The reference optimum (best noiseless L/D with t/c >= 0.10, confidence >= 0.9 and no crossing
surfaces) is computed by `scripts/make_airfoil_reference.py` and shipped as
`data/airfoil_reference.json`. It is the best design found on this surrogate, not a certified
optimum of the real flow: optimisers exploit surrogate errors (Drela, "Pros and cons of airfoil
optimization", 1998).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import comb

from daedalus.errors import InvalidCampaign
from daedalus.events import Cause
from daedalus.goal import Goal, Maximize
from daedalus.machines.base import Evaluation, Failure, Outcome
from daedalus.problem import Problem
from daedalus.sims.base import check_option, load_reference
from daedalus.space import Real, Space, Value

FloatArray = npt.NDArray[np.float64]

REYNOLDS = 5e5
N_CRIT = 9.0  # XFoil's "average wind tunnel"
MODEL_SIZE = "xlarge"  # NeuralFoil's default network
KULFAN_DEGREE = 7  # NeuralFoil takes exactly 8 weights per surface
DESIGN_DEGREE = 2  # camber and thickness: 3 weights each
LEADING_EDGE_WEIGHT = 0.0
TE_THICKNESS = 0.0025  # trailing-edge thickness, fraction of chord
MIN_THICKNESS_RATIO = 0.10
STATIONS = 1001

# Our own assumptions (see the module docstring).
MIN_CONFIDENCE = 0.9
FAULT_RATE = 0.01
LIFT_NOISE_RATIO = 0.5
MODEL_CHANGE_S = 600.0
TUNNEL_RUN_S = 600.0
DESIGN_CHECK_S = 300.0

CAMBER = ("camber_front", "camber_mid", "camber_aft")
THICKNESS = ("thickness_front", "thickness_mid", "thickness_aft")
NAMES = (*CAMBER, *THICKNESS, "alpha_deg")
BOUNDS: dict[str, tuple[float, float]] = {
    "camber_front": (-0.05, 0.15),
    "camber_mid": (-0.05, 0.35),
    "camber_aft": (-0.05, 0.70),
    "thickness_front": (0.20, 0.45),
    "thickness_mid": (0.00, 0.45),
    "thickness_aft": (-0.10, 0.40),
    "alpha_deg": (-2.0, 12.0),
}
_REFERENCE_FIXTURE = "airfoil_reference.json"


def cosine_stations(n: int = STATIONS) -> FloatArray:
    """Return `n` chord fractions from 0 to 1, clustered at both edges (cosine spacing)."""
    return np.asarray((1.0 - np.cos(np.linspace(0.0, math.pi, n))) / 2.0)


def bernstein(degree: int, x: npt.ArrayLike) -> FloatArray:
    """Return the Bernstein polynomials of `degree` at `x`, shape `(degree + 1) x len(x)`."""
    k = np.arange(degree + 1)[:, None]
    xs = np.atleast_1d(np.asarray(x, dtype=float))[None, :]
    return np.asarray(comb(degree, k) * xs**k * (1.0 - xs) ** (degree - k))


def elevation_matrix(degree: int, target: int) -> FloatArray:
    """Return E, `(target + 1) x (degree + 1)`: weights `w` of `degree` equal `E @ w` of
    `target` (Bernstein degree elevation)."""
    matrix = np.zeros((target + 1, degree + 1))
    for j in range(target + 1):
        for k in range(max(0, j - target + degree), min(degree, j) + 1):
            matrix[j, k] = comb(degree, k) * comb(target - degree, j - k) / comb(target, j)
    return matrix


_ELEVATE = elevation_matrix(DESIGN_DEGREE, KULFAN_DEGREE)


def kulfan_weights(
    camber: npt.ArrayLike, thickness: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Return the (upper, lower) degree-7 Kulfan weights, `... x 8`, of degree-2 `camber` and
    `thickness` weights (`... x 3`, front, mid, aft)."""
    c = np.asarray(camber, dtype=float) @ _ELEVATE.T
    t = np.asarray(thickness, dtype=float) @ _ELEVATE.T
    return c + t / 2.0, c - t / 2.0


def surface_ordinates(
    upper: npt.ArrayLike,
    lower: npt.ArrayLike,
    x: npt.ArrayLike,
    *,
    leading_edge_weight: float = LEADING_EDGE_WEIGHT,
    te_thickness: float = TE_THICKNESS,
) -> tuple[FloatArray, FloatArray]:
    """Return (y_upper, y_lower)/c at chord fractions `x` for Kulfan weights of any one degree."""
    xs = np.asarray(x, dtype=float)
    u, lo = np.asarray(upper, dtype=float), np.asarray(lower, dtype=float)
    basis = np.sqrt(xs) * (1.0 - xs) * bernstein(u.shape[-1] - 1, xs)
    lem = leading_edge_weight * xs * (1.0 - xs) ** (u.shape[-1] + 0.5)
    half_te = xs * te_thickness / 2.0
    return u @ basis + half_te + lem, lo @ basis - half_te + lem


def local_thickness(
    upper: npt.ArrayLike,
    lower: npt.ArrayLike,
    *,
    te_thickness: float = TE_THICKNESS,
    x: FloatArray | None = None,
) -> FloatArray:
    """Return y_upper - y_lower (fraction of chord) at `x` (default: 1001 cosine stations),
    shape `... x len(x)`. The leading-edge modification adds to both surfaces and cancels."""
    xs = cosine_stations() if x is None else x
    y_upper, y_lower = surface_ordinates(upper, lower, xs, te_thickness=te_thickness)
    return np.asarray(y_upper - y_lower)


def thickness_ratio(
    upper: npt.ArrayLike, lower: npt.ArrayLike, *, te_thickness: float = TE_THICKNESS
) -> FloatArray:
    """Return the maximum thickness-to-chord ratio, measured normal to the chord line."""
    return np.asarray(local_thickness(upper, lower, te_thickness=te_thickness).max(axis=-1))


def thinnest_section(
    upper: npt.ArrayLike, lower: npt.ArrayLike, *, te_thickness: float = TE_THICKNESS
) -> tuple[FloatArray, FloatArray]:
    """Return (minimum thickness/c, its chord fraction) aft of the leading edge; a negative
    minimum means the surfaces cross."""
    xs = cosine_stations()[1:]
    thickness = local_thickness(upper, lower, te_thickness=te_thickness, x=xs)
    at = thickness.argmin(axis=-1)
    return np.asarray(thickness.min(axis=-1)), np.asarray(xs[at])


@lru_cache(maxsize=1)
def _neuralfoil() -> Any:
    try:
        import neuralfoil  # type: ignore[import-untyped]
    except ImportError as err:
        raise ImportError(
            "the airfoil simulator needs NeuralFoil (with AeroSandbox and CasADi): "
            "pip install 'daedalus[aero]'"
        ) from err
    return neuralfoil


def neuralfoil_aero(
    upper: npt.ArrayLike,
    lower: npt.ArrayLike,
    alpha_deg: npt.ArrayLike,
    *,
    reynolds: float = REYNOLDS,
    leading_edge_weight: npt.ArrayLike = LEADING_EDGE_WEIGHT,
    te_thickness: npt.ArrayLike = TE_THICKNESS,
) -> dict[str, FloatArray]:
    """Return NeuralFoil's `cl`, `cd`, `cm` and `confidence`, each of shape `(n,)`, for `n`
    designs: `upper` and `lower` are `n x 8` (or 8) Kulfan weights, `alpha_deg` has `n` angles.

    Raises:
        ImportError: NeuralFoil is not installed.
    """
    u = np.atleast_2d(np.asarray(upper, dtype=float))
    lo = np.atleast_2d(np.asarray(lower, dtype=float))
    n = len(u)
    kulfan = {
        "upper_weights": u.T,  # NeuralFoil vectorises along the last axis: 8 x n
        "lower_weights": lo.T,
        "leading_edge_weight": np.broadcast_to(leading_edge_weight, (n,)).astype(float),
        "TE_thickness": np.broadcast_to(te_thickness, (n,)).astype(float),
    }
    out = _neuralfoil().get_aero_from_kulfan_parameters(
        kulfan,
        alpha=np.broadcast_to(np.asarray(alpha_deg, dtype=float), (n,)),
        Re=np.full(n, float(reynolds)),
        n_crit=N_CRIT,
        model_size=MODEL_SIZE,
    )
    keys = {"cl": "CL", "cd": "CD", "cm": "CM", "confidence": "analysis_confidence"}
    return {ours: np.asarray(out[theirs], dtype=float).reshape(n) for ours, theirs in keys.items()}


def design_matrix(params: Mapping[str, Value]) -> FloatArray:
    """Return a design as a row of floats in `NAMES` order."""
    return np.array([float(params[name]) for name in NAMES])


def airfoil_batch(designs: npt.ArrayLike) -> dict[str, FloatArray]:
    """Return the noiseless model for `n x 7` designs (`NAMES` order), each value shape `(n,)`.

    Keys: `cl`, `cd`, `lift_to_drag`, `thickness_ratio`, `min_thickness` (fraction of chord,
    negative when the surfaces cross), `min_thickness_x` (where), `confidence` (NeuralFoil's).
    """
    x = np.atleast_2d(np.asarray(designs, dtype=float))
    upper, lower = kulfan_weights(x[:, 0:3], x[:, 3:6])
    aero = neuralfoil_aero(upper, lower, x[:, 6])
    thinnest, where = thinnest_section(upper, lower)
    return {
        "cl": aero["cl"],
        "cd": aero["cd"],
        "lift_to_drag": aero["cl"] / aero["cd"],
        "thickness_ratio": thickness_ratio(upper, lower),
        "min_thickness": thinnest,
        "min_thickness_x": where,
        "confidence": aero["confidence"],
    }


@lru_cache(maxsize=4096)
def _model(design: tuple[float, ...]) -> tuple[tuple[str, float], ...]:
    # Cached: replicates of one design (same params, other seeds) call NeuralFoil once.
    out = airfoil_batch(np.array([design]))
    return tuple((key, float(value[0])) for key, value in out.items())


def airfoil_model(params: Mapping[str, Value]) -> dict[str, float]:
    """Return the noiseless, failure-free model of one design (keys as `airfoil_batch`)."""
    return dict(_model(tuple(design_matrix(params).tolist())))


def measure(
    cl: float, cd: float, normals: tuple[float, float], *, noise: float
) -> tuple[float, float]:
    """Return (cl, cd) times log-normal factors of sd `noise / 2` and `noise` (our assumption)."""
    z_cd, z_cl = normals
    return cl * math.exp(LIFT_NOISE_RATIO * noise * z_cl), cd * math.exp(noise * z_cd)


@lru_cache(maxsize=1)
def airfoil_space() -> Space:
    """Return the design space: degree-2 camber and thickness CST weights and the angle."""
    return Space([Real(name, *BOUNDS[name]) for name in NAMES])


@lru_cache(maxsize=1)
def airfoil_problem() -> Problem:
    """Return the airfoil Problem: maximise L/D subject to t/c >= 0.10, with its reference."""
    weight = "1 (CST weight, dimensionless)"
    units = {
        **dict.fromkeys((*CAMBER, *THICKNESS), weight),
        "alpha_deg": "deg (angle of attack)",
        "lift_to_drag": "1 (CL / CD)",
        "cl": "1 (section lift coefficient)",
        "cd": "1 (section drag coefficient)",
        "thickness_ratio": "1 (maximum t/c)",
    }
    return Problem(
        name="airfoil",
        space=airfoil_space(),
        goal=Goal(
            Maximize("lift_to_drag"), constraints=[f"thickness_ratio >= {MIN_THICKNESS_RATIO}"]
        ),
        reference=load_reference(_REFERENCE_FIXTURE),
        units=units,
        description="Kulfan (CST) airfoil section in a low-speed wind tunnel at Re 5e5, "
        "incompressible, n_crit 9; aerodynamics from NeuralFoil (Sharpe & Hansman 2025).",
    )


class AirfoilTunnel:
    """An airfoil section in a wind tunnel as a seeded `Simulator`: noisy, slow, sometimes
    failing.

    Args:
        noise: relative standard deviation of the measured drag coefficient (lift: half of
            it); 0 is noiseless.
        failures: False switches off every failure (unbuildable shapes, non-converged
            analyses, tunnel faults) and returns the model's numbers for any design.
        fault_rate: chance that a run loses its balance data (`Cause.MACHINE_FAULT`).

    Raises:
        InvalidCampaign: an option is not a number in its range.
        ImportError: NeuralFoil is not installed (`pip install 'daedalus[aero]'`).
    """

    def __init__(
        self, *, noise: float = 0.02, failures: bool = True, fault_rate: float = FAULT_RATE
    ) -> None:
        if not isinstance(failures, bool):
            raise InvalidCampaign(
                f"AirfoilTunnel: failures must be True or False, got {failures!r}"
            )
        self.noise = check_option("AirfoilTunnel", "noise", noise, high=0.5)
        self.failures = failures
        self.fault_rate = check_option("AirfoilTunnel", "fault_rate", fault_rate, high=1.0)
        _neuralfoil()  # fail here, with the extra to install, not at the first experiment
        self.problem: Problem = airfoil_problem()

    def __repr__(self) -> str:
        return (
            f"AirfoilTunnel(noise={self.noise}, failures={self.failures}, "
            f"fault_rate={self.fault_rate})"
        )

    def evaluate(self, params: Mapping[str, Value], *, seed: int) -> Evaluation:
        """Run one simulated tunnel experiment; same params and seed, same result.

        Args:
            params: a design of `problem.space`.
            seed: a non-negative integer; it fixes the fault draws and the noise.

        Raises:
            InvalidParams: `params` does not fit the space.
        """
        clean = self.problem.space.validate(params)
        rng = np.random.default_rng(seed)
        # Always draw every number, so the noise of a seed is the same with failures off.
        u_fault, u_when = rng.random(2)
        z_cd, z_cl = rng.standard_normal(2)
        model = airfoil_model(clean)
        duration_s = MODEL_CHANGE_S + TUNNEL_RUN_S
        if self.failures:
            failure = self._failure(clean, model, (u_fault, u_when))
            if failure is not None:
                return failure
        cl, cd = measure(model["cl"], model["cd"], (z_cd, z_cl), noise=self.noise)
        values = {
            "lift_to_drag": cl / cd,
            "cl": cl,
            "cd": cd,
            "thickness_ratio": model["thickness_ratio"],
        }
        return Outcome(values=values, duration_s=duration_s)

    def _failure(
        self, params: Mapping[str, Value], model: Mapping[str, float], draws: tuple[float, float]
    ) -> Failure | None:
        u_fault, u_when = draws
        if model["min_thickness"] < 0.0:
            reason = (
                "unbuildable: the upper surface lies below the lower one "
                f"(thickness {model['min_thickness']:.4f} c at x/c = "
                f"{model['min_thickness_x']:.2f}); the model cannot be made"
            )
            return Failure(Cause.INFEASIBLE, reason, duration_s=DESIGN_CHECK_S)
        if model["confidence"] < MIN_CONFIDENCE:
            reason = (
                f"analysis did not converge: the balance readings did not settle at "
                f"{float(params['alpha_deg']):.1f} deg (NeuralFoil confidence "
                f"{model['confidence']:.2f} < {MIN_CONFIDENCE}: separated or unsteady flow)"
            )
            return Failure(Cause.INFEASIBLE, reason, duration_s=MODEL_CHANGE_S + TUNNEL_RUN_S)
        if u_fault < self.fault_rate:
            at_s = MODEL_CHANGE_S + (0.1 + 0.9 * u_when) * TUNNEL_RUN_S
            reason = "balance data lost: data acquisition fault during the run (transient)"
            return Failure(Cause.MACHINE_FAULT, reason, duration_s=at_s)
        return None


__all__ = [
    "AirfoilTunnel",
    "airfoil_batch",
    "airfoil_model",
    "airfoil_problem",
    "airfoil_space",
    "bernstein",
    "cosine_stations",
    "design_matrix",
    "elevation_matrix",
    "kulfan_weights",
    "local_thickness",
    "measure",
    "neuralfoil_aero",
    "surface_ordinates",
    "thickness_ratio",
    "thinnest_section",
]
