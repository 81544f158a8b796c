"""Compute the catalyst references; write `src/daedalus/sims/data/catalyst_reference.json`.

For each of Baumgartner et al.'s cases 1-5, the reference is the best noiseless yield subject to
the catalyst cost budget (`cost_usd_per_mol <= 150`), over all eight catalysts and the whole
box of `daedalus.sims.catalyst`. For comparison the script also records the unconstrained best.
All on the noiseless model, in two stages per catalyst:

1. a dense grid (loading 41 x temperature 81 x residence time 55 = 182,655 designs per catalyst;
   one integration per loading and temperature serves every residence time);
2. SLSQP from the 4 best feasible grid designs of each catalyst, with the constraint
   cost <= 150 - 1e-6 so that the shipped design stays feasible when re-evaluated.

The best design over catalysts is written. Run it from anywhere:

    python scripts/make_catalyst_reference.py [--output PATH] [--quick]

It takes a few minutes on one core (`--quick` uses a coarser grid for a smoke run).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.optimize import NonlinearConstraint, minimize

from daedalus.sims.catalyst import (
    CASES,
    CATALYST_PRICE_USD_PER_MOL,
    CATALYSTS,
    COST_BUDGET_USD_PER_MOL,
    catalyst_model,
    catalyst_space,
    yield_trajectory,
)
from daedalus.space import Real

NAMES = ("catalyst_loading_mol_pct", "residence_time_s", "temperature_c")
MARGIN = 1e-6  # keep the shipped design strictly feasible
FIXTURE = Path(__file__).resolve().parents[1] / "src/daedalus/sims/data/catalyst_reference.json"
Design = tuple[float, list[float]]  # (yield, [loading, time, temperature])


def bounds() -> list[tuple[float, float]]:
    params = [catalyst_space()[name] for name in NAMES]
    return [(p.low, p.high) for p in params if isinstance(p, Real)]


def clip(x: Sequence[float]) -> list[float]:
    return [min(max(float(v), lo), hi) for v, (lo, hi) in zip(x, bounds(), strict=True)]


def evaluate(case: int, catalyst: str, x: Sequence[float]) -> tuple[float, float]:
    """Return (yield, cost) of catalyst `catalyst` at `x` (ordered as NAMES), clipped."""
    params: dict[str, float | str] = dict(zip(NAMES, clip(x), strict=True))
    params["catalyst"] = catalyst
    out = catalyst_model(params, case=case)
    return out["yield_frac"], out["cost_usd_per_mol"]


def grid(case: int, index: int, quick: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return the yields on the grid, shape (loading, temperature, time), and the axes."""
    counts = (9, 17, 12) if quick else (41, 81, 55)
    axes = [np.linspace(lo, hi, n) for (lo, hi), n in zip(bounds(), counts, strict=True)]
    loadings, times, temps = axes
    yields = np.empty((len(loadings), len(temps), len(times)))
    for (i, loading), (j, temp) in itertools.product(enumerate(loadings), enumerate(temps)):
        yields[i, j] = yield_trajectory(CATALYSTS[index], loading, temp, times, case=case)
    return yields, axes


def best_on_grid(
    yields: np.ndarray, axes: list[np.ndarray], price: float, budget: float, n: int
) -> list[Design]:
    loadings, times, temps = axes
    cost = price * loadings[:, None, None] / 100.0 / np.maximum(yields, 1e-12)
    score = np.where(cost <= budget - MARGIN, yields, -np.inf)
    order = np.argsort(score, axis=None)[::-1][:n]
    found = []
    for flat in order:
        i, j, k = np.unravel_index(flat, score.shape)
        if np.isfinite(score[i, j, k]):
            x = [float(loadings[i]), float(times[k]), float(temps[j])]
            found.append((float(yields[i, j, k]), x))
    return found


def polish(case: int, catalyst: str, x0: Sequence[float], budget: float) -> Design:
    """Run SLSQP from `x0`; return (yield, x), or (-inf, x0) if the result is infeasible."""
    scale = np.array([hi - lo for lo, hi in bounds()])
    low = np.array([lo for lo, _ in bounds()])

    def unscale(u: np.ndarray) -> list[float]:
        return clip(low + u * scale)

    constraint = NonlinearConstraint(
        lambda u: evaluate(case, catalyst, unscale(u))[1], -np.inf, budget - MARGIN
    )
    result = minimize(
        lambda u: -evaluate(case, catalyst, unscale(u))[0],
        (np.asarray(x0) - low) / scale,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * 3,
        constraints=[constraint] if np.isfinite(budget) else [],
        options={"ftol": 1e-13, "maxiter": 300, "eps": 1e-8},
    )
    x = unscale(result.x)
    y, cost = evaluate(case, catalyst, x)
    return (y, x) if cost <= budget - MARGIN / 2 else (-np.inf, list(x0))


def optimise(case: int, quick: bool) -> tuple[dict[str, tuple[str, Design]], dict[str, float]]:
    """Return the best (catalyst, design) within the budget ("budget") and without it ("free"),
    and each catalyst's best yield within the budget."""
    best: dict[str, tuple[str, Design]] = {}
    per_catalyst: dict[str, float] = {}
    for index, catalyst in enumerate(CATALYSTS):
        yields, axes = grid(case, index, quick)
        price = CATALYST_PRICE_USD_PER_MOL[index]
        for label, budget in (("budget", COST_BUDGET_USD_PER_MOL), ("free", np.inf)):
            starts = best_on_grid(yields, axes, price, budget, 4)
            candidates = [*starts, *(polish(case, catalyst, x, budget) for _, x in starts)]
            if not candidates:
                continue
            top = max(candidates, key=lambda item: item[0])
            if label == "budget":
                per_catalyst[catalyst] = top[0]
            if label not in best or top[0] > best[label][1][0]:
                best[label] = (catalyst, top)
    return best, per_catalyst


def entry(case: int, catalyst: str, design: Design) -> dict[str, object]:
    y, x = design
    _, cost = evaluate(case, catalyst, x)
    params: dict[str, object] = {"catalyst": catalyst, **dict(zip(NAMES, x, strict=True))}
    return {"value": y, "params": params, "cost_usd_per_mol": cost}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=FIXTURE)
    parser.add_argument("--quick", action="store_true", help="coarse grid")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    cases: dict[str, object] = {}
    for case in CASES:
        best, per_catalyst = optimise(case, args.quick)
        record = entry(case, *best["budget"])
        record["unconstrained"] = entry(case, *best["free"])
        record["best_yield_within_budget_per_catalyst"] = per_catalyst
        cases[str(case)] = record
        print(f"case {case}: {json.dumps(record)}")
    write(args.output, cases, quick=args.quick)
    print(f"{time.perf_counter() - started:.0f} s")


def write(path: Path, cases: dict[str, object], *, quick: bool) -> None:
    grid_text = "loading 9 x T 17 x time 12" if quick else "loading 41 x T 81 x time 55"
    method = (
        f"noiseless model; per catalyst a dense grid ({grid_text}), then SLSQP from the 4 best "
        f"feasible grid designs, constraint cost_usd_per_mol <= {COST_BUDGET_USD_PER_MOL:g} - 1e-6"
    )
    data = {
        "budget_usd_per_mol": COST_BUDGET_USD_PER_MOL,
        "source": "scripts/make_catalyst_reference.py",
        "method": method,
        "cases": cases,
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {path.name}")


if __name__ == "__main__":
    main()
