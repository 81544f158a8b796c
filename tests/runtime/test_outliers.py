"""Outliers: the robust residual test after each reading, one repeat of a suspect, the verdict in
the journal, and its survival through replay, pause and resume, on a cheap 1-D process."""

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
from daedalus.events import CampaignPaused, CampaignResumed, DesignProposed, to_payload
from daedalus.journal.memory import MemoryJournal
from daedalus.journal.sqlite import SqliteJournal
from daedalus.machines.base import Evaluation
from daedalus.runtime.files import load_campaign_file
from daedalus.sims.base import SimulatedMachine, gross_error
from daedalus.space import Value
from daedalus.state import Status, replay

NOISE_SD = 0.01
GROSS = 3.0  # a gross error shifts the reading by 3 to 6: 100 to 200 noise sds


def truth(x: float) -> float:
    return math.sin(6.0 * x) + 0.5 * x


class Toy:
    """y = sin(6x) + x / 2 with noise sd 0.01; with `rate`, gross errors drawn as the sims do."""

    def __init__(self, rate: float = 0.0) -> None:
        self.rate = rate
        self.problem = Problem("toy", Space([Real("x", 0.0, 1.0)]), Goal(Maximize("y")))

    def evaluate(self, params: Mapping[str, Value], *, seed: int) -> Evaluation:
        y = truth(float(params["x"])) + NOISE_SD * float(np.random.default_rng(seed).normal())
        error = gross_error(seed, self.rate)
        if error is not None:
            y += error[0] * GROSS * (1.0 + error[1])
        return Outcome(values={"y": y}, duration_s=60.0)


def create(journal: Any, *, seed: int = 0, budget: int = 30, **options: Any) -> Campaign:
    return Campaign.create(
        "o", Toy().problem, journal=journal, seed=seed, budget=budget, proposer="sobol", **options
    )


def run(journal: Any, sim: Toy, **options: Any) -> Any:
    with create(journal, **options) as campaign:
        return campaign.run([SimulatedMachine(sim, name="m")]).state


def gross(state: Any) -> set[str]:
    """The experiments whose reading is far from the truth."""
    return {
        e.id
        for e in state.experiments.values()
        if e.values is not None and abs(e.values["y"] - truth(float(e.params["x"]))) > 1.0
    }


def test_a_gross_error_is_flagged_re_measured_once_and_rejected_with_the_reason() -> None:
    state = run(MemoryJournal(), Toy(rate=0.15), seed=3)
    assert len(state.experiments) == 30  # repeats count against the budget
    assert state.suspects, "no gross error was flagged"
    repeats = {e.repeat_of: e for e in state.experiments.values() if e.repeat_of}
    assert sorted(repeats) == sorted(s for s, e in state.suspects.items() if e.remeasure)
    rejected = [e for e in state.experiments.values() if e.status is Status.REJECTED]
    assert rejected
    for exp in rejected:
        repeat = repeats[exp.id]
        assert repeat.params == exp.params and repeat.proposer == planner.REPEAT_PROPOSER
        assert state.resolved[exp.id].ruling == "rejected"
        assert exp.reason.startswith("outlier: leave-one-out GP residual")
        assert f"repeat {repeat.id} read y=" in exp.reason and "score" in exp.reason
        assert abs(repeat.values["y"] - truth(float(exp.params["x"]))) < 0.1
    # every gross error the test could see (from the eighth reading on) was caught, and no
    # sound reading was rejected
    tested = list(state.experiments)[7:]
    standing = {e.id for e in state.experiments.values() if e.status is Status.RECORDED}
    assert not gross(state) & standing & set(tested)
    assert {e.id for e in rejected} <= gross(state)
    # the proposer never sees a rejected reading
    seen = {t.experiment_id for t in planner.history(state).trials}
    assert not seen & {e.id for e in rejected}


def test_clean_campaigns_flag_few_readings_over_20_seeds() -> None:
    # Measured: 2 flags in 258 tested readings (0.8 %), both confirmed by their repeats. The
    # stated bound: at most 2 % of tested readings flagged, and no sound reading rejected.
    flags = tested = rejected = 0
    for seed in range(20):
        state = run(MemoryJournal(), Toy(), seed=seed, budget=20)
        flags += len(state.suspects)
        tested += sum(1 for e in state.experiments.values() if not e.repeat_of) - 7
        rejected += len(state.with_status(Status.REJECTED))
    assert rejected == 0
    assert flags <= 0.02 * tested, (flags, tested)


def test_remeasure_off_keeps_the_suspect_and_says_why() -> None:
    state = run(MemoryJournal(), Toy(rate=0.15), seed=3, outliers={"remeasure": False})
    assert state.suspects
    assert not any(e.repeat_of for e in state.experiments.values())
    for eid, suspect in state.suspects.items():
        assert not suspect.remeasure and "remeasure = false" in suspect.reason
        assert state.resolved[eid].ruling == "kept"
        assert state.experiments[eid].status is Status.RECORDED


def test_outliers_off_journals_settings_as_before() -> None:
    journal = MemoryJournal()
    state = run(journal, Toy(rate=0.15), seed=3, outliers=False)
    assert "outliers" not in state.settings and not state.suspects


def test_the_decision_is_re_derived_from_the_journal_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    live = run(SqliteJournal(path), Toy(rate=0.15), seed=3)
    with SqliteJournal(path) as journal:
        records = list(journal.read("o"))
    assert replay(records).digest() == live.digest()
    # Cut the journal just before each analyst decision (a crash after the reading was
    # journaled): the analyst, asked again, decides exactly what it decided live.
    for i, record in enumerate(records):
        event = record.event()
        if event.type in ("outlier.suspected", "outlier.resolved"):
            before = replay(records[:i])
            if i and records[i - 1].event().type == event.type:
                continue  # the second event of one decision
            decided = analyst.outliers(before)
            assert decided and to_payload(decided[0]) == to_payload(event)


def test_resume_in_the_middle_of_a_repeat_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    sim = Toy(rate=0.15)
    live = run(MemoryJournal(), sim, seed=3)
    journal = SqliteJournal(tmp_path / "split.db")
    campaign = create(journal, seed=3)
    paused: list[bool] = []

    def pause_during_repeat(state: Any) -> None:
        running = [e for e in state.experiments.values() if e.repeat_of and e.started_at]
        if running and state.status == "active" and not paused:
            paused.append(True)
            journal.append(
                "o",
                [CampaignPaused(reason="t")],
                actor=human("ada"),
                expected_seq=journal.last_seq("o"),
                at=state.clock,
            )

    first = campaign.run([SimulatedMachine(sim, name="m")], on_change=pause_during_repeat)
    assert first.stopped == "paused" and paused
    journal.append(
        "o", [CampaignResumed()], actor=human("ada"), expected_seq=journal.last_seq("o"), at=0.0
    )
    second = campaign.run([SimulatedMachine(sim, name="m")])
    campaign.close()
    journal.close()
    assert [e.to_dict() for e in second.state.experiments.values()] == [
        e.to_dict() for e in live.experiments.values()
    ]
    assert second.state.suspects == live.suspects and second.state.resolved == live.resolved


def test_ask_tell_re_measures_a_suspect() -> None:
    sim = Toy(rate=0.15)
    with create(MemoryJournal(), seed=3) as campaign:
        while asked := campaign.ask():
            exp = asked[0]
            outcome = sim.evaluate(exp.params, seed=exp.seed)
            assert isinstance(outcome, Outcome)
            campaign.tell(exp.id, outcome.values)
        state = campaign.state
    assert state.suspects and any(e.repeat_of for e in state.experiments.values())
    assert all(eid in state.resolved for eid in state.suspects)


def test_a_repeat_proposal_is_journaled_only_with_its_field() -> None:
    plain = DesignProposed(experiment_id="e1", params={}, proposer="p", decision=0, seed=0)
    assert "repeat_of" not in to_payload(plain)
    repeat = DesignProposed(
        experiment_id="e2", params={}, proposer="p", decision=0, seed=0, repeat_of="e1"
    )
    assert to_payload(repeat)["repeat_of"] == "e1"


@pytest.mark.parametrize(
    ("outliers", "message"),
    [
        ({"threshold": 0}, "outliers.threshold must be a number > 0"),
        ({"threshold": "4"}, "outliers.threshold"),
        ({"threshold": math.nan}, "outliers.threshold"),
        ({"remeasure": "yes"}, "outliers.remeasure must be true or false"),
        ({"enabled": 1}, "outliers.enabled"),
        ({"often": 3}, "unknown keys \\['often'\\]"),
        ("on", "outliers must be true, false or a table"),
    ],
)
def test_bad_outlier_settings_give_a_clear_error_and_write_nothing(
    outliers: Any, message: str
) -> None:
    journal = MemoryJournal()
    with pytest.raises(InvalidCampaign, match=message):
        create(journal, outliers=outliers)
    assert journal.campaigns() == []


def test_campaign_file_outliers_table(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('simulator = "branin"\n[outliers]\nthreshold = 5.0\n', encoding="utf-8")
    assert load_campaign_file(good).options["outliers"] == {"threshold": 5.0}
    bad = tmp_path / "bad.toml"
    bad.write_text('simulator = "branin"\n[outliers]\nthreshold = -1\n', encoding="utf-8")
    with pytest.raises(InvalidCampaign, match=r"bad\.toml: outliers\.threshold"):
        load_campaign_file(bad)
