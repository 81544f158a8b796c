"""The SnAr flow reactor: kinetics, published points, noise, failures, reference, durations."""

from __future__ import annotations

import itertools
import json
import math
from importlib import resources

import numpy as np
import pytest

from daedalus.errors import InvalidCampaign, InvalidParams
from daedalus.events import Cause
from daedalus.machines.base import Failure, Outcome
from daedalus.sims.base import Simulator
from daedalus.sims.snar import (
    KREF_90C_1E2_M_S,
    SnarReactor,
    clog_probability,
    e_factor,
    rate_constants_m_min,
    snar_model,
    snar_problem,
    space_time_yield_kg_m3_h,
)


def design(tau_min: float, equiv: float, conc_m: float, temp_c: float) -> dict[str, float]:
    return {
        "residence_time_min": float(tau_min),
        "equivalents": float(equiv),
        "concentration_m": float(conc_m),
        "temperature_c": float(temp_c),
    }


NEAR_OPTIMUM = design(0.5, 2.5, 0.5, 55.0)
CLOG_PRONE = design(0.5, 5.0, 0.5, 30.0)
COARSE_GRID = [
    design(*p)
    for p in itertools.product(
        np.linspace(0.5, 2.0, 4),
        np.linspace(1.0, 5.0, 9),
        np.linspace(0.1, 0.5, 5),
        np.linspace(30.0, 120.0, 10),
    )
]


def test_rate_constants_equal_the_table_at_the_reference_temperature() -> None:
    np.testing.assert_allclose(rate_constants_m_min(90.0), 0.6 * np.asarray(KREF_90C_1E2_M_S))
    assert np.all(rate_constants_m_min(120.0) > rate_constants_m_min(30.0))


@pytest.mark.parametrize(
    ("equiv", "conc_m", "temp_c"), [(1.0, 0.1, 30.0), (1.2, 0.5, 60.0), (1.0, 0.1, 120.0)]
)
def test_conversion_rises_with_residence_time(equiv: float, conc_m: float, temp_c: float) -> None:
    taus = np.linspace(0.5, 2.0, 7)
    conversion = [snar_model(design(t, equiv, conc_m, temp_c))["conversion"] for t in taus]
    assert np.all(np.diff(conversion) > 0)


@pytest.mark.parametrize(
    ("tau_min", "equiv", "conc_m"), [(0.5, 1.0, 0.1), (1.0, 2.0, 0.3), (2.0, 1.2, 0.2)]
)
def test_conversion_rises_with_temperature(tau_min: float, equiv: float, conc_m: float) -> None:
    temps = np.linspace(30.0, 120.0, 10)
    conversion = [snar_model(design(tau_min, equiv, conc_m, t))["conversion"] for t in temps]
    assert np.all(np.diff(conversion) > -1e-9)
    assert conversion[-1] > conversion[0] + 0.1


def test_ortho_product_dominates_para_product() -> None:
    for params in COARSE_GRID[::7]:
        out = snar_model(params)
        assert out["ortho_m"] > 5.0 * out["para_m"], params


# Corrected-kinetics Pareto front, reference/worlds.md section 1.5 (params rounded there).
FRONT = [
    ((0.500, 5.00, 0.5, 30.9), 11_562, 9.75),
    ((0.500, 3.06, 0.5, 45.4), 11_501, 9.09),
    ((0.500, 1.81, 0.5, 64.4), 11_402, 8.71),
    ((0.519, 1.21, 0.5, 99.6), 10_868, 8.58),
    ((0.799, 1.24, 0.5, 82.3), 7_103, 8.54),
    ((1.243, 1.21, 0.5, 72.1), 4_580, 8.50),
    ((1.983, 1.19, 0.5, 61.9), 2_882, 8.452),
]


@pytest.mark.parametrize(("point", "sty", "e"), FRONT)
def test_noiseless_model_matches_the_reference_front(
    point: tuple[float, float, float, float], sty: float, e: float
) -> None:
    out = snar_model(design(*point))
    assert out["sty"] == pytest.approx(sty, rel=2e-3)
    assert out["e_factor"] == pytest.approx(e, abs=0.01)


@pytest.mark.parametrize("params", COARSE_GRID[::37])
def test_mass_balance_holds(params: dict[str, float]) -> None:
    out = snar_model(params)
    dfnb_0, pyrrolidine_0 = (
        params["concentration_m"],
        params["concentration_m"] * params["equivalents"],
    )
    dfnb_atoms = out["dfnb_m"] + out["ortho_m"] + out["para_m"] + out["bis_m"]
    pyrrolidine_units = out["pyrrolidine_m"] + out["ortho_m"] + out["para_m"] + 2 * out["bis_m"]
    assert dfnb_atoms == pytest.approx(dfnb_0, rel=1e-7)
    assert pyrrolidine_units == pytest.approx(pyrrolidine_0, rel=1e-7)


def test_sty_floor_and_e_factor_cap_without_product() -> None:
    nothing = np.array([0.5, 0.5, 0.0, 0.0, 0.0])
    assert space_time_yield_kg_m3_h(nothing, 0.5) == 1e-6
    assert e_factor(nothing) == 1000.0


def test_is_a_simulator_with_the_snar_problem() -> None:
    sim = SnarReactor()
    assert isinstance(sim, Simulator)
    assert sim.problem.name == "snar"
    assert sim.problem.goal.metrics == ("sty", "e_factor")
    assert set(sim.problem.units) >= {*sim.problem.space.names, "sty", "e_factor"}


def test_noiseless_failure_free_simulator_equals_the_model() -> None:
    result = SnarReactor(noise=0.0, failures=False).evaluate(NEAR_OPTIMUM, seed=3)
    model = snar_model(NEAR_OPTIMUM)
    assert isinstance(result, Outcome)
    assert result.values == {"sty": model["sty"], "e_factor": model["e_factor"]}


def test_same_seed_same_result_and_seeds_differ() -> None:
    sim = SnarReactor()
    first = [sim.evaluate(NEAR_OPTIMUM, seed=s) for s in range(30)]
    again = [SnarReactor().evaluate(NEAR_OPTIMUM, seed=s) for s in range(30)]
    assert first == again
    stys = {r.values["sty"] for r in first if isinstance(r, Outcome)}
    assert len(stys) >= 25


def test_noise_has_the_configured_relative_spread() -> None:
    sim = SnarReactor(noise=0.01, failures=False)
    truth = snar_model(NEAR_OPTIMUM)["sty"]
    stys = [sim.evaluate(NEAR_OPTIMUM, seed=s) for s in range(400)]
    relative = np.array([r.values["sty"] / truth - 1.0 for r in stys if isinstance(r, Outcome)])
    assert len(relative) == 400
    assert abs(relative.mean()) < 0.002
    assert 0.0085 < relative.std() < 0.0115


def test_clog_probability_is_small_near_the_optimum_and_high_when_cold_and_loaded() -> None:
    assert clog_probability(CLOG_PRONE) > 0.5
    for equiv, temp_c in itertools.product((2.0, 2.5, 3.0), (45.0, 55.0, 65.0)):
        assert clog_probability(design(0.5, equiv, 0.5, temp_c)) < 0.05
    assert clog_probability(design(0.5, 5.0, 0.5, 120.0)) < 1e-3


def failure_rate(sim: SnarReactor, params: dict[str, float], cause: Cause, n: int) -> float:
    results = [sim.evaluate(params, seed=s) for s in range(n)]
    return sum(isinstance(r, Failure) and r.cause is cause for r in results) / n


@pytest.mark.parametrize(
    ("params", "low", "high"),
    [(CLOG_PRONE, 0.5, 1.0), (NEAR_OPTIMUM, 0.0, 0.05), (design(0.5, 3.0, 0.5, 45.0), 0.0, 0.05)],
)
def test_clogging_rate_over_seeds(params: dict[str, float], low: float, high: float) -> None:
    rate = failure_rate(SnarReactor(), params, Cause.INFEASIBLE, 400)
    assert low <= rate <= high


def test_clog_failure_names_the_clog_and_stops_early() -> None:
    sim = SnarReactor()
    clogs = [sim.evaluate(CLOG_PRONE, seed=s) for s in range(50)]
    clogs = [r for r in clogs if isinstance(r, Failure) and r.cause is Cause.INFEASIBLE]
    assert clogs
    for failure in clogs:
        assert failure.reason.startswith("line clogged")
        assert 0.0 < failure.duration_s < 4 * 0.5 * 60.0


@pytest.mark.parametrize(("fault_rate", "low", "high"), [(0.02, 0.012, 0.028), (0.1, 0.085, 0.115)])
def test_analysis_fault_rate_is_near_its_setting(
    fault_rate: float, low: float, high: float
) -> None:
    sim = SnarReactor(fault_rate=fault_rate)
    assert low < failure_rate(sim, NEAR_OPTIMUM, Cause.MACHINE_FAULT, 4000) < high


def test_failures_off_never_fails() -> None:
    sim = SnarReactor(failures=False)
    assert all(isinstance(sim.evaluate(CLOG_PRONE, seed=s), Outcome) for s in range(200))


def test_reference_fixture_ships_with_the_package() -> None:
    fixture = resources.files("daedalus.sims").joinpath("data", "snar_reference.json")
    data = json.loads(fixture.read_text())
    assert data["source"] == "scripts/make_snar_reference.py"
    assert data["method"]


def test_reference_is_reproduced_by_the_noiseless_model() -> None:
    problem = snar_problem()
    reference = problem.reference
    assert reference is not None
    assert 11_400 < reference.value < 11_500
    result = SnarReactor(noise=0.0, failures=False).evaluate(reference.params, seed=0)
    assert isinstance(result, Outcome)
    assert result.values["sty"] == pytest.approx(reference.value, rel=1e-6)
    assert problem.goal.is_feasible(result.values)
    assert problem.regret(result.values["sty"]) == pytest.approx(0.0, abs=0.05)


def test_no_coarse_grid_point_beats_the_reference() -> None:
    reference = snar_problem().reference
    assert reference is not None
    feasible = [out for out in map(snar_model, COARSE_GRID) if out["e_factor"] <= 9.0]
    assert feasible
    assert max(out["sty"] for out in feasible) < reference.value


def test_durations_cover_equilibration_collection_and_analysis() -> None:
    sim = SnarReactor()
    for tau_min in (0.5, 1.0, 2.0):
        params = design(tau_min, 1.5, 0.3, 80.0)
        results = [sim.evaluate(params, seed=s) for s in range(60)]
        durations = {r.duration_s for r in results if isinstance(r, Outcome)}
        assert durations == {4 * tau_min * 60.0 + 300.0}
        assert all(0.0 < r.duration_s <= 780.0 for r in results)


@pytest.mark.parametrize(
    "params",
    [
        {"residence_time_min": 0.5, "equivalents": 2.0, "concentration_m": 0.5},
        design(0.4, 2.0, 0.5, 60.0),
        design(0.5, 2.0, 0.5, math.nan),
        {**design(0.5, 2.0, 0.5, 60.0), "pressure_bar": 1.0},
    ],
)
def test_invalid_designs_are_refused(params: dict[str, float]) -> None:
    with pytest.raises(InvalidParams):
        SnarReactor().evaluate(params, seed=0)


@pytest.mark.parametrize(
    "options",
    [
        {"noise": -0.1},
        {"noise": "high"},
        {"failures": "yes"},
        {"fault_rate": 1.5},
        {"analysis_time_s": math.inf},
    ],
)
def test_invalid_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(InvalidCampaign):
        SnarReactor(**options)  # type: ignore[arg-type]


# -- sensor offset (our model) -------------------------------------------------------------------


def test_zero_sensor_offset_reproduces_the_outputs_exactly() -> None:
    plain = SnarReactor()
    off = SnarReactor(sensor_offset_m_per_h=0.0)
    assert not off.clocked and SnarReactor(sensor_offset_m_per_h=0.01).clocked
    for seed in range(10):
        params = design(0.5 + 0.15 * seed, 1.0 + 0.4 * seed, 0.1 + 0.04 * seed, 30.0 + 9 * seed)
        assert off.evaluate(params, seed=seed, at_s=1e6) == plain.evaluate(params, seed=seed)


def test_sensor_offset_grows_with_campaign_time_and_leaves_the_process_alone() -> None:
    sim = SnarReactor(sensor_offset_m_per_h=0.005, noise=0.0, failures=False)
    params = design(1.0, 2.0, 0.3, 80.0)
    readings = [sim.evaluate(params, seed=1, at_s=h * 3600.0) for h in (0.0, 1.0, 4.0)]
    sty = [r.values["sty"] for r in readings if isinstance(r, Outcome)]
    assert sty[0] < sty[1] < sty[2]
    assert sty[0] == pytest.approx(
        SnarReactor(noise=0.0, failures=False).evaluate(params, seed=1).values["sty"]
    )  # type: ignore[union-attr]
    with pytest.raises(InvalidCampaign, match="sensor_offset_m_per_h"):
        SnarReactor(sensor_offset_m_per_h=2.0)
