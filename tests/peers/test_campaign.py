"""Peers in real campaigns (`daedalus.bench.run_once`): failures, pending designs, constraints."""

from __future__ import annotations

import pytest

from daedalus.bench import run_once
from daedalus.goal import Goal, Maximize
from daedalus.peers.ax import _AxSession, ax_constraints
from daedalus.peers.base import Tracker
from daedalus.peers.optuna import _OptunaSession
from daedalus.proposers.base import History, Trial
from daedalus.space import Real, Space

FAST = ("optuna-tpe", "optuna-gp", "random")
SLOW = ("ax", "baybe")
ALL = [*FAST, *(pytest.param(p, marks=pytest.mark.slow) for p in SLOW)]


@pytest.mark.parametrize("proposer", ALL)
def test_a_short_campaign_with_failures_runs_to_its_budget(proposer: str) -> None:
    # branin_disc fails inside two discs; every failure must be told, none may stop the run.
    record = run_once("branin_disc", proposer, seed=3, budget=8, batch=1)
    assert len(record["best"]) == 8
    assert record["regret"] is None or record["regret"] >= 0


def test_each_decision_records_its_cpu_and_wall_seconds() -> None:
    # CPU seconds are what the overhead comparison uses: one per planner decision, spent in
    # this process, and never more than the wall time around the same call on one thread.
    record = run_once("branin", "bayes", seed=0, budget=7, batch=1)
    cpu, wall = record["proposer_cpu_s"], record["proposer_s"]
    assert len(cpu) == len(wall) == 7
    assert all(c >= 0.0 for c in cpu)
    assert sum(cpu) > 0.0  # the GP fits after the initial design take measurable CPU
    assert sum(cpu) <= 2 * sum(wall) + 0.05


@pytest.mark.parametrize("proposer", ALL)
def test_batches_with_pending_designs(proposer: str) -> None:
    # Two machines: every proposal after the first sees the other machine's design pending.
    record = run_once("pressure_vessel", proposer, seed=1, budget=6, batch=2)
    assert len(record["best"]) == 6


def test_ax_gets_linear_and_outcome_constraints_natively() -> None:
    space = Space(
        [Real("a", 0.0, 10.0), Real("b", 0.0, 10.0)], constraints=["a + 2*b <= 8", "a >= 1"]
    )
    assert ax_constraints(space) == ["1.0*a + 2.0*b <= 8.0", "-1.0*a <= -1.0"]
    goal = Goal(Maximize("sty"), constraints=["e_factor <= 9"])
    session = Tracker("ax")
    session.propose(space, goal, History(), n=1, seed=0, start=_AxSession)
    assert isinstance(session.session, _AxSession)
    config = session.session.client._experiment.optimization_config
    assert [str(c.metric_names) for c in config.outcome_constraints] == ["['e_factor']"]
    assert len(session.session.client._experiment.search_space.parameter_constraints) == 2


def test_optuna_gets_outcome_constraints_and_failures_natively() -> None:
    space = Space([Real("x", 0.0, 1.0)])
    goal = Goal(Maximize("sty"), constraints=["e_factor <= 9"])
    trials = [
        Trial("e1", {"x": 0.2}, {"sty": 1.0, "e_factor": 12.0}),
        Trial("e2", {"x": 0.4}, None, cause="infeasible"),
    ]
    tracker = Tracker("optuna-tpe")
    tracker.propose(
        space,
        goal,
        History(trials=trials, n_proposed=2),
        n=1,
        seed=0,
        start=lambda s, g, k: _OptunaSession(s, g, k, sampler="tpe"),
    )
    assert isinstance(tracker.session, _OptunaSession)
    told = tracker.session.study.trials
    assert told[0].constraints == {"e_factor <= 9": pytest.approx(3.0)}
    assert told[1].state.name == "FAIL"
    assert told[2].state.name == "RUNNING"  # the new suggestion
