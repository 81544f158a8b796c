"""Two-objective problems: BraninCurrin against BoTorch's own implementation and stated
hypervolume, and the SnAr reference front against the kinetic model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from daedalus.errors import InvalidCampaign
from daedalus.goal import hypervolume
from daedalus.machines.base import Outcome
from daedalus.sims.base import read_fixture
from daedalus.sims.pareto import (
    BRANIN_CURRIN_MAX_HV,
    BraninCurrin,
    SnarPareto,
    branin_currin,
    branin_currin_front,
    front_hypervolume,
)
from daedalus.sims.registry import get_simulator
from daedalus.sims.snar import snar_model

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import torch
    from botorch.test_functions.multi_objective import BraninCurrin as BoTorchBraninCurrin


def test_branin_currin_matches_botorch() -> None:
    points = np.random.default_rng(0).random((50, 2))
    theirs = BoTorchBraninCurrin(negate=False)(torch.tensor(points, dtype=torch.float64))
    for (x1, x2), (b, c) in zip(points, theirs.tolist(), strict=True):
        ours = branin_currin(float(x1), float(x2))
        assert ours["branin"] == pytest.approx(b, rel=1e-10)
        assert ours["currin"] == pytest.approx(c, rel=1e-10)


def test_branin_currin_front_reaches_botorchs_hypervolume() -> None:
    front = branin_currin_front()
    volume = hypervolume([(-p["branin"], -p["currin"]) for p in front], (-18.0, -6.0))
    assert volume == pytest.approx(BRANIN_CURRIN_MAX_HV, rel=1e-3)
    # No random design dominates a front point by more than the grid's resolution allows.
    rng = np.random.default_rng(1)
    samples = [branin_currin(*map(float, x)) for x in rng.random((2000, 2))]
    stacked = np.array([(p["branin"], p["currin"]) for p in front])
    for s in samples:
        beats = (stacked[:, 0] > s["branin"] + 1e-3) & (stacked[:, 1] > s["currin"] + 1e-3)
        assert not beats.any()
    # Along the front one objective rises as the other falls.
    assert np.all(np.diff(stacked[:, 0]) >= 0) and np.all(np.diff(stacked[:, 1]) < 0)


def test_branin_currin_simulator_adds_seeded_noise() -> None:
    sim = BraninCurrin(noise_sd=0.5)
    a = sim.evaluate({"x1": 0.3, "x2": 0.6}, seed=3)
    b = sim.evaluate({"x1": 0.3, "x2": 0.6}, seed=3)
    clean = BraninCurrin().evaluate({"x1": 0.3, "x2": 0.6}, seed=3)
    assert isinstance(a, Outcome) and isinstance(clean, Outcome) and a == b
    assert a.values != clean.values
    assert clean.values == branin_currin(0.3, 0.6)
    with pytest.raises(InvalidCampaign, match="noise_sd"):
        BraninCurrin(noise_sd=-1.0)


def test_snar_front_fixture_is_the_models_front() -> None:
    data = read_fixture("snar_front.json")
    problem = SnarPareto().problem
    assert problem.reference is not None
    assert problem.goal.reference_point == {"sty": 0.0, "e_factor": 10.0}
    assert front_hypervolume(problem) == pytest.approx(problem.reference.value, rel=1e-12)
    front = data["front"]
    assert len(front) >= 20
    for design, point in zip(data["designs"], front, strict=True):
        clean = snar_model(design)
        assert clean["sty"] == pytest.approx(point["sty"], rel=1e-5)
        assert clean["e_factor"] == pytest.approx(point["e_factor"], rel=1e-5)
    # A monotone trade-off: more STY costs a higher E-factor.
    sty = [p["sty"] for p in front]
    e = [p["e_factor"] for p in front]
    assert sty == sorted(sty) and e == sorted(e)
    # Its best STY within E-factor <= 9 agrees with the single-objective reference.
    single = read_fixture("snar_reference.json")["value"]
    within = max(p["sty"] for p in front if p["e_factor"] <= 9.0)
    assert within == pytest.approx(single, rel=2e-3)


def test_no_grid_design_beats_the_snar_front() -> None:
    front = np.array([(p["sty"], p["e_factor"]) for p in read_fixture("snar_front.json")["front"]])
    rng = np.random.default_rng(2)
    space = SnarPareto().problem.space
    for _ in range(150):
        unit = rng.random(space.dim)
        out = snar_model(space.decode(unit))
        beats = (front[:, 0] < out["sty"] * (1 - 1e-4)) & (front[:, 1] > out["e_factor"] + 1e-4)
        # A design may fall between two front points, but never beats one in both.
        assert not beats.any(), out


def test_registry_builds_both() -> None:
    assert get_simulator("branin_currin").problem.goal.multi
    sim = get_simulator("snar_pareto", noise=0.0, failures=False)
    assert repr(sim).startswith("SnarPareto(")
    out = sim.evaluate(
        {
            "residence_time_min": 0.5,
            "equivalents": 2.0,
            "concentration_m": 0.5,
            "temperature_c": 60.0,
        },
        seed=0,
    )
    assert isinstance(out, Outcome) and set(out.values) >= {"sty", "e_factor"}


def test_catalyst_front_fixture_is_the_models_front() -> None:
    from daedalus.sims.catalyst import catalyst_model
    from daedalus.sims.pareto import CatalystPareto

    data = read_fixture("catalyst_front.json")
    problem = CatalystPareto().problem
    assert problem.reference is not None
    assert front_hypervolume(problem) == pytest.approx(problem.reference.value, rel=1e-12)
    for design, point in list(zip(data["designs"], data["front"], strict=True))[::10]:
        clean = catalyst_model(design)
        assert clean["yield_frac"] == pytest.approx(point["yield_frac"], rel=1e-9)
        assert clean["cost_usd_per_mol"] == pytest.approx(point["cost_usd_per_mol"], rel=1e-9)
    # More yield costs more: both rise along the front.
    yields = [p["yield_frac"] for p in data["front"]]
    costs = [p["cost_usd_per_mol"] for p in data["front"]]
    assert yields == sorted(yields) and costs == sorted(costs)
    # Within the single-objective budget its best yield is the single-objective reference.
    single = read_fixture("catalyst_reference.json")["cases"]["1"]["value"]
    assert max(yields) == pytest.approx(single, rel=2e-3)
    # The options of CatalystScreening reach it, except the case.
    drifting = CatalystPareto(deactivation_per_h=0.1)
    assert drifting.deactivation_per_h == 0.1 and drifting.problem.goal.multi
