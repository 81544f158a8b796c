"""The `Proposer` protocol: a pure strategy from history to the next designs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from daedalus.goal import Goal
from daedalus.space import Params, Space, Value


@dataclass(frozen=True, slots=True)
class Trial:
    """One finished experiment as a proposer sees it.

    `values` is None for a failed experiment; `cause` then names why (`infeasible`,
    `machine_fault`, ...). Rejected readings never reach a proposer.
    """

    experiment_id: str
    params: Mapping[str, Value]
    values: Mapping[str, float] | None = None
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class History:
    """Everything a proposer may know: finished trials, designs still running, and how many
    designs the campaign has proposed so far (for quasi-random sequences)."""

    trials: Sequence[Trial] = ()
    pending: Sequence[Mapping[str, Value]] = ()
    n_proposed: int = 0
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def observed(self) -> list[Trial]:
        return [t for t in self.trials if t.values is not None]


@runtime_checkable
class Proposer(Protocol):
    """Suggests designs. Pure: no I/O, no clock, no global random state; same inputs and seed
    give the same designs. Every returned design must be valid in `space`."""

    name: str

    def propose(
        self, space: Space, goal: Goal, history: History, *, n: int, seed: int
    ) -> list[Params]: ...
