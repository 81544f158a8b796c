"""The analyst: which readings are data, and when a campaign is done."""

from __future__ import annotations

import math
from typing import Any

import pytest

from daedalus import events as ev
from daedalus.agents.analyst import invalid_reading, stop, target_reached, validate
from daedalus.goal import Goal, Maximize, Minimize
from daedalus.problem import Problem
from daedalus.space import Real, Space
from daedalus.state import State, apply

GOAL = Goal(Maximize("y"), constraints=["e <= 9"])


@pytest.mark.parametrize(
    ("values", "ranges", "fragment"),
    [
        ({"y": math.nan, "e": 1.0}, {}, "y is NaN"),
        ({"y": 1.0, "e": math.nan}, {}, "e is NaN"),
        ({"y": math.inf, "e": 1.0}, {}, "y is infinite (inf)"),
        ({"y": -math.inf, "e": 1.0}, {}, "y is infinite (-inf)"),
        ({"y": 1.0, "e": 1.0, "extra": math.nan}, {}, "extra is NaN"),
        ({"y": 1.0}, {}, "reading lacks metrics ['e']; got ['y']"),
        ({}, {}, "reading lacks metrics ['y', 'e']; got []"),
        ({"y": "1.0", "e": 1.0}, {}, "y='1.0' is not a number"),
        ({"y": None, "e": 1.0}, {}, "y=None is not a number"),
        ({"y": True, "e": 1.0}, {}, "y=True is not a number"),
        ({"y": [1.0], "e": 1.0}, {}, "y=[1.0] is not a number"),
        ({"y": 101.0, "e": 1.0}, {"y": (0, 100)}, "y=101 is outside its physical range [0, 100]"),
        ({"y": -1.0, "e": 1.0}, {"y": [0, 100]}, "y=-1 is outside its physical range [0, 100]"),
        ({"y": -1.0, "e": 1.0}, {"y": (0, None)}, "outside its physical range [0, None]"),
        ({"y": 5.0, "e": 1.0}, {"y": (None, 4)}, "outside its physical range [None, 4]"),
    ],
)
def test_invalid_readings_say_why(
    values: dict[str, Any], ranges: dict[str, Any], fragment: str
) -> None:
    reason = invalid_reading(GOAL, values, ranges=ranges)
    assert reason is not None and fragment in reason


@pytest.mark.parametrize(
    ("values", "ranges"),
    [
        ({"y": 1.0, "e": 1.0}, {}),
        ({"y": 0, "e": 100.0}, {}),  # an infeasible reading is still valid data
        ({"y": 100.0, "e": -1e300}, {"y": (0, 100)}),
        ({"y": 0.0, "e": 1.0}, {"y": [0, 100], "e": (None, None)}),
        ({"y": 1.0, "e": 1.0, "note": 3}, {"unmeasured": (0, 1)}),
    ],
)
def test_valid_readings_pass(values: dict[str, Any], ranges: dict[str, Any]) -> None:
    assert invalid_reading(GOAL, values, ranges=ranges) is None


def test_an_int_too_large_for_a_float_is_an_invalid_reading() -> None:
    assert invalid_reading(GOAL, {"y": 10**400, "e": 1.0}) is not None


# --- states --------------------------------------------------------------------------------------


def _state(settings: dict[str, Any], *events: Any, goal: Goal = GOAL) -> State:
    problem = Problem(name="p", space=Space([Real("x", 0, 1)]), goal=goal)
    created = ev.CampaignCreated(name="c", problem=problem.to_dict(), settings=settings)
    state = State()
    for seq, event in enumerate((created, *events), start=1):
        state = apply(state, event, seq=seq, at=float(seq))
    return state


def _run(eid: str, values: dict[str, float] | None, *, upto: str = "recorded") -> list[Any]:
    events: list[Any] = [
        ev.DesignProposed(experiment_id=eid, params={"x": 0.5}, proposer="t", decision=0, seed=0),
        ev.ProposalReviewed(experiment_id=eid, verdict=ev.Verdict.ACCEPT),
        ev.CommandIntended(experiment_id=eid, machine="m", attempt=1, seed=0),
        ev.CommandDispatched(experiment_id=eid, machine="m", attempt=1, started_at=0.0),
    ]
    stops = {"proposed": 1, "accepted": 2, "intended": 3, "dispatched": 4, "recorded": 4}
    events = events[: stops[upto]]
    if upto == "recorded":
        assert values is not None
        events.append(ev.ObservationRecorded(experiment_id=eid, values=values, duration_s=1.0))
    return events


def _blocked(eid: str) -> list[Any]:
    return [
        ev.DesignProposed(experiment_id=eid, params={"x": 0.5}, proposer="t", decision=0, seed=0),
        ev.ProposalReviewed(experiment_id=eid, verdict=ev.Verdict.BLOCK, reasons=["no"]),
    ]


def test_validate_rejects_a_nan_reading_and_keeps_a_good_one() -> None:
    state = _state({}, *_run("e0001", {"y": math.nan, "e": 1.0}), *_run("e0002", {"y": 1, "e": 1}))
    (rejected,) = validate(state, "e0001")
    assert rejected == ev.ObservationRejected(experiment_id="e0001", reason="y is NaN")
    assert validate(state, "e0002") == []


def test_validate_uses_the_campaign_ranges() -> None:
    state = _state({"ranges": {"y": [0, 1]}}, *_run("e0001", {"y": 2.0, "e": 1.0}))
    (rejected,) = validate(state, "e0001")
    assert "outside its physical range [0, 1]" in rejected.reason


def test_validate_ignores_experiments_without_a_reading() -> None:
    state = _state({}, *_run("e0001", None, upto="dispatched"))
    assert validate(state, "e0001") == []


def test_stop_when_the_budget_is_spent_and_nothing_runs() -> None:
    events = [*_run("e0001", {"y": 1.0, "e": 1.0}), *_run("e0002", {"y": 3.0, "e": 1.0})]
    assert stop(_state({"budget": 2}, *events)) == ev.CampaignCompleted(
        reason="budget spent", best_experiment_id="e0002"
    )
    assert stop(_state({"budget": 3}, *events)) is None


@pytest.mark.parametrize("upto", ["proposed", "accepted", "intended", "dispatched"])
def test_stop_waits_for_open_experiments(upto: str) -> None:
    events = [*_run("e0001", {"y": 1.0, "e": 1.0}), *_run("e0002", None, upto=upto)]
    assert stop(_state({"budget": 2}, *events)) is None


def test_blocked_designs_do_not_spend_budget() -> None:
    events = [*_run("e0001", {"y": 1.0, "e": 1.0}), *_blocked("e0002")]
    assert stop(_state({"budget": 2}, *events)) is None
    done = stop(_state({"budget": 1}, *events))
    assert done is not None and done.reason == "budget spent"


def test_stop_on_budget_with_no_valid_result_names_no_best() -> None:
    events = _run("e0001", {"y": 5.0, "e": 10.0})  # infeasible
    assert stop(_state({"budget": 1}, *events)) == ev.CampaignCompleted(reason="budget spent")


@pytest.mark.parametrize(
    ("goal", "target", "y", "reached"),
    [
        (Goal(Maximize("y")), 5.0, 5.0, True),
        (Goal(Maximize("y")), 5.0, 4.9, False),
        (Goal(Minimize("y")), 5.0, 5.0, True),
        (Goal(Minimize("y")), 5.0, 5.1, False),
        (Goal(Minimize("y")), -2.0, -3.0, True),
    ],
)
def test_stop_on_target(goal: Goal, target: float, y: float, reached: bool) -> None:
    state = _state({"budget": 10, "target": target}, *_run("e0001", {"y": y}), goal=goal)
    assert target_reached(state) is reached
    expected = ev.CampaignCompleted(reason="target reached", best_experiment_id="e0001")
    assert stop(state) == (expected if reached else None)


def test_an_infeasible_reading_never_reaches_the_target() -> None:
    state = _state({"budget": 10, "target": 1.0}, *_run("e0001", {"y": 5.0, "e": 10.0}))
    assert not target_reached(state)
    assert stop(state) is None


def test_stop_on_target_waits_for_experiments_in_flight() -> None:
    events = [*_run("e0001", {"y": 9.0, "e": 1.0}), *_run("e0002", None, upto="dispatched")]
    state = _state({"budget": 10, "target": 5.0}, *events)
    assert target_reached(state)
    assert stop(state) is None


def test_no_target_no_stop_before_the_budget() -> None:
    state = _state({"budget": 10}, *_run("e0001", {"y": 1e300, "e": 1.0}))
    assert not target_reached(state)
    assert stop(state) is None
