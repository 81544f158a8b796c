"""Branin and Hartmann6: known optima, bounds, noise and determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from daedalus.errors import InvalidCampaign, InvalidParams
from daedalus.machines.base import Outcome
from daedalus.sims.base import Simulator
from daedalus.sims.functions import (
    BRANIN_MINIMIZERS,
    Branin,
    Hartmann6,
    branin,
    hartmann6,
)
from daedalus.space import Real


def value(sim: Branin | Hartmann6, params: dict[str, float], seed: int = 0) -> float:
    result = sim.evaluate(params, seed=seed)
    assert isinstance(result, Outcome)
    return result.values["value"]


@pytest.mark.parametrize(("x1", "x2"), BRANIN_MINIMIZERS)
def test_branin_reaches_its_optimum_at_each_minimizer(x1: float, x2: float) -> None:
    assert branin(x1, x2) == pytest.approx(0.397887, abs=1e-6)
    assert value(Branin(), {"x1": x1, "x2": x2}) == pytest.approx(0.397887, abs=1e-6)


def test_hartmann6_reaches_its_optimum_at_the_minimizer() -> None:
    reference = Hartmann6().problem.reference
    assert reference is not None
    assert reference.value == pytest.approx(-3.32237, abs=1e-5)
    assert hartmann6([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]) == pytest.approx(
        -3.32237, abs=1e-5
    )
    assert value(Hartmann6(), dict(reference.params)) == pytest.approx(reference.value, abs=1e-12)


@pytest.mark.parametrize("sim", [Branin(), Hartmann6()], ids=["branin", "hartmann6"])
def test_no_sampled_design_beats_the_reference(sim: Branin | Hartmann6) -> None:
    reference = sim.problem.reference
    assert reference is not None
    rng = np.random.default_rng(0)
    names = sim.problem.space.names
    near = np.array([float(reference.params[n]) for n in names])
    for _ in range(500):
        params = sim.problem.space.decode(rng.random(len(names)))
        assert value(sim, params) >= reference.value - 1e-9
        jitter = np.clip(near + rng.normal(0.0, 1e-3, len(names)), 0.0, None)
        nearby = dict(zip(names, jitter.tolist(), strict=True))
        if sim.problem.space.contains(nearby):
            assert value(sim, nearby) >= reference.value - 1e-9


@pytest.mark.parametrize(
    ("sim", "bounds"),
    [
        (Branin(), {"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}),
        (Hartmann6(), {f"x{i}": (0.0, 1.0) for i in range(1, 7)}),
    ],
    ids=["branin", "hartmann6"],
)
def test_spaces_have_the_standard_bounds(
    sim: Branin | Hartmann6, bounds: dict[str, tuple[float, float]]
) -> None:
    assert isinstance(sim, Simulator)
    params = sim.problem.space.parameters
    assert {p.name: (p.low, p.high) for p in params if isinstance(p, Real)} == bounds
    assert sim.problem.goal.metrics == ("value",)
    assert sim.problem.goal.primary.sign == -1.0


@pytest.mark.parametrize(
    "params", [{"x1": -5.1, "x2": 1.0}, {"x1": 0.0}, {"x1": math.nan, "x2": 1}]
)
def test_out_of_bounds_designs_are_refused(params: dict[str, float]) -> None:
    with pytest.raises(InvalidParams):
        Branin().evaluate(params, seed=0)


def test_noiseless_evaluations_ignore_the_seed_and_last_the_duration() -> None:
    sim = Branin(duration_s=60.0)
    expected = Outcome(values={"value": branin(1.0, 2.0)}, duration_s=60.0)
    assert all(sim.evaluate({"x1": 1.0, "x2": 2.0}, seed=s) == expected for s in range(5))


def test_noise_is_seeded_and_has_the_configured_spread() -> None:
    sim = Hartmann6(noise_sd=0.1)
    params = {f"x{i}": 0.5 for i in range(1, 7)}
    truth = hartmann6([0.5] * 6)
    samples = np.array([value(sim, params, seed=s) for s in range(400)])
    assert samples.tolist() == [value(Hartmann6(noise_sd=0.1), params, seed=s) for s in range(400)]
    assert len(set(samples.tolist())) == 400
    assert abs(samples.mean() - truth) < 0.02
    assert 0.085 < samples.std() < 0.115


@pytest.mark.parametrize(
    "options", [{"noise_sd": -1.0}, {"duration_s": math.nan}, {"noise_sd": "x"}]
)
def test_invalid_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(InvalidCampaign):
        Branin(**options)  # type: ignore[arg-type]
