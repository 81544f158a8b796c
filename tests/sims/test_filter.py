"""The Sallen-Key filter: closed forms, the op-amp model against ngspice, the E24 reference,
tolerance yield, oscillation and bench faults."""

from __future__ import annotations

import json
import math
import runpy
import shutil
import statistics
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

from daedalus.errors import InvalidCampaign, InvalidParams
from daedalus.events import Cause
from daedalus.machines.base import Failure, Outcome
from daedalus.sims.base import Simulator
from daedalus.sims.filter import (
    NgspiceError,
    SallenKeyFilter,
    filter_model,
    filter_problem,
    ideal_cutoff_hz,
    ideal_f0_q,
    nominal_values,
    oscillates,
    parts_cost_usd,
    read_sweep,
    response,
    run_ngspice,
    sweep_frequencies_hz,
)
from daedalus.testing.machine_contract import check_simulator

SCRIPT = Path(__file__).parents[2] / "scripts" / "make_filter_reference.py"
needs_ngspice = pytest.mark.skipif(
    shutil.which("ngspice") is None,
    reason="ngspice is not installed: apt-get update && apt-get install -y ngspice",
)


def design(
    r1: float = 33.0,
    r2: float = 33.0,
    c1: float = 6.8,
    c2: float = 3.3,
    rf: float = 0.0,
    r_tol: float = 1.0,
    c_tol: float = 1.0,
) -> dict[str, float]:
    return {
        "r1_kohm": r1,
        "r2_kohm": r2,
        "c1_nf": c1,
        "c2_nf": c2,
        "rf_kohm": rf,
        "resistor_tolerance_pct": r_tol,
        "capacitor_tolerance_pct": c_tol,
    }


def reference_design() -> dict[str, float]:
    reference = filter_problem().reference
    assert reference is not None
    return {k: float(v) for k, v in reference.params.items()}


EQUAL_PARTS = {"r1": 16.0, "r2": 16.0, "c1": 9.1, "c2": 9.1}
TEXTBOOK = design(24.0, 24.0, 9.1, 4.7)  # unity gain, C1 ~ 2 C2, R to the nearest E24


@pytest.mark.parametrize("rf", [0.0, 5.6, 10.0, 15.0, 18.0])
def test_equal_parts_give_q_of_one_over_three_minus_k(rf: float) -> None:
    f0, damping = ideal_f0_q(nominal_values(design(**EQUAL_PARTS, rf=rf)))
    assert float(damping) == pytest.approx(3.0 - (1.0 + rf / 10.0), abs=1e-12)
    assert float(f0) == pytest.approx(1.0 / (2 * math.pi * 16e3 * 9.1e-9), rel=1e-12)


@pytest.mark.parametrize(
    ("rf", "expected"), [(15.0, False), (18.0, False), (20.0, True), (27.0, True)]
)
def test_equal_parts_oscillate_from_a_gain_of_three(rf: float, expected: bool) -> None:
    assert bool(oscillates(nominal_values(design(**EQUAL_PARTS, rf=rf)))) is expected


def test_unity_gain_butterworth_closed_form() -> None:
    # R1 = R2 = R, C1 = 2 Q / (w R), C2 = 1 / (2 Q w R) gives f0 = 1 kHz and Q = 1/sqrt(2).
    w, r, q = 2 * math.pi * 1e3, 10e3, 1 / math.sqrt(2)
    values = np.array([r, r, 2 * q / (w * r), 1 / (2 * q * w * r), 0.0, 10e3])
    f0, damping = ideal_f0_q(values)
    assert float(f0) == pytest.approx(1000.0, rel=1e-12)
    assert 1 / float(damping) == pytest.approx(q, rel=1e-12)


@pytest.mark.parametrize(
    ("q", "ratio"), [(1 / math.sqrt(2), 1.0), (0.5, math.sqrt(math.sqrt(2) - 1)), (2.0, None)]
)
def test_ideal_cutoff_is_the_half_power_point(q: float, ratio: float | None) -> None:
    f3 = float(ideal_cutoff_hz(np.array(1000.0), np.array(q)))
    x = f3 / 1000.0
    assert (1 - x * x) ** 2 + (x / q) ** 2 == pytest.approx(2.0, rel=1e-12)
    if ratio is not None:
        assert f3 == pytest.approx(1000.0 * ratio, rel=1e-12)


@pytest.mark.parametrize("rf", [0.0, 5.6, 15.0])
def test_op_amp_model_tends_to_the_ideal_filter(rf: float) -> None:
    values = nominal_values(design(**EQUAL_PARTS, rf=rf))
    k = 1 + rf / 10
    f0, damping = ideal_f0_q(values)
    f = np.array([1e-6, 100.0, float(f0), 3000.0])
    x = f / float(f0)
    ideal = k / (1 - x * x + 1j * x * float(damping))
    exact = response(values, f)[0]
    assert abs(exact[0]) == pytest.approx(k / (1 + k / 1e5), rel=1e-9)  # finite A0
    np.testing.assert_allclose(exact, ideal, rtol=2e-2 * k)  # GBW 1 MHz: small at 1 kHz


def test_response_rolls_off_at_40_db_per_decade() -> None:
    values = nominal_values(TEXTBOOK)
    high = np.abs(response(values, np.array([20e3, 200e3]))[0])
    assert 20 * math.log10(high[0] / high[1]) == pytest.approx(40.0, abs=0.5)


@pytest.mark.parametrize("params", [TEXTBOOK, design(**EQUAL_PARTS, rf=15.0), design(rf=5.6)])
def test_sweep_reading_equals_the_exact_half_power_and_phase_points(
    params: dict[str, float],
) -> None:
    values = nominal_values(params)
    f3, q = read_sweep(sweep_frequencies_hz(), response(values, sweep_frequencies_hz())[0])
    gain0 = abs(response(values, np.array([1e-4]))[0, 0])

    def relative(f: float) -> float:
        return float(abs(response(values, np.array([f]))[0, 0])) / gain0

    exact_f3 = brentq(lambda f: relative(f) - 2**-0.5, f3 / 1.1, f3 * 1.1, xtol=1e-12)
    phase = brentq(
        lambda f: abs(np.angle(response(values, np.array([f]))[0, 0])) - math.pi / 2, 100, 1e4
    )
    assert f3 == pytest.approx(exact_f3, rel=1e-7)
    assert q == pytest.approx(relative(phase), rel=1e-6)


def test_parts_cost_follows_the_price_table() -> None:
    assert parts_cost_usd(design(r_tol=1.0, c_tol=1.0)) == pytest.approx(0.5 + 2 * 0.02 + 2 * 0.40)
    assert parts_cost_usd(design(rf=5.6, r_tol=0.1, c_tol=1.0)) == pytest.approx(2.30)
    assert parts_cost_usd(design(r_tol=5.0, c_tol=10.0)) < parts_cost_usd(design())


def test_reference_fixture_ships_with_the_package() -> None:
    fixture = resources.files("daedalus.sims").joinpath("data", "filter_reference.json")
    data = json.loads(fixture.read_text())
    assert data["source"] == "scripts/make_filter_reference.py"
    assert data["board_yield"] >= 0.9
    assert data["textbook_design"]["cutoff_error_pct"] > 10 * data["value"]


def test_reference_is_on_the_measured_scale_and_meets_the_limits() -> None:
    """The reference is the expected batch-mean error with part scatter: the simulator's own
    measurements of the reference design average to it."""
    problem = filter_problem()
    assert problem.reference is not None
    nominal = filter_model(reference_design())
    assert nominal["cutoff_error_pct"] < 0.01 < problem.reference.value
    sim = SallenKeyFilter(failures=False)
    measured = [sim.evaluate(reference_design(), seed=seed) for seed in range(40)]
    errors = [m.values["cutoff_error_pct"] for m in measured if isinstance(m, Outcome)]
    assert len(errors) == 40
    assert statistics.fmean(errors) == pytest.approx(problem.reference.value, rel=0.25)
    assert nominal["q_error"] < 0.05
    assert nominal["cost_usd"] <= 2.0
    assert problem.space.contains(reference_design())


def test_no_shortlisted_e24_design_beats_the_reference() -> None:
    script = runpy.run_path(str(SCRIPT))
    shortlist = script["shortlist"]()
    assert len(shortlist) > 100
    fixture = json.loads(
        resources.files("daedalus.sims").joinpath("data", "filter_reference.json").read_text()
    )
    errors = [filter_model({**p, **script["with_tolerances"](p, 1.0, 1.0)}) for p in shortlist]
    assert min(e["cutoff_error_pct"] for e in errors) == pytest.approx(fixture["value"], rel=1e-9)


@pytest.mark.parametrize(
    ("r_tol", "c_tol", "low", "high"),
    [(1.0, 1.0, 0.99, 1.0), (1.0, 5.0, 0.2, 0.6), (5.0, 10.0, 0.05, 0.35)],
)
def test_board_yield_of_the_reference_falls_with_looser_parts(
    r_tol: float, c_tol: float, low: float, high: float
) -> None:
    script = runpy.run_path(str(SCRIPT))
    params = {
        **reference_design(),
        "resistor_tolerance_pct": r_tol,
        "capacitor_tolerance_pct": c_tol,
    }
    board_yield, _ = script["monte_carlo"](params, np.random.default_rng(5))
    assert low <= board_yield <= high


@needs_ngspice
@pytest.mark.parametrize(
    "params", [TEXTBOOK, design(**EQUAL_PARTS, rf=15.0), design(51.0, 36.0, 4.7, 3.0, 1.5)]
)
def test_ngspice_agrees_with_the_analytic_op_amp_model(params: dict[str, float]) -> None:
    values = nominal_values(params)[None, :]
    f, h = run_ngspice(values)
    np.testing.assert_allclose(f, sweep_frequencies_hz(), rtol=1e-7)
    np.testing.assert_allclose(h, response(values, f), rtol=1e-6)
    assert read_sweep(f, h[0]) == pytest.approx(read_sweep(f, response(values, f)[0]), rel=1e-6)


@needs_ngspice
def test_ngspice_butterworth_is_minus_3_db_at_1_khz_and_minus_40_db_at_10_khz() -> None:
    w, r, q = 2 * math.pi * 1e3, 10e3, 1 / math.sqrt(2)
    values = np.array([[r, r, 2 * q / (w * r), 1 / (2 * q * w * r), 0.0, 10e3]])
    f, h = run_ngspice(values)
    f3, measured_q = read_sweep(f, h[0])
    assert f3 == pytest.approx(1000.0, rel=1e-4)
    assert measured_q == pytest.approx(q, rel=3e-3)  # the op-amp's 1 MHz GBW lifts Q 0.14 %
    at_10k = np.interp(4.0, np.log10(f), 20 * np.log10(np.abs(h[0]) / abs(h[0, 0])))
    assert at_10k == pytest.approx(-40.0, abs=0.05)


@needs_ngspice
def test_ngspice_failure_is_an_ngspice_error() -> None:
    with pytest.raises(NgspiceError, match="ngspice"):
        run_ngspice(np.full((1, 6), np.nan))


@needs_ngspice
def test_keeps_the_simulator_contract() -> None:
    sim = SallenKeyFilter()
    assert isinstance(sim, Simulator)
    check_simulator(sim)


@needs_ngspice
def test_noiseless_scatter_free_simulator_reproduces_the_reference() -> None:
    sim = SallenKeyFilter(noise=0.0, scatter=False)
    result = sim.evaluate(reference_design(), seed=4)
    assert isinstance(result, Outcome)
    nominal = filter_model(reference_design())
    assert result.values["cutoff_error_pct"] == pytest.approx(nominal["cutoff_error_pct"], abs=1e-5)
    assert result.values["q_error"] == pytest.approx(nominal["q_error"], abs=1e-7)
    assert result.values["yield_frac"] == 1.0
    assert filter_problem().goal.is_feasible(result.values)
    assert result.duration_s == 600.0 + 10 * (300.0 + 60.0)


@needs_ngspice
def test_same_seed_same_result_and_seeds_differ() -> None:
    first = [SallenKeyFilter().evaluate(TEXTBOOK, seed=s) for s in range(8)]
    again = [SallenKeyFilter().evaluate(TEXTBOOK, seed=s) for s in range(8)]
    assert first == again
    assert len({r.values["cutoff_error_pct"] for r in first if isinstance(r, Outcome)}) == 8


def batch_outcomes(params: dict[str, float], n: int, **options: object) -> list[Outcome]:
    sim = SallenKeyFilter(**options)  # type: ignore[arg-type]
    results = [sim.evaluate(params, seed=s) for s in range(n)]
    assert all(isinstance(r, Outcome) for r in results)
    return [r for r in results if isinstance(r, Outcome)]


@needs_ngspice
def test_reading_noise_has_the_configured_spread() -> None:
    outs = batch_outcomes(reference_design(), 120, noise=0.01, scatter=False, boards=1)
    errors = np.array([o.values["cutoff_error_pct"] for o in outs])
    # |N(0, 1 %)| in percent: mean sqrt(2/pi) = 0.80.
    assert 0.65 < errors.mean() < 0.95


@needs_ngspice
@pytest.mark.parametrize(
    ("r_tol", "c_tol", "low", "high"), [(1.0, 1.0, 0.95, 1.0), (1.0, 5.0, 0.15, 0.65)]
)
def test_batch_yield_follows_the_part_tolerance(
    r_tol: float, c_tol: float, low: float, high: float
) -> None:
    params = {
        **reference_design(),
        "resistor_tolerance_pct": r_tol,
        "capacitor_tolerance_pct": c_tol,
    }
    outs = batch_outcomes(params, 30)
    assert low <= np.mean([o.values["yield_frac"] for o in outs]) <= high


@needs_ngspice
def test_precise_parts_hit_the_cutoff_closer() -> None:
    errors = {}
    for r_tol, c_tol in ((5.0, 10.0), (1.0, 1.0), (0.1, 1.0)):
        params = {**design(39.0, 36.0, 6.2, 3.0), "resistor_tolerance_pct": r_tol,
                  "capacitor_tolerance_pct": c_tol}  # fmt: skip
        outs = batch_outcomes(params, 40)
        errors[r_tol, c_tol] = np.mean([o.values["cutoff_error_pct"] for o in outs])
    # Same seeds, same deviations scaled by the tolerance: the comparison is paired.
    assert errors[0.1, 1.0] < errors[1.0, 1.0] < errors[5.0, 10.0] / 3


@needs_ngspice
@pytest.mark.parametrize("rf", [20.0, 22.0, 27.0])
def test_equal_parts_at_gain_three_or_more_oscillate(rf: float) -> None:
    result = SallenKeyFilter().evaluate(design(**EQUAL_PARTS, rf=rf), seed=0)
    assert isinstance(result, Failure)
    assert result.cause is Cause.INFEASIBLE
    assert "oscillates" in result.reason
    assert 0.0 < result.duration_s < 4200.0


@needs_ngspice
def test_failures_off_sweeps_an_oscillating_design_and_fails_every_board() -> None:
    outs = batch_outcomes(design(**EQUAL_PARTS, rf=27.0), 3, failures=False)
    assert all(o.values["yield_frac"] == 0.0 for o in outs)


@needs_ngspice
def test_an_ngspice_crash_is_a_machine_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = SallenKeyFilter()
    false = shutil.which("false")
    if false is None:
        pytest.skip("no `false` binary to stand in for a crashing ngspice")
    monkeypatch.setattr(sim, "executable", false)
    result = sim.evaluate(TEXTBOOK, seed=0)
    assert isinstance(result, Failure)
    assert result.cause is Cause.MACHINE_FAULT
    assert "ngspice exited with 1" in result.reason


def test_missing_ngspice_names_the_apt_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ImportError, match="apt-get install -y ngspice"):
        SallenKeyFilter()


@needs_ngspice
@pytest.mark.parametrize(
    "params",
    [
        design(r1=10.5),
        design(c_tol=2.0),
        {k: v for k, v in design().items() if k != "rf_kohm"},
        {**design(), "r3_kohm": 10.0},
    ],
)
def test_invalid_designs_are_refused(params: dict[str, float]) -> None:
    with pytest.raises(InvalidParams):
        SallenKeyFilter().evaluate(params, seed=0)


@pytest.mark.parametrize(
    "options",
    [{"noise": -0.1}, {"noise": "low"}, {"failures": "no"}, {"boards": 0}, {"boards": 2.5},
     {"scatter": 1}],
)  # fmt: skip
def test_invalid_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(InvalidCampaign):
        SallenKeyFilter(**options)  # type: ignore[arg-type]
