"""Frozen, versioned event records: the journal's whole vocabulary.

Every event is a frozen dataclass with a `type` and a `version`. The journal stores
`to_payload(event)` as JSON; `from_payload` rebuilds the event and refuses unknown types and
versions. Non-finite floats (a NaN reading must be journaled before it is rejected) are stored
as `{"__float__": "nan"}` so the JSON stays standard.

A field added to an existing event type gets a default and `OPTIONAL` metadata: it is written
only when it differs from the default, so events that do not use it are stored byte for byte as
before, and journals written before the field existed read as if they held the default.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from daedalus.errors import JournalCorrupt

# Field metadata of a field added after its event type was first written (see the docstring).
OPTIONAL: Mapping[str, bool] = {"optional": True}


class Role(StrEnum):
    PLANNER = "planner"
    SAFETY = "safety"
    OPERATOR = "operator"
    ANALYST = "analyst"
    HUMAN = "human"
    SYSTEM = "system"


class Cause(StrEnum):
    """Why an experiment produced no valid outcome (see DESIGN.md, "Failures are data")."""

    MACHINE_FAULT = "machine_fault"
    INFEASIBLE = "infeasible"
    TIMEOUT = "timeout"
    SAFETY_ABORT = "safety_abort"
    REJECTED = "rejected"


class Verdict(StrEnum):
    ACCEPT = "accept"
    BLOCK = "block"
    NEEDS_APPROVAL = "needs_approval"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who appends: a role, and the id of the agent or person in that role."""

    role: Role
    id: str = ""


class Event(Protocol):
    type: ClassVar[str]
    version: ClassVar[int]


# --- system ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignCreated:
    """A campaign began: its problem and settings, exactly as they will be used."""

    type: ClassVar[str] = "campaign.created"
    version: ClassVar[int] = 1
    name: str
    problem: Mapping[str, Any]
    settings: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeStarted:
    """A runtime took the writer lease; `token` is its fencing token."""

    type: ClassVar[str] = "runtime.started"
    version: ClassVar[int] = 1
    runtime_id: str
    token: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoveryStarted:
    """A runtime found experiments in flight and began asking their machines about them."""

    type: ClassVar[str] = "recovery.started"
    version: ClassVar[int] = 1
    in_flight: Sequence[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoveryCompleted:
    type: ClassVar[str] = "recovery.completed"
    version: ClassVar[int] = 1
    findings: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class AppendRefused:
    """The journal refused an append because the writer's role may not write that type."""

    type: ClassVar[str] = "append.refused"
    version: ClassVar[int] = 1
    role: str
    actor_id: str
    event_type: str
    reason: str


# --- planner -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignProposed:
    """The planner proposed one design. `decision` numbers the planner's calls; `seed` is the
    random state it used, so replay and resume never need to re-run the proposer."""

    type: ClassVar[str] = "design.proposed"
    version: ClassVar[int] = 1
    experiment_id: str
    params: Mapping[str, Any]
    proposer: str
    decision: int
    seed: int
    proposer_s: float = 0.0
    # CPU seconds of this process inside the proposer (every thread): unlike `proposer_s` (wall
    # time), it does not grow when other jobs share the host.
    proposer_cpu_s: float = field(default=0.0, metadata=OPTIONAL)
    # A control run: the campaign's fixed control design, re-run to watch for drift.
    control: bool = field(default=False, metadata=OPTIONAL)
    # A repeat: the same design run again to check the suspect reading of this experiment.
    repeat_of: str | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteWritten:
    type: ClassVar[str] = "note.written"
    version: ClassVar[int] = 1
    text: str
    experiment_id: str | None = None


# --- safety ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ProposalReviewed:
    """Safety's verdict on one proposal, with every rule that fired."""

    type: ClassVar[str] = "proposal.reviewed"
    version: ClassVar[int] = 1
    experiment_id: str
    verdict: Verdict
    reasons: Sequence[str] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalRequested:
    """A person must approve this exact design (`design_hash`) before `expires_at` (unix s)."""

    type: ClassVar[str] = "approval.requested"
    version: ClassVar[int] = 1
    experiment_id: str
    design_hash: str
    reason: str
    expires_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MachinePaused:
    type: ClassVar[str] = "machine.paused"
    version: ClassVar[int] = 1
    machine: str
    reason: str


# --- operator ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandIntended:
    """Written before any I/O: the operator is about to start this attempt on `machine`."""

    type: ClassVar[str] = "command.intended"
    version: ClassVar[int] = 1
    experiment_id: str
    machine: str
    attempt: int
    seed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandDispatched:
    """The machine acknowledged the start of this attempt at campaign time `started_at` (s)."""

    type: ClassVar[str] = "command.dispatched"
    version: ClassVar[int] = 1
    experiment_id: str
    machine: str
    attempt: int
    started_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservationRecorded:
    """A machine returned an outcome for one experiment, as read; the analyst validates it."""

    type: ClassVar[str] = "observation.recorded"
    version: ClassVar[int] = 1
    experiment_id: str
    values: Mapping[str, float]
    duration_s: float
    attempt: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ExperimentFailed:
    """An attempt ended without an outcome. `retry` says the operator will try it again."""

    type: ClassVar[str] = "experiment.failed"
    version: ClassVar[int] = 1
    experiment_id: str
    cause: Cause
    reason: str
    attempt: int
    retry: bool = False
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeUnknown:
    """The machine could not say what happened to an attempt; a person must decide."""

    type: ClassVar[str] = "outcome.unknown"
    version: ClassVar[int] = 1
    experiment_id: str
    machine: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconciled:
    """After a restart, the machine's answer about an attempt that was in flight."""

    type: ClassVar[str] = "reconciled"
    version: ClassVar[int] = 1
    experiment_id: str
    machine: str
    finding: str


# --- analyst -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelTrained:
    type: ClassVar[str] = "model.trained"
    version: ClassVar[int] = 1
    n_observations: int
    summary: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservationRejected:
    """A recorded reading is not valid data (NaN, infinite, out of physical range)."""

    type: ClassVar[str] = "observation.rejected"
    version: ClassVar[int] = 1
    experiment_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftDetected:
    """A change-point test on the control runs of `metric` found that the process moved.

    The evidence: the controls tested (`control_ids`, `readings`, in run order), the test and its
    `statistic` against `threshold`, the first control after the estimated change
    (`change_point_id`), and the estimated shift (mean after minus mean before, in the metric's
    units, and as a fraction of the mean before).
    """

    type: ClassVar[str] = "drift.detected"
    version: ClassVar[int] = 1
    metric: str
    test: str
    control_ids: Sequence[str]
    readings: Sequence[float]
    statistic: float
    threshold: float
    direction: str  # "up" or "down"
    change_point_id: str
    shift: float
    relative_shift: float


@dataclass(frozen=True, slots=True, kw_only=True)
class OutlierSuspected:
    """A robust residual test found the reading of `metric` far from what the other readings
    predict at its design (`daedalus.models.outliers`).

    The evidence: the reading `value`, the leave-one-out `prediction` from the other readings,
    the robust predictive `sd` (metric units), `score = (value - prediction) / sd` against
    `threshold`. `remeasure` says a repeat will be run; when it will not, `reason` says why and
    the reading stands.
    """

    type: ClassVar[str] = "outlier.suspected"
    version: ClassVar[int] = 1
    experiment_id: str
    metric: str
    test: str
    value: float
    prediction: float
    sd: float
    score: float
    threshold: float
    remeasure: bool
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutlierResolved:
    """The ruling on a suspect reading once its repeat (`repeat_id`) finished: `rejected`
    (the repeat disagrees; an `ObservationRejected` follows in the same append) or `kept`
    (the repeat agrees, or gave no reading to compare, or none could be run)."""

    type: ClassVar[str] = "outlier.resolved"
    version: ClassVar[int] = 1
    experiment_id: str
    ruling: str
    reason: str
    repeat_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignCompleted:
    type: ClassVar[str] = "campaign.completed"
    version: ClassVar[int] = 1
    reason: str
    best_experiment_id: str | None = None


# --- human -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalGranted:
    """A person approved the design whose hash is `design_hash`, and only that design."""

    type: ClassVar[str] = "approval.granted"
    version: ClassVar[int] = 1
    experiment_id: str
    design_hash: str
    by: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalDenied:
    type: ClassVar[str] = "approval.denied"
    version: ClassVar[int] = 1
    experiment_id: str
    design_hash: str
    by: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignPaused:
    type: ClassVar[str] = "campaign.paused"
    version: ClassVar[int] = 1
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignResumed:
    type: ClassVar[str] = "campaign.resumed"
    version: ClassVar[int] = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignAborted:
    type: ClassVar[str] = "campaign.aborted"
    version: ClassVar[int] = 1
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineResumed:
    type: ClassVar[str] = "machine.resumed"
    version: ClassVar[int] = 1
    machine: str


class Resolution(StrEnum):
    RERUN = "rerun"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeResolved:
    """A person decided the fate of an experiment whose outcome was unknown: run it again
    (they checked the machine did not run it, or that running it twice is harmless), or
    count it as failed."""

    type: ClassVar[str] = "outcome.resolved"
    version: ClassVar[int] = 1
    experiment_id: str
    resolution: Resolution
    reason: str = ""
    by: str = ""


EVENT_TYPES: dict[str, type] = {
    cls.type: cls  # type: ignore[attr-defined]
    for cls in (
        CampaignCreated,
        RuntimeStarted,
        RecoveryStarted,
        RecoveryCompleted,
        AppendRefused,
        DesignProposed,
        NoteWritten,
        ProposalReviewed,
        ApprovalRequested,
        MachinePaused,
        CommandIntended,
        CommandDispatched,
        ObservationRecorded,
        ExperimentFailed,
        OutcomeUnknown,
        Reconciled,
        ModelTrained,
        ObservationRejected,
        DriftDetected,
        OutlierSuspected,
        OutlierResolved,
        CampaignCompleted,
        ApprovalGranted,
        ApprovalDenied,
        CampaignPaused,
        CampaignResumed,
        CampaignAborted,
        MachineResumed,
        OutcomeResolved,
    )
}

PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.PLANNER: frozenset({DesignProposed.type, NoteWritten.type}),
    Role.SAFETY: frozenset({ProposalReviewed.type, ApprovalRequested.type, MachinePaused.type}),
    Role.OPERATOR: frozenset(
        {
            CommandIntended.type,
            CommandDispatched.type,
            ObservationRecorded.type,
            ExperimentFailed.type,
            OutcomeUnknown.type,
            Reconciled.type,
        }
    ),
    Role.ANALYST: frozenset(
        {
            ModelTrained.type,
            ObservationRejected.type,
            DriftDetected.type,
            OutlierSuspected.type,
            OutlierResolved.type,
            NoteWritten.type,
            CampaignCompleted.type,
        }
    ),
    Role.HUMAN: frozenset(
        {
            ApprovalGranted.type,
            ApprovalDenied.type,
            CampaignPaused.type,
            CampaignResumed.type,
            CampaignAborted.type,
            MachineResumed.type,
            OutcomeResolved.type,
        }
    ),
    Role.SYSTEM: frozenset(
        {
            CampaignCreated.type,
            RuntimeStarted.type,
            RecoveryStarted.type,
            RecoveryCompleted.type,
            AppendRefused.type,
        }
    ),
}


def may_append(role: Role, event_type: str) -> bool:
    """Whether `role` may write events of `event_type` (DESIGN.md's role table)."""
    return event_type in PERMISSIONS.get(role, frozenset())


# --- codec -------------------------------------------------------------------------------------


def _to_json(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, Mapping):
        if set(value) == {"__float__"}:
            raise ValueError("the key '__float__' alone is reserved for non-finite floats")
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def to_payload(event: Any) -> dict[str, Any]:
    """The event's fields as JSON-ready data (standard JSON: no NaN tokens). An `OPTIONAL` field
    at its default is left out."""
    return {
        f.name: _to_json(getattr(event, f.name))
        for f in dataclasses.fields(event)
        if not (f.metadata.get("optional") and getattr(event, f.name) == f.default)
    }


def from_payload(event_type: str, version: int, payload: Mapping[str, Any]) -> Any:
    """Rebuild an event from its stored form.

    Raises:
        JournalCorrupt: unknown type or version, or a payload that does not fit the type.
    """
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise JournalCorrupt(f"unknown event type {event_type!r}")
    if version != cls.version:  # type: ignore[attr-defined]
        raise JournalCorrupt(
            f"event {event_type!r} has version {version}; this daedalus reads version {cls.version}"  # type: ignore[attr-defined]
        )
    try:
        data = _from_json(dict(payload))
    except (TypeError, ValueError) as err:
        raise JournalCorrupt(f"event {event_type!r}: payload is malformed: {err}") from err
    # Sequence fields are stored as JSON arrays; rebuild them as the tuples they were.
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    enums: dict[str, type[StrEnum]] = {
        "verdict": Verdict,
        "cause": Cause,
        "resolution": Resolution,
    }
    for key, enum in enums.items():
        if key in data and isinstance(data[key], str):
            try:
                data[key] = enum(data[key])
            except ValueError as err:
                raise JournalCorrupt(f"event {event_type!r}: bad {key} {data[key]!r}") from err
    try:
        return cls(**data)
    except TypeError as err:
        raise JournalCorrupt(f"event {event_type!r}: payload does not fit: {err}") from err
