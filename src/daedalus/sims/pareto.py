"""Problems with two objectives, each with a known reference Pareto front and hypervolume.

- BraninCurrin: BoTorch's two-objective test problem (`botorch.test_functions.multi_objective
  .BraninCurrin`), from Belakaria, Deshwal & Doppa, "Max-value entropy search for
  multi-objective Bayesian optimization", NeurIPS 2019. On `(x1, x2)` in [0, 1]^2, minimise

      branin = Branin(15 x1 - 5, 15 x2)      (the Branin-Hoo function of `sims.functions`)
      currin = (1 - exp(-1 / (2 x2))) (2300 x1^3 + 1900 x1^2 + 2092 x1 + 60)
                                      / (100 x1^3 + 500 x1^2 + 4 x1 + 20)

  (Currin et al., "Bayesian prediction of deterministic functions", JASA 86, 1991; `currin` at
  x2 = 0 is its limit, the exponential term being 0). Reference point (18, 6) and maximum
  hypervolume 59.36011874867746, as BoTorch states them (`_ref_point`, `_max_hv`). The
  reference front is computed here as the non-dominated set of a 1001 x 1001 grid over
  [0, 0.15] x [0.75, 1], the box that holds the whole front (on a grid over all of [0, 1]^2 the
  front spans x1 in [0, 0.124], x2 in [0.818, 1]); its hypervolume, 59.369, is within 0.1 % of
  BoTorch's number (a test checks both).
- SnarPareto: the SnAr flow reactor of `sims.snar` (same kinetics, noise, clogging and faults)
  with two objectives instead of a constraint: maximise space-time yield and minimise E-factor,
  reference point STY 0 and E-factor 10 (our choice: an E-factor a little worse than the single
  objective problem's limit of 9, so that the front's knee, where STY is high at an E-factor near
  its minimum, carries most of the volume). The reference front, computed on the noiseless model
  by `scripts/make_snar_front.py`, ships as `data/snar_front.json`.
- CatalystPareto: the catalyst screening of `sims.catalyst` (case 1 of Baumgartner et al. 2018,
  same noise, plugging and faults, and its deactivation option) with two objectives instead of
  a cost budget: maximise yield and minimise catalyst cost per mol of product. Reference point
  yield 0 and cost 150 USD/mol (the single-objective problem's budget: a design costlier than
  that adds nothing). The reference front, the non-dominated set of a dense grid for each
  catalyst on the noiseless model, is computed by `scripts/make_catalyst_front.py` and ships as
  `data/catalyst_front.json`.

Turning cost against time is left out: in `sims.turning`'s model the cheapest designs are also
nearly the fastest (a 30^3 grid per grade has a single non-dominated point), so there is no
front to learn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from daedalus.goal import Goal, Minimize, hypervolume
from daedalus.machines.base import Evaluation, Outcome
from daedalus.problem import Problem, Reference
from daedalus.sims.base import check_option, load_reference
from daedalus.sims.catalyst import ANALYSIS_FAULT_RATE as CATALYST_FAULT_RATE
from daedalus.sims.catalyst import ANALYSIS_TIME_S as CATALYST_ANALYSIS_TIME_S
from daedalus.sims.catalyst import CatalystScreening, catalyst_problem
from daedalus.sims.functions import branin
from daedalus.sims.snar import ANALYSIS_FAULT_RATE, ANALYSIS_TIME_S, SnarReactor, snar_problem
from daedalus.space import Real, Space, Value

FloatArray = npt.NDArray[np.float64]

BRANIN_CURRIN_REFERENCE_POINT = {"branin": 18.0, "currin": 6.0}
BRANIN_CURRIN_MAX_HV = 59.36011874867746  # BoTorch's BraninCurrin._max_hv
SNAR_REFERENCE_POINT = {"sty": 0.0, "e_factor": 10.0}
CATALYST_REFERENCE_POINT = {"yield_frac": 0.0, "cost_usd_per_mol": 150.0}
_FRONT_GRID = 1001
_FRONT_POINTS = 120  # points of the shipped BraninCurrin front kept for plots


def currin(x1: FloatArray | float, x2: FloatArray | float) -> FloatArray:
    """Currin's exponential function on [0, 1]^2 (its limit at x2 = 0)."""
    a, b = np.asarray(x1, dtype=np.float64), np.asarray(x2, dtype=np.float64)
    with np.errstate(divide="ignore"):
        factor = 1.0 - np.exp(-1.0 / (2.0 * b))
    numerator = 2300 * a**3 + 1900 * a**2 + 2092 * a + 60
    denominator = 100 * a**3 + 500 * a**2 + 4 * a + 20
    result: FloatArray = factor * numerator / denominator
    return result


def branin_currin(x1: float, x2: float) -> dict[str, float]:
    """Both objectives of BraninCurrin at `(x1, x2)` in [0, 1]^2."""
    return {"branin": branin(15 * x1 - 5, 15 * x2), "currin": float(currin(x1, x2))}


@lru_cache(maxsize=1)
def branin_currin_front() -> tuple[dict[str, float], ...]:
    """The non-dominated outcomes of a `_FRONT_GRID`^2 grid over [0, 0.15] x [0.75, 1], by
    rising `branin`."""
    a, b = np.meshgrid(
        np.linspace(0.0, 0.15, _FRONT_GRID), np.linspace(0.75, 1.0, _FRONT_GRID), indexing="ij"
    )
    p, q = 15 * a - 5, 15 * b
    bb, cc, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    f1 = ((q - bb * p**2 + cc * p - 6) ** 2 + 10 * (1 - t) * np.cos(p) + 10).ravel()
    f2 = currin(a, b).ravel()
    order = np.lexsort((f2, f1))  # by branin, then currin
    front, best = [], math.inf
    for i in order:
        if f2[i] < best:
            best = float(f2[i])
            front.append({"branin": float(f1[i]), "currin": best})
    return tuple(front)


def _thin(front: tuple[dict[str, float], ...], n: int) -> tuple[dict[str, float], ...]:
    if len(front) <= n:
        return front
    keep = np.unique(np.linspace(0, len(front) - 1, n).round().astype(int))
    return tuple(front[i] for i in keep)


@lru_cache(maxsize=1)
def branin_currin_problem() -> Problem:
    goal = Goal(
        Minimize("branin"), Minimize("currin"), reference_point=BRANIN_CURRIN_REFERENCE_POINT
    )
    reference = Reference(
        BRANIN_CURRIN_MAX_HV,
        source="BoTorch BraninCurrin._max_hv at reference point (18, 6); front: "
        "non-dominated set of a 1001^2 grid (daedalus.sims.pareto)",
        front=_thin(branin_currin_front(), _FRONT_POINTS),
    )
    return Problem(
        name="branin_currin",
        space=Space([Real("x1", 0.0, 1.0), Real("x2", 0.0, 1.0)]),
        goal=goal,
        reference=reference,
        units={"x1": "1", "x2": "1", "branin": "1", "currin": "1"},
        description="BraninCurrin: Branin against Currin's exponential function (2-D, 2 "
        "objectives).",
    )


class BraninCurrin:
    """BraninCurrin on [0, 1]^2 as a `Simulator`: minimise `branin` and `currin`.

    Args:
        noise_sd: standard deviation of additive Gaussian noise on each objective; 0 is
            noiseless.
        duration_s: simulated seconds per evaluation.

    Raises:
        InvalidCampaign: an option is not a finite number >= 0.
    """

    def __init__(self, *, noise_sd: float = 0.0, duration_s: float = 60.0) -> None:
        self.noise_sd = check_option("BraninCurrin", "noise_sd", noise_sd, high=math.inf)
        self.duration_s = check_option("BraninCurrin", "duration_s", duration_s, high=math.inf)
        self.problem: Problem = branin_currin_problem()

    def __repr__(self) -> str:
        return f"BraninCurrin(noise_sd={self.noise_sd}, duration_s={self.duration_s})"

    def evaluate(self, params: Mapping[str, Value], *, seed: int) -> Evaluation:
        """Both objectives at `params`, plus noise drawn from `seed`.

        Raises:
            InvalidParams: `params` does not fit the space.
        """
        clean = self.problem.space.validate(params)
        values = branin_currin(float(clean["x1"]), float(clean["x2"]))
        if self.noise_sd > 0:
            noise = np.random.default_rng(seed).standard_normal(2) * self.noise_sd
            values = {k: v + float(e) for (k, v), e in zip(values.items(), noise, strict=True)}
        return Outcome(values=values, duration_s=self.duration_s)


@lru_cache(maxsize=1)
def snar_pareto_problem() -> Problem:
    """SnAr with two objectives: maximise STY, minimise E-factor; its reference front."""
    single = snar_problem()
    return Problem(
        name="snar_pareto",
        space=single.space,
        goal=Goal(single.goal.primary, Minimize("e_factor"), reference_point=SNAR_REFERENCE_POINT),
        reference=load_reference("snar_front.json"),
        units=single.units,
        description="SnAr flow reactor (Hone et al. 2017 kinetics): space-time yield against "
        "E-factor.",
    )


class SnarPareto(SnarReactor):
    """The SnAr flow reactor of `SnarReactor` with two objectives: maximise `sty`, minimise
    `e_factor` (no E-factor constraint). Options as `SnarReactor`.

    Raises:
        InvalidCampaign: an option is not a number in its range.
    """

    def __init__(
        self,
        *,
        noise: float = 0.01,
        failures: bool = True,
        fault_rate: float = ANALYSIS_FAULT_RATE,
        analysis_time_s: float = ANALYSIS_TIME_S,
    ) -> None:
        super().__init__(
            noise=noise, failures=failures, fault_rate=fault_rate, analysis_time_s=analysis_time_s
        )
        self.problem = snar_pareto_problem()

    def __repr__(self) -> str:
        return super().__repr__().replace("SnarReactor", "SnarPareto", 1)


@lru_cache(maxsize=1)
def catalyst_pareto_problem() -> Problem:
    """Catalyst screening (case 1) with two objectives: maximise yield, minimise cost."""
    single = catalyst_problem(1)
    return Problem(
        name="catalyst_pareto",
        space=single.space,
        goal=Goal(
            single.goal.primary,
            Minimize("cost_usd_per_mol"),
            reference_point=CATALYST_REFERENCE_POINT,
        ),
        reference=load_reference("catalyst_front.json"),
        units=single.units,
        description="Catalyst screening, case 1 of Baumgartner et al. 2018: yield against "
        "catalyst cost per mol of product.",
    )


class CatalystPareto(CatalystScreening):
    """The catalyst screening of `CatalystScreening` (case 1) with two objectives: maximise
    `yield_frac`, minimise `cost_usd_per_mol` (no cost budget). Options as
    `CatalystScreening`, except `case`.

    Raises:
        InvalidCampaign: an option is not a number in its range.
    """

    def __init__(
        self,
        *,
        noise: float = 0.01,
        failures: bool = True,
        fault_rate: float = CATALYST_FAULT_RATE,
        analysis_time_s: float = CATALYST_ANALYSIS_TIME_S,
        deactivation_per_h: float = 0.0,
        deactivation_onset_h: float = 0.0,
    ) -> None:
        super().__init__(
            case=1,
            noise=noise,
            failures=failures,
            fault_rate=fault_rate,
            analysis_time_s=analysis_time_s,
            deactivation_per_h=deactivation_per_h,
            deactivation_onset_h=deactivation_onset_h,
        )
        self.problem = catalyst_pareto_problem()

    def __repr__(self) -> str:
        return super().__repr__().replace("CatalystScreening", "CatalystPareto", 1)


def front_hypervolume(problem: Problem) -> float:
    """Hypervolume of `problem.reference.front` at the goal's reference point."""
    if problem.reference is None or not problem.reference.front:
        raise ValueError(f"{problem.name}: no reference front")
    goal = problem.goal
    return hypervolume(
        [goal.signed(p) for p in problem.reference.front], goal.signed_reference() or ()
    )


__all__ = [
    "BRANIN_CURRIN_MAX_HV",
    "BRANIN_CURRIN_REFERENCE_POINT",
    "CATALYST_REFERENCE_POINT",
    "SNAR_REFERENCE_POINT",
    "BraninCurrin",
    "CatalystPareto",
    "SnarPareto",
    "branin_currin",
    "branin_currin_front",
    "currin",
    "front_hypervolume",
]
