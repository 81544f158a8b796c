"""The `Machine` protocol: what the operator needs from anything that runs an experiment.

Simulated and real machines satisfy the same protocol. Times are campaign seconds from the
runtime's clock (virtual for simulations, wall time for real machines).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from daedalus.events import Cause
from daedalus.space import Value


@dataclass(frozen=True, slots=True)
class Job:
    """One attempt of one experiment on one machine.

    `seed` is derived from the campaign seed, the experiment id and the attempt, so a simulated
    machine gives the same answer to the same job in any process.
    """

    experiment_id: str
    params: Mapping[str, Value]
    attempt: int
    seed: int
    started_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a machine measured: named values in the Problem's units, and how long it took."""

    values: Mapping[str, float]
    duration_s: float = 0.0
    raw: Mapping[str, str] = field(default_factory=dict)  # references to raw data, never blobs


@dataclass(frozen=True, slots=True)
class Failure:
    """An attempt that produced no valid outcome, with its cause and a human reason."""

    cause: Cause
    reason: str
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Running:
    """Still running; `eta` is the campaign time at which to ask again (None: poll normally)."""

    eta: float | None = None


@dataclass(frozen=True, slots=True)
class NotStarted:
    """The machine never received this job: it is safe to dispatch it."""


@dataclass(frozen=True, slots=True)
class Unknown:
    """The machine cannot say what happened to this job."""

    reason: str


Evaluation = Outcome | Failure
Status = Running | Outcome | Failure
Finding = Running | Outcome | Failure | NotStarted | Unknown


@runtime_checkable
class Machine(Protocol):
    """Something that runs experiments: start, poll, stop, reconcile.

    `idempotent` declares whether re-running a job whose fate is unknown is harmless; only then
    does the operator re-dispatch it without asking a person.
    """

    name: str
    idempotent: bool

    async def start(self, job: Job) -> None:
        """Begin the job and return promptly. Raise `MachineError` when the machine is away."""
        ...

    async def poll(self, job: Job, *, now: float) -> Status: ...

    async def stop(self, job: Job) -> None: ...

    async def reconcile(self, job: Job, *, dispatched: bool, now: float) -> Finding:
        """After a restart: what happened to `job`? `dispatched` says whether the journal holds
        the machine's acknowledgement of the start."""
        ...
