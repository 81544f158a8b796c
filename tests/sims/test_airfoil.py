"""The airfoil wind tunnel: CST geometry, NeuralFoil aerodynamics, noise, failures, reference."""

from __future__ import annotations

import json
import math
import sys
from importlib import resources

import numpy as np
import pytest

pytest.importorskip("neuralfoil", reason="the airfoil simulator needs daedalus[aero] (NeuralFoil)")

import aerosandbox as asb  # installed with neuralfoil
from aerosandbox.geometry.airfoil.airfoil_families import get_kulfan_coordinates

from daedalus.errors import InvalidCampaign, InvalidParams
from daedalus.events import Cause
from daedalus.machines.base import Failure, Outcome
from daedalus.sims import airfoil
from daedalus.sims.airfoil import (
    AirfoilTunnel,
    airfoil_batch,
    airfoil_model,
    airfoil_problem,
    bernstein,
    cosine_stations,
    elevation_matrix,
    kulfan_weights,
    neuralfoil_aero,
    surface_ordinates,
    thickness_ratio,
    thinnest_section,
)
from daedalus.sims.base import Simulator
from daedalus.testing.machine_contract import check_simulator, sample_designs


def design(
    camber: tuple[float, float, float],
    thickness: tuple[float, float, float],
    alpha_deg: float,
) -> dict[str, float]:
    names = (*airfoil.CAMBER, *airfoil.THICKNESS, "alpha_deg")
    return dict(zip(names, (*camber, *thickness, alpha_deg), strict=True))


CAMBERED = design((0.04, 0.15, 0.11), (0.345, 0.278, 0.282), 4.0)  # close to NACA 4412
SYMMETRIC = (0.0, 0.0, 0.0)
CROSSING = design((0.0, 0.1, 0.1), (0.3, 0.0, -0.1), 4.0)
SEPARATED = design((0.15, 0.15, 0.1), (0.2, 0.3, 0.3), 12.0)


def kulfan_of(name: str) -> dict[str, np.ndarray]:
    """NeuralFoil's own route from a named airfoil to 8 + 8 Kulfan weights (AeroSandbox fit)."""
    params = asb.Airfoil(name).to_kulfan_airfoil(n_weights_per_side=8).kulfan_parameters
    return {k: np.asarray(v, dtype=float) for k, v in params.items()}


def test_cst_surfaces_match_aerosandbox_which_neuralfoil_was_trained_on() -> None:
    kp = kulfan_of("naca4412")
    expected = get_kulfan_coordinates(
        lower_weights=kp["lower_weights"],
        upper_weights=kp["upper_weights"],
        leading_edge_weight=float(kp["leading_edge_weight"]),
        TE_thickness=float(kp["TE_thickness"]),
        n_points_per_side=101,
    )
    x = expected[:101, 0][::-1]  # Selig order: upper surface from the trailing edge forward
    y_upper, y_lower = surface_ordinates(
        kp["upper_weights"],
        kp["lower_weights"],
        x,
        leading_edge_weight=float(kp["leading_edge_weight"]),
        te_thickness=float(kp["TE_thickness"]),
    )
    np.testing.assert_allclose(y_upper, expected[:101, 1][::-1], atol=1e-12)
    np.testing.assert_allclose(y_lower, expected[100:, 1], atol=1e-12)


@pytest.mark.parametrize("degree", [0, 1, 2, 5])
def test_degree_elevation_keeps_the_curve(degree: int) -> None:
    weights = np.random.default_rng(degree).normal(size=degree + 1)
    x = cosine_stations(201)
    elevated = elevation_matrix(degree, 7) @ weights
    np.testing.assert_allclose(elevated @ bernstein(7, x), weights @ bernstein(degree, x))


def test_bernstein_polynomials_partition_unity() -> None:
    np.testing.assert_allclose(bernstein(7, cosine_stations(51)).sum(axis=0), 1.0)


def test_zero_camber_gives_mirror_surfaces() -> None:
    upper, lower = kulfan_weights(SYMMETRIC, (0.3, 0.25, 0.2))
    np.testing.assert_allclose(upper, -lower)


@pytest.mark.parametrize(("name", "t_over_c"), [("naca0012", 0.12), ("naca4412", 0.12)])
def test_thickness_ratio_of_known_airfoils(name: str, t_over_c: float) -> None:
    kp = kulfan_of(name)
    ours = float(
        thickness_ratio(kp["upper_weights"], kp["lower_weights"], te_thickness=kp["TE_thickness"])
    )
    assert ours == pytest.approx(t_over_c, abs=0.002)
    fitted = asb.KulfanAirfoil(name="fit", **kp).max_thickness()
    assert ours == pytest.approx(float(fitted), abs=5e-4)


def test_thickness_scales_linearly_with_the_thickness_weights() -> None:
    thin = airfoil_model(design((0.02, 0.1, 0.1), (0.2, 0.2, 0.2), 2.0))["thickness_ratio"]
    thick = airfoil_model(design((0.02, 0.1, 0.1), (0.4, 0.4, 0.4), 2.0))["thickness_ratio"]
    # sqrt(x)(1 - x) peaks at x = 1/3 with 2 / (3 sqrt 3) = 0.385; plus the 0.25 % c edge.
    assert thin == pytest.approx(0.2 * 0.3849 + 0.0025 / 3, abs=2e-4)
    assert thick - 0.0025 / 3 == pytest.approx(2 * (thin - 0.0025 / 3), rel=1e-3)


def test_naca4412_coefficients_at_5_degrees_and_re_1e6() -> None:
    kp = kulfan_of("naca4412")
    out = neuralfoil_aero(
        kp["upper_weights"],
        kp["lower_weights"],
        5.0,
        reynolds=1e6,
        leading_edge_weight=kp["leading_edge_weight"],
        te_thickness=kp["TE_thickness"],
    )
    # reference/worlds.md section 3 (all NeuralFoil sizes): CL 1.00-1.02, CD 0.0077-0.0084.
    assert float(out["cl"][0]) == pytest.approx(1.0, abs=0.04)
    assert float(out["cd"][0]) == pytest.approx(0.008, abs=0.0008)
    assert float(out["confidence"][0]) > 0.9


@pytest.mark.parametrize("camber", [SYMMETRIC, (0.04, 0.15, 0.11), (0.02, 0.22, 0.56)])
def test_lift_rises_with_alpha_at_about_two_pi_per_radian(
    camber: tuple[float, float, float],
) -> None:
    alphas = np.linspace(-2.0, 4.0, 7)
    cl = [airfoil_model(design(camber, (0.35, 0.25, 0.2), float(a)))["cl"] for a in alphas]
    slopes = np.diff(cl) / np.diff(alphas)
    assert np.all(slopes > 0)
    assert float(np.mean(slopes)) == pytest.approx(2 * math.pi * math.pi / 180, rel=0.2)


def test_a_symmetric_airfoil_has_no_lift_at_zero_alpha_and_odd_lift() -> None:
    at = [airfoil_model(design(SYMMETRIC, (0.3, 0.3, 0.3), a)) for a in (-3.0, 0.0, 3.0)]
    assert abs(at[1]["cl"]) < 1e-6
    assert at[0]["cl"] == pytest.approx(-at[2]["cl"], rel=1e-6)
    assert at[0]["cd"] == pytest.approx(at[2]["cd"], rel=1e-6)
    assert at[1]["cd"] < at[2]["cd"]


def test_camber_adds_lift_at_fixed_alpha() -> None:
    cl = [
        airfoil_model(design((0.0, c, c), (0.35, 0.25, 0.2), 2.0))["cl"]
        for c in (0.0, 0.1, 0.2, 0.3)
    ]
    assert np.all(np.diff(cl) > 0.1)


def test_batch_and_single_evaluations_agree() -> None:
    designs = sample_designs(airfoil_problem(), 8, seed=3)
    batch = airfoil_batch([[d[n] for n in airfoil.NAMES] for d in designs])
    for i, params in enumerate(designs):
        single = airfoil_model(params)
        for key, values in batch.items():
            assert single[key] == pytest.approx(float(values[i]), rel=1e-9, abs=1e-12), key


def test_crossing_surfaces_are_detected_where_they_cross() -> None:
    upper, lower = kulfan_weights((0.0, 0.1, 0.1), (0.3, 0.0, -0.1))
    thinnest, where = thinnest_section(upper, lower)
    assert float(thinnest) < 0.0
    assert 0.5 < float(where) < 1.0
    x = np.array([float(where)])
    y_upper, y_lower = surface_ordinates(upper, lower, x)
    assert float(y_upper[0]) < float(y_lower[0])
    ok_upper, ok_lower = kulfan_weights((0.04, 0.15, 0.11), (0.345, 0.278, 0.282))
    assert float(thinnest_section(ok_upper, ok_lower)[0]) > 0.0


def test_a_crossing_shape_fails_as_unbuildable_before_the_tunnel() -> None:
    result = AirfoilTunnel().evaluate(CROSSING, seed=0)
    assert isinstance(result, Failure)
    assert result.cause is Cause.INFEASIBLE
    assert result.reason.startswith("unbuildable")
    assert result.duration_s == airfoil.DESIGN_CHECK_S


def test_a_low_confidence_analysis_fails_as_infeasible_every_time() -> None:
    assert airfoil_model(SEPARATED)["confidence"] < airfoil.MIN_CONFIDENCE
    sim = AirfoilTunnel()
    for seed in range(20):
        result = sim.evaluate(SEPARATED, seed=seed)
        assert isinstance(result, Failure)
        assert result.cause is Cause.INFEASIBLE  # deterministic in the design: no retry helps
        assert result.reason.startswith("analysis did not converge")
        assert result.duration_s == airfoil.MODEL_CHANGE_S + airfoil.TUNNEL_RUN_S


@pytest.mark.parametrize("params", [CROSSING, SEPARATED])
def test_failures_off_returns_the_model_numbers(params: dict[str, float]) -> None:
    result = AirfoilTunnel(noise=0.0, failures=False).evaluate(params, seed=0)
    model = airfoil_model(params)
    assert isinstance(result, Outcome)
    assert result.values["lift_to_drag"] == pytest.approx(model["lift_to_drag"], rel=1e-12)


def test_failure_rates_over_the_space() -> None:
    sim = AirfoilTunnel()
    results = [sim.evaluate(d, seed=i) for i, d in enumerate(sample_designs(sim.problem, 512))]

    def share(prefix: str) -> float:
        hits = [r for r in results if isinstance(r, Failure) and r.reason.startswith(prefix)]
        return len(hits) / len(results)

    assert 0.02 < share("unbuildable") < 0.10
    assert 0.15 < share("analysis did not converge") < 0.35
    assert share("balance data lost") < 0.03
    assert 0.55 < sum(isinstance(r, Outcome) for r in results) / len(results) < 0.85


@pytest.mark.parametrize(("fault_rate", "low", "high"), [(0.01, 0.004, 0.018), (0.1, 0.085, 0.115)])
def test_tunnel_fault_rate_is_near_its_setting(fault_rate: float, low: float, high: float) -> None:
    sim = AirfoilTunnel(fault_rate=fault_rate)
    results = [sim.evaluate(CAMBERED, seed=s) for s in range(3000)]
    faults = [r for r in results if isinstance(r, Failure)]
    assert all(r.cause is Cause.MACHINE_FAULT for r in faults)
    assert all(600.0 < r.duration_s < 1200.0 for r in faults)
    assert low < len(faults) / len(results) < high


def test_noise_has_the_configured_relative_spread() -> None:
    sim = AirfoilTunnel(noise=0.02, failures=False)
    truth = airfoil_model(CAMBERED)
    outcomes = [sim.evaluate(CAMBERED, seed=s) for s in range(600)]
    values = [r.values for r in outcomes if isinstance(r, Outcome)]
    log_cd = np.log([v["cd"] / truth["cd"] for v in values])
    log_cl = np.log([v["cl"] / truth["cl"] for v in values])
    assert abs(log_cd.mean()) < 0.003 and 0.017 < log_cd.std() < 0.023
    assert abs(log_cl.mean()) < 0.0015 and 0.0085 < log_cl.std() < 0.0115
    assert all(v["lift_to_drag"] == pytest.approx(v["cl"] / v["cd"]) for v in values)
    assert {v["thickness_ratio"] for v in values} == {truth["thickness_ratio"]}


def test_same_seed_same_result_and_seeds_differ() -> None:
    first = [AirfoilTunnel().evaluate(CAMBERED, seed=s) for s in range(30)]
    again = [AirfoilTunnel().evaluate(CAMBERED, seed=s) for s in range(30)]
    assert first == again
    assert len({r.values["cd"] for r in first if isinstance(r, Outcome)}) >= 25


def test_noiseless_failure_free_simulator_equals_the_model() -> None:
    result = AirfoilTunnel(noise=0.0, failures=False).evaluate(CAMBERED, seed=5)
    model = airfoil_model(CAMBERED)
    assert isinstance(result, Outcome)
    assert result.values == {k: model[k] for k in ("lift_to_drag", "cl", "cd", "thickness_ratio")}
    assert result.duration_s == 1200.0


def test_reference_fixture_ships_with_the_package() -> None:
    fixture = resources.files("daedalus.sims").joinpath("data", "airfoil_reference.json")
    data = json.loads(fixture.read_text())
    assert data["source"] == "scripts/make_airfoil_reference.py"
    assert data["method"] and data["evaluations"] > 10_000


def test_reference_is_reproduced_by_the_noiseless_model() -> None:
    problem = airfoil_problem()
    reference = problem.reference
    assert reference is not None
    assert 150.0 < reference.value < 180.0
    model = airfoil_model(reference.params)
    assert model["lift_to_drag"] == pytest.approx(reference.value, rel=1e-9)
    assert model["confidence"] >= airfoil.MIN_CONFIDENCE
    assert model["min_thickness"] > 0.0
    result = AirfoilTunnel(noise=0.0).evaluate(reference.params, seed=0)
    assert isinstance(result, Outcome)  # a successful run, not a failure
    assert problem.goal.is_feasible(result.values)
    assert problem.regret(result.values["lift_to_drag"]) == pytest.approx(0.0, abs=1e-6)


def test_no_sampled_design_beats_the_reference() -> None:
    reference = airfoil_problem().reference
    assert reference is not None
    designs = sample_designs(airfoil_problem(), 2048, seed=11)
    out = airfoil_batch([[d[n] for n in airfoil.NAMES] for d in designs])
    ok = (
        (out["thickness_ratio"] >= 0.10)
        & (out["confidence"] >= airfoil.MIN_CONFIDENCE)
        & (out["min_thickness"] >= 0.0)
    )
    assert ok.sum() > 500
    assert float(out["lift_to_drag"][ok].max()) < reference.value


def test_is_a_simulator_that_keeps_the_contract() -> None:
    sim = AirfoilTunnel()
    assert isinstance(sim, Simulator)
    assert sim.problem.name == "airfoil"
    assert sim.problem.goal.metrics == ("lift_to_drag", "thickness_ratio")
    check_simulator(sim)


def test_a_missing_neuralfoil_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "neuralfoil", None)  # makes `import neuralfoil` fail
    airfoil._neuralfoil.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"daedalus\[aero\]"):
            AirfoilTunnel()
    finally:
        airfoil._neuralfoil.cache_clear()


@pytest.mark.parametrize(
    "params",
    [
        {k: v for k, v in CAMBERED.items() if k != "alpha_deg"},
        {**CAMBERED, "alpha_deg": 13.0},
        {**CAMBERED, "camber_aft": math.nan},
        {**CAMBERED, "mach": 0.1},
    ],
)
def test_invalid_designs_are_refused(params: dict[str, float]) -> None:
    with pytest.raises(InvalidParams):
        AirfoilTunnel().evaluate(params, seed=0)


@pytest.mark.parametrize(
    "options",
    [{"noise": -0.1}, {"noise": "high"}, {"failures": "yes"}, {"fault_rate": 1.5}],
)
def test_invalid_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(InvalidCampaign):
        AirfoilTunnel(**options)  # type: ignore[arg-type]
