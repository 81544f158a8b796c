"""The analyst: validates readings and decides when the campaign is done.

A reading is rejected (kept out of every model, with the reason) when a metric the goal needs is
missing, when a value is NaN or infinite, or when it falls outside the physical range the
campaign declares for that metric (`settings["ranges"]`).

Drift: when the campaign runs controls (`settings["control"]`), `drift` tests the control
readings of the control's metric with a self-starting two-sided CUSUM (`daedalus.models.drift`)
after every control, and journals a `DriftDetected` with its evidence when it alarms. The test
then starts again on the controls after the alarm, so a drift that goes on is reported again.

Outliers (`settings["outliers"]`, on by default in new campaigns): after each new reading,
`outliers` tests it with a robust leave-one-out GP residual test (`daedalus.models.outliers`) on
each of the goal's metrics, once the campaign has `MIN_READINGS` valid readings. Controls and
repeats are not tested (controls have the drift test; a repeat is the check itself). A suspect
is journaled as `OutlierSuspected` and re-measured once: the planner proposes the same design
again as a repeat, which counts against the budget like any experiment. When the repeat's
reading differs from the original by more than `threshold` robust sds, the original gets
`ObservationRejected` naming the test, the score, the repeat and its values; otherwise both
stand. Either way an `OutlierResolved` records the verdict. A suspect that cannot be re-measured
(re-measuring is off, or no budget is left) is kept and the reason journaled: a statistical flag
alone never removes a reading, since the best reading of a campaign is often the one a smooth
model predicts worst. A repeat that gives no reading (failed, rejected, blocked) leaves the
original standing, unconfirmed.

Only the reading journaled last is ever tested, with the readings valid at that moment, and
nothing that changes the valid readings is journaled between a reading and its test, so testing
it again after a crash gives the same answer: `outliers(state)` is idempotent, like `drift`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from daedalus.errors import InvalidCampaign
from daedalus.events import (
    CampaignCompleted,
    DriftDetected,
    ObservationRejected,
    OutlierResolved,
    OutlierSuspected,
)
from daedalus.goal import Goal
from daedalus.models import drift as drift_model
from daedalus.models import outliers as outlier_model
from daedalus.state import IN_FLIGHT, TERMINAL, State, Status, apply

OUTLIER_DEFAULTS: dict[str, Any] = {"remeasure": True, "threshold": outlier_model.THRESHOLD}


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


def drift(state: State) -> list[DriftDetected]:
    """Test the control readings since the last alarm; a `DriftDetected` when they moved.

    Idempotent: once the alarm is journaled, the next call tests only later controls.
    """
    control = state.settings.get("control")
    if not control:
        return []
    metric = str(control["metric"])
    controls = [
        e
        for e in state.experiments.values()
        if e.control and e.status is Status.RECORDED and e.values and metric in e.values
    ]
    if state.drifts:
        ids = [c.id for c in controls]
        last = state.drifts[-1].control_ids[-1]
        controls = controls[ids.index(last) + 1 :] if last in ids else controls
    readings = [float((c.values or {})[metric]) for c in controls]
    alarm = drift_model.cusum(readings, h=float(control["threshold"]))
    if alarm is None:
        return []
    tested = controls[: alarm.index + 1]
    return [
        DriftDetected(
            metric=metric,
            test=f"{drift_model.TEST}, k={drift_model.K:g}, h={alarm.threshold:g}",
            control_ids=[c.id for c in tested],
            readings=readings[: alarm.index + 1],
            statistic=alarm.statistic,
            threshold=alarm.threshold,
            direction=alarm.direction,
            change_point_id=tested[alarm.change_point].id,
            shift=alarm.shift,
            relative_shift=alarm.relative_shift,
        )
    ]


# -- outliers -------------------------------------------------------------------------------------


def check_outliers(outliers: object) -> dict[str, Any] | None:
    """Validate a campaign's `outliers` setting; return it as journaled, or None when off.

    `True` (the default) or a table with `remeasure` (bool, default true), `threshold` (a
    number > 0, default 4) and `enabled` (bool, default true). `False` turns the test off.

    Raises:
        InvalidCampaign: naming the key, the value and the rule.
    """
    if outliers is None or outliers is True:
        return dict(OUTLIER_DEFAULTS)
    if outliers is False:
        return None
    if not isinstance(outliers, Mapping):
        raise InvalidCampaign(
            f"outliers must be true, false or a table such as {{remeasure = true, threshold = 4}}"
            f", got {outliers!r}"
        )
    known = {"enabled", "remeasure", "threshold"}
    unknown = sorted(set(outliers) - known)
    if unknown:
        raise InvalidCampaign(f"outliers: unknown keys {unknown}; expected some of {sorted(known)}")
    for key in ("enabled", "remeasure"):
        if not isinstance(outliers.get(key, True), bool):
            raise InvalidCampaign(f"outliers.{key} must be true or false, got {outliers[key]!r}")
    threshold = outliers.get("threshold", outlier_model.THRESHOLD)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not (math.isfinite(threshold) and threshold > 0)
    ):
        raise InvalidCampaign(f"outliers.threshold must be a number > 0, got {threshold!r}")
    if not outliers.get("enabled", True):
        return None
    return {"remeasure": bool(outliers.get("remeasure", True)), "threshold": float(threshold)}


def awaiting_repeat(state: State) -> list[str]:
    """Suspects to be re-measured whose repeat is not yet proposed, in journal order."""
    repeated = {e.repeat_of for e in state.experiments.values() if e.repeat_of is not None}
    return [
        s.experiment_id
        for s in state.suspects.values()
        if s.remeasure and s.experiment_id not in state.resolved and s.experiment_id not in repeated
    ]


def unresolved(state: State) -> list[str]:
    """Suspects still waiting for their repeat's verdict."""
    return [eid for eid, s in state.suspects.items() if s.remeasure and eid not in state.resolved]


def verdicts(state: State) -> list[Any]:
    """The verdicts due: a suspect whose repeat has finished. Cheap and idempotent."""
    repeats = {e.repeat_of: e for e in state.experiments.values() if e.repeat_of is not None}
    out: list[Any] = []
    for eid in unresolved(state):
        repeat = repeats.get(eid)
        if repeat is None or repeat.status not in TERMINAL:
            continue
        if state.experiments[eid].status is not Status.RECORDED:
            continue
        out += _verdict(state.suspects[eid], repeat.id, repeat.status, repeat.values, repeat.cause)
    return out


def _verdict(
    suspect: OutlierSuspected,
    repeat_id: str,
    status: Status,
    values: Mapping[str, float] | None,
    cause: str | None,
) -> list[Any]:
    eid, metric = suspect.experiment_id, suspect.metric
    if status is not Status.RECORDED or values is None or metric not in values:
        reason = (
            f"repeat {repeat_id} gave no reading ({status}{f', {cause}' if cause else ''}); "
            f"the suspect reading {metric}={suspect.value:g} stands, unconfirmed"
        )
        return [
            OutlierResolved(experiment_id=eid, ruling="kept", reason=reason, repeat_id=repeat_id)
        ]
    repeat = float(values[metric])
    tolerance = suspect.threshold * suspect.sd
    difference = abs(suspect.value - repeat)
    shown = ", ".join(f"{k}={v:g}" for k, v in sorted(values.items()))
    evidence = (
        f"{suspect.test} flagged {metric}={suspect.value:g} (prediction {suspect.prediction:g}, "
        f"robust sd {suspect.sd:g}, score {suspect.score:+.2f}, threshold {suspect.threshold:g}); "
        f"repeat {repeat_id} read {shown}: |{suspect.value:g} - {repeat:g}| = {difference:g}"
    )
    if outlier_model.disagree(suspect.value, repeat, sd=suspect.sd, threshold=suspect.threshold):
        reason = f"outlier: {evidence} > {suspect.threshold:g} x sd = {tolerance:g}"
        return [
            OutlierResolved(
                experiment_id=eid, ruling="rejected", reason=reason, repeat_id=repeat_id
            ),
            ObservationRejected(experiment_id=eid, reason=reason),
        ]
    reason = f"confirmed: {evidence} <= {suspect.threshold:g} x sd = {tolerance:g}; both stand"
    return [OutlierResolved(experiment_id=eid, ruling="kept", reason=reason, repeat_id=repeat_id)]


def outliers(state: State) -> list[Any]:
    """The verdicts due, then the test of the reading journaled last. Idempotent."""
    settings = state.settings.get("outliers")
    if not settings or state.problem is None:
        return []
    out = verdicts(state)
    after = state
    for event in out:
        after = apply(after, event)
    return out + _test_last(after, settings)


def _test_last(state: State, settings: Mapping[str, Any]) -> list[Any]:
    eid = state.last_recorded
    exp = None if eid is None else state.experiments.get(eid)
    if exp is None or exp.status is not Status.RECORDED or exp.control or exp.repeat_of:
        return []
    if exp.id in state.suspects or state.problem is None:
        return []
    worst = _worst_residual(state, exp.id, float(settings["threshold"]))
    if worst is None:
        return []
    metric, residual = worst
    reason = ""
    if not settings.get("remeasure", True):
        reason = "re-measuring is off (outliers.remeasure = false); the reading stands"
    elif state.budget - state.spent - len(awaiting_repeat(state)) < 1:
        reason = "no budget is left for a repeat; the reading stands"
    suspected = OutlierSuspected(
        experiment_id=exp.id,
        metric=metric,
        test=f"{outlier_model.TEST}, threshold {residual.threshold:g}",
        value=residual.value,
        prediction=residual.prediction,
        sd=residual.sd,
        score=residual.score,
        threshold=residual.threshold,
        remeasure=not reason,
        reason=reason,
    )
    if reason:
        kept = OutlierResolved(
            experiment_id=exp.id, ruling="kept", reason=f"not re-measured: {reason}"
        )
        return [suspected, kept]
    return [suspected]


def _worst_residual(
    state: State, experiment_id: str, threshold: float
) -> tuple[str, outlier_model.Residual] | None:
    """The goal metric on which the reading of `experiment_id` is most suspect, if any is."""
    assert state.problem is not None
    readings = [e for e in state.experiments.values() if e.status is Status.RECORDED and e.values]
    worst: tuple[str, outlier_model.Residual] | None = None
    for metric in state.problem.goal.metrics:
        rows = [e for e in readings if math.isfinite(float((e.values or {}).get(metric, math.nan)))]
        ids = [e.id for e in rows]
        if experiment_id not in ids:
            continue
        x = state.problem.space.encode_many([e.params for e in rows])
        y = np.asarray([float((e.values or {})[metric]) for e in rows])
        residual = outlier_model.judge(x, y, ids.index(experiment_id), threshold=threshold)
        if (residual is not None and residual.suspect) and (
            worst is None or abs(residual.score) > abs(worst[1].score)
        ):
            worst = (metric, residual)
    return worst


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
    # A suspect reading may be what reached the target: wait for its repeat's verdict.
    if target_reached(state) and not state.with_status(*IN_FLIGHT) and not unresolved(state):
        return CampaignCompleted(reason="target reached", best_experiment_id=best_id)
    open_ = state.with_status(
        Status.PROPOSED, Status.ACCEPTED, Status.AWAITING_APPROVAL, Status.UNKNOWN, *IN_FLIGHT
    )
    if state.spent >= state.budget and not open_:
        return CampaignCompleted(reason="budget spent", best_experiment_id=best_id)
    return None
