"""Drift: control runs, the change-point test, `DriftDetected` in the journal, and the planner's
treatment of older data, on a small deactivating process and on the catalyst simulator."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from daedalus import Campaign, Goal, InvalidCampaign, Maximize, Outcome, Problem, Real, Space
from daedalus.agents import analyst, planner
from daedalus.agents.roles import human
from daedalus.events import CampaignPaused, CampaignResumed, DriftDetected
from daedalus.journal.memory import MemoryJournal
from daedalus.journal.sqlite import SqliteJournal
from daedalus.machines.base import Evaluation
from daedalus.runtime.files import build_machines, load_campaign_file
from daedalus.sims.base import SimulatedMachine
from daedalus.sims.catalyst import CatalystScreening
from daedalus.space import Value
from daedalus.state import replay

ONSET_S = 1.5 * 3600.0
RATE_PER_H = 0.3
DURATION_S = 600.0
CONTROL = {"x": 0.2}


def activity(at_s: float, rate_per_h: float) -> float:
    return math.exp(-rate_per_h * max(at_s - ONSET_S, 0.0) / 3600.0)


def truth(x: float, a: float) -> float:
    """A yield-like response: conversion that needs activity, minus a cost that grows with x.
    Its optimum moves from x = 0.52 (a = 1) to larger x as the activity falls."""
    return 1.0 - math.exp(-4.0 * a * x) - 0.5 * x


def optimum(a: float) -> float:
    return max(truth(x, a) for x in np.linspace(0.0, 1.0, 2001))


class Deactivating:
    """A clocked simulator: activity decays after `ONSET_S`; noise sd 0.005."""

    def __init__(self, rate_per_h: float = RATE_PER_H) -> None:
        self.rate_per_h = rate_per_h
        self.clocked = True
        self.problem = Problem("toy", Space([Real("x", 0.0, 1.0)]), Goal(Maximize("y")))

    def evaluate(self, params: Mapping[str, Value], *, seed: int, at_s: float = 0.0) -> Evaluation:
        noise = 0.005 * float(np.random.default_rng(seed).standard_normal())
        y = truth(float(params["x"]), activity(at_s, self.rate_per_h)) + noise
        return Outcome(values={"y": y}, duration_s=DURATION_S)


def create(journal: Any, sim: Deactivating, **options: Any) -> Campaign:
    settings: dict[str, Any] = {"budget": 24, "proposer": "bayes", "seed": 1}
    settings["control"] = {"design": CONTROL, "every": 3}
    settings.update(options)
    return Campaign.create("d", sim.problem, journal=journal, **settings)


def controls_after_onset(state: Any) -> list[str]:
    return [
        e.id
        for e in state.experiments.values()
        if e.control and e.started_at is not None and e.started_at >= ONSET_S
    ]


@pytest.mark.parametrize("strategy", ["shift", "time", "ratio"])
def test_drift_is_detected_within_three_controls_and_the_moved_optimum_is_reached(
    strategy: str,
) -> None:
    sim = Deactivating()
    control = {"design": CONTROL, "every": 3, "strategy": strategy}
    with create(MemoryJournal(), sim, control=control) as campaign:
        state = campaign.run([SimulatedMachine(sim, name="m")]).state
    assert state.drifts, "deactivation went unnoticed"
    drift = state.drifts[0]
    assert drift.direction == "down" and drift.shift < 0
    assert drift.threshold == 5.0 and drift.statistic > drift.threshold
    after = controls_after_onset(state)
    assert drift.control_ids[-1] in after[:3]  # the stated delay: at most 3 controls
    assert drift.change_point_id in after[:3]
    a_end = activity(state.clock, RATE_PER_H)
    assert a_end < 0.7
    # After the alarm the search runs a design at the optimum of the process as it is at the
    # end, not as it was (x = 0.52 before the drift).
    ids = list(state.experiments)
    later = [e for e in list(state.experiments.values())[ids.index(drift.control_ids[-1]) :]]
    found = max(truth(float(e.params["x"]), a_end) for e in later if not e.control)
    assert optimum(a_end) - found < 0.01
    if strategy == "ratio":
        # The planner's view of the data (ratio-corrected) recommends such a design, too.
        trials = planner.history(state).observed
        best = trials[state.problem.goal.best([t.values or {} for t in trials])]  # type: ignore[union-attr,index]
        assert optimum(a_end) - truth(float(best.params["x"]), a_end) < 0.01
    elif strategy == "time":
        # The time strategy tells the proposer when each reading was taken.
        extra = planner.history(state).extra
        assert set(extra["times"]) == {t.experiment_id for t in planner.history(state).trials}  # type: ignore[call-overload]
        assert extra["now"] == max([state.clock, *extra["times"].values()])  # type: ignore[union-attr]


def test_a_campaign_without_drift_raises_no_alarm_over_20_seeds() -> None:
    sim = Deactivating(rate_per_h=0.0)
    alarms = []
    for seed in range(20):
        with create(MemoryJournal(), sim, proposer="sobol", seed=seed, budget=40) as campaign:
            state = campaign.run([SimulatedMachine(sim, name="m")]).state
        assert sum(e.control for e in state.experiments.values()) == 10
        alarms += [seed] if state.drifts else []
    assert alarms == []


def test_controls_are_scheduled_and_count_against_the_budget() -> None:
    sim = Deactivating(rate_per_h=0.0)
    every_4 = {"design": CONTROL, "every": 4}
    with create(MemoryJournal(), sim, proposer="sobol", budget=12, control=every_4) as campaign:
        state = campaign.run([SimulatedMachine(sim, name="m")]).state
    flags = [e.control for e in state.experiments.values()]
    assert len(flags) == 12
    # first, then after every 4 others; never as the last experiment
    assert [i for i, f in enumerate(flags) if f] == [0, 5, 10]
    assert all(dict(e.params) == CONTROL for e in state.experiments.values() if e.control)
    assert {e.proposer for e in state.experiments.values() if e.control} == {"control"}


def test_the_journal_with_drift_replays_to_the_live_state_and_resumes(tmp_path: Path) -> None:
    sim = Deactivating()
    path = tmp_path / "j.db"
    with create(SqliteJournal(path), sim, proposer="sobol", budget=30) as campaign:
        live = campaign.run([SimulatedMachine(sim, name="m")]).state
    assert live.drifts
    with SqliteJournal(path) as journal:
        records = list(journal.read("d"))
        assert replay(records).digest() == live.digest()
    # Pause the campaign (as a person would, from another terminal) right after the first
    # DriftDetected, resume it in a new runtime, and expect the uninterrupted run's experiments.
    split_path = tmp_path / "split.db"
    journal = SqliteJournal(split_path)
    campaign = create(journal, sim, proposer="sobol", budget=30)

    def pause_after_drift(state: Any) -> None:
        if state.drifts and state.status == "active" and not paused:
            paused.append(True)
            journal.append(
                "d",
                [CampaignPaused(reason="t")],
                actor=human("ada"),
                expected_seq=journal.last_seq("d"),
                at=state.clock,
            )

    paused: list[bool] = []
    first = campaign.run([SimulatedMachine(sim, name="m")], on_change=pause_after_drift)
    assert first.stopped == "paused"
    journal.append(
        "d", [CampaignResumed()], actor=human("ada"), expected_seq=journal.last_seq("d"), at=0.0
    )
    second = campaign.run([SimulatedMachine(sim, name="m")])
    campaign.close()
    journal.close()
    assert [e.to_dict() for e in second.state.experiments.values()] == [
        e.to_dict() for e in live.experiments.values()
    ]
    assert [d for d in second.state.drifts] == [d for d in live.drifts]


@pytest.mark.parametrize(
    ("control", "message"),
    [
        ({"every": 5}, "missing key 'design'"),
        ({"design": {"x": 2.0}}, "control.design"),
        ({"design": {"z": 0.1}}, "control.design"),
        ({"design": CONTROL, "every": 0}, "control.every must be an integer >= 1"),
        ({"design": CONTROL, "every": True}, "control.every"),
        ({"design": CONTROL, "metric": "q"}, "control.metric 'q'"),
        ({"design": CONTROL, "threshold": -1}, "control.threshold"),
        ({"design": CONTROL, "strategy": "magic"}, "control.strategy must be one of"),
        ({"design": CONTROL, "often": 3}, "unknown keys \\['often'\\]"),
        ("x=0.2", "control must be a table"),
    ],
)
def test_bad_control_settings_give_a_clear_error_and_write_nothing(
    control: Any, message: str
) -> None:
    journal = MemoryJournal()
    with pytest.raises(InvalidCampaign, match=message):
        Campaign.create("d", Deactivating().problem, journal=journal, control=control)
    assert journal.campaigns() == []


def test_a_control_outside_the_safety_envelope_is_refused() -> None:
    journal = MemoryJournal()
    with pytest.raises(InvalidCampaign, match=r"control\.design may not run"):
        Campaign.create(
            "d",
            Deactivating().problem,
            journal=journal,
            control={"design": CONTROL},
            safety={"limits": {"x": [0.5, 1.0]}},
        )
    assert journal.campaigns() == []


def test_campaign_file_control_table(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        'simulator = "catalyst"\n[machines]\noptions = { deactivation_per_h = 0.1 }\n'
        '[control]\ndesign = { catalyst = "C4", catalyst_loading_mol_pct = 1.0, '
        "residence_time_s = 300, temperature_c = 70 }\nevery = 4\n",
        encoding="utf-8",
    )
    spec = load_campaign_file(good)
    assert spec.options["control"]["every"] == 4
    bad = tmp_path / "bad.toml"
    bad.write_text('simulator = "catalyst"\n[control]\nevery = 4\n', encoding="utf-8")
    with pytest.raises(InvalidCampaign, match=r"bad\.toml: control: missing key 'design'"):
        load_campaign_file(bad)


def test_drift_check_is_idempotent_and_ask_tell_reports_drift() -> None:
    sim = Deactivating()
    with create(MemoryJournal(), sim, proposer="sobol", budget=40) as campaign:
        at = 0.0
        while True:
            asked = campaign.ask()
            if not asked:
                break
            exp = asked[0]
            values = sim.evaluate(exp.params, seed=int(exp.id[1:]), at_s=at)
            assert isinstance(values, Outcome)
            campaign.tell(exp.id, values.values)
            at += DURATION_S
        state = campaign.state
    assert state.drifts
    assert analyst.drift(state) == [] or analyst.drift(state)[0].control_ids[0] not in (
        state.drifts[-1].control_ids
    )


def test_catalyst_deactivation_campaign_detects_drift_with_controls() -> None:
    options = {"deactivation_per_h": 0.1, "deactivation_onset_h": 2.0}
    spec = {"simulator": "catalyst", "count": 1, "options": options}
    control = {
        "design": {
            "catalyst": "C4",
            "catalyst_loading_mol_pct": 1.0,
            "residence_time_s": 300.0,
            "temperature_c": 70.0,
        },
        "every": 5,
    }
    sim = CatalystScreening(**options)
    with Campaign.create(
        "c",
        sim.problem,
        journal=MemoryJournal(),
        proposer="sobol",
        budget=48,
        control=control,
        machines=spec,
    ) as campaign:
        state = campaign.run(build_machines(spec)).state
    assert [d.direction for d in state.drifts] == ["down"]
    assert isinstance(state.drifts[0], DriftDetected)
