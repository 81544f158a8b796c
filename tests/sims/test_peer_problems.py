"""Ackley10, BraninCat and PressureVessel: each optimum is attained where stated, and no better
design turns up in a dense or random search of the space."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from daedalus.errors import InvalidParams
from daedalus.machines.base import Outcome
from daedalus.sims.functions import (
    BRANIN_CAT_SURFACES,
    BRANIN_MINIMIZERS,
    BRANIN_MINIMUM,
    VESSEL_HEAD_RATIO,
    VESSEL_LITERATURE_BEST,
    VESSEL_MIN_VOLUME_IN3,
    VESSEL_PLATE_IN,
    VESSEL_SHELL_RATIO,
    Ackley10,
    BraninCat,
    PressureVessel,
    ackley,
    branin_cat,
    vessel_cost,
    vessel_volume_in3,
)
from daedalus.sims.registry import get_simulator


def _values(sim: object, params: dict[str, object]) -> dict[str, float]:
    result = sim.evaluate(params, seed=0)  # type: ignore[attr-defined]
    assert isinstance(result, Outcome)
    return dict(result.values)


@pytest.mark.parametrize("name", ["ackley10", "branin_cat", "pressure_vessel"])
def test_reference_is_attained_and_feasible_at_its_design(name: str) -> None:
    problem = get_simulator(name).problem
    reference = problem.reference
    assert reference is not None and reference.source
    values = _values(get_simulator(name), dict(reference.params))
    assert problem.goal.is_feasible(values)
    assert values[problem.goal.primary.name] == pytest.approx(reference.value, abs=1e-9)
    assert problem.space.contains(reference.params)


# -- Ackley10 -----------------------------------------------------------------------------------


def test_ackley_is_zero_at_the_origin_and_positive_elsewhere() -> None:
    assert ackley([0.0] * 10) == pytest.approx(0.0, abs=1e-12)
    rng = np.random.default_rng(0)
    points = rng.uniform(-5.0, 10.0, size=(20000, 10))
    assert min(ackley(p) for p in points) > 0.1
    # The integer lattice holds Ackley's local minima; the origin is the lowest of them.
    for point in np.eye(10):
        assert ackley(point) > ackley([0.0] * 10) + 1.0


def test_ackley10_space_is_the_benchmark_box() -> None:
    space = Ackley10().problem.space
    assert len(space) == 10
    assert {(p.low, p.high) for p in space.parameters} == {(-5.0, 10.0)}  # type: ignore[union-attr]


# -- BraninCat ----------------------------------------------------------------------------------


@pytest.mark.parametrize("surface", list(BRANIN_CAT_SURFACES))
def test_branin_cat_minimum_on_each_surface_is_branins_plus_its_offset(surface: str) -> None:
    mirror, flip, offset = BRANIN_CAT_SURFACES[surface]
    x1 = np.linspace(-5.0, 10.0, 601)
    x2 = np.linspace(0.0, 15.0, 601)
    grid = min(branin_cat(surface, a, b) for a in x1[::5] for b in x2[::5])
    assert grid >= BRANIN_MINIMUM + offset - 1e-12
    for m1, m2 in BRANIN_MINIMIZERS:
        at = (5.0 - m1 if mirror else m1, 15.0 - m2 if flip else m2)
        assert branin_cat(surface, *at) == pytest.approx(BRANIN_MINIMUM + offset, abs=1e-9)


def test_branin_cat_global_minimum_is_on_the_mirrored_surface_only() -> None:
    sim = BraninCat()
    rng = np.random.default_rng(1)
    for surface in BRANIN_CAT_SURFACES:
        best = math.inf
        for start in rng.uniform([-5.0, 0.0], [10.0, 15.0], size=(30, 2)):
            result = minimize(
                lambda x, s=surface: branin_cat(s, x[0], x[1]),
                start,
                bounds=[(-5.0, 10.0), (0.0, 15.0)],
                method="L-BFGS-B",
            )
            best = min(best, float(result.fun))
        expected = BRANIN_MINIMUM + BRANIN_CAT_SURFACES[surface][2]
        assert best == pytest.approx(expected, abs=1e-6)
    assert sim.problem.reference is not None
    assert sim.problem.reference.params["surface"] == "mirrored"


# -- PressureVessel -----------------------------------------------------------------------------


def _best_cost_per_thickness_pair() -> np.ndarray:
    """For every (Ts, Th) pair of the 1/16 in grid, the least cost over R on a dense grid that
    ends at R's largest feasible value, with L at its least feasible value (cost rises with L)."""
    shell = VESSEL_PLATE_IN * np.arange(1, 100)[:, None, None]
    head = VESSEL_PLATE_IN * np.arange(1, 100)[None, :, None]
    high = np.minimum(200.0, np.minimum(shell / VESSEL_SHELL_RATIO, head / VESSEL_HEAD_RATIO))
    t = np.linspace(0.0, 1.0, 1501)[None, None, :]
    radius = 10.0 + t * (high - 10.0)
    caps = 4.0 / 3.0 * math.pi * radius**3
    length = np.maximum(10.0, (VESSEL_MIN_VOLUME_IN3 - caps) / (math.pi * radius**2))
    cost = vessel_cost(shell, head, radius, length)  # type: ignore[arg-type]
    feasible = (high >= 10.0) & (length <= 200.0)
    return np.asarray(np.where(feasible, cost, np.inf).min(axis=2))


def test_pressure_vessel_optimum_beats_every_thickness_pair() -> None:
    reference = PressureVessel().problem.reference
    assert reference is not None
    best = _best_cost_per_thickness_pair()
    i, j = np.unravel_index(np.argmin(best), best.shape)
    assert (i + 1, j + 1) == (13, 7)
    assert best.min() >= reference.value - 1e-6
    assert best.min() == pytest.approx(reference.value, rel=1e-6)
    assert reference.value == pytest.approx(6059.714335, abs=1e-5)


def test_pressure_vessel_literature_point_is_feasible_and_worse() -> None:
    sim = PressureVessel()
    # Coello & Mezura-Montes 2002: Ts 0.8125, Th 0.4375, R 42.097398, L 176.654047.
    values = _values(
        sim,
        {"shell_16th_in": 13, "head_16th_in": 7, "radius_in": 42.097398, "length_in": 176.654047},
    )
    assert sim.problem.goal.is_feasible(values)
    assert values["cost"] == pytest.approx(VESSEL_LITERATURE_BEST, abs=1e-3)
    assert sim.problem.reference is not None
    assert values["cost"] > sim.problem.reference.value


def test_pressure_vessel_random_feasible_designs_never_beat_the_optimum() -> None:
    sim = PressureVessel()
    reference = sim.problem.reference
    assert reference is not None
    rng = np.random.default_rng(2)
    found = 0
    for _ in range(20000):
        params = {
            "shell_16th_in": int(rng.integers(1, 100)),
            "head_16th_in": int(rng.integers(1, 100)),
            "radius_in": float(rng.uniform(10.0, 200.0)),
            "length_in": float(rng.uniform(10.0, 200.0)),
        }
        if not sim.problem.space.contains(params):
            continue
        values = _values(sim, params)
        if sim.problem.goal.is_feasible(values):
            found += 1
            assert values["cost"] > reference.value
    assert found > 1000


def test_pressure_vessel_thickness_rules_are_linear_constraints_of_the_space() -> None:
    sim = PressureVessel()
    thin = {"shell_16th_in": 1, "head_16th_in": 99, "radius_in": 100.0, "length_in": 100.0}
    with pytest.raises(InvalidParams, match="violates linear constraints"):
        sim.evaluate(thin, seed=0)
    assert vessel_volume_in3(10.0, 10.0) < VESSEL_MIN_VOLUME_IN3
    assert [str(c) for c in sim.problem.goal.constraints] == ["volume_in3 >= 1.296e+06"]
