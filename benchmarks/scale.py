"""Proposer speed at scale: seconds per suggestion at 10^2 to 10^4 observations, and the regret
that fitting the GP on a subset (`BayesProposer.max_fit_points`, `proposers/subset.py`) costs.

Histories are synthetic, on Hartmann6 (6-D, minimised, optimum -3.32237) with Gaussian noise:
half uniform points, half clustered (sd 0.1) around the five best uniform ones, as a campaign
that explored and then exploited would leave them. Each timing is one `BayesProposer.propose`
call for one design with the proposer's own thread setting (one torch thread).

1. The curve: observations -> seconds per suggestion, for the exact GP (`max_fit_points` above
   n; measured up to `--exact-max` observations, extrapolated as n^3 beyond) and for the subset
   (the default `max_fit_points`).
2. The regret cost, at `--regret-n` observations where every method runs: from the same
   history, each method proposes one design (`one-step`: the noiseless regret of that design,
   f(x) - f*), and then continues the campaign for `--steps` experiments (`campaign`: the
   noiseless regret of the best design the continuation evaluated). Methods: `exact` and
   `subset` (the rule of `subset.py`: the incumbent and a random sample of the rest).

Usage:

    .venv/bin/python benchmarks/scale.py [--sizes 100,1000,10000] [--exact-max 2000]
        [--repeats 2] [--regret-n 1000] [--seeds 4] [--steps 10] [--methods exact,subset]
        [--markdown docs/benchmarks-scale.md]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from report import reported

from daedalus.proposers.base import History, Trial
from daedalus.proposers.bayes import BayesProposer
from daedalus.sims.functions import HARTMANN6_MINIMUM, Hartmann6, hartmann6
from daedalus.space import Params

NOISE_SD = 0.05
SUBSET = BayesProposer()  # the default max_fit_points
EXACT = replace(SUBSET, max_fit_points=10**9)
SIM = Hartmann6(noise_sd=NOISE_SD)
SPACE, GOAL = SIM.problem.space, SIM.problem.goal
NAMES = SPACE.names
WALL: list[float] = []  # wall seconds of every timed proposal, in order


def truth(params: Params) -> float:
    return hartmann6([float(params[name]) for name in NAMES])


def history(n: int, *, seed: int) -> list[Trial]:
    """`n` observed trials: half uniform, half clustered around the five best uniform ones."""
    rng = np.random.default_rng(seed)
    uniform = rng.random((n - n // 2, 6))
    values = np.array([hartmann6(u) for u in uniform])
    centres = uniform[np.argsort(values)[:5]]
    near = centres[np.arange(n // 2) % len(centres)] + 0.1 * rng.standard_normal((n // 2, 6))
    points = np.clip(np.vstack([uniform, near]), 0.0, 1.0)
    return [
        observe(SPACE.decode(u), f"h{seed:03d}-{i:06d}", seed=seed * 10**6 + i)
        for i, u in enumerate(points)
    ]


def observe(params: Params, experiment_id: str, *, seed: int) -> Trial:
    outcome = SIM.evaluate(params, seed=seed)
    return Trial(experiment_id, params, dict(outcome.values))


def timed(proposer: BayesProposer, trials: list[Trial], *, seed: int) -> tuple[float, Params]:
    """CPU seconds of one proposal (all threads of this process), and the design.

    CPU time rather than wall time: on a shared host wall time measures the neighbours too. The
    wall time is added to `WALL` so the tables can show both."""
    started, cpu = time.perf_counter(), time.process_time()
    (design,) = proposer.propose(
        SPACE, GOAL, History(trials=trials, n_proposed=len(trials)), n=1, seed=seed
    )
    WALL.append(time.perf_counter() - started)
    return time.process_time() - cpu, design


# --- 1. the curve -------------------------------------------------------------------------------


def curve(sizes: list[int], *, exact_max: int, repeats: int) -> None:
    m = SUBSET.max_fit_points
    print(
        f"seconds per suggestion (batch 1, Hartmann6 + noise {NOISE_SD}, 1 torch thread; "
        f"median of {repeats}; CPU s, and wall s on this shared host)"
    )
    print(
        f"{'observations':>12} {'exact CPU s':>16} {'wall s':>8} {f'subset m={m} CPU s':>20} "
        f"{'wall s':>8}"
    )
    measured: tuple[int, float] | None = None
    for n in sizes:
        runs = [history(n, seed=r) for r in range(repeats)]
        subset, subset_wall = median_time(SUBSET, runs)
        if n <= m:  # below m the subset is every point: the same fit
            exact_text, wall_text = f"{subset:.2f}", f"{subset_wall:.2f}"
        elif n <= exact_max:
            exact, exact_wall = median_time(EXACT, runs)
            measured = (n, exact)
            exact_text, wall_text = f"{exact:.2f}", f"{exact_wall:.2f}"
        elif measured is not None:
            guess = measured[1] * (n / measured[0]) ** 3
            exact_text, wall_text = f"~{guess:.0f} (n^3)", "-"
        else:
            exact_text, wall_text = "skipped", "-"
        print(
            f"{n:>12} {exact_text:>16} {wall_text:>8} {subset:>20.2f} {subset_wall:>8.2f}",
            flush=True,
        )


def median_time(proposer: BayesProposer, runs: list[list[Trial]]) -> tuple[float, float]:
    """Median CPU and wall seconds of one proposal on each history of `runs`."""
    cpu = [timed(proposer, trials, seed=r)[0] for r, trials in enumerate(runs)]
    return statistics.median(cpu), statistics.median(WALL[-len(runs) :])


# --- 2. the regret cost --------------------------------------------------------------------------


def propose(method: str, trials: list[Trial], *, seed: int) -> tuple[float, Params]:
    return timed(EXACT if method == "exact" else SUBSET, trials, seed=seed)


def regret(n: int, *, seeds: int, steps: int, methods: list[str]) -> None:
    print(
        f"\nregret cost at {n} observations ({seeds} histories; noiseless regret f - f*, "
        f"f* = {HARTMANN6_MINIMUM:.4f}; median [min, max])"
    )
    one: dict[str, list[float]] = {m: [] for m in methods}
    final: dict[str, list[float]] = {m: [] for m in methods}
    secs: dict[str, list[float]] = {m: [] for m in methods}
    start_regret = []
    for s in range(seeds):
        base = history(n, seed=100 + s)
        start_regret.append(min(truth(t.params) for t in base) - HARTMANN6_MINIMUM)
        for method in methods:
            trials, best = list(base), float("inf")
            for step in range(steps):
                seconds, design = propose(method, trials, seed=1000 * s + step)
                secs[method].append(seconds)
                value = truth(design)
                if step == 0:
                    one[method].append(value - HARTMANN6_MINIMUM)
                best = min(best, value)
                trials.append(observe(design, f"c{s:03d}-{step:04d}", seed=10**8 + 1000 * s + step))
            final[method].append(best - HARTMANN6_MINIMUM)
            print(
                f"  history {s} {method:7} one-step {one[method][-1]:.4f} "
                f"campaign {final[method][-1]:.4f}",
                flush=True,
            )
    print(f"best in the starting histories: regret {summary(start_regret)}")
    print(
        f"{'method':8} {'one-step regret':>28} {f'best of {steps} more':>28} {'s/suggestion':>13}"
    )
    for method in methods:
        print(
            f"{method:8} {summary(one[method]):>28} {summary(final[method]):>28} "
            f"{statistics.median(secs[method]):>13.2f}"
        )


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.4f} [{min(values):.4f}, {max(values):.4f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,2000,10000")
    parser.add_argument("--exact-max", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--regret-n", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--methods", default="exact,subset")
    parser.add_argument("--skip-curve", action="store_true")
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="also write what is printed to this markdown report (docs/benchmarks-scale.md)",
    )
    args = parser.parse_args()
    if unknown := set(args.methods.split(",")) - {"exact", "subset"}:
        parser.error(f"unknown methods {sorted(unknown)}; known: exact, subset")
    with reported(
        args.markdown,
        title="Benchmarks: the proposer's speed at 10^2 to 10^4 observations",
        script="scale.py",
        doc=__doc__,
        libraries=("daedalus", "torch", "botorch", "gpytorch", "numpy", "scipy"),
    ):
        if not args.skip_curve:
            sizes = [int(s) for s in args.sizes.split(",")]
            curve(sizes, exact_max=args.exact_max, repeats=args.repeats)
        if args.seeds > 0 and args.steps > 0:
            methods = args.methods.split(",")
            regret(args.regret_n, seeds=args.seeds, steps=args.steps, methods=methods)


if __name__ == "__main__":
    main()
