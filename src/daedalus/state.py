r"""The campaign as of an event: a pure fold of the journal, and the experiment lifecycle.

```
proposed -> accepted ------------------------------> intended -> dispatched -> recorded
         \-> awaiting_approval -> accepted (granted)                        \-> failed(cause)
         |                     \-> denied                                   \-> unknown
         \-> blocked                                                         \-> (retry) accepted
recorded -> rejected (the analyst found the reading invalid)
recorded -> suspected (outlier test) -> resolved: kept, or rejected (its repeat disagreed)
```

`apply(state, event)` returns a new state and never mutates its input. `replay(events)` folds a
whole log through the same transition functions, in place on a fresh state, so replay and live
agree by construction and replay stays linear in the number of events.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from daedalus import events as ev
from daedalus.errors import InvalidTransition, JournalCorrupt
from daedalus.problem import Problem
from daedalus.space import Value


class Status(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    AWAITING_APPROVAL = "awaiting_approval"
    BLOCKED = "blocked"
    DENIED = "denied"
    INTENDED = "intended"
    DISPATCHED = "dispatched"
    RECORDED = "recorded"
    FAILED = "failed"
    UNKNOWN = "unknown"
    REJECTED = "rejected"


TERMINAL = frozenset(
    {Status.BLOCKED, Status.DENIED, Status.RECORDED, Status.FAILED, Status.REJECTED}
)
IN_FLIGHT = frozenset({Status.INTENDED, Status.DISPATCHED})
# Designs that never ran and never will do not spend budget.
UNSPENT = frozenset({Status.BLOCKED, Status.DENIED})


class CampaignStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    ABORTED = "aborted"


def design_hash(params: Mapping[str, Value]) -> str:
    """A digest of one exact design; approvals are bound to it."""
    text = json.dumps(dict(params), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Experiment:
    """One design and everything that happened to it."""

    id: str
    params: Mapping[str, Value]
    proposer: str
    decision: int
    status: Status = Status.PROPOSED
    machine: str | None = None
    attempt: int = 0
    intents: int = 0  # every CommandIntended, crashes included: poison pills are counted here
    seed: int = 0
    started_at: float | None = None
    values: Mapping[str, float] | None = None
    cause: str | None = None
    reason: str = ""
    duration_s: float = 0.0
    approval: str | None = None  # requested, granted, denied
    approval_expires_at: float | None = None
    proposed_at: float = 0.0
    finished_at: float | None = None
    control: bool = False  # a run of the campaign's control design (drift watch)
    repeat_of: str | None = None  # a re-measurement of this experiment's suspect reading

    @property
    def design_hash(self) -> str:
        return design_hash(self.params)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": str(self.status),
            "params": dict(self.params),
            "values": None if self.values is None else dict(self.values),
            "cause": self.cause,
            "reason": self.reason,
            "machine": self.machine,
            "attempt": self.attempt,
            "proposer": self.proposer,
            "decision": self.decision,
            "proposed_at": self.proposed_at,
            "finished_at": self.finished_at,
            "approval": self.approval,
            # Only when set, so states of journals without controls hash as they always did.
            **({"control": True} if self.control else {}),
            **({"repeat_of": self.repeat_of} if self.repeat_of is not None else {}),
        }


@dataclass(slots=True)
class State:
    """Everything the team knows about one campaign. Treat as a value: use `apply`."""

    name: str = ""
    problem: Problem | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    experiments: dict[str, Experiment] = field(default_factory=dict)  # in proposal order
    status: CampaignStatus = CampaignStatus.ACTIVE
    completed_reason: str = ""
    paused_machines: dict[str, str] = field(default_factory=dict)
    decisions: int = 0
    seq: int = 0
    clock: float = 0.0
    token: int = 0
    refusals: int = 0
    notes: list[str] = field(default_factory=list)
    drifts: list[ev.DriftDetected] = field(default_factory=list)  # in journal order
    # Outlier watch: suspect readings and their verdicts, by experiment id, in journal order.
    suspects: dict[str, ev.OutlierSuspected] = field(default_factory=dict)
    resolved: dict[str, ev.OutlierResolved] = field(default_factory=dict)
    last_recorded: str | None = None  # the experiment whose reading was journaled last

    # -- queries --------------------------------------------------------------------------------

    @property
    def created(self) -> bool:
        return self.problem is not None

    def with_status(self, *statuses: Status) -> list[Experiment]:
        wanted = set(statuses)
        return [e for e in self.experiments.values() if e.status in wanted]

    @property
    def budget(self) -> int:
        return int(self.settings.get("budget", 0))

    @property
    def spent(self) -> int:
        """Designs that ran, run, or may still run: everything but blocked and denied ones."""
        return sum(1 for e in self.experiments.values() if e.status not in UNSPENT)

    @property
    def finished(self) -> int:
        return sum(
            1 for e in self.experiments.values() if e.status in TERMINAL and e.status not in UNSPENT
        )

    def best(self) -> Experiment | None:
        """The best valid, feasible experiment for the goal's first objective."""
        assert self.problem is not None
        recorded = [e for e in self.experiments.values() if e.status is Status.RECORDED]
        index = self.problem.goal.best([e.values or {} for e in recorded])
        return None if index is None else recorded[index]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "problem": None if self.problem is None else self.problem.to_dict(),
            "settings": dict(self.settings),
            "status": str(self.status),
            "completed_reason": self.completed_reason,
            "paused_machines": dict(sorted(self.paused_machines.items())),
            "decisions": self.decisions,
            "experiments": [e.to_dict() for e in self.experiments.values()],
            "seq": self.seq,
            "intents": {e.id: e.intents for e in self.experiments.values() if e.intents},
            "refusals": self.refusals,
            "notes": list(self.notes),
            **({"drifts": [ev.to_payload(d) for d in self.drifts]} if self.drifts else {}),
            **(
                {"suspects": [ev.to_payload(e) for e in self.suspects.values()]}
                if self.suspects
                else {}
            ),
            **(
                {"resolved": [ev.to_payload(e) for e in self.resolved.values()]}
                if self.resolved
                else {}
            ),
        }

    def digest(self) -> str:
        """SHA-256 of the canonical state; live, replayed and snapshotted states must agree."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()


# -- transitions ---------------------------------------------------------------------------------


def _update(state: State, experiment_id: str, event: Any, **changes: Any) -> None:
    current = state.experiments.get(experiment_id)
    if current is None:
        raise JournalCorrupt(f"{event.type} for unknown experiment {experiment_id!r}")
    state.experiments[experiment_id] = replace(current, **changes)


def _has_status(state: State, experiment_id: str, status: Status) -> bool:
    exp = state.experiments.get(experiment_id)
    return exp is not None and exp.status is status


def _awaits(exp: Experiment | None, digest: str) -> bool:
    return exp is not None and exp.status is Status.AWAITING_APPROVAL and exp.design_hash == digest


def _experiment_event(state: State, event: Any, at: float) -> None:
    eid = event.experiment_id
    match event:
        case ev.DesignProposed():
            if eid in state.experiments:
                raise JournalCorrupt(f"experiment {eid!r} proposed twice")
            state.experiments[eid] = Experiment(
                id=eid,
                params=dict(event.params),
                proposer=event.proposer,
                decision=event.decision,
                proposed_at=at,
                control=event.control,
                repeat_of=event.repeat_of,
            )
            state.decisions = max(state.decisions, event.decision + 1)
        case ev.ProposalReviewed():
            status = {
                ev.Verdict.ACCEPT: Status.ACCEPTED,
                ev.Verdict.BLOCK: Status.BLOCKED,
                ev.Verdict.NEEDS_APPROVAL: Status.AWAITING_APPROVAL,
            }[event.verdict]
            reason = "; ".join(event.reasons)
            _update(
                state,
                eid,
                event,
                status=status,
                reason=reason,
                finished_at=at if status is Status.BLOCKED else None,
            )
        case ev.ApprovalRequested():
            _update(state, eid, event, approval="requested", approval_expires_at=event.expires_at)
        case ev.ApprovalGranted():
            # A decision binds only to the exact design, and only while it waits for one.
            exp = state.experiments.get(eid)
            if _awaits(exp, event.design_hash):
                _update(state, eid, event, approval="granted", status=Status.ACCEPTED)
        case ev.ApprovalDenied() if _awaits(state.experiments.get(eid), event.design_hash):
            _update(
                state,
                eid,
                event,
                approval="denied",
                status=Status.DENIED,
                reason=event.reason or "denied by a person",
                finished_at=at,
            )
        case ev.CommandIntended():
            # Consecutive intents only: an intent that never reached the machine's
            # acknowledgement is a start the runtime did not survive (a poison pill).
            current = state.experiments.get(eid)
            intents = current.intents + 1 if current and current.status is Status.INTENDED else 1
            _update(
                state,
                eid,
                event,
                status=Status.INTENDED,
                machine=event.machine,
                attempt=event.attempt,
                seed=event.seed,
                started_at=None,
                intents=intents,
            )
        case ev.CommandDispatched():
            _update(state, eid, event, status=Status.DISPATCHED, started_at=event.started_at)
        case ev.ObservationRecorded():
            _update(
                state,
                eid,
                event,
                status=Status.RECORDED,
                values=dict(event.values),
                duration_s=event.duration_s,
                finished_at=at,
            )
            state.last_recorded = eid
        case ev.ObservationRejected():
            _update(
                state,
                eid,
                event,
                status=Status.REJECTED,
                cause=str(ev.Cause.REJECTED),
                reason=event.reason,
            )
        case ev.ExperimentFailed():
            status = Status.ACCEPTED if event.retry else Status.FAILED
            _update(
                state,
                eid,
                event,
                status=status,
                cause=str(event.cause),
                reason=event.reason,
                duration_s=event.duration_s,
                finished_at=None if event.retry else at,
            )
        case ev.OutcomeResolved() if _has_status(state, eid, Status.UNKNOWN):
            if event.resolution is ev.Resolution.RERUN:
                _update(state, eid, event, status=Status.ACCEPTED, reason=event.reason)
            else:
                _update(
                    state,
                    eid,
                    event,
                    status=Status.FAILED,
                    cause=str(ev.Cause.MACHINE_FAULT),
                    reason=event.reason or "outcome unknown; a person counted it as failed",
                    finished_at=at,
                )
        case ev.OutcomeUnknown():
            _update(state, eid, event, status=Status.UNKNOWN, reason=event.reason)
        case ev.OutlierSuspected():
            _update(state, eid, event)
            state.suspects[eid] = event
        case ev.OutlierResolved():
            _update(state, eid, event)
            state.resolved[eid] = event
        case ev.Reconciled() | ev.NoteWritten() | ev.ApprovalDenied() | ev.OutcomeResolved():
            pass
        case _:
            raise JournalCorrupt(f"event {event.type} cannot carry an experiment id")


# The statuses an experiment must be in for the live writers to append each event type.
# Replay stays lenient so that every journal that was ever written can be read.
ALLOWED_FROM: dict[str, frozenset[Status]] = {
    ev.ProposalReviewed.type: frozenset(
        {Status.PROPOSED, Status.ACCEPTED, Status.AWAITING_APPROVAL}
    ),
    ev.ApprovalRequested.type: frozenset({Status.AWAITING_APPROVAL}),
    ev.ApprovalGranted.type: frozenset({Status.AWAITING_APPROVAL}),
    ev.ApprovalDenied.type: frozenset({Status.AWAITING_APPROVAL}),
    ev.CommandIntended.type: frozenset({Status.ACCEPTED, Status.INTENDED}),
    ev.CommandDispatched.type: frozenset({Status.INTENDED}),
    ev.ObservationRecorded.type: IN_FLIGHT,
    ev.ExperimentFailed.type: IN_FLIGHT,
    ev.OutcomeUnknown.type: IN_FLIGHT,
    ev.ObservationRejected.type: frozenset({Status.RECORDED}),
    ev.OutcomeResolved.type: frozenset({Status.UNKNOWN}),
    ev.OutlierSuspected.type: frozenset({Status.RECORDED}),
    ev.OutlierResolved.type: frozenset({Status.RECORDED}),
}
# Events that start new work or end the campaign: refused once it is no longer active.
NEEDS_ACTIVE = frozenset(
    {ev.DesignProposed.type, ev.CommandIntended.type, ev.CampaignCompleted.type}
)


def check(state: State, events: Iterable[Any]) -> None:
    """Refuse a batch of events that breaks the lifecycle, before it is appended.

    Checks each event against the state the batch's earlier events lead to. Costs
    O(batch): only the experiments the batch touches are copied.

    Raises:
        InvalidTransition: naming the event, the experiment and its status.
    """
    events = list(events)
    touched = {getattr(e, "experiment_id", None) for e in events} - {None}
    scratch = copy.copy(state)
    scratch.experiments = {k: state.experiments[k] for k in touched if k in state.experiments}
    scratch.paused_machines = dict(state.paused_machines)
    scratch.notes = []
    scratch.drifts = []
    scratch.suspects = dict(state.suspects)
    scratch.resolved = dict(state.resolved)
    for event in events:
        reason = _refusal(scratch, event)
        if reason is not None:
            raise InvalidTransition(f"{state.name}: {event.type} refused: {reason}")
        _mutate(scratch, event, seq=scratch.seq + 1, at=scratch.clock)


def _refusal(state: State, event: Any) -> str | None:
    if event.type in NEEDS_ACTIVE and state.status is not CampaignStatus.ACTIVE:
        return f"the campaign is {state.status}"
    allowed = ALLOWED_FROM.get(event.type)
    eid = getattr(event, "experiment_id", None)
    if allowed is None or eid is None:
        return None
    exp = state.experiments.get(eid)
    if exp is None:
        return f"no experiment {eid!r}"
    if exp.status not in allowed:
        return f"experiment {eid} is {exp.status}; expected one of {sorted(allowed)}"
    return None


def _campaign_event(state: State, event: Any) -> None:
    match event:
        case ev.CampaignCreated():
            state.name = event.name
            try:
                state.problem = Problem.from_dict(event.problem)
            except (KeyError, TypeError, ValueError) as err:
                raise JournalCorrupt(
                    f"campaign.created holds a malformed problem: {err!r}"
                ) from err
            state.settings = dict(event.settings)
        case ev.RuntimeStarted():
            state.token = event.token
        case ev.MachinePaused():
            state.paused_machines[event.machine] = event.reason
        case ev.MachineResumed():
            state.paused_machines.pop(event.machine, None)
        case ev.CampaignPaused():
            if state.status is CampaignStatus.ACTIVE:
                state.status = CampaignStatus.PAUSED
        case ev.CampaignResumed():
            if state.status is CampaignStatus.PAUSED:
                state.status = CampaignStatus.ACTIVE
        case ev.CampaignCompleted() if state.status is not CampaignStatus.ABORTED:
            state.status = CampaignStatus.COMPLETED
            state.completed_reason = event.reason
        case ev.CampaignAborted():
            state.status = CampaignStatus.ABORTED
            state.completed_reason = event.reason or "aborted by a person"
        case ev.AppendRefused():
            state.refusals += 1
        case ev.NoteWritten():
            state.notes.append(event.text)
        case ev.DriftDetected():
            state.drifts.append(event)
        case _:
            pass  # recovery markers and model summaries change no state


def _mutate(state: State, event: Any, *, seq: int, at: float) -> None:
    if seq == 1 and not isinstance(event, ev.CampaignCreated):
        raise JournalCorrupt(f"the first event must be {ev.CampaignCreated.type}, got {event.type}")
    if getattr(event, "experiment_id", None) is not None:
        _experiment_event(state, event, at)
    else:
        _campaign_event(state, event)
    state.seq = seq
    state.clock = max(state.clock, float(at))


def apply(state: State, event: Any, *, seq: int | None = None, at: float | None = None) -> State:
    """Return the campaign state after `event`. Pure; replaying the journal calls only this.

    `seq` and `at` come from the event's journal record; they default to the next seq and the
    state's clock for events not yet stored.
    """
    new = _copy(state)
    _mutate(
        new,
        event,
        seq=state.seq + 1 if seq is None else seq,
        at=state.clock if at is None else float(at),
    )
    return new


def replay(records: Iterable[Any]) -> State:
    """Fold journal records (anything with `.event()`, `.seq`, `.at`, `.campaign`) into a state."""
    state = State()
    advance(state, records)
    return state


def advance(state: State, records: Iterable[Any]) -> None:
    """Fold more records into `state` in place: the live runtime's path, linear in the events.

    Uses the same transitions as `apply`, so a live state and a replay always agree.
    """
    for record in records:
        try:
            _mutate(state, record.event(), seq=record.seq, at=record.at)
        except JournalCorrupt as err:
            raise JournalCorrupt(f"campaign {record.campaign!r} seq {record.seq}: {err}") from err


def _copy(state: State) -> State:
    new = copy.copy(state)
    new.experiments = dict(state.experiments)
    new.paused_machines = dict(state.paused_machines)
    new.notes = list(state.notes)
    new.drifts = list(state.drifts)
    new.suspects = dict(state.suspects)
    new.resolved = dict(state.resolved)
    return new
