"""What a campaign wants: objectives, outcome constraints, and Pareto helpers.

A `Goal` holds one or more objectives (`Maximize`, `Minimize`) and outcome constraints such as
`"e_factor <= 9"`. Values are always in the Problem's units; the sign convention lives here and
nowhere else: `Goal.utility` is larger-is-better for the first objective.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from daedalus.errors import InvalidGoal
from daedalus.expressions import ExpressionError, parse_bound


def _check_metric(kind: str, name: str) -> None:
    if not (isinstance(name, str) and name.isidentifier()) or keyword.iskeyword(name):
        raise InvalidGoal(f"{kind}({name!r}): a metric name must be an identifier such as 'sty'")


@dataclass(frozen=True, slots=True)
class Maximize:
    """Make the named outcome as large as possible."""

    name: str

    def __post_init__(self) -> None:
        _check_metric("Maximize", self.name)

    sign = 1.0


@dataclass(frozen=True, slots=True)
class Minimize:
    """Make the named outcome as small as possible."""

    name: str

    def __post_init__(self) -> None:
        _check_metric("Minimize", self.name)

    sign = -1.0


Objective = Maximize | Minimize


@dataclass(frozen=True, slots=True)
class OutcomeConstraint:
    """`values[name] <= bound` (op `"<="`) or `values[name] >= bound` (op `">="`)."""

    name: str
    op: str
    bound: float

    def __post_init__(self) -> None:
        _check_metric("OutcomeConstraint", self.name)
        if self.op not in ("<=", ">="):
            raise InvalidGoal(
                f"OutcomeConstraint('{self.name}'): op must be '<=' or '>=', got {self.op!r}"
            )
        if not math.isfinite(self.bound):
            raise InvalidGoal(
                f"OutcomeConstraint('{self.name}'): bound must be finite, got {self.bound}"
            )

    @classmethod
    def parse(cls, text: str) -> OutcomeConstraint:
        try:
            name, op, bound = parse_bound(text)
        except ExpressionError as err:
            raise InvalidGoal(f"outcome constraint {text!r}: {err}") from err
        return cls(name, op, bound)

    def slack(self, values: Mapping[str, float]) -> float:
        """Return how far inside the constraint `values` lie; negative when violated."""
        value = values[self.name]
        return self.bound - value if self.op == "<=" else value - self.bound

    def __str__(self) -> str:
        return f"{self.name} {self.op} {self.bound:g}"


class Goal:
    """Objectives to optimise and outcome constraints to respect.

    Args:
        objectives: one or more `Maximize`/`Minimize`, on distinct metrics.
        constraints: `OutcomeConstraint`s or strings such as `"e_factor <= 9"`.

    Raises:
        InvalidGoal: no objective, repeated metrics, or a malformed constraint.
    """

    __slots__ = ("constraints", "objectives")

    def __init__(
        self,
        *objectives: Objective,
        constraints: Iterable[OutcomeConstraint | str] = (),
    ) -> None:
        if not objectives:
            raise InvalidGoal("Goal: needs at least one objective, e.g. Goal(Maximize('yield'))")
        for o in objectives:
            if not isinstance(o, Maximize | Minimize):
                raise InvalidGoal(f"Goal: objectives must be Maximize or Minimize, got {o!r}")
        names = [o.name for o in objectives]
        if len(set(names)) != len(names):
            raise InvalidGoal(f"Goal: each metric may be optimised once, got {names}")
        self.objectives: tuple[Objective, ...] = tuple(objectives)
        self.constraints: tuple[OutcomeConstraint, ...] = tuple(
            c if isinstance(c, OutcomeConstraint) else OutcomeConstraint.parse(c)
            for c in constraints
        )

    def __repr__(self) -> str:
        objectives = ", ".join(map(repr, self.objectives))
        return f"Goal({objectives}, constraints={[str(c) for c in self.constraints]})"

    def __str__(self) -> str:
        text = ", ".join(
            f"{'maximize' if o.sign > 0 else 'minimize'} {o.name}" for o in self.objectives
        )
        if self.constraints:
            text += " subject to " + ", ".join(map(str, self.constraints))
        return text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Goal) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every outcome the goal reads: objectives first, then constrained metrics."""
        seen = [o.name for o in self.objectives]
        for c in self.constraints:
            if c.name not in seen:
                seen.append(c.name)
        return tuple(seen)

    @property
    def primary(self) -> Objective:
        return self.objectives[0]

    def utility(self, values: Mapping[str, float]) -> float:
        """The first objective, signed so that larger is better."""
        return self.primary.sign * values[self.primary.name]

    def is_feasible(self, values: Mapping[str, float]) -> bool:
        return all(c.slack(values) >= 0 for c in self.constraints)

    def best(self, outcomes: Sequence[Mapping[str, float]]) -> int | None:
        """Return the index of the best feasible outcome for the first objective, or None."""
        best_index, best_utility = None, -math.inf
        for i, values in enumerate(outcomes):
            if self.is_feasible(values) and self.utility(values) > best_utility:
                best_index, best_utility = i, self.utility(values)
        return best_index

    def pareto_indices(self, outcomes: Sequence[Mapping[str, float]]) -> list[int]:
        """Indices of the feasible outcomes that no other feasible outcome dominates."""
        points = [
            (i, [o.sign * v[o.name] for o in self.objectives])
            for i, v in enumerate(outcomes)
            if self.is_feasible(v)
        ]
        front = []
        for i, p in points:
            dominated = any(
                all(a >= b for a, b in zip(q, p, strict=True))
                and any(a > b for a, b in zip(q, p, strict=True))
                for _, q in points
            )
            if not dominated:
                front.append(i)
        return front

    def to_dict(self) -> dict[str, Any]:
        return {
            "objectives": [
                {"name": o.name, "sense": "max" if isinstance(o, Maximize) else "min"}
                for o in self.objectives
            ],
            "constraints": [f"{c.name} {c.op} {c.bound!r}" for c in self.constraints],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Goal:
        objectives: list[Objective] = []
        for o in data["objectives"]:
            if o["sense"] not in ("max", "min"):
                raise InvalidGoal(f"objective {o['name']!r}: sense must be 'max' or 'min'")
            objectives.append(Maximize(o["name"]) if o["sense"] == "max" else Minimize(o["name"]))
        return cls(*objectives, constraints=data.get("constraints", ()))
