"""Every built-in simulator against `bayes` and `sobol`: best-found fraction of the reference.

For each simulator and proposer, runs `--seeds` campaigns of `--budget` experiments through the
same runtime as `daedalus run` and prints the median fraction of the reference reached by the
best feasible measurement (1.0 = the reference; for a minimised objective the fraction is
reference / best), how many runs found any feasible design, and the simulator's seconds per
evaluation. Usage:

    .venv/bin/python benchmarks/worlds.py [--seeds 10] [--budget 30] [NAME ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from daedalus.bench import quartiles, run_once
from daedalus.sims.registry import SIMULATORS, get_simulator
from daedalus.testing.machine_contract import sample_designs


def fraction(record: dict[str, Any], *, maximise: bool) -> float:
    """Share of the reference reached: 1.0 at the reference, 0.0 with no feasible design."""
    best, ref = record["final_best"], record["reference"]
    if best is None or ref is None:
        return 0.0
    if maximise or ref < 0:
        return float(best / ref)
    return float(ref / best) if best > 0 else 0.0


def seconds_per_evaluation(name: str, n: int = 20) -> float:
    sim = get_simulator(name)
    designs = sample_designs(sim.problem, n, seed=1)
    started = time.perf_counter()
    for seed, params in enumerate(designs):
        sim.evaluate(params, seed=seed)
    return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="simulators (default: all)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/worlds.json"))
    args = parser.parse_args()
    rows, records = [], []
    for name in args.names or list(SIMULATORS):
        try:
            per_eval = seconds_per_evaluation(name)
        except ImportError as err:
            print(f"{name}: unavailable ({err})")
            continue
        maximise = get_simulator(name).problem.goal.primary.sign > 0
        for proposer in ("bayes", "sobol"):
            runs = [
                run_once(name, proposer, seed=seed, budget=args.budget, batch=1)
                for seed in range(args.seeds)
            ]
            records += runs
            shares = [fraction(r, maximise=maximise) for r in runs]
            q1, med, q3 = quartiles(shares)
            feasible = sum(r["final_best"] is not None for r in runs)
            rows.append((name, proposer, med, q1, q3, feasible, len(runs), per_eval))
            print(
                f"{name:10} {proposer:6} median {med:.3f} [{q1:.3f}, {q3:.3f}] "
                f"feasible {feasible}/{len(runs)}",
                flush=True,
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(records, indent=1), encoding="utf-8")
    print(
        f"\nbest-found fraction of the reference after {args.budget} experiments, "
        f"{args.seeds} seeds (median [q1, q3])"
    )
    print(
        f"{'simulator':10} {'proposer':8} {'median':>7} {'q1':>7} {'q3':>7} {'feasible':>9} "
        f"{'s/eval':>9}"
    )
    for name, proposer, med, q1, q3, feasible, n, per_eval in rows:
        print(
            f"{name:10} {proposer:8} {med:>7.3f} {q1:>7.3f} {q3:>7.3f} {feasible:>6}/{n:<2} "
            f"{per_eval:>9.5f}"
        )
    print(
        f"median of bayes over simulators: "
        f"{statistics.median(r[2] for r in rows if r[1] == 'bayes'):.3f}"
    )
    print(f"records: {args.out}")


if __name__ == "__main__":
    main()
