"""Outlier handling: gross errors caught, sound readings wrongly rejected, and the regret with and
without the analyst's outlier test, on simulators with gross errors (`outlier_rate`).

Each run is a real campaign on the simulated clock (`Campaign.run`, Bayesian optimisation, one
machine). The same seed runs twice: with the outlier test (the default: a suspect reading is
re-measured once and rejected when the repeat disagrees) and without it (`outliers=False`). A
reading is a gross error when the simulator's own draw says so (`sims.base.gross_error` on the
job's seed). Regret is that of the design the campaign recommends (`State.best()`), on the
noiseless process: Branin's value minus 0.397887; for SnAr the reference STY minus the design's
noiseless STY (the reference STY, when its noiseless E-factor breaks `e_factor <= 9`).

Usage:

    .venv/bin/python benchmarks/outliers.py [--problems branin,snar] [--seeds 10]
        [--budget 30] [--rate 0.1]
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from daedalus.journal.memory import MemoryJournal
from daedalus.runtime.campaign import Campaign
from daedalus.runtime.files import build_machines
from daedalus.sims.base import gross_error
from daedalus.sims.functions import BRANIN_MINIMUM, branin
from daedalus.sims.registry import get_simulator
from daedalus.sims.snar import snar_model
from daedalus.state import State, Status


def regret(problem: str, state: State) -> float:
    best = state.best()
    assert state.problem is not None and state.problem.reference is not None
    if best is None:
        return float("nan")
    p = best.params
    if problem == "branin":
        return branin(float(p["x1"]), float(p["x2"])) - BRANIN_MINIMUM
    out = snar_model(p)
    reference = state.problem.reference.value
    return reference - out["sty"] if out["e_factor"] <= 9.0 else reference


def run(problem: str, seed: int, *, budget: int, rate: float, handle: bool) -> dict[str, Any]:
    options = {"outlier_rate": rate}
    spec = {"simulator": problem, "count": 1, "options": options}
    sim = get_simulator(problem, **options)
    with Campaign.create(
        f"{problem}-{seed}",
        sim.problem,
        journal=MemoryJournal(),
        seed=seed,
        budget=budget,
        proposer="bayes",
        machines=spec,
        outliers=handle,
    ) as campaign:
        state = campaign.run(build_machines(spec)).state
    read = [e for e in state.experiments.values() if e.values is not None]
    gross = {e.id for e in read if gross_error(e.seed, rate) is not None}
    rejected = {e.id for e in state.with_status(Status.REJECTED) if e.id in state.resolved}
    return {
        "gross": len(gross),
        "caught": len(gross & rejected),
        "false": len(rejected - gross),
        "flagged": len(state.suspects),
        "repeats": sum(1 for e in state.experiments.values() if e.repeat_of),
        "regret": regret(problem, state),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="branin,snar")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--rate", type=float, default=0.1)
    args = parser.parse_args()
    print(f"outlier_rate {args.rate}, budget {args.budget}, {args.seeds} seeds, bayes")
    print("problem  handling  gross  caught  false-rej  flagged  repeats  regret(median, mean)")
    for problem in args.problems.split(","):
        for handle in (True, False):
            runs = [
                run(problem, seed, budget=args.budget, rate=args.rate, handle=handle)
                for seed in range(args.seeds)
            ]
            total = {k: sum(r[k] for r in runs) for k in ("gross", "caught", "false", "flagged")}
            regrets = [r["regret"] for r in runs]
            print(
                f"{problem:8s} {'on' if handle else 'off':9s} {total['gross']:5d}  "
                f"{total['caught']:6d}  {total['false']:9d}  {total['flagged']:7d}  "
                f"{sum(r['repeats'] for r in runs):7d}  "
                f"{statistics.median(regrets):.4g}, {statistics.fmean(regrets):.4g}",
                flush=True,
            )


if __name__ == "__main__":
    main()
