"""Several objectives: hypervolume reached by `bayes` (qLogNEHVI) and `sobol` against the
reference front.

For each problem and proposer, runs `--seeds` campaigns (batch 1) through the same runtime as
`daedalus run` and prints the median hypervolume as a share of the reference front's, at the
goal's reference point:

- measured: the hypervolume of the feasible measured outcomes (what `daedalus show` reports;
  measurement noise can push it above the noiseless front);
- true: the same designs re-evaluated on the noiseless model (`noise=0` / `noise_sd=0`, with
  no faults), so the score counts only what the campaign really found.

Problems: `snar_pareto` (SnAr STY against E-factor, reference front from
`scripts/make_snar_front.py`, 50 experiments), `branin_currin` (BoTorch's hypervolume 59.36 at
(18, 6), 30 experiments) and `catalyst_pareto` (yield against catalyst cost, reference front
from `scripts/make_catalyst_front.py`, 40 experiments). Usage:

    .venv/bin/python benchmarks/pareto.py [--seeds 10] [--problems snar_pareto:50 ...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from daedalus.bench import quartiles, run_once
from daedalus.machines.base import Outcome
from daedalus.sims.registry import get_simulator

NOISELESS = {
    "snar_pareto": {"noise": 0.0, "failures": False},
    "catalyst_pareto": {"noise": 0.0, "failures": False},
    "branin_currin": {},
}
DEFAULT_PROBLEMS = ("snar_pareto:50", "branin_currin:30", "catalyst_pareto:40")


def true_hypervolume(problem: str, record: dict[str, Any]) -> float:
    """Hypervolume of the record's designs re-evaluated on the noiseless model."""
    sim = get_simulator(problem, **NOISELESS.get(problem, {}))
    goal = sim.problem.goal
    outcomes = []
    for entry in record["recorded"]:
        result = sim.evaluate(entry["params"], seed=0)
        if isinstance(result, Outcome):
            outcomes.append(dict(result.values))
    return goal.hypervolume(outcomes, goal.signed_reference())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument(
        "--problems",
        nargs="*",
        default=list(DEFAULT_PROBLEMS),
        help="NAME:BUDGET pairs (default: %(default)s)",
    )
    parser.add_argument("--proposers", nargs="*", default=["bayes", "sobol"])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pareto.json"))
    args = parser.parse_args()
    rows, records = [], []
    for item in args.problems:
        name, _, budget_text = item.partition(":")
        budget = int(budget_text or 50)
        reference = get_simulator(name).problem.reference
        assert reference is not None, f"{name} has no reference front"
        for proposer in args.proposers:
            measured, true, seconds = [], [], []
            for seed in range(args.seeds):
                started = time.perf_counter()
                record = run_once(name, proposer, seed=seed, budget=budget, batch=1)
                record["true_hypervolume"] = true_hypervolume(name, record)
                records.append(record)
                measured.append((record["final_best"] or 0.0) / reference.value)
                true.append(record["true_hypervolume"] / reference.value)
                seconds.append(sum(record["proposer_s"]) / max(1, len(record["proposer_s"])))
                print(
                    f"{name} {proposer} seed {seed}: measured {measured[-1]:.3f}, "
                    f"true {true[-1]:.3f}, failed {record['failed']}, "
                    f"{time.perf_counter() - started:.0f} s",
                    flush=True,
                )
            rows.append((name, budget, proposer, quartiles(measured), quartiles(true), seconds))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(records, indent=1), encoding="utf-8")
    print(
        f"\nhypervolume as a share of the reference front's, batch 1, {args.seeds} seeds "
        "(median [q1, q3])"
    )
    head = ("problem", "budget", "proposer", "measured", "true", "s/call")
    print("{:14} {:>6} {:8} {:>22} {:>22} {:>7}".format(*head))
    for name, budget, proposer, m, t, seconds in rows:
        print(
            f"{name:14} {budget:>6} {proposer:8} {m[1]:>6.3f} [{m[0]:.3f}, {m[2]:.3f}] "
            f"{t[1]:>6.3f} [{t[0]:.3f}, {t[2]:.3f}] {sum(seconds) / len(seconds):>7.2f}"
        )
    print(f"records: {args.out}")


if __name__ == "__main__":
    main()
