"""BraninDisc: Branin with infeasible discs over two of its three minima (Atlas's BraninConstr)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from daedalus.events import Cause
from daedalus.machines.base import Failure, Outcome
from daedalus.sims.base import Simulator
from daedalus.sims.functions import (
    BRANIN_MINIMIZERS,
    BRANIN_MINIMUM,
    BraninDisc,
    branin,
    branin_disc_violation,
)

INFEASIBLE_MINIMIZERS = [BRANIN_MINIMIZERS[0], BRANIN_MINIMIZERS[2]]  # (-pi, 12.275), (3 pi, 2.475)
FEASIBLE_MINIMIZER = BRANIN_MINIMIZERS[1]  # (pi, 2.275)


def test_the_three_minimizers_are_branins() -> None:
    expected = ((-math.pi, 12.275), (math.pi, 2.275), (3 * math.pi, 2.475))
    assert expected == BRANIN_MINIMIZERS
    assert all(branin(*x) == pytest.approx(0.397887, abs=1e-6) for x in BRANIN_MINIMIZERS)


@pytest.mark.parametrize(("x1", "x2"), INFEASIBLE_MINIMIZERS)
def test_two_minimizers_are_infeasible(x1: float, x2: float) -> None:
    result = BraninDisc().evaluate({"x1": x1, "x2": x2}, seed=0)
    assert isinstance(result, Failure)
    assert result.cause is Cause.INFEASIBLE
    assert "infeasible disc" in result.reason
    assert result.duration_s == 60.0


def test_the_feasible_optimum_is_at_the_third_minimizer() -> None:
    sim = BraninDisc()
    reference = sim.problem.reference
    assert reference is not None
    assert sim.problem.name == "branin_disc"
    assert reference.value == pytest.approx(0.397887, abs=1e-6)
    assert reference.value == BRANIN_MINIMUM
    assert (reference.params["x1"], reference.params["x2"]) == FEASIBLE_MINIMIZER
    result = sim.evaluate(dict(reference.params), seed=0)
    assert isinstance(result, Outcome)
    assert result.values["value"] == pytest.approx(reference.value, abs=1e-12)


def test_discs_match_atlas_on_the_unit_square() -> None:
    # Atlas's BraninConstr: infeasible where (u0-0.12389382)^2 + (u1-0.81833333)^2 < 0.2^2 or
    # (u0-0.961652)^2 + (u1-0.165)^2 < 0.35^2, with u = ((x1 + 5) / 15, x2 / 15).
    rng = np.random.default_rng(0)
    for u0, u1 in rng.random((4000, 2)):
        atlas = (u0 - 0.12389382) ** 2 + (u1 - 0.81833333) ** 2 < 0.2**2 or (u0 - 0.961652) ** 2 + (
            u1 - 0.165
        ) ** 2 < 0.35**2
        ours = branin_disc_violation(15 * u0 - 5, 15 * u1) is not None
        assert ours == atlas, (u0, u1)


def test_no_feasible_design_beats_the_reference() -> None:
    sim = BraninDisc()
    space = sim.problem.space
    rng = np.random.default_rng(1)
    feasible = 0
    for u in rng.random((2000, 2)):
        result = sim.evaluate(space.decode(u), seed=0)
        if isinstance(result, Outcome):
            feasible += 1
            assert result.values["value"] >= BRANIN_MINIMUM - 1e-9
    assert 0.6 < feasible / 2000 < 0.85  # about 29 % of the box is infeasible


def test_keeps_the_simulator_contract() -> None:
    from daedalus.testing.machine_contract import check_simulator

    sim = BraninDisc(noise_sd=0.1)
    assert isinstance(sim, Simulator)
    check_simulator(sim)
    outside = {"x1": 0.0, "x2": 5.0}
    assert branin_disc_violation(0.0, 5.0) is None
    first = sim.evaluate(outside, seed=3)
    assert isinstance(first, Outcome) and first == sim.evaluate(outside, seed=3)
