"""The planner: experiment ids, seeds, what the proposer may know, and proposals."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daedalus import events as ev
from daedalus.agents.planner import PENDING, derive_seed, experiment_id, history, plan
from daedalus.goal import Goal, Maximize
from daedalus.problem import Problem
from daedalus.proposers.base import History, Trial
from daedalus.space import Params, Real, Space
from daedalus.state import Experiment, State, Status, apply

PROBLEM = Problem(name="p", space=Space([Real("x", 0, 1)]), goal=Goal(Maximize("y")))


@pytest.mark.parametrize(
    ("index", "expected"), [(1, "e0001"), (2, "e0002"), (42, "e0042"), (9999, "e9999")]
)
def test_experiment_ids(index: int, expected: str) -> None:
    assert experiment_id(index) == expected


def test_experiment_ids_sort_in_proposal_order_up_to_9999() -> None:
    ids = [experiment_id(i) for i in range(1, 10_000)]
    assert sorted(ids) == ids


def _independent_seed(seed: int, *parts: object) -> int:
    text = ":".join(str(p) for p in (seed, *parts))
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) // 2


@pytest.mark.parametrize(
    ("seed", "parts", "expected"),
    [
        (0, ("decision", 0), 332280491),
        (0, ("decision", 1), 259036750),
        (42, ("e0001", 1), 469913991),
    ],
)
def test_derive_seed_is_stable_across_versions(
    seed: int, parts: tuple[object, ...], expected: int
) -> None:
    assert derive_seed(seed, *parts) == expected
    assert _independent_seed(seed, *parts) == expected


@settings(max_examples=100, deadline=None)
@given(st.integers(), st.lists(st.text() | st.integers(), max_size=3))
def test_derive_seed_is_a_31_bit_hash_of_its_parts(seed: int, parts: list[object]) -> None:
    value = derive_seed(seed, *parts)
    assert 0 <= value < 2**31
    assert value == derive_seed(seed, *parts) == _independent_seed(seed, *parts)


def test_derive_seed_differs_for_different_parts() -> None:
    seeds = {derive_seed(s, "decision", d) for s in range(5) for d in range(200)}
    seeds |= {derive_seed(0, f"e{i:04d}", a) for i in range(100) for a in (1, 2)}
    assert len(seeds) == 5 * 200 + 200


# --- history -------------------------------------------------------------------------------------


def _state(*experiments: Experiment) -> State:
    return State(
        name="c", problem=PROBLEM, settings={"seed": 7}, experiments={e.id: e for e in experiments}
    )


def _exp(eid: str, status: Status, x: float = 0.5, **changes: Any) -> Experiment:
    return Experiment(id=eid, params={"x": x}, proposer="t", decision=0, status=status, **changes)


def test_history_keeps_valid_and_failed_trials_in_proposal_order() -> None:
    state = _state(
        _exp("e0001", Status.RECORDED, 0.1, values={"y": 1.0}),
        _exp("e0003", Status.RECORDED, 0.3, values={"y": 3.0}),
        _exp("e0002", Status.REJECTED, 0.2, values={"y": float("nan")}),
        _exp("e0004", Status.FAILED, 0.4, cause="infeasible"),
        _exp("e0005", Status.BLOCKED, 0.5),
        _exp("e0006", Status.DENIED, 0.6),
    )
    h = history(state)
    assert h.trials == [
        Trial("e0001", {"x": 0.1}, values={"y": 1.0}),
        Trial("e0003", {"x": 0.3}, values={"y": 3.0}),
        Trial("e0004", {"x": 0.4}, cause="infeasible"),
    ]
    assert [t.experiment_id for t in h.observed] == ["e0001", "e0003"]
    assert h.pending == []
    assert h.n_proposed == 6


@pytest.mark.parametrize("status", list(Status))
def test_pending_is_every_design_that_may_still_run(status: Status) -> None:
    h = history(_state(_exp("e0001", status, 0.25)))
    may_run = status in {
        Status.PROPOSED,
        Status.ACCEPTED,
        Status.AWAITING_APPROVAL,
        Status.INTENDED,
        Status.DISPATCHED,
        Status.UNKNOWN,
    }
    assert (h.pending == [{"x": 0.25}]) is may_run
    assert (status in PENDING) is may_run


def test_pending_is_in_proposal_order() -> None:
    state = _state(
        _exp("e0002", Status.DISPATCHED, 0.2),
        _exp("e0001", Status.INTENDED, 0.1),
        _exp("e0003", Status.PROPOSED, 0.3),
    )
    assert history(state).pending == [{"x": 0.2}, {"x": 0.1}, {"x": 0.3}]


def test_history_is_in_proposal_order_past_9999_experiments() -> None:
    state = _state(
        _exp(experiment_id(9_999), Status.RECORDED, 0.1, values={"y": 1.0}),
        _exp(experiment_id(10_000), Status.RECORDED, 0.2, values={"y": 2.0}),
    )
    assert [t.experiment_id for t in history(state).trials] == ["e9999", "e10000"]


# --- plan ----------------------------------------------------------------------------------------


@dataclass
class RecordingProposer:
    """A `Proposer` that returns fixed designs and remembers what it was asked."""

    designs: list[Params]
    name: str = "recording"
    ignore_n: bool = False  # return every design, as a sloppy proposer might
    calls: list[dict[str, Any]] = field(default_factory=list)

    def propose(
        self, space: Space, goal: Goal, history: History, *, n: int, seed: int
    ) -> list[Params]:
        self.calls.append({"space": space, "goal": goal, "history": history, "n": n, "seed": seed})
        return list(self.designs) if self.ignore_n else self.designs[:n]


def _created(settings: Mapping[str, Any]) -> State:
    created = ev.CampaignCreated(name="c", problem=PROBLEM.to_dict(), settings=settings)
    return apply(State(), created, seq=1, at=0.0)


def test_plan_numbers_experiments_and_derives_the_seed() -> None:
    proposer = RecordingProposer([{"x": 0.1}, {"x": 0.2}, {"x": 0.3}])
    state = _created({"seed": 5})
    first = plan(state, proposer, n=2)
    assert first == [
        ev.DesignProposed(
            experiment_id="e0001",
            params={"x": 0.1},
            proposer="recording",
            decision=0,
            seed=derive_seed(5, "decision", 0),
        ),
        ev.DesignProposed(
            experiment_id="e0002",
            params={"x": 0.2},
            proposer="recording",
            decision=0,
            seed=derive_seed(5, "decision", 0),
        ),
    ]
    (call,) = proposer.calls
    assert (call["n"], call["seed"], call["space"], call["goal"]) == (
        2,
        derive_seed(5, "decision", 0),
        PROBLEM.space,
        PROBLEM.goal,
    )
    for seq, event in enumerate(first, start=2):
        state = apply(state, event, seq=seq, at=1.0)
    second = plan(state, proposer, n=1)
    assert [(p.experiment_id, p.decision, p.seed) for p in second] == [
        ("e0003", 1, derive_seed(5, "decision", 1))
    ]
    assert proposer.calls[1]["history"].pending == [{"x": 0.1}, {"x": 0.2}]
    assert proposer.calls[1]["history"].n_proposed == 2


def test_plan_keeps_at_most_n_designs() -> None:
    proposer = RecordingProposer([{"x": 0.1}, {"x": 0.2}], ignore_n=True)
    assert [p.params for p in plan(_created({}), proposer, n=1)] == [{"x": 0.1}]


@pytest.mark.parametrize("n", [0, -1])
def test_plan_for_no_designs_asks_nothing(n: int) -> None:
    proposer = RecordingProposer([{"x": 0.1}])
    assert plan(_created({}), proposer, n=n) == []
    assert proposer.calls == []


def test_plan_before_the_campaign_exists_asks_nothing() -> None:
    proposer = RecordingProposer([{"x": 0.1}])
    assert plan(State(), proposer, n=1) == []
    assert proposer.calls == []
