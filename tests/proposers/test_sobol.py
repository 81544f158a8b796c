"""Behaviour of `SobolProposer`: one sequence across calls, rejection, clear failures."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import qmc

from daedalus.errors import DaedalusError, InvalidCampaign
from daedalus.goal import Goal, Minimize
from daedalus.proposers import History, SobolProposer, Trial
from daedalus.space import Choice, Integer, Real, Space

SPACE = Space([Real("x", 0.0, 1.0), Real("y", 0.0, 1.0)])
GOAL = Goal(Minimize("loss"))


def test_a_fixed_seed_walks_one_sequence_across_calls() -> None:
    proposer = SobolProposer()
    first = proposer.propose(SPACE, GOAL, History(), n=3, seed=11)
    trials = [Trial(f"exp-{i}", d, {"loss": 0.0}) for i, d in enumerate(first)]
    second = proposer.propose(SPACE, GOAL, History(trials=trials, n_proposed=3), n=3, seed=11)
    assert first + second == proposer.propose(SPACE, GOAL, History(), n=6, seed=11)


def test_a_fixed_seed_never_repeats_a_known_design_after_rejections() -> None:
    space = Space(SPACE.parameters, constraints=["x + y <= 0.5"])
    proposer = SobolProposer()
    first = proposer.propose(space, GOAL, History(), n=4, seed=3)
    trials = [Trial(f"exp-{i}", d, {"loss": 0.0}) for i, d in enumerate(first)]
    # Rejections drew the sequence past index 4; the next call starts at 4 and must skip the
    # designs it already returned.
    second = proposer.propose(space, GOAL, History(trials=trials, n_proposed=4), n=4, seed=3)
    assert not set(map(str, first)) & set(map(str, second))
    assert all(space.contains(d) for d in first + second)


@pytest.mark.parametrize("seed", [0, -5, 2**70])
def test_any_integer_seed_gives_valid_deterministic_designs(seed: int) -> None:
    designs = SobolProposer().propose(SPACE, GOAL, History(n_proposed=9), n=4, seed=seed)
    assert designs == SobolProposer().propose(SPACE, GOAL, History(n_proposed=9), n=4, seed=seed)
    assert all(SPACE.contains(d) for d in designs)


def test_a_tiny_feasible_region_is_a_clear_error() -> None:
    space = Space(SPACE.parameters, constraints=["x + y <= 0.000001"])
    with pytest.raises(DaedalusError, match="too small a region"):
        SobolProposer(max_draws_per_design=50).propose(space, GOAL, History(), n=1, seed=0)


def test_an_exhausted_discrete_space_is_a_clear_error() -> None:
    space = Space([Choice("solvent", ("water", "ethanol"))])
    pending = [{"solvent": "water"}, {"solvent": "ethanol"}]
    with pytest.raises(DaedalusError, match="no designs left"):
        SobolProposer().propose(space, GOAL, History(pending=pending), n=1, seed=0)


@pytest.mark.parametrize("n", [0, -1, True])
def test_rejects_a_bad_batch_size(n: int) -> None:
    with pytest.raises(InvalidCampaign, match="n >= 1"):
        SobolProposer().propose(SPACE, GOAL, History(), n=n, seed=0)


def test_rejects_a_bad_draw_budget() -> None:
    with pytest.raises(InvalidCampaign, match="max_draws_per_design"):
        SobolProposer(max_draws_per_design=0)


def test_a_choice_is_covered_evenly_from_the_first_designs() -> None:
    # One Sobol coordinate per Choice: with k a power of two, every run of k designs from the
    # start of the sequence holds each of the k options once, for every seed (argmax over a
    # one-hot block of k coordinates did not).
    space = Space([Real("x", 0.0, 1.0), Choice("c", ("a", "b", "c", "d"))])
    goal = Goal(Minimize("y"))
    for seed in range(20):
        designs = SobolProposer().propose(space, goal, History(), n=8, seed=seed)
        options = [d["c"] for d in designs]
        assert sorted(options[:4]) == sorted(options[4:]) == ["a", "b", "c", "d"], options


def test_a_space_without_choices_draws_the_same_designs_as_its_unit_cube() -> None:
    space = Space([Real("x", 0.0, 1.0), Integer("k", 0, 9), Real("z", -1.0, 1.0)])
    designs = SobolProposer().propose(space, Goal(Minimize("y")), History(), n=16, seed=3)
    engine = qmc.Sobol(3, scramble=True, rng=np.random.default_rng(3))
    expected = [space.decode(u) for u in engine.random(16)]
    assert designs == expected
