"""The campaign state: the experiment lifecycle, purity of `apply`, and replay equals live."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st

from daedalus import events as ev
from daedalus import state as st8
from daedalus.agents import roles
from daedalus.errors import JournalCorrupt, PermissionDenied
from daedalus.goal import Goal, Maximize
from daedalus.journal.memory import MemoryJournal
from daedalus.problem import Problem
from daedalus.space import Real, Space
from daedalus.state import CampaignStatus, State, Status, apply, design_hash, replay

PROBLEM = Problem(name="p", space=Space([Real("x", 0, 1)]), goal=Goal(Maximize("y")))
CREATED = ev.CampaignCreated(
    name="c", problem=PROBLEM.to_dict(), settings={"budget": 10, "seed": 0}
)
HUMAN = roles.human("ada")


def _proposed(eid: str = "e0001", x: float = 0.5, decision: int = 0) -> ev.DesignProposed:
    return ev.DesignProposed(
        experiment_id=eid, params={"x": x}, proposer="test", decision=decision, seed=11
    )


def _reviewed(verdict: ev.Verdict, eid: str = "e0001", *reasons: str) -> ev.ProposalReviewed:
    return ev.ProposalReviewed(experiment_id=eid, verdict=verdict, reasons=list(reasons))


def _intended(attempt: int = 1, eid: str = "e0001") -> ev.CommandIntended:
    return ev.CommandIntended(experiment_id=eid, machine="m1", attempt=attempt, seed=attempt)


def _dispatched(attempt: int = 1, eid: str = "e0001") -> ev.CommandDispatched:
    return ev.CommandDispatched(experiment_id=eid, machine="m1", attempt=attempt, started_at=7.0)


def _recorded(y: float = 1.0, eid: str = "e0001") -> ev.ObservationRecorded:
    return ev.ObservationRecorded(experiment_id=eid, values={"y": y}, duration_s=2.0)


def _failed(*, retry: bool, eid: str = "e0001", attempt: int = 1) -> ev.ExperimentFailed:
    return ev.ExperimentFailed(
        experiment_id=eid,
        cause=ev.Cause.MACHINE_FAULT,
        reason="jam",
        attempt=attempt,
        retry=retry,
        duration_s=1.5,
    )


def _fold(*events: Any) -> list[State]:
    """Every state along the way, starting after CREATED; event i gets seq i and at 10*i."""
    states, current = [], State()
    for seq, event in enumerate((CREATED, *events), start=1):
        current = apply(current, event, seq=seq, at=10.0 * seq)
        states.append(current)
    return states


def _status(*events: Any) -> Status:
    return _fold(*events)[-1].experiments["e0001"].status


RUN = [_proposed(), _reviewed(ev.Verdict.ACCEPT), _intended(), _dispatched(), _recorded(3.5)]
APPROVAL = [
    _proposed(),
    _reviewed(ev.Verdict.NEEDS_APPROVAL, "e0001", "hot"),
    ev.ApprovalRequested(
        experiment_id="e0001", design_hash=design_hash({"x": 0.5}), reason="hot", expires_at=1e9
    ),
]


# --- lifecycle -----------------------------------------------------------------------------------


def test_created_sets_problem_settings_and_name() -> None:
    (s,) = _fold()
    assert s.created and s.name == "c"
    assert s.problem == PROBLEM
    assert (s.budget, s.seq, s.clock, s.status) == (10, 1, 10.0, CampaignStatus.ACTIVE)


def test_happy_path_walks_every_status() -> None:
    states = _fold(*RUN)
    assert [s.experiments["e0001"].status for s in states[1:]] == [
        Status.PROPOSED,
        Status.ACCEPTED,
        Status.INTENDED,
        Status.DISPATCHED,
        Status.RECORDED,
    ]
    exp = states[-1].experiments["e0001"]
    assert (exp.machine, exp.attempt, exp.intents, exp.seed) == ("m1", 1, 1, 1)
    assert (exp.started_at, exp.values, exp.duration_s) == (7.0, {"y": 3.5}, 2.0)
    assert (exp.proposed_at, exp.finished_at) == (20.0, 60.0)
    assert states[-1].best() == exp
    assert (states[-1].spent, states[-1].finished, states[-1].seq) == (1, 1, 6)


def test_blocked_keeps_every_reason_and_spends_no_budget() -> None:
    s = _fold(_proposed(), _reviewed(ev.Verdict.BLOCK, "e0001", "too hot", "forbidden"))[-1]
    exp = s.experiments["e0001"]
    assert (exp.status, exp.reason, exp.finished_at) == (Status.BLOCKED, "too hot; forbidden", 30.0)
    assert (s.spent, s.finished) == (0, 0)


def test_needs_approval_waits_for_a_person() -> None:
    s = _fold(*APPROVAL)[-1]
    exp = s.experiments["e0001"]
    assert (exp.status, exp.approval, exp.approval_expires_at) == (
        Status.AWAITING_APPROVAL,
        "requested",
        1e9,
    )
    assert exp.reason == "hot"


def test_granted_with_the_matching_hash_accepts() -> None:
    grant = ev.ApprovalGranted(experiment_id="e0001", design_hash=design_hash({"x": 0.5}), by="ada")
    exp = _fold(*APPROVAL, grant)[-1].experiments["e0001"]
    assert (exp.status, exp.approval) == (Status.ACCEPTED, "granted")
    assert _status(*APPROVAL, grant, _intended(), _dispatched(), _recorded()) is Status.RECORDED


@pytest.mark.parametrize(
    "wrong_hash", [design_hash({"x": 0.25}), "", "0" * 16, design_hash({"x": 0.5}).upper()]
)
def test_granted_with_another_hash_leaves_it_awaiting(wrong_hash: str) -> None:
    grant = ev.ApprovalGranted(experiment_id="e0001", design_hash=wrong_hash, by="ada")
    states = _fold(*APPROVAL, grant)
    exp = states[-1].experiments["e0001"]
    assert (exp.status, exp.approval) == (Status.AWAITING_APPROVAL, "requested")
    assert states[-1].digest() != states[-2].digest()  # only seq moved on
    assert states[-1].experiments == states[-2].experiments


@pytest.mark.parametrize("reason", ["", "too risky"])
def test_denied_is_final_and_spends_no_budget(reason: str) -> None:
    deny = ev.ApprovalDenied(
        experiment_id="e0001", design_hash=design_hash({"x": 0.5}), reason=reason
    )
    s = _fold(*APPROVAL, deny)[-1]
    exp = s.experiments["e0001"]
    assert (exp.status, exp.approval, exp.finished_at) == (Status.DENIED, "denied", 50.0)
    assert exp.reason == (reason or "denied by a person")
    assert s.spent == 0


def test_failed_with_retry_goes_back_to_accepted_then_runs_again() -> None:
    states = _fold(*RUN[:4], _failed(retry=True), _intended(2), _dispatched(2), _recorded())
    retried = states[5].experiments["e0001"]
    assert (retried.status, retried.cause, retried.reason) == (
        Status.ACCEPTED,
        "machine_fault",
        "jam",
    )
    assert retried.finished_at is None
    final = states[-1].experiments["e0001"]
    assert (final.status, final.attempt, final.intents) == (Status.RECORDED, 2, 1)


def test_only_consecutive_intents_count_toward_a_poison_pill() -> None:
    """Intents that never reached an acknowledgement count; a retry after a fault does not."""
    crashed = _fold(*RUN[:3], _intended(1), _intended(1))[-1].experiments["e0001"]
    assert crashed.intents == 3
    retried = _fold(*RUN[:4], _failed(retry=True), _intended(2))[-1].experiments["e0001"]
    assert retried.intents == 1


def test_failed_without_retry_is_final() -> None:
    s = _fold(*RUN[:4], _failed(retry=False))[-1]
    exp = s.experiments["e0001"]
    assert (exp.status, exp.cause, exp.duration_s, exp.finished_at) == (
        Status.FAILED,
        "machine_fault",
        1.5,
        60.0,
    )
    assert (s.spent, s.finished) == (1, 1)


def test_failed_start_counts_as_failure_before_dispatch() -> None:
    assert _status(*RUN[:3], _failed(retry=False)) is Status.FAILED


def test_outcome_unknown_waits_for_a_person() -> None:
    unknown = ev.OutcomeUnknown(experiment_id="e0001", machine="m1", reason="lost contact")
    exp = _fold(*RUN[:4], unknown)[-1].experiments["e0001"]
    assert (exp.status, exp.reason) == (Status.UNKNOWN, "lost contact")


@pytest.mark.parametrize(
    ("resolution", "status"),
    [(ev.Resolution.RERUN, Status.ACCEPTED), (ev.Resolution.FAILED, Status.FAILED)],
)
def test_a_person_resolves_an_unknown_outcome(resolution: ev.Resolution, status: Status) -> None:
    unknown = ev.OutcomeUnknown(experiment_id="e0001", machine="m1", reason="lost contact")
    resolved = ev.OutcomeResolved(experiment_id="e0001", resolution=resolution, reason="checked")
    assert _status(*RUN[:4], unknown, resolved) is status


def test_a_resolution_applies_only_to_an_unknown_outcome() -> None:
    resolved = ev.OutcomeResolved(experiment_id="e0001", resolution=ev.Resolution.RERUN)
    assert _status(*RUN, resolved) is Status.RECORDED


def test_rejected_reading_is_out_of_best() -> None:
    rejected = ev.ObservationRejected(experiment_id="e0001", reason="y is NaN")
    s = _fold(*RUN, rejected)[-1]
    exp = s.experiments["e0001"]
    assert (exp.status, exp.cause, exp.reason) == (Status.REJECTED, "rejected", "y is NaN")
    assert s.best() is None


def test_reintent_after_a_crash_counts_intents() -> None:
    exp = _fold(*RUN[:3], _intended(1), _intended(1))[-1].experiments["e0001"]
    assert (exp.status, exp.intents, exp.attempt) == (Status.INTENDED, 3, 1)


def test_reconciled_and_notes_on_an_experiment_change_no_status() -> None:
    reconciled = ev.Reconciled(experiment_id="e0001", machine="m1", finding="running")
    note = ev.NoteWritten(text="hm", experiment_id="e0001")
    assert _status(*RUN[:4], reconciled, note) is Status.DISPATCHED


def test_decisions_count_planner_calls() -> None:
    s = _fold(
        _proposed("e0001", decision=0),
        _proposed("e0002", decision=0),
        _proposed("e0003", decision=4),
    )[-1]
    assert s.decisions == 5
    assert list(s.experiments) == ["e0001", "e0002", "e0003"]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([ev.CampaignPaused(reason="x")], CampaignStatus.PAUSED),
        ([ev.CampaignPaused(), ev.CampaignResumed()], CampaignStatus.ACTIVE),
        ([ev.CampaignResumed()], CampaignStatus.ACTIVE),
        ([ev.CampaignCompleted(reason="done")], CampaignStatus.COMPLETED),
        ([ev.CampaignCompleted(reason="done"), ev.CampaignPaused()], CampaignStatus.COMPLETED),
        ([ev.CampaignAborted(), ev.CampaignResumed()], CampaignStatus.ABORTED),
    ],
)
def test_campaign_status(events: list[Any], expected: CampaignStatus) -> None:
    assert _fold(*events)[-1].status is expected


def test_campaign_events_update_their_fields() -> None:
    s = _fold(
        ev.RuntimeStarted(runtime_id="r", token=4),
        ev.MachinePaused(machine="m1", reason="unknown"),
        ev.MachinePaused(machine="m2", reason="jam"),
        ev.MachineResumed(machine="m1"),
        ev.AppendRefused(role="planner", actor_id="p", event_type="command.intended", reason="no"),
        ev.NoteWritten(text="hello"),
        ev.CampaignAborted(),
    )[-1]
    assert (s.token, s.paused_machines, s.refusals, s.notes) == (4, {"m2": "jam"}, 1, ["hello"])
    assert s.completed_reason == "aborted by a person"


@pytest.mark.parametrize(
    ("events", "fragment"),
    [
        ([_reviewed(ev.Verdict.ACCEPT)], "unknown experiment 'e0001'"),
        ([_intended()], "unknown experiment 'e0001'"),
        ([_recorded()], "unknown experiment 'e0001'"),
        ([_proposed(), _proposed()], "proposed twice"),
    ],
)
def test_impossible_events_are_corrupt(events: list[Any], fragment: str) -> None:
    with pytest.raises(JournalCorrupt, match=fragment):
        _fold(*events)


def test_first_event_must_create_the_campaign() -> None:
    with pytest.raises(JournalCorrupt, match=r"first event must be campaign\.created"):
        apply(State(), _proposed(), seq=1, at=0.0)


def test_apply_defaults_to_the_next_seq_and_the_state_clock() -> None:
    (s,) = _fold()
    after = apply(s, _proposed())
    assert (after.seq, after.clock) == (2, 10.0)
    assert after.experiments["e0001"].proposed_at == 10.0


@pytest.mark.parametrize(
    ("history", "decision"),
    [
        ([_proposed(), _reviewed(ev.Verdict.BLOCK, "e0001", "hot")], "grant"),
        (RUN, "grant"),
        ([*RUN[:4], _failed(retry=False)], "grant"),
        (RUN, "deny"),
    ],
    ids=["grant-blocked", "grant-recorded", "grant-failed", "deny-recorded"],
)
def test_approval_decisions_only_move_an_experiment_awaiting_approval(
    history: list[Any], decision: str
) -> None:
    digest = design_hash({"x": 0.5})
    event = (
        ev.ApprovalGranted(experiment_id="e0001", design_hash=digest)
        if decision == "grant"
        else ev.ApprovalDenied(experiment_id="e0001", design_hash=digest)
    )
    before = _fold(*history)[-1].experiments["e0001"].status
    assert _status(*history, event) is before


# --- purity --------------------------------------------------------------------------------------

RICH = [
    *RUN,
    _proposed("e0002", 0.1, 1),
    ev.NoteWritten(text="n"),
    ev.MachinePaused(machine="m1", reason="r"),
]
NEXT = [
    _reviewed(ev.Verdict.ACCEPT, "e0002"),
    _reviewed(ev.Verdict.BLOCK, "e0002", "no"),
    _proposed("e0003", 0.2, 2),
    ev.ObservationRejected(experiment_id="e0001", reason="bad"),
    ev.NoteWritten(text="more"),
    ev.MachinePaused(machine="m2", reason="r"),
    ev.MachineResumed(machine="m1"),
    ev.CampaignPaused(),
    ev.CampaignCompleted(reason="done", best_experiment_id="e0001"),
    ev.AppendRefused(role="planner", actor_id="p", event_type="x", reason="no"),
    CREATED,
]


@pytest.mark.parametrize("event", NEXT, ids=lambda e: e.type)
def test_apply_does_not_mutate_its_input(event: Any) -> None:
    before = _fold(*RICH)[-1]
    snapshot = copy.deepcopy(before)
    digest = before.digest()
    after = apply(before, event, seq=before.seq + 1, at=999.0)
    assert before.digest() == digest
    for name in State.__slots__:
        assert getattr(before, name) == getattr(snapshot, name), name
    assert after is not before
    assert after.seq == before.seq + 1 and after.digest() != digest


# --- replay equals live --------------------------------------------------------------------------


# Events about the campaign rather than one experiment; the last two are refused by the
# journal, which records an append.refused instead, and that record is folded too.
CAMPAIGN_STEPS: list[tuple[ev.Actor, Any]] = [
    (roles.PLANNER, ev.NoteWritten(text="planner note")),
    (roles.ANALYST, ev.NoteWritten(text="analyst note", experiment_id=None)),
    (roles.ANALYST, ev.ModelTrained(n_observations=1, summary={"r2": 0.5})),
    (HUMAN, ev.CampaignPaused(reason="lunch")),
    (HUMAN, ev.CampaignResumed()),
    (roles.SAFETY, ev.MachinePaused(machine="m1", reason="r")),
    (HUMAN, ev.MachineResumed(machine="m1")),
    (roles.SYSTEM, ev.RuntimeStarted(runtime_id="r", token=3)),
    (roles.SYSTEM, ev.RecoveryStarted(in_flight=["e0001"])),
    (roles.PLANNER, _intended(1, "e0001")),
    (roles.OPERATOR, ev.ApprovalGranted(experiment_id="e0001", design_hash="x")),
]


class Campaign:
    """Drives a random but valid campaign through a real `MemoryJournal`, one event per append,
    checking after each that replaying the journal gives the live state's digest."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.journal = MemoryJournal()
        self.live = State()
        self.model: dict[str, Status] = {}
        self.requested: set[str] = set()
        self.appended = 0

    def draw(self, strategy: st.SearchStrategy[Any]) -> Any:
        return self.data.draw(strategy)

    def append(self, actor: ev.Actor, event: Any, status: Status | None = None) -> None:
        """Append `event`; when `status` is given, the event's experiment must end in it."""
        if status is not None:
            self.model[event.experiment_id] = status
        at = self.draw(st.floats(-1e9, 1e9))
        try:
            records = self.journal.append(
                "c", [event], actor=actor, expected_seq=self.journal.last_seq("c"), at=at
            )
        except PermissionDenied:
            records = list(self.journal.read("c", after=self.journal.last_seq("c") - 1))
            event = records[0].event()
            assert isinstance(event, ev.AppendRefused)
        (record,) = records
        previous, digest = self.live, self.live.digest()
        self.live = apply(self.live, event, seq=record.seq, at=at)
        assert previous.digest() == digest, "apply mutated its input"
        replayed = replay(self.journal.read("c"))
        assert replayed.digest() == self.live.digest(), (replayed.to_dict(), self.live.to_dict())
        self.appended += 1
        for eid, status in self.model.items():
            assert self.live.experiments[eid].status is status, (eid, event)

    # -- steps: each returns None, and is offered only when it is valid --------------------------

    def propose(self) -> None:
        eid = f"e{len(self.model) + 1:04d}"
        x = self.draw(st.floats(0, 1))
        self.append(roles.PLANNER, _proposed(eid, x, decision=len(self.model)), Status.PROPOSED)

    def review(self, eid: str) -> None:
        verdict = self.draw(st.sampled_from(ev.Verdict))
        reasons = self.draw(st.lists(st.text(max_size=5), max_size=2))
        status = {
            ev.Verdict.ACCEPT: Status.ACCEPTED,
            ev.Verdict.BLOCK: Status.BLOCKED,
            ev.Verdict.NEEDS_APPROVAL: Status.AWAITING_APPROVAL,
        }[verdict]
        self.append(roles.SAFETY, _reviewed(verdict, eid, *reasons), status)

    def request(self, eid: str) -> None:
        digest = self.live.experiments[eid].design_hash
        self.append(
            roles.SAFETY,
            ev.ApprovalRequested(experiment_id=eid, design_hash=digest, reason="r", expires_at=1e9),
        )
        self.requested.add(eid)

    def decide(self, eid: str) -> None:
        kind = self.draw(st.sampled_from(["grant", "grant-other", "deny"]))
        digest = self.live.experiments[eid].design_hash
        if kind == "deny":
            self.append(
                HUMAN, ev.ApprovalDenied(experiment_id=eid, design_hash=digest), Status.DENIED
            )
        elif kind == "grant":
            self.append(
                HUMAN, ev.ApprovalGranted(experiment_id=eid, design_hash=digest), Status.ACCEPTED
            )
        else:
            self.append(HUMAN, ev.ApprovalGranted(experiment_id=eid, design_hash="f" * 16))

    def intend(self, eid: str) -> None:
        attempt = self.live.experiments[eid].attempt + 1
        self.append(roles.OPERATOR, _intended(attempt, eid), Status.INTENDED)

    def dispatch(self, eid: str) -> None:
        attempt = self.live.experiments[eid].attempt
        self.append(roles.OPERATOR, _dispatched(attempt, eid), Status.DISPATCHED)

    def record(self, eid: str) -> None:
        y = self.draw(st.floats(allow_nan=True, allow_infinity=True))
        self.append(roles.OPERATOR, _recorded(y, eid), Status.RECORDED)

    def fail(self, eid: str) -> None:
        retry = self.draw(st.booleans())
        cause = self.draw(st.sampled_from(ev.Cause))
        event = ev.ExperimentFailed(
            experiment_id=eid,
            cause=cause,
            reason="r",
            attempt=self.live.experiments[eid].attempt,
            retry=retry,
        )
        self.append(roles.OPERATOR, event, Status.ACCEPTED if retry else Status.FAILED)

    def lose(self, eid: str) -> None:
        self.append(
            roles.OPERATOR,
            ev.OutcomeUnknown(experiment_id=eid, machine="m1", reason="?"),
            Status.UNKNOWN,
        )

    def reject(self, eid: str) -> None:
        self.append(
            roles.ANALYST, ev.ObservationRejected(experiment_id=eid, reason="bad"), Status.REJECTED
        )

    def reconcile(self, eid: str) -> None:
        self.append(roles.OPERATOR, ev.Reconciled(experiment_id=eid, machine="m1", finding="x"))

    def campaign_step(self) -> None:
        actor, event = self.draw(st.sampled_from(CAMPAIGN_STEPS))
        self.append(actor, event)

    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        by_status: dict[Status, list[tuple[str, Callable[[str], None]]]] = {
            Status.PROPOSED: [("review", self.review)],
            Status.AWAITING_APPROVAL: [("decide", self.decide)],
            Status.ACCEPTED: [("intend", self.intend)],
            Status.INTENDED: [
                ("dispatch", self.dispatch),
                ("fail", self.fail),
                ("lose", self.lose),
                ("intend", self.intend),
            ],
            Status.DISPATCHED: [
                ("record", self.record),
                ("fail", self.fail),
                ("lose", self.lose),
                ("reconcile", self.reconcile),
            ],
            Status.UNKNOWN: [("fail", self.fail), ("record", self.record)],
            Status.RECORDED: [("reject", self.reject)],
        }
        options: list[tuple[str, Callable[[], None]]] = [("campaign", self.campaign_step)]
        if len(self.model) < 6:
            options.append(("propose", self.propose))
        for eid, status in self.model.items():
            for label, step in by_status.get(status, []):
                options.append((f"{label} {eid}", lambda step=step, eid=eid: step(eid)))
            if status is Status.AWAITING_APPROVAL and eid not in self.requested:
                options.append((f"request {eid}", lambda eid=eid: self.request(eid)))
        return options


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_replay_equals_live_after_every_event(data: Any) -> None:
    campaign = Campaign(data)
    campaign.append(roles.SYSTEM, CREATED)
    for _ in range(data.draw(st.integers(10, 60), label="steps")):
        label, step = data.draw(st.sampled_from(campaign.steps()), label="step")
        note_event(label.split()[0])
        step()
    assert campaign.appended == campaign.journal.last_seq("c")
    assert campaign.live.seq == campaign.appended


def test_replay_refuses_a_journal_whose_event_does_not_fit_the_state() -> None:
    journal = MemoryJournal()
    journal.append("c", [CREATED], actor=roles.SYSTEM, expected_seq=0, at=0.0)
    journal.append("c", [_recorded()], actor=roles.OPERATOR, expected_seq=1, at=1.0)
    with pytest.raises(JournalCorrupt, match=r"campaign 'c' seq 2: .*unknown experiment 'e0001'"):
        replay(journal.read("c"))


@pytest.mark.parametrize(
    "problem", [{}, {**PROBLEM.to_dict(), "space": {"parameters": [{"kind": "real"}]}}]
)
def test_replay_refuses_a_malformed_problem_as_corrupt(problem: dict[str, Any]) -> None:
    journal = MemoryJournal()
    created = ev.CampaignCreated(name="c", problem=problem, settings={})
    journal.append("c", [created], actor=roles.SYSTEM, expected_seq=0, at=0.0)
    with pytest.raises(JournalCorrupt, match="seq 1"):
        replay(journal.read("c"))


def test_digest_is_deterministic_and_sensitive() -> None:
    a = _fold(*RUN)[-1]
    b = _fold(*RUN)[-1]
    assert a.digest() == b.digest()
    assert len(a.digest()) == 64
    c = _fold(*RUN[:4], _recorded(3.6))[-1]
    assert c.digest() != a.digest()


def test_state_module_lists_terminal_and_in_flight_statuses() -> None:
    assert {Status.INTENDED, Status.DISPATCHED} == st8.IN_FLIGHT
    assert st8.UNSPENT <= st8.TERMINAL
