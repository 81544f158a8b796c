"""The runtime and the Campaign API on real journals: retries, timeouts, approvals, unknown
outcomes, adversarial proposers, poison pills and ask/tell."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from daedalus import (
    Campaign,
    Cause,
    Failure,
    Goal,
    InvalidCampaign,
    InvalidParams,
    Job,
    Maximize,
    Outcome,
    Problem,
    Real,
    Running,
    Space,
    Status,
    Unknown,
    UnknownCampaign,
)
from daedalus.agents.roles import OPERATOR, PLANNER, human
from daedalus.errors import InvalidTransition, MachineError
from daedalus.events import (
    ApprovalGranted,
    CampaignAborted,
    CommandDispatched,
    CommandIntended,
    DesignProposed,
    MachineResumed,
    ObservationRecorded,
    OutcomeResolved,
    Resolution,
)
from daedalus.goal import Goal as _Goal
from daedalus.journal.memory import MemoryJournal
from daedalus.journal.sqlite import SqliteJournal
from daedalus.proposers.base import History
from daedalus.runtime.writer import CampaignWriter
from daedalus.space import Params
from daedalus.state import design_hash

PROBLEM = Problem("bowl", Space([Real("x", 0, 1), Real("y", 0, 1)]), Goal(Maximize("f")))


def bowl(params: Mapping[str, Any]) -> float:
    return -((float(params["x"]) - 0.3) ** 2) - (float(params["y"]) - 0.7) ** 2


class ScriptedMachine:
    """A machine whose answers a test scripts per (experiment, attempt). Test-only fake."""

    idempotent = False

    def __init__(
        self,
        name: str = "m1",
        *,
        duration_s: float = 10.0,
        script: Mapping[tuple[str, int], Any] | None = None,
    ) -> None:
        self.name, self.duration_s, self.script = name, duration_s, dict(script or {})
        self.started: list[tuple[str, int]] = []

    async def start(self, job: Job) -> None:
        self.started.append((job.experiment_id, job.attempt))

    async def poll(self, job: Job, *, now: float) -> Any:
        answer = self.script.get((job.experiment_id, job.attempt))
        if isinstance(answer, Running):
            return answer
        if now < job.started_at + self.duration_s:
            return Running(eta=job.started_at + self.duration_s)
        if answer is not None:
            return answer
        return Outcome({"f": bowl(job.params)}, duration_s=self.duration_s)

    async def stop(self, job: Job) -> None:
        return None

    async def reconcile(self, job: Job, *, dispatched: bool, now: float) -> Any:
        answer = self.script.get(("reconcile", 0))
        return answer if answer is not None else await self.poll(job, now=now)


def create(journal: Any, **options: Any) -> Campaign:
    defaults: dict[str, Any] = {"seed": 1, "budget": 6, "proposer": "sobol"}
    return Campaign.create("c", PROBLEM, journal=journal, **{**defaults, **options})


def types(journal: Any, name: str = "c") -> list[str]:
    return [r.type for r in journal.read(name)]


def test_campaign_runs_to_budget_on_several_machines(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.db")
    machines = [ScriptedMachine("m1"), ScriptedMachine("m2"), ScriptedMachine("m3")]
    with create(journal, budget=9) as campaign:
        result = campaign.run(machines)
    assert result.completed and result.state.completed_reason == "budget spent"
    assert [len(m.started) for m in machines] == [3, 3, 3]
    assert len(result.state.with_status(Status.RECORDED)) == 9
    journal.close()


def test_machine_fault_is_retried_within_budget() -> None:
    journal = MemoryJournal()
    fault = Failure(Cause.MACHINE_FAULT, "link dropped")
    machine = ScriptedMachine(
        script={("e0001", 1): fault, ("e0002", 1): fault, ("e0002", 2): fault, ("e0002", 3): fault}
    )
    with create(journal, budget=3, retries=2) as campaign:
        state = campaign.run([machine]).state
    assert state.experiments["e0001"].status is Status.RECORDED
    assert state.experiments["e0001"].attempt == 2
    assert state.experiments["e0002"].status is Status.FAILED
    assert state.experiments["e0002"].attempt == 3  # first try + 2 retries
    assert state.experiments["e0003"].status is Status.RECORDED


def test_infeasible_is_not_retried() -> None:
    journal = MemoryJournal()
    machine = ScriptedMachine(script={("e0001", 1): Failure(Cause.INFEASIBLE, "clogged")})
    with create(journal, budget=2) as campaign:
        state = campaign.run([machine]).state
    assert state.experiments["e0001"].status is Status.FAILED
    assert state.experiments["e0001"].cause == "infeasible"
    assert ("e0001", 2) not in machine.started


def test_timeout_fails_the_attempt_then_retries() -> None:
    journal = MemoryJournal()
    machine = ScriptedMachine(script={("e0001", 1): Running(eta=None)})
    with create(journal, budget=1, timeout_s=100.0) as campaign:
        state = campaign.run([machine]).state
    exp = state.experiments["e0001"]
    assert exp.status is Status.RECORDED and exp.attempt == 2
    failed = [r for r in journal.read("c") if r.type == "experiment.failed"]
    assert failed[0].payload["cause"] == "timeout" and failed[0].payload["retry"] is True


def test_nan_reading_is_rejected_and_kept_out_of_the_model() -> None:
    journal = MemoryJournal()
    machine = ScriptedMachine(script={("e0002", 1): Outcome({"f": math.nan}, duration_s=1)})
    with create(journal, budget=3) as campaign:
        state = campaign.run([machine]).state
    exp = state.experiments["e0002"]
    assert exp.status is Status.REJECTED and "NaN" in exp.reason
    recorded = [r for r in journal.read("c") if r.type == "observation.recorded"]
    assert math.isnan(recorded[1].event().values["f"])  # the raw reading is journaled


class Adversary:
    """A proposer that suggests designs outside the space and inside a forbidden region."""

    name = "adversary"

    def __init__(self) -> None:
        self.calls = 0

    def propose(
        self, space: Space, goal: _Goal, history: History, *, n: int, seed: int
    ) -> list[Params]:
        self.calls += 1
        bad: list[Params] = [
            {"x": 2.0, "y": 0.5},
            {"x": 0.95, "y": 0.5},
            {"x": math.nan, "y": 0.1},
            {"x": 0.5},
            {"x": 0.2, "y": 0.2, "z": 1.0},
            {"x": 0.1, "y": 0.1},
        ]
        return [bad[(self.calls - 1) % len(bad)]]


def test_adversarial_proposals_are_never_dispatched() -> None:
    journal = MemoryJournal()
    safety = {"limits": {"x": [0.0, 0.9]}, "forbidden": ["x < 0.15 and y < 0.15"]}
    machine = ScriptedMachine()
    with create(journal, budget=2, safety=safety) as campaign:
        result = campaign.run([machine], proposer=Adversary())  # type: ignore[arg-type]
    assert machine.started == []
    assert result.state.completed_reason.startswith("safety blocked")
    assert not [r for r in journal.read("c") if r.type == "command.intended"]


def test_approval_is_bound_to_its_design_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with create(path, budget=2, safety={"approval": ["x >= 0"]}) as campaign:
        first = campaign.run([ScriptedMachine()])
    assert first.stopped == "waiting for approval"
    journal = SqliteJournal(path)
    waiting = first.state.experiments["e0001"]
    wrong = ApprovalGranted(experiment_id="e0001", design_hash=design_hash({"x": 0.0, "y": 0.0}))
    journal.append("c", [wrong], actor=human("ann"), expected_seq=journal.last_seq("c"), at=0.0)
    with Campaign.open("c", journal=journal) as campaign:
        assert campaign.state.experiments["e0001"].status is Status.AWAITING_APPROVAL
        right = ApprovalGranted(experiment_id="e0001", design_hash=waiting.design_hash, by="ann")
        journal.append("c", [right], actor=human("ann"), expected_seq=journal.last_seq("c"), at=0.0)
    journal.close()
    machine = ScriptedMachine()
    with Campaign.open("c", journal=path) as campaign:  # a new process would see the same
        second = campaign.run([machine])
    assert ("e0001", 1) in machine.started
    assert second.state.experiments["e0001"].status is Status.RECORDED


def test_expired_approval_request_blocks_the_design() -> None:
    journal = MemoryJournal()
    safety = {"approval": ["x >= 0"], "approval_ttl_s": 1e-6}
    with create(journal, budget=1, safety=safety) as campaign:
        assert campaign.run([ScriptedMachine()]).stopped == "waiting for approval"
        campaign.run([ScriptedMachine()])  # resumed after the request expired
        state = campaign.state
    assert state.experiments["e0001"].status is Status.BLOCKED
    assert "expired" in state.experiments["e0001"].reason


def test_reconcile_unknown_pauses_machine() -> None:
    journal = MemoryJournal()
    with create(journal, budget=2) as campaign:
        [exp] = campaign.ask(1)
    # Simulate a runtime that died after dispatching e0001 to machine m1.
    seq = journal.last_seq("c")
    journal.append(
        "c",
        [
            CommandIntended(experiment_id=exp.id, machine="m1", attempt=2, seed=5),
            CommandDispatched(experiment_id=exp.id, machine="m1", attempt=2, started_at=0.0),
        ],
        actor=OPERATOR,
        expected_seq=seq,
        at=0.0,
    )
    machine = ScriptedMachine(script={("reconcile", 0): Unknown("controller rebooted")})
    with Campaign.open("c", journal=journal) as campaign:
        result = campaign.run([machine])
    assert result.state.experiments[exp.id].status is Status.UNKNOWN
    assert "m1" in result.state.paused_machines
    assert result.stopped.startswith("outcome unknown")
    assert machine.started == []  # never re-run on its own: not idempotent


def test_ask_tell_goes_through_agents_and_journal(tmp_path: Path) -> None:
    with create(tmp_path / "j.db", budget=3) as campaign:
        asked = campaign.ask(2)
        assert [e.id for e in asked] == ["e0001", "e0002"]
        assert all(PROBLEM.space.contains(e.params) for e in asked)
        told = campaign.tell(asked[0].id, {"f": bowl(asked[0].params)})
        assert told.status is Status.RECORDED
        assert campaign.tell(asked[1].id, {"f": math.inf}).status is Status.REJECTED
        with pytest.raises(InvalidParams, match="not yet told"):
            campaign.tell(asked[0].id, {"f": 1.0})
        with pytest.raises(InvalidParams, match="no experiment"):
            campaign.tell("e9999", {"f": 1.0})
        [third] = campaign.ask(5)  # only one left in the budget
        assert campaign.fail(third.id, "infeasible", "part cracked").status is Status.FAILED
        assert campaign.ask(1) == []
        state = campaign.state
    assert str(state.status) == "completed"
    journal = SqliteJournal(tmp_path / "j.db")
    roles = {r.type: r.actor.role for r in journal.read("c")}
    journal.close()
    assert roles["design.proposed"] == "planner" and roles["proposal.reviewed"] == "safety"
    assert roles["observation.recorded"] == "operator"
    assert roles["observation.rejected"] == "analyst"


def test_create_and_open_refuse_bad_names_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    create(path).close()
    with pytest.raises(InvalidCampaign, match="already exists"):
        create(path)
    with pytest.raises(UnknownCampaign, match="known: \\['c'\\]"):
        Campaign.open("nope", journal=path)
    with pytest.raises(InvalidCampaign, match="campaign name"):
        Campaign.create("bad name!", PROBLEM, journal=path)
    with pytest.raises(InvalidCampaign, match="budget"):
        Campaign.create("d", PROBLEM, journal=path, budget=0)
    with pytest.raises(InvalidCampaign, match="unknown parameter"):
        Campaign.create("d", PROBLEM, journal=path, safety={"limits": {"z": [0, 1]}})
    journal = SqliteJournal(path)
    assert journal.campaigns() == ["c"]
    journal.close()


def test_a_person_resolves_an_unknown_outcome_and_the_machine_resumes() -> None:
    journal = MemoryJournal()
    with create(journal, budget=1) as campaign:
        [exp] = campaign.ask(1)
    seq = journal.last_seq("c")
    intent = CommandIntended(experiment_id=exp.id, machine="m1", attempt=2, seed=5)
    sent = CommandDispatched(experiment_id=exp.id, machine="m1", attempt=2, started_at=0.0)
    journal.append("c", [intent, sent], actor=OPERATOR, expected_seq=seq, at=0.0)
    lost = ScriptedMachine(script={("reconcile", 0): Unknown("controller rebooted")})
    with Campaign.open("c", journal=journal) as campaign:
        assert campaign.run([lost]).stopped.startswith("outcome unknown")
    decision = [
        OutcomeResolved(experiment_id=exp.id, resolution=Resolution.RERUN, by="ann"),
        MachineResumed(machine="m1"),
    ]
    journal.append("c", decision, actor=human("ann"), expected_seq=journal.last_seq("c"), at=0.0)
    machine = ScriptedMachine()
    with Campaign.open("c", journal=journal) as campaign:
        result = campaign.run([machine])
    assert machine.started == [(exp.id, 3)]
    assert result.completed and result.state.experiments[exp.id].status is Status.RECORDED


class FlakyLink(ScriptedMachine):
    """Polls raise for the first `errors` calls, then the machine answers. Test-only fake."""

    def __init__(self, *, errors: int, idempotent: bool = False, start_error: bool = False) -> None:
        super().__init__()
        self.errors, self.idempotent, self.start_error = errors, idempotent, start_error
        self.stopped: list[str] = []

    async def start(self, job: Job) -> None:
        if self.start_error and len(self.started) == 0:
            self.started.append((job.experiment_id, job.attempt))
            raise TimeoutError("no acknowledgement within 5 s")
        await super().start(job)

    async def poll(self, job: Job, *, now: float) -> Any:
        if self.errors > 0:
            self.errors -= 1
            raise ConnectionError("link dropped")
        return await super().poll(job, now=now)

    async def stop(self, job: Job) -> None:
        self.stopped.append(job.experiment_id)


def test_a_failed_poll_never_starts_the_design_again() -> None:
    machine = FlakyLink(errors=3)
    with create(MemoryJournal(), budget=1) as campaign:
        state = campaign.run([machine]).state
    assert machine.started == [("e0001", 1)]
    assert state.experiments["e0001"].status is Status.RECORDED


def test_a_machine_that_never_answers_a_poll_is_paused_for_a_person() -> None:
    machine = FlakyLink(errors=100)
    with create(MemoryJournal(), budget=1) as campaign:
        result = campaign.run([machine])
    assert machine.started == [("e0001", 1)]
    assert result.state.experiments["e0001"].status is Status.UNKNOWN
    assert "m1" in result.state.paused_machines


@pytest.mark.parametrize(("idempotent", "starts"), [(False, 1), (True, 2)])
def test_a_start_that_may_have_happened_is_rerun_only_if_idempotent(
    idempotent: bool, starts: int
) -> None:
    machine = FlakyLink(errors=0, idempotent=idempotent, start_error=True)
    with create(MemoryJournal(), budget=1) as campaign:
        state = campaign.run([machine]).state
    assert len(machine.started) == starts
    expected = Status.RECORDED if idempotent else Status.UNKNOWN
    assert state.experiments["e0001"].status is expected


def test_a_machine_error_at_start_is_retried_on_the_only_machine() -> None:
    class Away(ScriptedMachine):
        async def start(self, job: Job) -> None:
            await super().start(job)
            if len(self.started) == 1:
                raise MachineError("controller busy")

    machine = Away()
    with create(MemoryJournal(), budget=2) as campaign:
        result = campaign.run([machine])
    assert result.completed, result.stopped
    assert machine.started[:2] == [("e0001", 1), ("e0001", 2)]


def test_a_proposal_stranded_by_a_crash_is_reviewed_on_resume() -> None:
    journal = MemoryJournal()
    create(journal, budget=2).close()
    stranded = DesignProposed(
        experiment_id="e0001", params={"x": 0.5, "y": 0.5}, proposer="sobol", decision=0, seed=1
    )
    journal.append("c", [stranded], actor=PLANNER, expected_seq=journal.last_seq("c"), at=0.0)
    with Campaign.open("c", journal=journal) as campaign:
        result = campaign.run([ScriptedMachine()])
    assert result.completed
    assert result.state.experiments["e0001"].status is Status.RECORDED


def test_a_persons_abort_stops_the_runtime_and_ask() -> None:
    journal = MemoryJournal()

    class Aborting(ScriptedMachine):
        async def start(self, job: Job) -> None:
            await super().start(job)
            if job.experiment_id == "e0002":  # a person aborts from another terminal
                abort = CampaignAborted(reason="smoke in the lab")
                journal.append("c", [abort], actor=human("ann"),
                               expected_seq=journal.last_seq("c"), at=0.0)  # fmt: skip

    with create(journal, budget=6) as campaign:
        result = campaign.run([Aborting("m1"), Aborting("m2")])
        assert result.stopped == "aborted"
        assert str(campaign.state.status) == "aborted"
        assert len(campaign.state.experiments) == 2  # nothing new after the abort
        with pytest.raises(InvalidCampaign, match="aborted"):
            campaign.ask(1)


def test_the_writer_refuses_events_that_break_the_lifecycle() -> None:
    journal = MemoryJournal()
    with create(journal, budget=1, safety={"limits": {"x": [0.0, 0.0]}}) as campaign:
        assert campaign.ask(1) == []  # every proposal blocked
        blocked = next(iter(campaign.state.experiments))
        with pytest.raises(InvalidParams, match="blocked"):
            campaign.tell(blocked, {"f": 1.0})
    writer = CampaignWriter(journal, "c", now=lambda: 0.0)
    before = journal.last_seq("c")
    forged = ObservationRecorded(experiment_id=blocked, values={"f": 9.0}, duration_s=1.0)
    with pytest.raises(InvalidTransition, match="blocked"):
        writer.emit(OPERATOR, [forged])
    assert journal.last_seq("c") == before


def test_an_eta_in_the_past_does_not_spin_the_virtual_clock() -> None:
    class Stale(ScriptedMachine):
        async def poll(self, job: Job, *, now: float) -> Any:
            if now < job.started_at + 30:
                return Running(eta=job.started_at - 1.0)  # a confused controller
            return Outcome({"f": 0.0}, duration_s=30)

    with create(MemoryJournal(), budget=1) as campaign:
        assert campaign.run([Stale()]).completed
