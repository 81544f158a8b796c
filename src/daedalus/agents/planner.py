"""The planner: asks a `Proposer` for the next designs given everything the journal holds.

Pure: no I/O, no clock. The seed of each call is derived from the campaign seed and the number
of earlier planner decisions, and is journaled with the proposal, so a resumed campaign asks the
proposer exactly what an uninterrupted one would.

Control runs. With a `control` setting the planner re-runs one fixed design, marked as a
control, as the campaign's first experiment and after every `every` other experiments (a control
is skipped when it would be the campaign's last experiment: no verdict could be used). Controls
are normal experiments: journaled, reviewed by safety, counted against the budget. After the
analyst journals a `DriftDetected`, the planner treats older data by the control's `strategy`:

- `ratio`: every reading of a metric the controls measured is rescaled by the control's level
  now over its level when the reading was taken, linearly interpolated between the bracketing
  controls (bracketing standards, as in analytical chemistry);
- `shift` (the default): the same, additively: every reading moves by the control's change
  between when it was taken and now;
- `drop`: readings taken before the estimated change point are left out;
- `time`: readings stay as measured, and the proposer is told when each was taken
  (`History.extra["times"]`, `["now"]`); `BayesProposer` then models campaign time as one more
  input and proposes for now, so it learns how the drift moves each design rather than applying
  the control's change to all of them;
- `ignore`: nothing changes (the baseline `benchmarks/drift.py` compares against).

Repeats. When the analyst journals an `OutlierSuspected` that asks for a re-measurement, the
next plan proposes the suspect's design again, marked `repeat_of`, before any control or new
design. A repeat is a normal experiment (reviewed by safety, counted against the budget; the
analyst reserved the budget for it when it flagged the reading).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

from daedalus.agents.analyst import awaiting_repeat
from daedalus.errors import InvalidCampaign, InvalidParams
from daedalus.events import DesignProposed
from daedalus.models.drift import H, control_curve
from daedalus.problem import Problem
from daedalus.proposers.base import History, Proposer, Trial
from daedalus.state import IN_FLIGHT, Experiment, State, Status

PENDING = IN_FLIGHT | {Status.PROPOSED, Status.ACCEPTED, Status.AWAITING_APPROVAL, Status.UNKNOWN}
STRATEGIES = ("shift", "time", "ratio", "drop", "ignore")
# `benchmarks/drift.py` (catalyst deactivation, 8 seeds): `shift` came closest to the moved
# optimum (median 0.014 from it among the designs run after the alarm; time 0.031, ratio 0.031,
# ignore 0.036, drop 0.098).
DEFAULT_STRATEGY = "shift"
CONTROL_PROPOSER = "control"
REPEAT_PROPOSER = "repeat"


def derive_seed(seed: int, *parts: object) -> int:
    """A 31-bit seed from the campaign seed and labels: stable across processes and versions."""
    text = ":".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") >> 1


def experiment_id(index: int) -> str:
    """Experiment ids number designs in proposal order: e0001, e0002, ..., e10000, ...

    Compare positions in `State.experiments` (proposal order), never id strings.
    """
    return f"e{index:04d}"


# -- control settings ----------------------------------------------------------------------------


def check_control(problem: Problem, control: object) -> dict[str, Any]:
    """Validate a campaign's `control` setting; return it complete, as journaled.

    Keys: `design` (a design of the space, required), `every` (other experiments between two
    controls, an integer >= 1, default 5), `metric` (the metric tested, default the first
    objective's), `threshold` (the CUSUM's h > 0, default 5) and `strategy` (one of
    `STRATEGIES`).

    Raises:
        InvalidCampaign: naming the key, the value and the rule.
    """
    if not isinstance(control, Mapping):
        raise InvalidCampaign(
            f"control must be a table such as {{design = {{...}}, every = 5}}, got {control!r}"
        )
    known = {"design", "every", "metric", "threshold", "strategy"}
    unknown = sorted(set(control) - known)
    if unknown:
        raise InvalidCampaign(f"control: unknown keys {unknown}; expected some of {sorted(known)}")
    if "design" not in control:
        raise InvalidCampaign("control: missing key 'design', the fixed design to re-run")
    try:
        design = problem.space.validate(control["design"])
    except InvalidParams as err:
        raise InvalidCampaign(f"control.design: {err}") from err
    every = control.get("every", 5)
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise InvalidCampaign(f"control.every must be an integer >= 1, got {every!r}")
    metric = control.get("metric", problem.goal.primary.name)
    if metric not in problem.goal.metrics:
        raise InvalidCampaign(
            f"control.metric {metric!r} is not a metric of the goal; "
            f"use one of {list(problem.goal.metrics)}"
        )
    threshold = control.get("threshold", H)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not (math.isfinite(threshold) and threshold > 0)
    ):
        raise InvalidCampaign(f"control.threshold must be a number > 0, got {threshold!r}")
    strategy = control.get("strategy", DEFAULT_STRATEGY)
    if strategy not in STRATEGIES:
        raise InvalidCampaign(
            f"control.strategy must be one of {list(STRATEGIES)}, got {strategy!r}"
        )
    return {
        "design": dict(design),
        "every": every,
        "metric": str(metric),
        "threshold": float(threshold),
        "strategy": str(strategy),
    }


def control_due(state: State) -> bool:
    """Whether the next proposal is a control run."""
    control = state.settings.get("control")
    if not control or state.budget - state.spent <= 1:
        return False
    for since, exp in enumerate(reversed(list(state.experiments.values()))):
        if exp.control:
            return since >= int(control["every"])
    return True


# -- history -------------------------------------------------------------------------------------


def history(state: State) -> History:
    """What the proposer may know: valid observations, failures, and designs still pending.

    Rejected readings are left out; trials are in proposal order (the journal's order). After a
    `DriftDetected`, readings are treated by the control's strategy (see the module docstring).
    """
    trials = []
    for exp in list(state.experiments.values()):
        if exp.status is Status.RECORDED:
            trials.append(Trial(exp.id, exp.params, values=exp.values))
        elif exp.status is Status.FAILED:
            trials.append(Trial(exp.id, exp.params, cause=exp.cause))
    pending = [e.params for e in list(state.experiments.values()) if e.status in PENDING]
    return History(
        trials=drift_corrected(state, trials),
        pending=pending,
        n_proposed=len(state.experiments),
        extra=_times(state, trials),
    )


def _times(state: State, trials: list[Trial]) -> dict[str, object]:
    """With the `time` strategy after a drift alarm: when each trial ran, and now (the latest
    time the journal knows), for a proposer that models time."""
    control = state.settings.get("control")
    if not control or not state.drifts or control["strategy"] != "time":
        return {}
    times = {t.experiment_id: _time(state.experiments[t.experiment_id]) for t in trials}
    now = max([state.clock, *times.values()])
    return {"times": times, "now": now}


def drift_corrected(state: State, trials: list[Trial]) -> list[Trial]:
    """`trials` with older readings treated by the control strategy once drift was detected."""
    control = state.settings.get("control")
    if not control or not state.drifts or control["strategy"] in ("ignore", "time"):
        return trials
    if control["strategy"] == "drop":
        keep = _after(state, state.drifts[-1].change_point_id)
        return [t for t in trials if t.values is None or t.experiment_id in keep]
    controls = [
        e
        for e in state.experiments.values()
        if e.control and e.status is Status.RECORDED and e.values is not None
    ]
    if not controls:
        return trials
    return [_corrected(state, t, controls, control["strategy"]) for t in trials]


def _after(state: State, experiment_id: str) -> set[str]:
    ids = list(state.experiments)
    start = ids.index(experiment_id) if experiment_id in ids else 0
    return set(ids[start:])


def _time(exp: Experiment) -> float:
    return exp.started_at if exp.started_at is not None else exp.proposed_at


def _corrected(state: State, trial: Trial, controls: list[Experiment], strategy: str) -> Trial:
    if trial.values is None:
        return trial
    at = _time(state.experiments[trial.experiment_id])
    values = dict(trial.values)
    for metric, value in trial.values.items():
        series = [
            (_time(c), float(c.values[metric])) for c in controls if c.values and metric in c.values
        ]
        if not series:
            continue
        times, levels = zip(*sorted(series), strict=True)
        then = control_curve(times, levels, at)
        now = levels[-1]
        if strategy == "ratio" and min(levels) > 0:
            values[metric] = value * now / then
        else:
            values[metric] = value + (now - then)
    return Trial(trial.experiment_id, trial.params, values=values, cause=trial.cause)


# -- planning ------------------------------------------------------------------------------------


def plan(state: State, proposer: Proposer, *, n: int) -> list[DesignProposed]:
    """Ask `proposer` for `n` designs; return them as proposals with fresh experiment ids.

    Repeats of suspect readings come first, then a control run when one is due, and the
    proposer is asked for the rest.
    """
    if state.problem is None or n < 1:
        return []
    decision = state.decisions
    seed = derive_seed(int(state.settings.get("seed", 0)), "decision", decision)
    first = len(state.experiments) + 1
    out: list[DesignProposed] = [
        DesignProposed(
            experiment_id=experiment_id(first + i),
            params=dict(state.experiments[suspect].params),
            proposer=REPEAT_PROPOSER,
            decision=decision,
            seed=seed,
            repeat_of=suspect,
        )
        for i, suspect in enumerate(awaiting_repeat(state)[:n])
    ]
    if len(out) == n:
        return out
    if control_due(state):
        out.append(
            DesignProposed(
                experiment_id=experiment_id(first + len(out)),
                params=dict(state.settings["control"]["design"]),
                proposer=CONTROL_PROPOSER,
                decision=decision,
                seed=seed,
                control=True,
            )
        )
        if len(out) == n:
            return out
    designs = proposer.propose(
        state.problem.space, state.problem.goal, history(state), n=n - len(out), seed=seed
    )
    out += [
        DesignProposed(
            experiment_id=experiment_id(first + len(out) + i),
            params=params,
            proposer=proposer.name,
            decision=decision,
            seed=seed,
        )
        for i, params in enumerate(designs[: n - len(out)])
    ]
    return out
