"""A `Problem`: a space, a goal, and the reference optimum where one is known."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from daedalus.goal import Goal
from daedalus.space import Params, Space, Value


@dataclass(frozen=True, slots=True)
class Reference:
    """The best known value of the goal's first objective, the design that reaches it, and
    where the number comes from (a paper, or the script in the repository that computed it).

    With several objectives, `value` is the hypervolume of the best known Pareto front at the
    goal's reference point, `front` holds that front's outcomes (objective name to value), and
    `params` may be empty.
    """

    value: float
    params: Mapping[str, Value] = field(default_factory=dict)
    source: str = ""
    front: tuple[Mapping[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Problem:
    """What to optimise: `space` and `goal`, with units, plus a `reference` when one is known.

    `units` maps parameter and metric names to their unit, for display only; the names carry the
    unit too (`temperature_c`).
    """

    name: str
    space: Space
    goal: Goal
    reference: Reference | None = None
    units: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    def regret(self, best: float | None) -> float | None:
        """Distance from `best` (first objective, Problem units; with several objectives the
        hypervolume) to the reference; >= 0 when the reference is the true optimum. None when
        either is unknown."""
        if best is None or self.reference is None:
            return None
        sign = 1.0 if self.goal.multi else self.goal.primary.sign
        return sign * (self.reference.value - best)

    def to_dict(self) -> dict[str, Any]:
        ref = self.reference
        return {
            "name": self.name,
            "space": self.space.to_dict(),
            "goal": self.goal.to_dict(),
            "reference": None
            if ref is None
            else {"value": ref.value, "params": dict(ref.params), "source": ref.source}
            | ({"front": [dict(p) for p in ref.front]} if ref.front else {}),
            "units": dict(self.units),
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        ref = data.get("reference")
        return cls(
            name=data["name"],
            space=Space.from_dict(data["space"]),
            goal=Goal.from_dict(data["goal"]),
            reference=None
            if ref is None
            else Reference(
                ref["value"],
                ref["params"],
                ref["source"],
                tuple(dict(p) for p in ref.get("front", ())),
            ),
            units=data.get("units", {}),
            description=data.get("description", ""),
        )


__all__ = ["Params", "Problem", "Reference"]
