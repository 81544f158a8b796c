"""Bayes with and without its feasibility model on Branin with infeasible discs (`branin_disc`).

Each run is a real campaign on an in-memory journal, driven by the same runtime, agents and
simulated machines as `daedalus run` (`daedalus.bench.run_once`). For each setting the script
prints the median number of failed experiments, the median final regret against the feasible
optimum 0.397887, the mean seconds
in the proposer per decision, and the ratios (with the model / without). The model runs twice:
with the default risky threshold (P < 0.7) and with an even 0.5, to show what the default buys.
The issue's target: median failures with the model at most half of those without, and median
regret no worse.
Usage:

    nice .venv/bin/python benchmarks/feasibility.py [--seeds 20] [--budget 60] [--batch 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from daedalus.bench import run_once

# The default (risky below P = 0.7), the same model held to an even 0.5, and no model.
SETTINGS: dict[str, dict[str, Any]] = {
    "with model": {"feasibility": True},
    "model, t=0.5": {"feasibility": True, "feasibility_threshold": 0.5},
    "without model": {"feasibility": False},
}


def run(seed: int, options: dict[str, Any], *, budget: int, batch: int) -> dict[str, Any]:
    """One campaign of `budget` experiments on `batch` simulated machines; returns its record."""
    return run_once(
        "branin_disc", "bayes", seed=seed, budget=budget, batch=batch, proposer_options=options
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    rows = {}
    for label, options in SETTINGS.items():
        records = []
        for seed in range(args.seeds):
            started = time.perf_counter()
            record = run(seed, options, budget=args.budget, batch=args.batch)
            records.append(record)
            print(
                f"{label}, seed {seed}: failed {record['failed']}, regret {record['regret']:.4g}, "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
        rows[label] = summary(records)
    print(f"\nbranin_disc, bayes, budget {args.budget}, batch {args.batch}, {args.seeds} seeds")
    print(f"{'':16}{'median failed':>15}{'median regret':>15}{'proposer s':>12}")
    for label, row in rows.items():
        print(f"{label:16}{row['failed']:>15.1f}{row['regret']:>15.4g}{row['proposer_s']:>12.3f}")
    off = rows["without model"]
    for label in ("with model", "model, t=0.5"):
        on = rows[label]
        print(
            f"ratio ({label} / without): failed {ratio(on['failed'], off['failed'])}, "
            f"regret {ratio(on['regret'], off['regret'])}"
        )


def summary(records: list[dict[str, Any]]) -> dict[str, float]:
    """Median failures and regret, and mean proposer seconds per decision."""
    times = [t for r in records for t in r["proposer_s"]]
    return {
        "failed": statistics.median(r["failed"] for r in records),
        "regret": statistics.median(r["regret"] for r in records),
        "proposer_s": statistics.fmean(times) if times else float("nan"),
    }


def ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b else "n/a (zero without the model)"


if __name__ == "__main__":
    main()
