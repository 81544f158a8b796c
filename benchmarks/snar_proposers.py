"""Bayes against Sobol on the SnAr reactor: best feasible STY at 20 and 40 experiments.

Runs `daedalus bench snar` (same runtime, agents and simulated reactors as `daedalus run`) for
each proposer over N seeds and prints medians and quartiles, and the proposer's median seconds
per batch. Usage:

    .venv/bin/python benchmarks/snar_proposers.py [--seeds 10] [--budget 40] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from daedalus.bench import quartiles, run_once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--proposer", action="append", default=None)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/snar_proposers.json"))
    args = parser.parse_args()
    proposers = args.proposer or ["bayes", "sobol"]
    records = []
    for proposer in proposers:
        for seed in range(args.seeds):
            started = time.perf_counter()
            record = run_once("snar", proposer, seed=seed, budget=args.budget, batch=args.batch)
            record["wall_s"] = time.perf_counter() - started
            records.append(record)
            print(
                f"{proposer} seed {seed}: best {record['final_best']}, failed "
                f"{record['failed']}, {record['wall_s']:.1f} s",
                flush=True,
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(records, indent=1), encoding="utf-8")
    reference = records[0]["reference"]
    print(f"\nsnar: max STY s.t. E-factor <= 9; reference {reference:.1f} kg m^-3 h^-1")
    print(f"{'proposer':10} {'at':>4} {'median':>10} {'q1':>10} {'q3':>10} {'% ref':>7}")
    for proposer in proposers:
        runs = [r for r in records if r["proposer"] == proposer]
        for at in sorted({min(20, args.budget), args.budget}):
            values = [r["best"][at - 1] or 0.0 for r in runs]
            q1, med, q3 = quartiles(values)
            print(
                f"{proposer:10} {at:>4} {med:>10.1f} {q1:>10.1f} {q3:>10.1f} "
                f"{100 * med / reference:>6.1f}%"
            )
        times = [t for r in runs for t in r["proposer_s"]]
        print(f"{proposer:10} median proposer seconds per batch: {statistics.median(times):.3f}")
    print(f"records: {args.out}")


if __name__ == "__main__":
    main()
