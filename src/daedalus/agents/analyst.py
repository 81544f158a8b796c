"""The analyst: validates readings and decides when the campaign is done.

A reading is rejected (kept out of every model, with the reason) when a metric the goal needs is
missing, when a value is NaN or infinite, or when it falls outside the physical range the
campaign declares for that metric (`settings["ranges"]`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from daedalus.events import CampaignCompleted, ObservationRejected
from daedalus.goal import Goal
from daedalus.state import IN_FLIGHT, State, Status


def invalid_reading(
    goal: Goal,
    values: Mapping[str, float],
    *,
    ranges: Mapping[str, tuple[float | None, float | None]] | Mapping[str, list[float]] = {},
) -> str | None:
    """Return why `values` is not valid data, or None when it is."""
    missing = [m for m in goal.metrics if m not in values]
    if missing:
        return f"reading lacks metrics {missing}; got {sorted(values)}"
    for name, value in sorted(values.items()):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{name}={value!r} is not a number"
        try:
            value = float(value)
        except OverflowError:
            return f"{name} is too large for a float"
        if math.isnan(value):
            return f"{name} is NaN"
        if math.isinf(value):
            return f"{name} is infinite ({value})"
        low, high = ranges.get(name, (None, None))
        if (low is not None and value < low) or (high is not None and value > high):
            return f"{name}={value:g} is outside its physical range [{low}, {high}]"
    return None


def validate(state: State, experiment_id: str) -> list[ObservationRejected]:
    """Judge a freshly recorded reading; an empty list means it stands."""
    exp = state.experiments[experiment_id]
    if exp.status is not Status.RECORDED or exp.values is None or state.problem is None:
        return []
    reason = invalid_reading(
        state.problem.goal, exp.values, ranges=state.settings.get("ranges", {})
    )
    return (
        [] if reason is None else [ObservationRejected(experiment_id=experiment_id, reason=reason)]
    )


def target_reached(state: State) -> bool:
    target = state.settings.get("target")
    best = state.best() if state.problem is not None else None
    if target is None or best is None or best.values is None or state.problem is None:
        return False
    goal = state.problem.goal
    return goal.utility(best.values) >= goal.primary.sign * float(target)


def stop(state: State) -> CampaignCompleted | None:
    """Complete the campaign on its target, or when the budget is spent and nothing runs."""
    best = state.best() if state.problem is not None else None
    best_id = None if best is None else best.id
    if target_reached(state) and not state.with_status(*IN_FLIGHT):
        return CampaignCompleted(reason="target reached", best_experiment_id=best_id)
    open_ = state.with_status(
        Status.PROPOSED, Status.ACCEPTED, Status.AWAITING_APPROVAL, Status.UNKNOWN, *IN_FLIGHT
    )
    if state.spent >= state.budget and not open_:
        return CampaignCompleted(reason="budget spent", best_experiment_id=best_id)
    return None
