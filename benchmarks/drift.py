"""Drift: catalyst deactivation detected by control runs, and what the planner does about it.

Each run is a real campaign on an in-memory journal, driven by the same runtime, agents and
simulated machines as `daedalus run`: catalyst screening (case 1) with first-order deactivation
k_d per hour after an induction period, one machine, a control run of a fixed, kinetically
limited design after every 3 other experiments (controls count against the budget), and Bayesian
optimisation. For each treatment of older data after `DriftDetected` (`time`, `ratio`, `shift`,
`drop`, `ignore`) the script prints:

- detection delay: controls started after the onset of deactivation, up to and including the
  one that raised the alarm (the same for every strategy: they differ only after the alarm);
- final regret against the moved optimum: the best noiseless yield within the cost budget at the
  catalyst's activity when the campaign ends, minus the noiseless yield there of the design the
  planner would recommend (the best of the data as the strategy treats it); a recommendation
  that breaks the cost budget at that activity scores the whole optimum as regret;
- reached: the same regret for the best design the campaign ran after the first alarm (scored
  noiselessly at the final activity): how close the search itself got to the moved optimum,
  whatever the recommendation rule;
- false alarms: campaigns without deactivation (Sobol designs, the same controls) that raised a
  `DriftDetected`.

Usage:

    nice .venv/bin/python benchmarks/drift.py [--seeds 4] [--budget 30] [--null-seeds 20]
        [--strategies ratio,drop,ignore] [--kd 0.1] [--onset 2]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from typing import Any

import numpy as np

from daedalus.agents import planner
from daedalus.journal.memory import MemoryJournal
from daedalus.runtime.campaign import Campaign
from daedalus.runtime.files import build_machines
from daedalus.sims.catalyst import (
    CATALYSTS,
    COST_BUDGET_USD_PER_MOL,
    CatalystScreening,
    catalyst_model,
)
from daedalus.state import State

CONTROL = {
    "catalyst": "C4",
    "catalyst_loading_mol_pct": 1.0,
    "residence_time_s": 300.0,
    "temperature_c": 70.0,
}
EVERY = 3
# A lighter acquisition optimiser than the default (10 restarts, 256 raw samples), so that a
# 2-core machine runs the benchmark in minutes; every strategy gets the same.
PROPOSER_OPTIONS = {"num_restarts": 2, "raw_samples": 64}


def run(
    seed: int, *, strategy: str, budget: int, kd: float, onset_h: float, proposer: str = "bayes"
) -> State:
    """One campaign; returns its final state."""
    options = {"deactivation_per_h": kd, "deactivation_onset_h": onset_h}
    spec = {"simulator": "catalyst", "count": 1, "options": options}
    sim = CatalystScreening(**options)
    control = {"design": CONTROL, "every": EVERY, "strategy": strategy}
    with Campaign.create(
        f"drift-{strategy}-{seed}",
        sim.problem,
        journal=MemoryJournal(),
        seed=seed,
        budget=budget,
        proposer=proposer,
        proposer_options=PROPOSER_OPTIONS if proposer == "bayes" else None,
        machines=spec,
        control=control,
    ) as campaign:
        return campaign.run(build_machines(spec)).state


def moved_optimum(activity: float) -> float:
    """The best noiseless yield within the cost budget at `activity` (grid search)."""
    best = 0.0
    loadings = np.linspace(0.5, 2.5, 401)
    for catalyst, temp_c, time_s in itertools.product(
        CATALYSTS, np.linspace(30.0, 110.0, 9), (150.0, 300.0, 450.0, 600.0)
    ):
        for loading in loadings:
            params = {
                "catalyst": catalyst,
                "catalyst_loading_mol_pct": float(loading),
                "residence_time_s": time_s,
                "temperature_c": float(temp_c),
            }
            out = catalyst_model(params, activity=activity)
            if out["cost_usd_per_mol"] <= COST_BUDGET_USD_PER_MOL:
                best = max(best, out["yield_frac"])
    return best


def recommended(state: State) -> dict[str, Any] | None:
    """The design the planner's own view of the data (strategy applied) ranks best."""
    assert state.problem is not None
    trials = planner.history(state).observed
    index = state.problem.goal.best([t.values or {} for t in trials])
    return None if index is None else dict(trials[index].params)


def score(state: State, sim: CatalystScreening, onset_h: float) -> dict[str, Any]:
    activity = sim.activity(state.clock)
    optimum = moved_optimum(activity)
    design = recommended(state)
    got = 0.0
    if design is not None:
        out = catalyst_model(design, activity=activity)
        if out["cost_usd_per_mol"] <= COST_BUDGET_USD_PER_MOL:
            got = out["yield_frac"]
    delay = None
    if state.drifts:
        alarm = state.drifts[0].control_ids[-1]
        onset_s = onset_h * 3600.0
        after = [
            e.id
            for e in state.experiments.values()
            if e.control and e.started_at is not None and e.started_at >= onset_s
        ]
        delay = after.index(alarm) + 1 if alarm in after else 0
    reached = optimum - max(
        (_value_now(e.params, activity) for e in _after_alarm(state)), default=0.0
    )
    return {
        "regret": optimum - got,
        "reached": reached,
        "activity": activity,
        "optimum": optimum,
        "delay": delay,
    }


def _after_alarm(state: State) -> list[Any]:
    """Non-control experiments proposed after the first `DriftDetected`."""
    if not state.drifts:
        return []
    ids = list(state.experiments)
    last_control = state.drifts[0].control_ids[-1]
    start = ids.index(last_control) + 1 if last_control in ids else len(ids)
    return [e for e in list(state.experiments.values())[start:] if not e.control]


def _value_now(params: Any, activity: float) -> float:
    """Noiseless yield at `activity`, or 0 when the design breaks the cost budget then."""
    out = catalyst_model(params, activity=activity)
    return out["yield_frac"] if out["cost_usd_per_mol"] <= COST_BUDGET_USD_PER_MOL else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--null-seeds", type=int, default=20)
    parser.add_argument("--strategies", default="time,ratio,shift,drop,ignore")
    parser.add_argument("--kd", type=float, default=0.1, help="deactivation rate, 1/h")
    parser.add_argument("--onset", type=float, default=2.0, help="induction period, h")
    args = parser.parse_args()
    sim = CatalystScreening(deactivation_per_h=args.kd, deactivation_onset_h=args.onset)
    rows: dict[str, list[dict[str, Any]]] = {}
    for strategy in args.strategies.split(","):
        rows[strategy] = []
        for seed in range(args.seeds):
            started = time.perf_counter()
            state = run(seed, strategy=strategy, budget=args.budget, kd=args.kd, onset_h=args.onset)
            row = score(state, sim, args.onset)
            rows[strategy].append(row)
            print(
                f"{strategy}, seed {seed}: delay {row['delay']} controls, regret "
                f"{row['regret']:.4f}, reached {row['reached']:.4f} (optimum "
                f"{row['optimum']:.4f} at activity {row['activity']:.3f}), "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
    alarms = 0
    for seed in range(args.null_seeds):
        state = run(
            seed, strategy="ratio", budget=args.budget, kd=0.0, onset_h=0.0, proposer="sobol"
        )
        alarms += bool(state.drifts)
    print(
        f"\ncatalyst case 1, k_d {args.kd:g}/h after {args.onset:g} h, budget {args.budget} "
        f"(a control every {EVERY}), {args.seeds} seeds, bayes"
    )
    print(
        f"{'strategy':10}{'median regret':>15}{'mean regret':>13}{'median reached':>16}"
        f"{'detected':>10}{'delays':>24}"
    )
    for strategy, runs in rows.items():
        regrets = [r["regret"] for r in runs]
        reached = [r["reached"] for r in runs]
        delays = [r["delay"] for r in runs if r["delay"] is not None]
        print(
            f"{strategy:10}{statistics.median(regrets):>15.4f}{statistics.fmean(regrets):>13.4f}"
            f"{statistics.median(reached):>16.4f}"
            f"{len(delays):>7}/{len(runs):<3}{sorted(delays)!s:>23}"
        )
    print(f"false alarms without drift: {alarms} of {args.null_seeds} campaigns (sobol)")


if __name__ == "__main__":
    main()
