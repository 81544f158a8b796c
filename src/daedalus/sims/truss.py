"""The classic planar 10-bar truss, solved by the direct stiffness method, as a load-test rig.

Problem from Venkayya, "Design of optimum structures", Computers & Structures 1971, 1, 265-309,
and Haftka and Gürdal, *Elements of Structural Optimization*
(3rd ed., Kluwer 1992), the 10-bar truss example. Six nodes (inches), supports at nodes 5 and 6:

    node   1 (720, 360)   2 (720, 0)   3 (360, 360)   4 (360, 0)   5 (0, 360)   6 (0, 0)

    member   1 (3,5)  2 (1,3)  3 (4,6)  4 (2,4)  5 (3,4)
             6 (1,2)  7 (4,5)  8 (3,6)  9 (2,3)  10 (1,4)

Material E = 1e7 psi, density 0.1 lb/in^3; loads 100 kip downwards at nodes 2 and 4; limits
|stress| <= 25 ksi in every member and |displacement| <= 2 in for every free degree of freedom
(x and y of nodes 1-4, the classic formulation); areas 0.1-35 in^2. Bar element (Przemieniecki,
*Theory of Matrix Structural Analysis*, 1968): with direction cosines (c, s) and length L,

    k_e = (E A / L) [[ cc,  cs, -cc, -cs],      global K = sum of k_e over the members,
                     [ cs,  ss, -cs, -ss],      K_ff u_f = f_f on the eight free DOFs,
                     [-cc, -cs,  cc,  cs],      stress_e = (E / L) [-c, -s, c, s] . u_e,
                     [-cs, -ss,  cs,  ss]]      weight = rho * sum(A_e L_e).

The literature optimum is 5060.85 lb (Haftka and Gürdal; areas about 30.52, 0.1, 23.20, 15.22,
0.1, 0.55, 7.46, 21.04, 21.53, 0.1 in^2). `scripts/make_truss_reference.py` reproduces it with
multi-start SLSQP on the noiseless model (analytic sensitivities, `truss_sensitivities`) and
ships the areas as `data/truss_reference.json`.

OUR OWN ASSUMPTIONS, not from Venkayya or Haftka and Gürdal, added so that the simulator behaves
like a test-to-failure rig (each evaluation builds the truss and load-tests it):

- Manufacturing scatter: each member's modulus is E * (1 + N(0, modulus_cv)), drawn per seed
  (default cv 2 %, a typical spread of bar stock). The truss is statically indeterminate, so the
  scatter moves both the displacements and the split of force between members.
- Measurement noise: each strain-gauge stress, each dial-gauge displacement and the scale
  weight is multiplied by `1 + N(0, noise)` (default 0.002) before the maxima are taken.
- Breakage: a member whose as-built stress exceeds the limit by more than `break_margin`
  (default 10 %, i.e. 27.5 ksi) breaks during the load ramp: `Cause.INFEASIBLE`, naming the
  member. Buckling of compression members is not modelled.
- Duration: 30 min per load test: 10 min set-up and gauging, a 10 min linear load ramp, a 10 min
  hold with readings. A break ends the test at the point of the ramp where the member reaches
  its breaking stress.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from daedalus.errors import InvalidCampaign
from daedalus.events import Cause
from daedalus.goal import Goal, Minimize
from daedalus.machines.base import Evaluation, Failure, Outcome
from daedalus.problem import Problem
from daedalus.sims.base import check_option, load_reference
from daedalus.space import Real, Space, Value

FloatArray = npt.NDArray[np.float64]

NODES_IN = np.array(
    [[720.0, 360.0], [720.0, 0.0], [360.0, 360.0], [360.0, 0.0], [0.0, 360.0], [0.0, 0.0]]
)
MEMBERS = ((3, 5), (1, 3), (4, 6), (2, 4), (3, 4), (1, 2), (4, 5), (3, 6), (2, 3), (1, 4))
SUPPORTED_NODES = (5, 6)  # pinned: both DOFs fixed
LOADS_LB = {2: (0.0, -100_000.0), 4: (0.0, -100_000.0)}
MODULUS_PSI = 1e7
DENSITY_LB_IN3 = 0.1
STRESS_LIMIT_KSI = 25.0
DISPLACEMENT_LIMIT_IN = 2.0
AREA_MIN_IN2 = 0.1
AREA_MAX_IN2 = 35.0
AREA_NAMES = tuple(f"area_{i}_in2" for i in range(1, len(MEMBERS) + 1))

# Our own assumptions (see the module docstring).
MODULUS_CV = 0.02
READING_NOISE = 0.002
BREAK_MARGIN = 0.10
SETUP_S = 600.0
RAMP_S = 600.0
HOLD_S = 600.0

_REFERENCE_FIXTURE = "truss_reference.json"


@dataclass(frozen=True, slots=True)
class TrussResponse:
    """The static response to the design loads.

    `displacements_in` is 6 x 2 (x, y per node, zero at the supports), `stresses_psi` has one
    entry per member (tension positive), `weight_lb` is the structure's weight.
    """

    displacements_in: FloatArray
    stresses_psi: FloatArray
    weight_lb: float

    @property
    def free_displacements_in(self) -> FloatArray:
        """The eight free DOFs, nodes 1-4, ordered x1, y1, x2, y2, ..."""
        return np.asarray(self.displacements_in[:4].ravel())


@lru_cache(maxsize=1)
def _geometry() -> tuple[FloatArray, FloatArray]:
    """Return member lengths (in, shape 10) and direction vectors B (10 x 12): the row of B
    maps the global displacement vector to the member's elongation."""
    lengths = np.empty(len(MEMBERS))
    b = np.zeros((len(MEMBERS), 2 * len(NODES_IN)))
    for e, (i, j) in enumerate(MEMBERS):
        delta = NODES_IN[j - 1] - NODES_IN[i - 1]
        lengths[e] = float(np.hypot(*delta))
        c, s = delta / lengths[e]
        b[e, 2 * (i - 1) : 2 * i] = (-c, -s)
        b[e, 2 * (j - 1) : 2 * j] = (c, s)
    lengths.setflags(write=False)
    b.setflags(write=False)
    return lengths, b


def member_lengths_in() -> FloatArray:
    """Return the ten member lengths in inches."""
    return _geometry()[0].copy()


def _free_dofs() -> FloatArray:
    fixed = {2 * (n - 1) + k for n in SUPPORTED_NODES for k in (0, 1)}
    return np.array([d for d in range(2 * len(NODES_IN)) if d not in fixed])


def _as_vector(value: float | Sequence[float] | FloatArray, name: str) -> FloatArray:
    vector = np.broadcast_to(np.asarray(value, dtype=float), (len(MEMBERS),))
    if not np.all(np.isfinite(vector)) or np.any(vector <= 0):
        raise ValueError(f"{name} must be positive and finite for every member, got {value!r}")
    return np.asarray(vector)


def stiffness_matrix(
    areas_in2: Sequence[float] | FloatArray,
    modulus_psi: float | Sequence[float] | FloatArray = MODULUS_PSI,
    *,
    supported: bool = True,
) -> FloatArray:
    """Return the global stiffness matrix in lb/in.

    Args:
        areas_in2: ten member areas.
        modulus_psi: one modulus, or one per member.
        supported: True returns the 8 x 8 matrix of the free DOFs; False the full 12 x 12
            matrix of the unsupported truss (singular: three rigid-body modes).
    """
    lengths, b = _geometry()
    axial = _as_vector(areas_in2, "areas_in2") * _as_vector(modulus_psi, "modulus_psi") / lengths
    full = np.asarray(b.T @ (axial[:, None] * b))
    if not supported:
        return full
    free = _free_dofs()
    return np.asarray(full[np.ix_(free, free)])


def _load_vector() -> FloatArray:
    f = np.zeros(2 * len(NODES_IN))
    for node, (fx, fy) in LOADS_LB.items():
        f[2 * (node - 1)], f[2 * node - 1] = fx, fy
    return f


def truss_weight_lb(areas_in2: Sequence[float] | FloatArray) -> float:
    """Return rho * sum(A L) in lb."""
    return float(DENSITY_LB_IN3 * np.dot(np.asarray(areas_in2, dtype=float), _geometry()[0]))


def truss_response(
    areas_in2: Sequence[float] | FloatArray,
    modulus_psi: float | Sequence[float] | FloatArray = MODULUS_PSI,
) -> TrussResponse:
    """Solve the truss under the design loads (linear elastic, small displacements).

    Args:
        areas_in2: ten member areas.
        modulus_psi: one modulus, or one per member (manufacturing scatter).
    """
    lengths, b = _geometry()
    modulus = _as_vector(modulus_psi, "modulus_psi")
    free = _free_dofs()
    u = np.zeros(2 * len(NODES_IN))
    u[free] = np.linalg.solve(stiffness_matrix(areas_in2, modulus), _load_vector()[free])
    stresses = modulus / lengths * (b @ u)
    return TrussResponse(u.reshape(-1, 2), stresses, truss_weight_lb(areas_in2))


def truss_sensitivities(areas_in2: Sequence[float] | FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return d(stress)/d(area) (10 x 10, psi per in^2) and d(free displacement)/d(area)
    (8 x 10, in per in^2) of the nominal truss, by differentiating K u = f:
    K du/dA_j = -(dK/dA_j) u."""
    lengths, b = _geometry()
    areas = _as_vector(areas_in2, "areas_in2")
    free = _free_dofs()
    response = truss_response(areas)
    u = response.displacements_in.ravel()
    k_free = stiffness_matrix(areas)
    # dK/dA_j u = (E / L_j) b_j (b_j . u), restricted to the free DOFs.
    elongations = b @ u
    rhs = -(MODULUS_PSI / lengths * elongations)[None, :] * b[:, free].T
    du = np.linalg.solve(k_free, rhs)
    dstress = (MODULUS_PSI / lengths)[:, None] * (b[:, free] @ du)
    return np.asarray(dstress), np.asarray(du)


def _areas(params: Mapping[str, Value]) -> FloatArray:
    return np.array([float(params[name]) for name in AREA_NAMES])


def truss_model(params: Mapping[str, Value]) -> dict[str, float]:
    """Return the noiseless, failure-free metrics of a design: `weight_lb`, `max_stress_ksi`
    (largest |stress| over the members) and `max_displacement_in` (largest |DOF| over nodes 1-4).
    """
    response = truss_response(_areas(params))
    return {
        "weight_lb": response.weight_lb,
        "max_stress_ksi": float(np.max(np.abs(response.stresses_psi))) / 1000.0,
        "max_displacement_in": float(np.max(np.abs(response.free_displacements_in))),
    }


@lru_cache(maxsize=1)
def truss_space() -> Space:
    """Return the design space: ten member areas in [0.1, 35] in^2."""
    return Space([Real(name, AREA_MIN_IN2, AREA_MAX_IN2) for name in AREA_NAMES])


@lru_cache(maxsize=1)
def truss_problem() -> Problem:
    """Return the 10-bar truss Problem: minimum weight under stress and displacement limits."""
    units = {name: "in^2" for name in AREA_NAMES}
    units |= {"weight_lb": "lb", "max_stress_ksi": "ksi", "max_displacement_in": "in"}
    return Problem(
        name="truss",
        space=truss_space(),
        goal=Goal(
            Minimize("weight_lb"),
            constraints=[
                f"max_stress_ksi <= {STRESS_LIMIT_KSI:g}",
                f"max_displacement_in <= {DISPLACEMENT_LIMIT_IN:g}",
            ],
        ),
        reference=load_reference(_REFERENCE_FIXTURE),
        units=units,
        description="Planar 10-bar truss (Venkayya 1971; Haftka and Gürdal), aluminium, "
        "100 kip at two nodes, load-tested to measure stresses and displacements.",
    )


def as_built_moduli_psi(rng: np.random.Generator, *, modulus_cv: float) -> FloatArray:
    """Draw one modulus per member, E * (1 + N(0, cv)), floored at 10 % of E. OUR ASSUMPTION."""
    factors = 1.0 + modulus_cv * rng.standard_normal(len(MEMBERS))
    return np.asarray(MODULUS_PSI * np.maximum(factors, 0.1))


class TenBarTruss:
    """The 10-bar truss as a seeded `Simulator`: each evaluation builds it and load-tests it.

    Args:
        noise: relative standard deviation of every reading (gauges, scale); 0 is noiseless.
        modulus_cv: coefficient of variation of each member's modulus; 0 builds the nominal truss.
        failures: False switches off breakage (an overstressed member then just reads high).
        break_margin: a member breaks above `(1 + break_margin) * 25 ksi`.

    Raises:
        InvalidCampaign: an option is not a number in its range.
    """

    def __init__(
        self,
        *,
        noise: float = READING_NOISE,
        modulus_cv: float = MODULUS_CV,
        failures: bool = True,
        break_margin: float = BREAK_MARGIN,
    ) -> None:
        if not isinstance(failures, bool):
            raise InvalidCampaign(f"TenBarTruss: failures must be True or False, got {failures!r}")
        self.noise = check_option("TenBarTruss", "noise", noise, high=0.5)
        self.modulus_cv = check_option("TenBarTruss", "modulus_cv", modulus_cv, high=0.3)
        self.failures = failures
        self.break_margin = check_option("TenBarTruss", "break_margin", break_margin, high=10.0)
        self.problem: Problem = truss_problem()

    def __repr__(self) -> str:
        return (
            f"TenBarTruss(noise={self.noise}, modulus_cv={self.modulus_cv}, "
            f"failures={self.failures}, break_margin={self.break_margin})"
        )

    def evaluate(self, params: Mapping[str, Value], *, seed: int) -> Evaluation:
        """Build the truss with scattered moduli and load-test it; same params and seed, same
        result.

        Args:
            params: a design of `problem.space`.
            seed: a non-negative integer; it fixes the moduli and the reading noise.

        Raises:
            InvalidParams: `params` does not fit the space.
        """
        clean = self.problem.space.validate(params)
        rng = np.random.default_rng(seed)
        moduli = as_built_moduli_psi(rng, modulus_cv=self.modulus_cv)
        readings = 1.0 + self.noise * rng.standard_normal(len(MEMBERS) + 8 + 1)
        response = truss_response(_areas(clean), moduli)
        if self.failures:
            failure = self._breakage(response.stresses_psi)
            if failure is not None:
                return failure
        stresses_ksi = response.stresses_psi / 1000.0 * readings[: len(MEMBERS)]
        displacements = response.free_displacements_in * readings[len(MEMBERS) : -1]
        values = {
            "weight_lb": response.weight_lb * float(readings[-1]),
            "max_stress_ksi": float(np.max(np.abs(stresses_ksi))),
            "max_displacement_in": float(np.max(np.abs(displacements))),
        }
        return Outcome(values=values, duration_s=SETUP_S + RAMP_S + HOLD_S)

    def _breakage(self, stresses_psi: FloatArray) -> Failure | None:
        breaking_psi = (1.0 + self.break_margin) * STRESS_LIMIT_KSI * 1000.0
        ratios = np.abs(stresses_psi) / breaking_psi
        worst = int(np.argmax(ratios))
        if ratios[worst] <= 1.0:
            return None
        i, j = MEMBERS[worst]
        kind = "tension" if stresses_psi[worst] > 0 else "compression"
        at_s = SETUP_S + RAMP_S / float(ratios[worst])  # linear elastic: stress grows with load
        reason = (
            f"member {worst + 1} (nodes {i}-{j}) broke in {kind} at {breaking_psi / 1000:.1f} ksi "
            f"and {100 / float(ratios[worst]):.1f} % of the full load (it would carry "
            f"{abs(stresses_psi[worst]) / 1000:.1f} ksi at full load)"
        )
        return Failure(Cause.INFEASIBLE, reason, duration_s=at_s)


__all__ = [
    "AREA_NAMES",
    "MEMBERS",
    "NODES_IN",
    "TenBarTruss",
    "TrussResponse",
    "as_built_moduli_psi",
    "member_lengths_in",
    "stiffness_matrix",
    "truss_model",
    "truss_problem",
    "truss_response",
    "truss_sensitivities",
    "truss_space",
    "truss_weight_lb",
]
