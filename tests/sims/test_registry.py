"""The simulator registry: names, metadata, options and errors."""

from __future__ import annotations

import dataclasses

import pytest

from daedalus.errors import InvalidCampaign
from daedalus.sims.base import Simulator
from daedalus.sims.functions import Branin
from daedalus.sims.registry import SIMULATORS, get_simulator
from daedalus.sims.snar import SnarReactor


def test_registry_lists_the_built_in_simulators() -> None:
    assert set(SIMULATORS) >= {
        "snar",
        "catalyst",
        "turning",
        "airfoil",
        "filter",
        "truss",
        "gripper",
        "branin",
        "hartmann6",
    }
    for name, info in SIMULATORS.items():
        assert info.name == name
        assert info.domain and info.summary


@pytest.mark.parametrize("name", sorted(SIMULATORS))
def test_every_simulator_builds_with_its_problem_and_reference(name: str) -> None:
    try:
        sim = get_simulator(name)
    except ImportError as err:
        pytest.skip(f"{name} needs an optional extra: {err}")
    assert isinstance(sim, Simulator)
    assert sim.problem.name == name
    assert sim.problem.reference is not None


def test_options_reach_the_simulator() -> None:
    sim = get_simulator("snar", noise=0.0, failures=False)
    assert isinstance(sim, SnarReactor)
    assert (sim.noise, sim.failures) == (0.0, False)
    assert isinstance(get_simulator("branin", noise_sd=0.5), Branin)
    assert SIMULATORS["snar"].options == (
        "noise",
        "failures",
        "fault_rate",
        "analysis_time_s",
        "sensor_offset_m_per_h",
        "outlier_rate",
    )


def test_unknown_name_is_refused_with_the_known_names() -> None:
    with pytest.raises(InvalidCampaign, match=r"unknown simulator 'snr'.*'branin'.*'snar'"):
        get_simulator("snr")


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [("snar", {"nois": 0.1}, "does not take options"), ("branin", {"noise_sd": -1.0}, ">= 0")],
)
def test_bad_options_are_refused(name: str, options: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidCampaign, match=match):
        get_simulator(name, **options)


def test_sim_info_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SIMULATORS["snar"].name = "other"  # type: ignore[misc]
