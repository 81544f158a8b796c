"""Catalyst screening: eight simulated catalysts for A + B -> R, with a yield-versus-cost budget.

Kinetics from the simulated cases of Baumgartner, Coley, Reizman, Gao and Jensen, "Optimum
catalyst selection over continuous and discrete process variables with a single droplet
microfluidic reaction platform", React. Chem. Eng. 2018, 3, 301-311, doi:10.1039/C8RE00032H, as
implemented in Summit's `MIT_case1` .. `MIT_case5` benchmarks (Felton, Rittig, Lapkin,
Chemistry-Methods 2021, 1, 116-122, doi:10.1002/cmtd.202000051). An isothermal batch (droplet)
reactor starts from A0 = 0.167 M and B0 = 0.250 M with a catalyst loading of 0.5-2.5 mol% of A,
so c_cat = loading / 100 * A0 (0.835-4.175 mM, Summit's bounds), constant during the run:

    A + B -> R        k_R  = sqrt(c_cat) * 3.1e7 * exp(-(55 + Ea_i) / (R T))    M^-1 s^-1
    B -> S1           k_S1 = sqrt(c_cat) * 1e12  * exp(-100 / (R T))            s^-1     case 3
    B + R -> S2       k_S2 = sqrt(c_cat) * 3.1e5 * exp(-50 / (R T))             M^-1 s^-1  case 4

    Ea_i (kJ/mol), catalysts C0..C7 = [0, 0.3, 0.3, 0.7, 0.7, 2.2, 3.8, 7.3]
    case 2: Ea_1 = 0 (two equally good catalysts)
    case 5: Ea_0 = -5 below 80 °C and -5 + 0.3 (T - 80 °C) above (C0 deteriorates when hot)

with R = 8.314e-3 kJ/mol/K and c_cat in mol/L. Rates: dA/dt = -k_R A B,
dB/dt = -k_R A B - k_S1 B - k_S2 B R, dR/dt = k_R A B - k_S2 B R. The yield is R(t) / A0. Case 1 is
the baseline, case 2 has two equally good catalysts, case 3 adds a high-activation-energy
decomposition of B that penalises high temperature, case 4 an over-reaction of the product, and
case 5 the deactivation of the best catalyst above 80 °C. Without side reactions (cases 1, 2, 5)
the outlet has a closed form, A(t) = A0 (B0 - A0) / (B0 exp((B0 - A0) k_R t) - A0); cases 3 and 4
integrate the ODE (scipy `solve_ivp`, DOP853, rtol 1e-9). Deliberate difference from Summit:
Kelvin is T + 273.15 (Summit adds 273.71; at the case-1 optimum the yield is 0.9856 instead of
0.9867); the pure model functions take `kelvin_offset_k` to reproduce Summit's numbers.

OUR OWN ASSUMPTIONS, not from Baumgartner et al. or Summit:

- Catalyst prices (USD per mol of catalyst), loosely modelled on palladium precatalysts with
  ligands of different price: C0 20,000, C1 13,000, C2 15,000, C3 12,000, C4 9,000, C5 4,000,
  C6 2,000, C7 500. The cost metric is the catalyst cost per mol of product,
  `cost_usd_per_mol = price * (loading / 100) / yield` (loading mol% of A, yield per mol of A),
  computed from the measured yield. The goal keeps it within a budget of 150 USD/mol, which rules
  out the unconstrained best (C0 at 2.5 mol%, 507 USD/mol): in case 1 the constrained best is C4.
- Plugging: the catalyst precipitates and plugs the line with probability
  `1 / (1 + exp(-(L - L50(T)) / 0.15 mol%))`, `L50(T) = 1.5 mol% + 0.04 mol%/°C * (T - 30 °C)`
  (solubility rises with temperature): about 100 % at 2.5 mol% and 30 °C, 21 % at 2.5 mol% and
  60 °C, below 0.2 % at 80 °C. Reported as `Cause.INFEASIBLE`, part way through the run.
- Analysis faults: 2 % of runs lose their HPLC trace (`Cause.MACHINE_FAULT`).
- Measurement noise: the yield is multiplied by `1 + N(0, noise)` and clipped to [0, 1].
- Duration: the residence time plus 5 minutes of HPLC analysis.
- Deactivation (off by default): with `deactivation_per_h` = k_d > 0 the catalyst loses activity
  over campaign time, first order and independent of the design (Levenspiel, "Chemical Reaction
  Engineering", 3rd ed. 1999, ch. 21: -da/dt = k_d a), after an induction period
  `deactivation_onset_h` = t0: a(t) = exp(-k_d max(t - t0, 0)). Every rate constant is multiplied
  by a(t) at the experiment's start (one stock of catalyst serves the whole campaign; a run is
  short against 1/k_d). With k_d = 0 the outputs are exactly those without the option.

The reference (best noiseless yield with cost <= 150 USD/mol, for each case) is computed by
`scripts/make_catalyst_reference.py` and shipped as `data/catalyst_reference.json`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.integrate import solve_ivp

from daedalus.errors import InvalidCampaign
from daedalus.events import Cause
from daedalus.goal import Goal, Maximize
from daedalus.machines.base import Evaluation, Failure, Outcome
from daedalus.problem import Problem, Reference
from daedalus.sims.base import check_option, read_fixture
from daedalus.space import Choice, Real, Space, Value

FloatArray = npt.NDArray[np.float64]

KELVIN_OFFSET_K = 273.15
SUMMIT_KELVIN_OFFSET_K = 273.71
GAS_CONSTANT_KJ_MOL_K = 8.314e-3
INITIAL_A_M = 0.167
INITIAL_B_M = 0.250
PRE_EXPONENTIAL_R = 3.1e7  # M^-1.5 s^-1 (k_R / sqrt(c_cat))
PRE_EXPONENTIAL_S1 = 1e12  # M^-0.5 s^-1
PRE_EXPONENTIAL_S2 = 3.1e5  # M^-1.5 s^-1
ACTIVATION_ENERGY_R_KJ_MOL = 55.0
ACTIVATION_ENERGY_S1_KJ_MOL = 100.0
ACTIVATION_ENERGY_S2_KJ_MOL = 50.0
CATALYST_OFFSETS_KJ_MOL = (0.0, 0.3, 0.3, 0.7, 0.7, 2.2, 3.8, 7.3)
CASE5_DEACTIVATION_ONSET_C = 80.0
CASE5_OFFSET_KJ_MOL = -5.0
CASE5_OFFSET_SLOPE_KJ_MOL_C = 0.3
CASES = (1, 2, 3, 4, 5)
CATALYSTS = ("C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7")
SPECIES = ("a_m", "b_m", "r_m", "s1_m", "s2_m")

RTOL = 1e-9
ATOL_M = 1e-13

# Our own assumptions (see the module docstring).
CATALYST_PRICE_USD_PER_MOL = (
    20_000.0,
    13_000.0,
    15_000.0,
    12_000.0,
    9_000.0,
    4_000.0,
    2_000.0,
    500.0,
)
COST_BUDGET_USD_PER_MOL = 150.0
YIELD_FLOOR = 1e-6  # the cost per mol of product is capped where (almost) nothing forms
ANALYSIS_TIME_S = 300.0
ANALYSIS_FAULT_RATE = 0.02
PLUG_HALF_LOADING_30C_MOL_PCT = 1.5
PLUG_HALF_LOADING_SLOPE_MOL_PCT_PER_C = 0.04
PLUG_WIDTH_MOL_PCT = 0.15

_REFERENCE_FIXTURE = "catalyst_reference.json"


def catalyst_index(catalyst: Value) -> int:
    """Return the index 0..7 of a catalyst name `C0`..`C7`."""
    return CATALYSTS.index(str(catalyst))


def activation_offsets_kj_mol(temperature_c: float, *, case: int) -> tuple[float, ...]:
    """Return the eight catalysts' activation-energy offsets Ea_i (kJ/mol) in `case` at T."""
    offsets = list(CATALYST_OFFSETS_KJ_MOL)
    if case == 2:
        offsets[1] = 0.0
    if case == 5:
        excess_c = max(temperature_c - CASE5_DEACTIVATION_ONSET_C, 0.0)
        offsets[0] = CASE5_OFFSET_KJ_MOL + CASE5_OFFSET_SLOPE_KJ_MOL_C * excess_c
    return tuple(offsets)


def catalyst_concentration_m(loading_mol_pct: float) -> float:
    """Return the catalyst concentration (mol/L) for a loading in mol% of A."""
    return loading_mol_pct / 100.0 * INITIAL_A_M


def rate_constants(
    catalyst: Value,
    loading_mol_pct: float,
    temperature_c: float,
    *,
    case: int,
    kelvin_offset_k: float = KELVIN_OFFSET_K,
    activity: float = 1.0,
) -> tuple[float, float, float]:
    """Return `(k_R, k_S1, k_S2)` in M^-1 s^-1, s^-1 and M^-1 s^-1; side reactions are 0
    outside cases 3 (S1) and 4 (S2). `activity` (0-1] scales all three (deactivation)."""
    rt = GAS_CONSTANT_KJ_MOL_K * (temperature_c + kelvin_offset_k)
    root_c = math.sqrt(catalyst_concentration_m(loading_mol_pct))
    offset = activation_offsets_kj_mol(temperature_c, case=case)[catalyst_index(catalyst)]
    k_r = root_c * PRE_EXPONENTIAL_R * math.exp(-(ACTIVATION_ENERGY_R_KJ_MOL + offset) / rt)
    k_s1 = root_c * PRE_EXPONENTIAL_S1 * math.exp(-ACTIVATION_ENERGY_S1_KJ_MOL / rt)
    k_s2 = root_c * PRE_EXPONENTIAL_S2 * math.exp(-ACTIVATION_ENERGY_S2_KJ_MOL / rt)
    return (
        activity * k_r,
        activity * k_s1 if case == 3 else 0.0,
        activity * k_s2 if case == 4 else 0.0,
    )


def _rates_m_s(_t_s: float, conc_m: FloatArray, k: tuple[float, float, float]) -> FloatArray:
    a, b, r, _, _ = conc_m.tolist()  # Python floats: faster than numpy scalars here
    main, s1, s2 = k[0] * a * b, k[1] * b, k[2] * b * r
    return np.array([-main, -main - s1 - s2, main - s2, s1, s2])


def _closed_form(k_r: float, time_s: float) -> tuple[float, ...]:
    excess_m = INITIAL_B_M - INITIAL_A_M
    a = INITIAL_A_M * excess_m / (excess_m + INITIAL_B_M * math.expm1(excess_m * k_r * time_s))
    converted = INITIAL_A_M - a
    return (a, INITIAL_B_M - converted, converted, 0.0, 0.0)


@lru_cache(maxsize=4096)
def _outlet(
    case: int,
    catalyst: str,
    loading_mol_pct: float,
    time_s: float,
    temperature_c: float,
    kelvin_offset_k: float,
    use_ode: bool,
    activity: float = 1.0,
) -> tuple[float, ...]:
    # Cached: replicates of one design (same params, other seeds) integrate once.
    k = rate_constants(
        catalyst,
        loading_mol_pct,
        temperature_c,
        case=case,
        kelvin_offset_k=kelvin_offset_k,
        activity=activity,
    )
    if not use_ode and k[1] == 0.0 and k[2] == 0.0:
        return _closed_form(k[0], time_s)
    start = np.array([INITIAL_A_M, INITIAL_B_M, 0.0, 0.0, 0.0])
    solution = solve_ivp(
        _rates_m_s, (0.0, time_s), start, method="DOP853", rtol=RTOL, atol=ATOL_M, args=(k,)
    )
    if not solution.success:  # pragma: no cover - DOP853 does not fail on this smooth system
        raise RuntimeError(f"catalyst ODE integration failed: {solution.message}")
    return tuple(float(c) for c in np.maximum(solution.y[:, -1], 0.0))


def yield_trajectory(
    catalyst: Value,
    loading_mol_pct: float,
    temperature_c: float,
    times_s: FloatArray,
    *,
    case: int = 1,
) -> FloatArray:
    """Return the noiseless yield R(t) / A0 at each of `times_s` (increasing, seconds), for
    grid searches: one integration serves every residence time."""
    times = np.asarray(times_s, dtype=np.float64)
    k = rate_constants(catalyst, loading_mol_pct, temperature_c, case=case)
    if k[1] == 0.0 and k[2] == 0.0:
        return np.array([_closed_form(k[0], float(t))[2] / INITIAL_A_M for t in times])
    start = np.array([INITIAL_A_M, INITIAL_B_M, 0.0, 0.0, 0.0])
    solution = solve_ivp(
        _rates_m_s,
        (0.0, float(times[-1])),
        start,
        method="DOP853",
        rtol=RTOL,
        atol=ATOL_M,
        t_eval=times,
        args=(k,),
    )
    if not solution.success:  # pragma: no cover - DOP853 does not fail on this smooth system
        raise RuntimeError(f"catalyst ODE integration failed: {solution.message}")
    return np.asarray(solution.y[2] / INITIAL_A_M)


def concentrations_m(
    params: Mapping[str, Value],
    *,
    case: int = 1,
    kelvin_offset_k: float = KELVIN_OFFSET_K,
    use_ode: bool = False,
    activity: float = 1.0,
) -> FloatArray:
    """Return the outlet concentrations (mol/L) of A, B, R, S1, S2 for a design.

    Args:
        params: `catalyst`, `catalyst_loading_mol_pct`, `residence_time_s`, `temperature_c`.
        case: Baumgartner et al.'s simulated case, 1-5.
        kelvin_offset_k: 273.15, or Summit's 273.71 to reproduce its numbers.
        use_ode: integrate the ODE even where the closed form applies (for checks).
        activity: the catalyst's remaining activity (0-1], see the deactivation model.
    """
    return np.array(
        _outlet(
            case,
            str(params["catalyst"]),
            float(params["catalyst_loading_mol_pct"]),
            float(params["residence_time_s"]),
            float(params["temperature_c"]),
            kelvin_offset_k,
            use_ode,
            activity,
        )
    )


def catalyst_cost_usd_per_mol(catalyst: Value, loading_mol_pct: float, yield_frac: float) -> float:
    """Return the catalyst cost per mol of product (USD/mol). OUR OWN ASSUMPTION (prices)."""
    price = CATALYST_PRICE_USD_PER_MOL[catalyst_index(catalyst)]
    return price * loading_mol_pct / 100.0 / max(yield_frac, YIELD_FLOOR)


def catalyst_model(
    params: Mapping[str, Value],
    *,
    case: int = 1,
    kelvin_offset_k: float = KELVIN_OFFSET_K,
    use_ode: bool = False,
    activity: float = 1.0,
) -> dict[str, float]:
    """Return the noiseless, failure-free outcome of one design (at catalyst `activity`).

    Returns:
        The outlet concentrations (`a_m`, `b_m`, `r_m`, `s1_m`, `s2_m`, mol/L), the `conversion`
        of A (0-1), `yield_frac` (R / A0, 0-1) and `cost_usd_per_mol` (USD per mol of R).
    """
    conc = concentrations_m(
        params, case=case, kelvin_offset_k=kelvin_offset_k, use_ode=use_ode, activity=activity
    )
    result = dict(zip(SPECIES, (float(c) for c in conc), strict=True))
    result["conversion"] = 1.0 - float(conc[0]) / INITIAL_A_M
    result["yield_frac"] = float(conc[2]) / INITIAL_A_M
    result["cost_usd_per_mol"] = catalyst_cost_usd_per_mol(
        params["catalyst"], float(params["catalyst_loading_mol_pct"]), result["yield_frac"]
    )
    return result


def catalyst_activity(at_s: float, *, deactivation_per_h: float, onset_h: float = 0.0) -> float:
    """Return the remaining activity exp(-k_d max(t - t0, 0)) at campaign time `at_s` (s).
    OUR OWN MODEL of deactivation (first order, Levenspiel ch. 21), not from Baumgartner et al."""
    if deactivation_per_h == 0.0:
        return 1.0
    return math.exp(-deactivation_per_h * max(at_s / 3600.0 - onset_h, 0.0))


def plug_probability(params: Mapping[str, Value]) -> float:
    """Return the chance that the catalyst precipitates and plugs the line. OUR OWN ASSUMPTION."""
    loading = float(params["catalyst_loading_mol_pct"])
    excess_c = float(params["temperature_c"]) - 30.0
    half = PLUG_HALF_LOADING_30C_MOL_PCT + PLUG_HALF_LOADING_SLOPE_MOL_PCT_PER_C * excess_c
    z = (loading - half) / PLUG_WIDTH_MOL_PCT
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def experiment_duration_s(residence_time_s: float, *, analysis_time_s: float) -> float:
    """Return the residence time plus the HPLC analysis, in seconds."""
    return residence_time_s + analysis_time_s


def measure_yield(yield_frac: float, rng: np.random.Generator, *, noise: float) -> float:
    """Return `yield_frac` times `1 + N(0, noise)`, clipped to [0, 1]."""
    return min(max(yield_frac * (1.0 + noise * float(rng.standard_normal())), 0.0), 1.0)


@lru_cache(maxsize=1)
def _reference_data() -> dict[str, Any]:
    return read_fixture(_REFERENCE_FIXTURE)


def reference(case: int = 1) -> Reference:
    """Return the shipped reference optimum of `case` (best yield within the cost budget)."""
    data = _reference_data()
    entry = data["cases"][str(case)]
    params: dict[str, Value] = {
        k: (v if isinstance(v, str) else float(v)) for k, v in entry["params"].items()
    }
    return Reference(
        value=float(entry["value"]),
        params=params,
        source=f"{data['source']}: {data['method']}",
    )


@lru_cache(maxsize=1)
def catalyst_space() -> Space:
    """Return the design space: Summit's bounds, loading in mol% of A, units in the names."""
    return Space(
        [
            Choice("catalyst", CATALYSTS),
            Real("catalyst_loading_mol_pct", 0.5, 2.5),
            Real("residence_time_s", 60.0, 600.0),
            Real("temperature_c", 30.0, 110.0),
        ]
    )


@lru_cache(maxsize=len(CASES))
def catalyst_problem(case: int = 1) -> Problem:
    """Return the Problem of `case`: maximise yield with catalyst cost <= 150 USD/mol."""
    units = {
        "catalyst": "one of C0..C7 (Baumgartner et al. 2018 simulated catalysts)",
        "catalyst_loading_mol_pct": "mol% of A (0.167 M)",
        "residence_time_s": "s",
        "temperature_c": "°C",
        "yield_frac": "1 (mol R per mol A)",
        "cost_usd_per_mol": "USD of catalyst per mol of product R",
    }
    return Problem(
        name="catalyst",
        space=catalyst_space(),
        goal=Goal(
            Maximize("yield_frac"),
            constraints=[f"cost_usd_per_mol <= {COST_BUDGET_USD_PER_MOL:g}"],
        ),
        reference=reference(case),
        units=units,
        description=f"Catalyst screening, case {case} of Baumgartner et al. 2018 (A + B -> R, "
        "eight catalysts), with a catalyst-cost budget per mol of product.",
    )


class CatalystScreening:
    """Catalyst screening as a seeded `Simulator`: noisy, slow and sometimes failing.

    Args:
        case: Baumgartner et al.'s simulated case, 1 (baseline) to 5 (hardest mechanisms).
        noise: relative standard deviation of the measured yield; 0 is noiseless.
        failures: False switches off plugging and analysis faults.
        fault_rate: chance that the HPLC analysis of a run fails (`Cause.MACHINE_FAULT`).
        analysis_time_s: HPLC run time added to every experiment's duration.
        deactivation_per_h: first-order deactivation rate k_d of the catalyst (1/h) over
            campaign time; 0 (the default) is a catalyst that never deactivates.
        deactivation_onset_h: campaign hours before deactivation begins (induction period).

    Raises:
        InvalidCampaign: an option is out of range.
    """

    def __init__(
        self,
        *,
        case: int = 1,
        noise: float = 0.01,
        failures: bool = True,
        fault_rate: float = ANALYSIS_FAULT_RATE,
        analysis_time_s: float = ANALYSIS_TIME_S,
        deactivation_per_h: float = 0.0,
        deactivation_onset_h: float = 0.0,
    ) -> None:
        if isinstance(case, bool) or case not in CASES:
            raise InvalidCampaign(
                f"CatalystScreening: case must be one of {list(CASES)}, got {case!r}"
            )
        if not isinstance(failures, bool):
            raise InvalidCampaign(
                f"CatalystScreening: failures must be True or False, got {failures!r}"
            )
        self.case = int(case)
        self.noise = check_option("CatalystScreening", "noise", noise, high=1.0)
        self.failures = failures
        self.fault_rate = check_option("CatalystScreening", "fault_rate", fault_rate, high=1.0)
        self.analysis_time_s = check_option(
            "CatalystScreening", "analysis_time_s", analysis_time_s, high=86400.0
        )
        self.deactivation_per_h = check_option(
            "CatalystScreening", "deactivation_per_h", deactivation_per_h, high=10.0
        )
        self.deactivation_onset_h = check_option(
            "CatalystScreening", "deactivation_onset_h", deactivation_onset_h, high=1e6
        )
        self.problem: Problem = catalyst_problem(self.case)

    @property
    def clocked(self) -> bool:
        """Whether outcomes depend on campaign time (deactivation is on)."""
        return self.deactivation_per_h > 0.0

    def activity(self, at_s: float) -> float:
        """The catalyst's remaining activity at campaign time `at_s` (s)."""
        return catalyst_activity(
            at_s, deactivation_per_h=self.deactivation_per_h, onset_h=self.deactivation_onset_h
        )

    def __repr__(self) -> str:
        drift = (
            f", deactivation_per_h={self.deactivation_per_h}, "
            f"deactivation_onset_h={self.deactivation_onset_h}"
            if self.clocked
            else ""
        )
        return (
            f"CatalystScreening(case={self.case}, noise={self.noise}, failures={self.failures}, "
            f"fault_rate={self.fault_rate}, analysis_time_s={self.analysis_time_s}{drift})"
        )

    def evaluate(self, params: Mapping[str, Value], *, seed: int, at_s: float = 0.0) -> Evaluation:
        """Run one simulated experiment started at campaign time `at_s` (s); same params, seed
        and start time, same result.

        Raises:
            InvalidParams: `params` does not fit the space.
        """
        clean = self.problem.space.validate(params)
        rng = np.random.default_rng(seed)
        # Always draw the failure numbers, so the noise of a seed is the same with failures off.
        u_plug, u_fault, u_when = rng.random(3)
        time_s = float(clean["residence_time_s"])
        duration_s = experiment_duration_s(time_s, analysis_time_s=self.analysis_time_s)
        if self.failures:
            failure = self._failure(clean, (u_plug, u_fault, u_when), duration_s)
            if failure is not None:
                return failure
        truth = catalyst_model(clean, case=self.case, activity=self.activity(at_s))["yield_frac"]
        measured = measure_yield(truth, rng, noise=self.noise)
        cost = catalyst_cost_usd_per_mol(
            clean["catalyst"], float(clean["catalyst_loading_mol_pct"]), measured
        )
        return Outcome(
            values={"yield_frac": measured, "cost_usd_per_mol": cost}, duration_s=duration_s
        )

    def _failure(
        self, params: Mapping[str, Value], draws: tuple[float, float, float], duration_s: float
    ) -> Failure | None:
        u_plug, u_fault, u_when = draws
        if u_plug < plug_probability(params):
            at_s = (0.1 + 0.9 * u_when) * float(params["residence_time_s"])
            reason = (
                f"line plugged after {at_s:.0f} s: catalyst {params['catalyst']} precipitated at "
                f"{float(params['catalyst_loading_mol_pct']):.2f} mol% and "
                f"{float(params['temperature_c']):.1f} °C"
            )
            return Failure(Cause.INFEASIBLE, reason, duration_s=at_s)
        if u_fault < self.fault_rate:
            reason = "HPLC analysis failed: no trace recorded (transient analytics fault)"
            return Failure(Cause.MACHINE_FAULT, reason, duration_s=duration_s)
        return None


__all__ = [
    "CATALYSTS",
    "CatalystScreening",
    "activation_offsets_kj_mol",
    "catalyst_activity",
    "catalyst_cost_usd_per_mol",
    "catalyst_model",
    "catalyst_problem",
    "catalyst_space",
    "concentrations_m",
    "experiment_duration_s",
    "measure_yield",
    "plug_probability",
    "rate_constants",
    "reference",
    "yield_trajectory",
]
