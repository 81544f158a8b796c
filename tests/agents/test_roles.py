"""Roles hold: each role may append only its own event types; every refusal is journaled."""

from __future__ import annotations

from typing import Any

import pytest

from daedalus import events as ev
from daedalus.agents import roles
from daedalus.errors import PermissionDenied
from daedalus.goal import Goal, Maximize
from daedalus.journal.memory import MemoryJournal
from daedalus.problem import Problem
from daedalus.space import Real, Space
from daedalus.state import replay

PROBLEM = Problem(name="p", space=Space([Real("x", 0, 1)]), goal=Goal(Maximize("y")))

ACTORS: dict[ev.Role, ev.Actor] = {
    ev.Role.PLANNER: roles.PLANNER,
    ev.Role.SAFETY: roles.SAFETY,
    ev.Role.OPERATOR: roles.OPERATOR,
    ev.Role.ANALYST: roles.ANALYST,
    ev.Role.HUMAN: roles.human("ada"),
    ev.Role.SYSTEM: roles.SYSTEM,
}

# One valid instance per type, about experiment e0001 where the type names one.
EVENTS: dict[str, Any] = {
    e.type: e
    for e in [
        ev.CampaignCreated(name="c", problem={}, settings={}),
        ev.RuntimeStarted(runtime_id="r", token=1),
        ev.RecoveryStarted(in_flight=["e0001"]),
        ev.RecoveryCompleted(findings={"e0001": "done"}),
        ev.AppendRefused(role="planner", actor_id="p", event_type="x", reason="forged"),
        ev.DesignProposed(
            experiment_id="e0001", params={"x": 0.5}, proposer="p", decision=0, seed=1
        ),
        ev.NoteWritten(text="n"),
        ev.ProposalReviewed(experiment_id="e0001", verdict=ev.Verdict.ACCEPT),
        ev.ApprovalRequested(experiment_id="e0001", design_hash="h", reason="r", expires_at=1.0),
        ev.MachinePaused(machine="m", reason="r"),
        ev.CommandIntended(experiment_id="e0001", machine="m", attempt=1, seed=1),
        ev.CommandDispatched(experiment_id="e0001", machine="m", attempt=1, started_at=0.0),
        ev.ObservationRecorded(experiment_id="e0001", values={"y": 1.0}, duration_s=1.0),
        ev.ExperimentFailed(experiment_id="e0001", cause=ev.Cause.TIMEOUT, reason="r", attempt=1),
        ev.OutcomeUnknown(experiment_id="e0001", machine="m", reason="r"),
        ev.Reconciled(experiment_id="e0001", machine="m", finding="f"),
        ev.ModelTrained(n_observations=0),
        ev.ObservationRejected(experiment_id="e0001", reason="r"),
        ev.DriftDetected(
            metric="y",
            test="t",
            control_ids=["e0001"],
            readings=[1.0],
            statistic=6.0,
            threshold=5.0,
            direction="up",
            change_point_id="e0001",
            shift=1.0,
            relative_shift=1.0,
        ),
        ev.OutlierSuspected(
            experiment_id="e0001",
            metric="y",
            test="t",
            value=1.0,
            prediction=0.0,
            sd=0.1,
            score=10.0,
            threshold=4.0,
            remeasure=True,
        ),
        ev.OutlierResolved(experiment_id="e0001", ruling="kept", reason="r"),
        ev.CampaignCompleted(reason="r"),
        ev.ApprovalGranted(experiment_id="e0001", design_hash="h"),
        ev.ApprovalDenied(experiment_id="e0001", design_hash="h"),
        ev.CampaignPaused(),
        ev.CampaignResumed(),
        ev.CampaignAborted(),
        ev.MachineResumed(machine="m"),
        ev.OutcomeResolved(experiment_id="e0001", resolution=ev.Resolution.RERUN),
    ]
}

FORBIDDEN = [(r, t) for r in ev.Role for t in sorted(ev.EVENT_TYPES) if not ev.may_append(r, t)]
ALLOWED = [(r, t) for r in ev.Role for t in sorted(ev.PERMISSIONS[r])]


def _ids(pair: tuple[ev.Role, str]) -> str:
    return f"{pair[0]}-{pair[1]}"


@pytest.fixture
def journal() -> Any:
    with MemoryJournal() as j:
        created = ev.CampaignCreated(name="c", problem=PROBLEM.to_dict(), settings={})
        j.append("c", [created], actor=roles.SYSTEM, expected_seq=0, at=1.0)
        yield j


def test_events_cover_every_type_and_actors_every_role() -> None:
    assert set(EVENTS) == set(ev.EVENT_TYPES)
    assert set(ACTORS) == set(ev.Role)
    assert all(actor.role is role for role, actor in ACTORS.items())
    assert roles.PERMISSIONS is ev.PERMISSIONS


def test_the_forbidden_pairs_are_not_empty() -> None:
    assert len(FORBIDDEN) + len(ALLOWED) == len(ev.Role) * len(ev.EVENT_TYPES)
    assert len(FORBIDDEN) > 100


@pytest.mark.parametrize("pair", FORBIDDEN, ids=_ids)
def test_forbidden_append_is_refused_and_recorded_once(
    journal: MemoryJournal, pair: tuple[ev.Role, str]
) -> None:
    role, event_type = pair
    actor = ACTORS[role]
    with pytest.raises(PermissionDenied) as info:
        journal.append("c", [EVENTS[event_type]], actor=actor, expected_seq=1, at=2.0)
    assert repr(str(role)) in str(info.value) and event_type in str(info.value)
    assert isinstance(info.value, PermissionError)
    records = list(journal.read("c"))
    assert [r.type for r in records] == ["campaign.created", "append.refused"]
    refusal = records[1]
    assert refusal.event() == ev.AppendRefused(
        role=str(role),
        actor_id=actor.id,
        event_type=event_type,
        reason=f"role {role} may not append {event_type}",
    )
    assert refusal.actor.role is ev.Role.SYSTEM
    assert replay(journal.read("c")).refusals == 1


@pytest.mark.parametrize("pair", ALLOWED, ids=_ids)
def test_allowed_append_is_written_as_is(journal: MemoryJournal, pair: tuple[ev.Role, str]) -> None:
    role, event_type = pair
    (record,) = journal.append(
        "c", [EVENTS[event_type]], actor=ACTORS[role], expected_seq=1, at=2.0
    )
    assert (record.seq, record.type, record.actor) == (2, event_type, ACTORS[role])
    assert [r.type for r in journal.read("c")] == ["campaign.created", event_type]


@pytest.mark.parametrize("actor", [roles.PLANNER, roles.ANALYST], ids=lambda a: a.id)
def test_planner_and_analyst_cannot_append_commands(
    journal: MemoryJournal, actor: ev.Actor
) -> None:
    with pytest.raises(PermissionDenied, match=r"\['command.intended'\]"):
        journal.append("c", [EVENTS["command.intended"]], actor=actor, expected_seq=1, at=2.0)
    assert [r.type for r in journal.read("c", after=1)] == ["append.refused"]


def test_operator_cannot_approve(journal: MemoryJournal) -> None:
    with pytest.raises(PermissionDenied, match=r"\['approval.granted'\]"):
        journal.append(
            "c", [EVENTS["approval.granted"]], actor=roles.OPERATOR, expected_seq=1, at=2.0
        )
    (record,) = journal.read("c", after=1)
    assert record.event().event_type == "approval.granted"
    assert record.event().role == "operator"


def test_a_mixed_batch_writes_nothing_but_one_refusal_per_refused_event(
    journal: MemoryJournal,
) -> None:
    batch = [EVENTS["command.intended"], EVENTS["note.written"], EVENTS["approval.granted"]]
    with pytest.raises(PermissionDenied, match=r"\['approval.granted', 'command.intended'\]"):
        journal.append("c", batch, actor=roles.PLANNER, expected_seq=1, at=2.0)
    refused = [r.event() for r in journal.read("c", after=1)]
    assert [(r.type, r.event_type) for r in refused] == [
        ("append.refused", "command.intended"),
        ("append.refused", "approval.granted"),
    ]


def test_human_actors_are_named_for_the_audit_trail() -> None:
    assert roles.human("ada") == ev.Actor(ev.Role.HUMAN, "ada")
    assert roles.may_append(ev.Role.HUMAN, "approval.granted")
    assert not roles.may_append(ev.Role.OPERATOR, "approval.granted")
