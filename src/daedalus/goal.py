"""What a campaign wants: objectives, outcome constraints, and Pareto helpers.

A `Goal` holds one or more objectives (`Maximize`, `Minimize`) and outcome constraints such as
`"e_factor <= 9"`. Values are always in the Problem's units; the sign convention lives here and
nowhere else: `Goal.utility` is larger-is-better for the first objective, `Goal.signed` for all.

With several objectives the goal is the Pareto front of the feasible outcomes, scored by its
hypervolume: the measure of the region that the front dominates and that dominates a reference
point. The reference point is the goal's own (`reference_point`) when the user gives one, else
inferred from the front by `infer_reference_point`.
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
        reference_point: with two or more objectives, the worst value of each objective that
            still counts (the hypervolume's reference point), in Problem units, e.g.
            `{"sty": 0, "e_factor": 10}`. None infers it from the data (`infer_reference_point`).

    Raises:
        InvalidGoal: no objective, repeated metrics, a malformed constraint, or a reference
            point that does not name exactly the objectives with finite values.
    """

    __slots__ = ("constraints", "objectives", "reference_point")

    def __init__(
        self,
        *objectives: Objective,
        constraints: Iterable[OutcomeConstraint | str] = (),
        reference_point: Mapping[str, float] | None = None,
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
        self.reference_point: dict[str, float] | None = (
            None if reference_point is None else _check_reference_point(names, reference_point)
        )

    def __repr__(self) -> str:
        objectives = ", ".join(map(repr, self.objectives))
        text = f"Goal({objectives}, constraints={[str(c) for c in self.constraints]}"
        if self.reference_point is not None:
            text += f", reference_point={self.reference_point}"
        return text + ")"

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

    @property
    def multi(self) -> bool:
        """True when the goal has two or more objectives (a Pareto front, not one best)."""
        return len(self.objectives) > 1

    def signed(self, values: Mapping[str, float]) -> tuple[float, ...]:
        """Every objective, signed so that larger is better, in objective order."""
        return tuple(o.sign * values[o.name] for o in self.objectives)

    def signed_reference(
        self, outcomes: Sequence[Mapping[str, float]] = ()
    ) -> tuple[float, ...] | None:
        """The hypervolume's reference point, signed like `signed`: the goal's own, else
        `infer_reference_point` of the Pareto front of the feasible `outcomes` (None when no
        outcome is feasible)."""
        if self.reference_point is not None:
            return self.signed(self.reference_point)
        front = [self.signed(outcomes[i]) for i in self.pareto_indices(outcomes)]
        return infer_reference_point(front) if front else None

    def hypervolume(
        self,
        outcomes: Sequence[Mapping[str, float]],
        reference: Sequence[float] | None = None,
    ) -> float:
        """Hypervolume of the feasible `outcomes` in Problem units (product of objective
        units), against the signed `reference` or else `signed_reference(outcomes)`."""
        ref = tuple(reference) if reference is not None else self.signed_reference(outcomes)
        if ref is None:
            return 0.0
        points = [self.signed(v) for v in outcomes if self.is_feasible(v)]
        return hypervolume(points, ref)

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
        } | ({} if self.reference_point is None else {"reference_point": self.reference_point})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Goal:
        objectives: list[Objective] = []
        for o in data["objectives"]:
            if o["sense"] not in ("max", "min"):
                raise InvalidGoal(f"objective {o['name']!r}: sense must be 'max' or 'min'")
            objectives.append(Maximize(o["name"]) if o["sense"] == "max" else Minimize(o["name"]))
        return cls(
            *objectives,
            constraints=data.get("constraints", ()),
            reference_point=data.get("reference_point"),
        )


def _check_reference_point(names: Sequence[str], point: Mapping[str, float]) -> dict[str, float]:
    if len(names) < 2:
        raise InvalidGoal("Goal: a reference_point needs two or more objectives")
    if not isinstance(point, Mapping) or sorted(point) != sorted(names):
        got = sorted(point) if isinstance(point, Mapping) else point
        raise InvalidGoal(f"Goal: reference_point must name each objective {names}, got {got}")
    checked = {}
    for name in names:
        value = point[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidGoal(f"Goal: reference_point[{name!r}] must be a number, got {value!r}")
        if not math.isfinite(value):
            raise InvalidGoal(f"Goal: reference_point[{name!r}] must be finite, got {value}")
        checked[name] = float(value)
    return checked


def infer_reference_point(
    front: Sequence[Sequence[float]], *, scale: float = 0.1
) -> tuple[float, ...]:
    """A reference point for signed (larger-is-better) Pareto `front` points: the nadir (the
    worst value of each objective on the front) moved back by `scale` times the front's range
    in that objective, or by `scale * max(1, |nadir|)` where the range is zero.

    The rule of BoTorch's `infer_reference_point` (scale 0.1), which follows Ishibuchi et al.,
    "How to specify a reference point in hypervolume calculation for fair performance
    comparison", Evol. Comput. 26(3), 2018: slightly worse than the nadir, so that the extreme
    points of the front still add volume.
    """
    if not front:
        raise ValueError("infer_reference_point: the front is empty")
    columns = list(zip(*front, strict=True))
    ref = []
    for column in columns:
        low, high = min(column), max(column)
        span = high - low
        ref.append(low - scale * (span if span > 0 else max(1.0, abs(low))))
    return tuple(ref)


def hypervolume(points: Sequence[Sequence[float]], reference: Sequence[float]) -> float:
    """Exact hypervolume dominated by signed (larger-is-better) `points` and bounded below by
    `reference`: the measure of `{y : reference < y <= p for some p}`.

    Points that do not beat the reference in every objective add nothing. Slices along the
    last objective and recurses (Hypervolume by Slicing Objectives, While et al., IEEE TEC
    10(1), 2006): exact, and fast for the fronts of a campaign (hundreds of points, few
    objectives).
    """
    ref = tuple(float(r) for r in reference)
    if any(len(p) != len(ref) for p in points):
        raise ValueError("hypervolume: every point needs one value per reference coordinate")
    useful = [tuple(float(v) for v in p) for p in points]
    useful = [p for p in useful if all(a > r for a, r in zip(p, ref, strict=True))]
    return _slice_volume(useful if len(ref) <= 2 else _non_dominated(useful), ref)


def _non_dominated(points: Sequence[tuple[float, ...]]) -> list[tuple[float, ...]]:
    unique = sorted(set(points), reverse=True)
    front: list[tuple[float, ...]] = []
    for p in unique:  # lexicographically descending: no later point dominates an earlier one
        if not any(all(a >= b for a, b in zip(q, p, strict=True)) for q in front):
            front.append(p)
    return front


def _slice_volume(points: Sequence[tuple[float, ...]], ref: tuple[float, ...]) -> float:
    if not points:
        return 0.0
    if len(ref) == 1:
        return max(p[0] for p in points) - ref[0]
    if len(ref) == 2:  # one sweep: along falling first objective the second must rise
        volume, top = 0.0, ref[1]
        for a, b in sorted(points, reverse=True):
            if b > top:
                volume += (a - ref[0]) * (b - top)
                top = b
        return volume
    ordered = sorted(points, key=lambda p: p[-1], reverse=True)
    volume = 0.0
    for i, p in enumerate(ordered):
        lower = ordered[i + 1][-1] if i + 1 < len(ordered) else ref[-1]
        if p[-1] > lower:
            section = _non_dominated([q[:-1] for q in ordered[: i + 1]])
            volume += (p[-1] - lower) * _slice_volume(section, ref[:-1])
    return volume
