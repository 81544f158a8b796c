"""SnAr flow reactor: 2,4-difluoronitrobenzene + pyrrolidine in ethanol, in plug flow.

Kinetics from Hone et al., "Rapid multistep kinetic model generation from transient flow data",
React. Chem. Eng. 2017, 2, 103-108, doi:10.1039/C6RE00109B, set up as an optimisation problem
(bounds, STY and E-factor) by Summit's `SnarBenchmark` (Felton, Rittig, Lapkin, "Summit:
benchmarking machine learning methods for reaction optimisation", Chemistry-Methods 2021, 1,
116-122, doi:10.1002/cmtd.202000051), here with the rate law as corrected in Summit in 2022: the
para product forms with k_b (earlier versions used k_a). The same variables and objectives were
optimised on a real rig by Schweidtmann et al., Chem. Eng. J. 2018, 352, 277-282.
Species: 1 DFNB (159.09 g/mol), 2 pyrrolidine (71.12), 3 ortho product (wanted, 210.21),
4 para product (210.21), 5 bis product (261.33). Four elementary second-order steps:

    1 + 2 -> 3 (k_a)    1 + 2 -> 4 (k_b)    3 + 2 -> 5 (k_c)    4 + 2 -> 5 (k_d)

    k_i(T) = 0.6 * kref_i * exp(-(Ea_i / R) * (1/T - 1/Tref)),   Tref = 90 °C, R = 8.314e-3 kJ/mol/K

    step   kref at 90 °C (1e-2 M^-1 s^-1)   Ea (kJ/mol)
    a      57.9                            33.3
    b      2.70                            35.3
    c      0.865                           38.9
    d      1.63                            44.8

The factor 0.6 turns 1e-2 M^-1 s^-1 into M^-1 min^-1. A plug-flow reactor is a batch reactor
travelling along the tube, so the outlet is the batch ODE integrated over the residence time
(scipy `solve_ivp`, DOP853, rtol 1e-8: relative error below 1e-9 on STY and E-factor against
rtol 1e-12). Outputs, with C in mol/L at the outlet and the solvent ethanol at 789 g/L:

    sty [kg m^-3 h^-1] = 60 * M_3 * C_3 / tau_min                 (floor 1e-6, as Summit)
    e_factor [kg/kg]   = (789 + sum_{i != 3} M_i * C_i) / (M_3 * C_3)   (1000 if C_3 = 0; cap 1000)

Deliberate differences from Summit: Kelvin is T + 273.15 (Summit adds 273.71; the effect is below
0.01 % on STY and E-factor along the Pareto front, about 1 % only on the near-zero STY of the
over-reacted corner); C_1 and C_2 are not clamped to zero inside the rate law (tight tolerances
keep them non-negative); noise is a relative standard deviation (0.01), not a percentage. Summit's
5 mL reactor volume cancels out of STY and E-factor, and the ethanol make-up flow stays positive
everywhere inside these bounds, so neither appears here.

OUR OWN ASSUMPTIONS, not from Hone et al. or Summit, added so that the simulator behaves like a
rig that takes time and fails:

- Clogging: salt (pyrrolidinium fluoride) precipitates and blocks the line with probability
  `1 / (1 + exp(-(L - L50(T)) / 0.2 M))`, where `L = concentration_m * equivalents` is the inlet
  pyrrolidine concentration and `L50(T) = 2.0 M + 0.04 M/°C * (T - 30 °C)` (solubility rises
  with temperature). About 92 % at 0.5 M, 5 equiv, 30 °C; below 0.5 % at 0.5 M, 3 equiv, 45 °C.
  Reported as `Cause.INFEASIBLE`, after part of the flow phase.
- Analysis faults: 2 % of runs lose their HPLC chromatogram (`Cause.MACHINE_FAULT`).
- Measurement noise: every outlet concentration is multiplied by `1 + N(0, noise)` and clipped at
  zero before STY and E-factor are computed.
- Duration: 3 residence times of equilibration, 1 residence time of collection, and 5 minutes of
  HPLC analysis.
- Sensor offset (off by default): with `sensor_offset_m_per_h` = r, the HPLC's baseline drifts and
  the measured ortho-product concentration gains an additive offset r * t (mol/L, t the
  experiment's start in campaign hours, clipped at zero) after the noise, before STY and E-factor.
  Baseline drift of UV detectors is slow and near linear over hours (Dolan, "Gradient elution
  baseline drift", LCGC; our linear model is a simplification). The process itself does not
  change, so the true optimum stays where it is; the readings move. With r = 0 the outputs are
  exactly those without the option.
- Gross errors (off by default): with `outlier_rate` = p, a run's chromatogram is mis-integrated
  with probability p (a co-eluting peak merged into the ortho product's, or part of its area
  given to a neighbour), and the measured ortho-product concentration is multiplied by a factor
  log-uniform on [2, 4] or on [1/4, 1/2], with equal chances, before STY and E-factor. The
  draws come from a stream of the seed of their own, so with p = 0 the outputs are exactly those
  without the option, and with p > 0 the other readings are unchanged.

The reference optimum (best noiseless STY with E-factor <= 9) is computed by
`scripts/make_snar_reference.py` and shipped as `data/snar_reference.json`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.integrate import solve_ivp

from daedalus.errors import InvalidCampaign
from daedalus.events import Cause
from daedalus.goal import Goal, Maximize
from daedalus.machines.base import Evaluation, Failure, Outcome
from daedalus.problem import Problem
from daedalus.sims.base import check_option, gross_error, load_reference
from daedalus.space import Real, Space, Value

FloatArray = npt.NDArray[np.float64]

KELVIN_OFFSET_K = 273.15
GAS_CONSTANT_KJ_MOL_K = 8.314e-3
REFERENCE_TEMPERATURE_C = 90.0
PER_1E2_S_TO_PER_MIN = 0.6  # 1e-2 M^-1 s^-1 -> M^-1 min^-1
KREF_90C_1E2_M_S = (57.9, 2.70, 0.865, 1.63)  # steps a, b, c, d
ACTIVATION_ENERGY_KJ_MOL = (33.3, 35.3, 38.9, 44.8)
MOLAR_MASS_G_MOL = (159.09, 71.12, 210.21, 210.21, 261.33)  # species 1..5
ETHANOL_DENSITY_G_L = 789.0
STY_FLOOR_KG_M3_H = 1e-6
E_FACTOR_CAP = 1000.0

RTOL = 1e-8
ATOL_M = 1e-11

# Our own assumptions (see the module docstring).
EQUILIBRATION_RESIDENCE_TIMES = 3.0
ANALYSIS_TIME_S = 300.0
CLOG_HALF_LOAD_30C_M = 2.0
CLOG_HALF_LOAD_SLOPE_M_PER_C = 0.04
CLOG_WIDTH_M = 0.2
ANALYSIS_FAULT_RATE = 0.02

SPECIES = ("dfnb_m", "pyrrolidine_m", "ortho_m", "para_m", "bis_m")
_REFERENCE_FIXTURE = "snar_reference.json"


def rate_constants_m_min(temperature_c: float) -> FloatArray:
    """Return `[k_a, k_b, k_c, k_d]` in M^-1 min^-1 at `temperature_c` (Arrhenius about 90 °C)."""
    inv_t = 1.0 / (temperature_c + KELVIN_OFFSET_K)
    inv_ref = 1.0 / (REFERENCE_TEMPERATURE_C + KELVIN_OFFSET_K)
    ea = np.asarray(ACTIVATION_ENERGY_KJ_MOL)
    kref = PER_1E2_S_TO_PER_MIN * np.asarray(KREF_90C_1E2_M_S)
    return np.asarray(kref * np.exp(-ea / GAS_CONSTANT_KJ_MOL_K * (inv_t - inv_ref)))


def _rates_m_min(_t_min: float, conc_m: FloatArray, k: tuple[float, ...]) -> FloatArray:
    """dC/dt in M/min for the five species; `k` from `rate_constants_m_min`, as floats."""
    c1, c2, c3, c4, _ = conc_m.tolist()  # Python floats: faster than numpy scalars here
    ra, rb, rc, rd = k[0] * c1 * c2, k[1] * c1 * c2, k[2] * c2 * c3, k[3] * c2 * c4
    return np.array([-ra - rb, -ra - rb - rc - rd, ra - rc, rb - rd, rc + rd])


@lru_cache(maxsize=4096)
def _outlet(
    residence_time_min: float,
    equivalents: float,
    concentration_m: float,
    temperature_c: float,
    rtol: float,
    atol_m: float,
) -> tuple[float, ...]:
    # Cached: replicates of one design (same params, other seeds) integrate once.
    start = np.array([concentration_m, equivalents * concentration_m, 0.0, 0.0, 0.0])
    solution = solve_ivp(
        _rates_m_min,
        (0.0, residence_time_min),
        start,
        method="DOP853",
        rtol=rtol,
        atol=atol_m,
        args=(tuple(rate_constants_m_min(temperature_c).tolist()),),
    )
    if not solution.success:  # pragma: no cover - DOP853 does not fail on this smooth system
        raise RuntimeError(f"SnAr ODE integration failed: {solution.message}")
    return tuple(float(c) for c in np.maximum(solution.y[:, -1], 0.0))


def outlet_concentrations_m(
    params: Mapping[str, Value], *, rtol: float = RTOL, atol_m: float = ATOL_M
) -> FloatArray:
    """Return the five outlet concentrations (mol/L, species order 1..5) for a design."""
    return np.array(
        _outlet(
            float(params["residence_time_min"]),
            float(params["equivalents"]),
            float(params["concentration_m"]),
            float(params["temperature_c"]),
            rtol,
            atol_m,
        )
    )


def space_time_yield_kg_m3_h(conc_m: FloatArray, residence_time_min: float) -> float:
    """Return the ortho product's space-time yield in kg m^-3 h^-1, floored at 1e-6."""
    sty = 60.0 * MOLAR_MASS_G_MOL[2] * float(conc_m[2]) / residence_time_min
    return max(sty, STY_FLOOR_KG_M3_H)


def e_factor(conc_m: FloatArray) -> float:
    """Return kg of waste (solvent, leftovers, by-products) per kg of ortho product, <= 1000."""
    if float(conc_m[2]) <= 1e-8:  # no product (Summit: np.isclose(C_3, 0))
        return E_FACTOR_CAP
    product_g_l = MOLAR_MASS_G_MOL[2] * float(conc_m[2])
    waste_g_l = ETHANOL_DENSITY_G_L + sum(
        m * float(c)
        for i, (m, c) in enumerate(zip(MOLAR_MASS_G_MOL, conc_m, strict=True))
        if i != 2
    )
    return min(waste_g_l / product_g_l, E_FACTOR_CAP)


def snar_model(
    params: Mapping[str, Value], *, rtol: float = RTOL, atol_m: float = ATOL_M
) -> dict[str, float]:
    """Return the noiseless, failure-free outlet of one design.

    Args:
        params: `residence_time_min`, `equivalents`, `concentration_m`, `temperature_c`.
        rtol: relative tolerance of the ODE solver.
        atol_m: absolute tolerance of the ODE solver, mol/L.

    Returns:
        The outlet concentrations (`dfnb_m`, `pyrrolidine_m`, `ortho_m`, `para_m`, `bis_m`,
        mol/L), `conversion` of DFNB (0-1), `sty` (kg m^-3 h^-1) and `e_factor` (kg/kg).
    """
    conc = outlet_concentrations_m(params, rtol=rtol, atol_m=atol_m)
    result = dict(zip(SPECIES, (float(c) for c in conc), strict=True))
    result["conversion"] = 1.0 - float(conc[0]) / float(params["concentration_m"])
    result["sty"] = space_time_yield_kg_m3_h(conc, float(params["residence_time_min"]))
    result["e_factor"] = e_factor(conc)
    return result


def clog_probability(params: Mapping[str, Value]) -> float:
    """Return the chance that a run clogs the line. OUR OWN ASSUMPTION, see the module docstring."""
    load_m = float(params["concentration_m"]) * float(params["equivalents"])
    excess_c = float(params["temperature_c"]) - 30.0
    half_load_m = CLOG_HALF_LOAD_30C_M + CLOG_HALF_LOAD_SLOPE_M_PER_C * excess_c
    z = (load_m - half_load_m) / CLOG_WIDTH_M
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def experiment_duration_s(residence_time_min: float, *, analysis_time_s: float) -> float:
    """Return equilibration (3 tau) + collection (1 tau) + HPLC analysis, in seconds."""
    flow_min = (EQUILIBRATION_RESIDENCE_TIMES + 1.0) * residence_time_min
    return 60.0 * flow_min + analysis_time_s


def measure(conc_m: FloatArray, rng: np.random.Generator, *, noise: float) -> FloatArray:
    """Return `conc_m` with multiplicative Gaussian noise of relative sd `noise`, clipped at 0."""
    factors = 1.0 + noise * rng.standard_normal(conc_m.shape)
    return np.asarray(np.maximum(conc_m * factors, 0.0))


@lru_cache(maxsize=1)
def snar_space() -> Space:
    """Return the design space: Summit's bounds, with units in the names."""
    return Space(
        [
            Real("residence_time_min", 0.5, 2.0),
            Real("equivalents", 1.0, 5.0),
            Real("concentration_m", 0.1, 0.5),
            Real("temperature_c", 30.0, 120.0),
        ]
    )


@lru_cache(maxsize=1)
def snar_problem() -> Problem:
    """Return the SnAr Problem: maximise STY subject to E-factor <= 9, with its reference."""
    units = {
        "residence_time_min": "min",
        "equivalents": "equiv (pyrrolidine per DFNB)",
        "concentration_m": "mol/L (DFNB at the reactor inlet)",
        "temperature_c": "°C",
        "sty": "kg m^-3 h^-1",
        "e_factor": "kg/kg",
    }
    return Problem(
        name="snar",
        space=snar_space(),
        goal=Goal(Maximize("sty"), constraints=["e_factor <= 9"]),
        reference=load_reference(_REFERENCE_FIXTURE),
        units=units,
        description="SnAr of 2,4-difluoronitrobenzene with pyrrolidine in a 5 mL flow reactor "
        "(Hone et al. 2017 kinetics, as in Summit's SnarBenchmark).",
    )


class SnarReactor:
    """The SnAr flow reactor as a seeded `Simulator`: noisy, slow and sometimes failing.

    Args:
        noise: relative standard deviation of each measured concentration; 0 is noiseless.
        failures: False switches off clogging and analysis faults.
        fault_rate: chance that the HPLC analysis of a run fails (`Cause.MACHINE_FAULT`).
        analysis_time_s: HPLC run time added to every experiment's duration.
        sensor_offset_m_per_h: drift of the measured ortho-product concentration, mol/L per
            campaign hour (either sign); 0 (the default) is a detector that does not drift.
        outlier_rate: chance of a gross integration error per run (module docstring); 0
            (the default) is an integrator that never errs.

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
        sensor_offset_m_per_h: float = 0.0,
        outlier_rate: float = 0.0,
    ) -> None:
        if not isinstance(failures, bool):
            raise InvalidCampaign(f"SnarReactor: failures must be True or False, got {failures!r}")
        self.noise = check_option("SnarReactor", "noise", noise, high=1.0)
        self.failures = failures
        self.fault_rate = check_option("SnarReactor", "fault_rate", fault_rate, high=1.0)
        self.analysis_time_s = check_option(
            "SnarReactor", "analysis_time_s", analysis_time_s, high=86400.0
        )
        self.sensor_offset_m_per_h = check_option(
            "SnarReactor", "sensor_offset_m_per_h", sensor_offset_m_per_h, low=-1.0, high=1.0
        )
        self.outlier_rate = check_option("SnarReactor", "outlier_rate", outlier_rate, high=1.0)
        self.problem: Problem = snar_problem()

    @property
    def clocked(self) -> bool:
        """Whether readings depend on campaign time (the sensor offset is on)."""
        return self.sensor_offset_m_per_h != 0.0

    def __repr__(self) -> str:
        drift = f", sensor_offset_m_per_h={self.sensor_offset_m_per_h}" if self.clocked else ""
        drift += f", outlier_rate={self.outlier_rate}" if self.outlier_rate else ""
        return (
            f"SnarReactor(noise={self.noise}, failures={self.failures}, "
            f"fault_rate={self.fault_rate}, analysis_time_s={self.analysis_time_s}{drift})"
        )

    def evaluate(self, params: Mapping[str, Value], *, seed: int, at_s: float = 0.0) -> Evaluation:
        """Run one simulated experiment started at campaign time `at_s` (s); same params, seed
        and start time, same result.

        Args:
            params: a design of `problem.space`.
            seed: a non-negative integer; it fixes the failure draws and the noise.
            at_s: the campaign time of the start; only the sensor offset depends on it.

        Raises:
            InvalidParams: `params` does not fit the space.
        """
        clean = self.problem.space.validate(params)
        rng = np.random.default_rng(seed)
        # Always draw the failure numbers, so the noise of a seed is the same with failures off.
        u_clog, u_fault, u_when = rng.random(3)
        tau_min = float(clean["residence_time_min"])
        duration_s = experiment_duration_s(tau_min, analysis_time_s=self.analysis_time_s)
        if self.failures:
            failure = self._failure(clean, (u_clog, u_fault, u_when), duration_s)
            if failure is not None:
                return failure
        conc = measure(outlet_concentrations_m(clean), rng, noise=self.noise)
        if self.clocked:
            conc[2] = max(conc[2] + self.sensor_offset_m_per_h * at_s / 3600.0, 0.0)
        error = gross_error(seed, self.outlier_rate)
        if error is not None:
            sign, u = error
            conc[2] *= (2.0 * 2.0**u) ** sign  # log-uniform on [2, 4], or on [1/4, 1/2]
        values = {"sty": space_time_yield_kg_m3_h(conc, tau_min), "e_factor": e_factor(conc)}
        return Outcome(values=values, duration_s=duration_s)

    def _failure(
        self, params: Mapping[str, Value], draws: tuple[float, float, float], duration_s: float
    ) -> Failure | None:
        u_clog, u_fault, u_when = draws
        if u_clog < clog_probability(params):
            flow_s = duration_s - self.analysis_time_s
            at_s = (0.1 + 0.9 * u_when) * flow_s
            load_m = float(params["concentration_m"]) * float(params["equivalents"])
            reason = (
                f"line clogged after {at_s:.0f} s: back-pressure rose with "
                f"{load_m:.2f} M pyrrolidine at {float(params['temperature_c']):.1f} °C "
                "(salt precipitation)"
            )
            return Failure(Cause.INFEASIBLE, reason, duration_s=at_s)
        if u_fault < self.fault_rate:
            reason = "HPLC analysis failed: no chromatogram recorded (transient analytics fault)"
            return Failure(Cause.MACHINE_FAULT, reason, duration_s=duration_s)
        return None


__all__ = [
    "SnarReactor",
    "clog_probability",
    "e_factor",
    "experiment_duration_s",
    "outlet_concentrations_m",
    "rate_constants_m_min",
    "snar_model",
    "snar_problem",
    "snar_space",
    "space_time_yield_kg_m3_h",
]
