"""The 10-bar truss: statics by hand, stiffness properties, scaling laws, reference, failures."""

from __future__ import annotations

import itertools
import json
import math
import runpy
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from daedalus.errors import InvalidCampaign, InvalidParams
from daedalus.events import Cause
from daedalus.machines.base import Failure, Outcome
from daedalus.sims.base import Simulator
from daedalus.sims.truss import (
    AREA_NAMES,
    MEMBERS,
    TenBarTruss,
    member_lengths_in,
    stiffness_matrix,
    truss_model,
    truss_problem,
    truss_response,
    truss_sensitivities,
    truss_weight_lb,
)
from daedalus.testing.machine_contract import check_simulator

SCRIPT = Path(__file__).parents[2] / "scripts" / "make_truss_reference.py"
LITERATURE_LB = 5060.85
LITERATURE_AREAS = (30.52, 0.1, 23.20, 15.22, 0.1, 0.55, 7.46, 21.04, 21.53, 0.1)
RNG = np.random.default_rng(20240601)
RANDOM_AREAS = [RNG.uniform(0.1, 35.0, 10) for _ in range(5)]


def design(areas: object) -> dict[str, float]:
    return {name: float(a) for name, a in zip(AREA_NAMES, np.broadcast_to(areas, 10), strict=True)}


def reference_design() -> dict[str, float]:
    reference = truss_problem().reference
    assert reference is not None
    return {k: float(v) for k, v in reference.params.items()}


def test_member_lengths_are_the_bays_and_their_diagonals() -> None:
    diagonal = 360.0 * math.sqrt(2.0)
    expected = [360.0] * 6 + [diagonal] * 4
    np.testing.assert_allclose(member_lengths_in(), expected)


def test_weight_is_rho_times_sum_of_area_times_length() -> None:
    assert truss_weight_lb(np.ones(10)) == pytest.approx(0.1 * (6 * 360.0 + 4 * 360.0 * 2**0.5))


@pytest.mark.parametrize("scale", [0.5, 2.0, 3.7])
def test_weight_is_linear_in_the_areas(scale: float) -> None:
    x, y = RANDOM_AREAS[0], RANDOM_AREAS[1]
    assert truss_weight_lb(scale * x + y) == pytest.approx(
        scale * truss_weight_lb(x) + truss_weight_lb(y), rel=1e-12
    )


# Members 7 (4-5) and 10 (1-4) removed (areas near zero): a determinate Pratt truss, solved by
# the method of joints. Forces in kip, tension positive; 141.42 = 100 sqrt(2).
DETERMINATE_FORCES_KIP = {
    1: 300.0,
    2: 0.0,
    3: -100.0,
    4: -100.0,
    5: 100.0,
    6: 0.0,
    8: -200.0 * math.sqrt(2.0),
    9: 100.0 * math.sqrt(2.0),
}


@pytest.mark.parametrize("areas", [np.full(10, 10.0), RANDOM_AREAS[2]])
def test_determinate_truss_forces_match_the_method_of_joints(areas: np.ndarray) -> None:
    areas = areas.copy()
    areas[[6, 9]] = 1e-9
    forces_kip = truss_response(areas).stresses_psi * areas / 1000.0
    for member, force in DETERMINATE_FORCES_KIP.items():
        assert forces_kip[member - 1] == pytest.approx(force, abs=1e-6), member


@pytest.mark.parametrize("areas", RANDOM_AREAS)
def test_support_reactions_balance_the_loads(areas: np.ndarray) -> None:
    # Moments about node 6: 100 kip at x = 720 and x = 360 need 300 kip horizontally at node 5.
    u = truss_response(areas).displacements_in.ravel()
    reactions_kip = (stiffness_matrix(areas, supported=False) @ u)[8:] / 1000.0
    rx5, ry5, rx6, ry6 = reactions_kip
    assert rx5 == pytest.approx(-300.0, abs=1e-6)
    assert rx6 == pytest.approx(300.0, abs=1e-6)
    assert ry5 + ry6 == pytest.approx(200.0, abs=1e-6)


@pytest.mark.parametrize("areas", RANDOM_AREAS[:3])
def test_stiffness_is_symmetric_singular_unsupported_and_positive_definite_supported(
    areas: np.ndarray,
) -> None:
    full = stiffness_matrix(areas, supported=False)
    assert full.shape == (12, 12)
    np.testing.assert_allclose(full, full.T, rtol=0, atol=1e-9 * np.abs(full).max())
    eigenvalues = np.linalg.eigvalsh(full)
    assert np.sum(np.abs(eigenvalues) < 1e-9 * eigenvalues.max()) == 3  # rigid-body modes
    supported = stiffness_matrix(areas)
    assert supported.shape == (8, 8)
    assert np.linalg.eigvalsh(supported).min() > 0


@pytest.mark.parametrize("factor", [0.5, 1.3, 4.0])
def test_displacements_scale_as_one_over_e_and_stresses_do_not_change(factor: float) -> None:
    areas = RANDOM_AREAS[3]
    base, stiffer = truss_response(areas, 1e7), truss_response(areas, factor * 1e7)
    np.testing.assert_allclose(stiffer.displacements_in, base.displacements_in / factor, rtol=1e-9)
    np.testing.assert_allclose(stiffer.stresses_psi, base.stresses_psi, rtol=1e-9)


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_stresses_and_displacements_scale_as_one_over_uniform_area(scale: float) -> None:
    areas = RANDOM_AREAS[4]
    base, scaled = truss_response(areas), truss_response(scale * areas)
    np.testing.assert_allclose(scaled.stresses_psi, base.stresses_psi / scale, rtol=1e-9)
    np.testing.assert_allclose(scaled.displacements_in, base.displacements_in / scale, rtol=1e-9)


def test_heavier_uniform_trusses_are_stronger_and_stiffer() -> None:
    outs = [truss_model(design(a)) for a in (2.0, 5.0, 10.0, 20.0, 35.0)]
    for lighter, heavier in itertools.pairwise(outs):
        assert heavier["weight_lb"] > lighter["weight_lb"]
        assert heavier["max_stress_ksi"] < lighter["max_stress_ksi"]
        assert heavier["max_displacement_in"] < lighter["max_displacement_in"]


@pytest.mark.parametrize("areas", RANDOM_AREAS[:2])
def test_sensitivities_match_finite_differences(areas: np.ndarray) -> None:
    dstress, ddisp = truss_sensitivities(areas)
    for j in range(10):
        step = 1e-6 * areas[j]
        up, down = areas.copy(), areas.copy()
        up[j] += step
        down[j] -= step
        hi, lo = truss_response(up), truss_response(down)
        fd_stress = (hi.stresses_psi - lo.stresses_psi) / (2 * step)
        fd_disp = (hi.free_displacements_in - lo.free_displacements_in) / (2 * step)
        # Finite differences lose about 1e-6 of the column's scale to round-off.
        np.testing.assert_allclose(dstress[:, j], fd_stress, atol=1e-5 * np.abs(fd_stress).max())
        np.testing.assert_allclose(ddisp[:, j], fd_disp, atol=1e-5 * np.abs(fd_disp).max())


def test_reference_fixture_matches_the_literature_optimum() -> None:
    fixture = resources.files("daedalus.sims").joinpath("data", "truss_reference.json")
    data = json.loads(fixture.read_text())
    assert data["source"] == "scripts/make_truss_reference.py"
    assert data["value"] == pytest.approx(LITERATURE_LB, abs=0.01)
    areas = [data["params"][name] for name in AREA_NAMES]
    np.testing.assert_allclose(areas, LITERATURE_AREAS, atol=0.006)


def test_reference_is_feasible_and_active_in_the_noiseless_model() -> None:
    problem = truss_problem()
    out = truss_model(reference_design())
    assert problem.goal.is_feasible(out)
    assert out["max_stress_ksi"] == pytest.approx(25.0, rel=1e-6)
    assert out["max_displacement_in"] == pytest.approx(2.0, rel=1e-6)
    assert problem.reference is not None
    assert out["weight_lb"] == pytest.approx(problem.reference.value, rel=1e-12)


def test_own_multi_start_slsqp_reproduces_the_reference() -> None:
    script = runpy.run_path(str(SCRIPT))
    weight, areas = script["multi_start"](12, 7)[0]
    reference = truss_problem().reference
    assert reference is not None
    assert weight == pytest.approx(reference.value, abs=0.01)
    assert weight == pytest.approx(LITERATURE_LB, abs=0.01)
    np.testing.assert_allclose(areas, LITERATURE_AREAS, atol=0.006)


def test_the_reference_is_locally_optimal() -> None:
    """Shrinking any member above the minimum gauge by 0.5 % breaks a limit: the reference is
    a constrained minimum, not merely lighter than random designs."""
    problem, reference = truss_problem(), truss_problem().reference
    assert reference is not None
    areas = np.array([reference.params[f"area_{i}_in2"] for i in range(1, 11)], dtype=float)
    for i in np.flatnonzero(areas > 0.11):
        lighter = areas.copy()
        lighter[i] *= 0.995
        assert not problem.goal.is_feasible(truss_model(design(lighter))), f"member {i + 1}"


def test_no_random_feasible_design_beats_the_reference() -> None:
    problem, reference = truss_problem(), truss_problem().reference
    assert reference is not None
    rng = np.random.default_rng(3)
    outs = [truss_model(design(rng.uniform(0.1, 35.0, 10))) for _ in range(2000)]
    feasible = [out["weight_lb"] for out in outs if problem.goal.is_feasible(out)]
    assert len(feasible) > 100
    assert min(feasible) > reference.value


def test_is_a_simulator_with_the_truss_problem() -> None:
    sim = TenBarTruss()
    assert isinstance(sim, Simulator)
    assert sim.problem.name == "truss"
    assert sim.problem.goal.metrics == ("weight_lb", "max_stress_ksi", "max_displacement_in")


def test_keeps_the_simulator_contract() -> None:
    check_simulator(TenBarTruss())


def test_noiseless_nominal_simulator_equals_the_model() -> None:
    sim = TenBarTruss(noise=0.0, modulus_cv=0.0)
    params = design(RANDOM_AREAS[0])
    result = sim.evaluate(params, seed=11)
    assert isinstance(result, Outcome)
    assert result.values == pytest.approx(truss_model(params), rel=1e-12)
    assert result.duration_s == 1800.0


def test_same_seed_same_result_and_seeds_differ() -> None:
    params = design(20.0)
    first = [TenBarTruss().evaluate(params, seed=s) for s in range(30)]
    again = [TenBarTruss().evaluate(params, seed=s) for s in range(30)]
    assert first == again
    stresses = {r.values["max_stress_ksi"] for r in first if isinstance(r, Outcome)}
    assert len(stresses) == 30


@pytest.mark.parametrize("noise", [0.002, 0.01])
def test_weight_reading_has_the_configured_spread(noise: float) -> None:
    sim = TenBarTruss(noise=noise, modulus_cv=0.0, failures=False)
    params = design(20.0)
    truth = truss_model(params)["weight_lb"]
    weights = [sim.evaluate(params, seed=s) for s in range(400)]
    relative = np.array(
        [r.values["weight_lb"] / truth - 1 for r in weights if isinstance(r, Outcome)]
    )
    assert abs(relative.mean()) < 0.25 * noise
    assert 0.85 * noise < relative.std() < 1.15 * noise


def test_modulus_scatter_moves_displacements_by_about_its_cv() -> None:
    sim = TenBarTruss(noise=0.0, modulus_cv=0.02, failures=False)
    params = design(20.0)
    truth = truss_model(params)["max_displacement_in"]
    outs = [sim.evaluate(params, seed=s) for s in range(300)]
    relative = np.array(
        [r.values["max_displacement_in"] / truth - 1 for r in outs if isinstance(r, Outcome)]
    )
    assert abs(relative.mean()) < 0.003
    assert 0.004 < relative.std() < 0.02  # an average over several members of 2 % scatter


def break_rate(params: dict[str, float], n: int = 300, **options: object) -> float:
    sim = TenBarTruss(**options)  # type: ignore[arg-type]
    results = [sim.evaluate(params, seed=s) for s in range(n)]
    return sum(isinstance(r, Failure) and r.cause is Cause.INFEASIBLE for r in results) / n


@pytest.mark.parametrize(
    ("areas", "low", "high"),
    [
        (7.0, 1.0, 1.0),  # member 3 at 29.2 ksi: always beyond 27.5
        (7.44, 0.3, 0.75),  # member 3 at 27.5 ksi: the scatter decides
        (8.0, 0.0, 0.0),  # 25.6 ksi: over the limit but within the margin
        (20.0, 0.0, 0.0),
    ],
)
def test_break_rate_of_uniform_trusses(areas: float, low: float, high: float) -> None:
    assert low <= break_rate(design(areas)) <= high


def test_break_rate_is_small_at_the_reference_and_high_when_lightened() -> None:
    assert break_rate(reference_design(), n=400) <= 0.02
    lightened = {k: max(0.1, 0.88 * v) for k, v in reference_design().items()}
    assert 0.5 <= break_rate(lightened, n=200) <= 0.95


def test_a_break_names_the_member_and_ends_during_the_ramp() -> None:
    sim = TenBarTruss()
    results = [sim.evaluate(design(7.0), seed=s) for s in range(20)]
    for failure in results:
        assert isinstance(failure, Failure)
        assert failure.cause is Cause.INFEASIBLE
        assert failure.reason.startswith("member 3 (nodes 4-6) broke in compression")
        assert 600.0 < failure.duration_s < 1200.0
    assert MEMBERS[2] == (4, 6)


def test_failures_off_never_fails() -> None:
    assert break_rate(design(2.0), n=50, failures=False) == 0.0


@pytest.mark.parametrize(
    "params",
    [
        design(0.05),
        design(36.0),
        {name: 1.0 for name in AREA_NAMES[:9]},
        {**design(1.0), "area_11_in2": 1.0},
        design(math.nan),
    ],
)
def test_invalid_designs_are_refused(params: dict[str, float]) -> None:
    with pytest.raises(InvalidParams):
        TenBarTruss().evaluate(params, seed=0)


@pytest.mark.parametrize(
    "options",
    [
        {"noise": -0.1},
        {"noise": "low"},
        {"modulus_cv": 0.5},
        {"failures": 1},
        {"break_margin": math.inf},
    ],
)
def test_invalid_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(InvalidCampaign):
        TenBarTruss(**options)  # type: ignore[arg-type]
