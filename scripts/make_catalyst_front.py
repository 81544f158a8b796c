"""Compute the catalyst reference Pareto front (yield against catalyst cost) and write
`src/daedalus/sims/data/catalyst_front.json`.

The front of `daedalus.sims.pareto.CatalystPareto` (case 1; maximise yield, minimise catalyst
cost per mol of product) on the noiseless model: for each of the eight catalysts, a dense grid
over loading x residence time x temperature (`--grid` points per axis), then the non-dominated
set of all of them inside the reference point's box (yield > 0, cost < 150 USD/mol). The
hypervolume at the reference point is computed exactly (`daedalus.goal.hypervolume`) and
written with the front. Run it from anywhere:

    python scripts/make_catalyst_front.py [--output PATH] [--grid N]

It takes about two minutes on one core at the default grid (100 per axis).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from daedalus.goal import hypervolume
from daedalus.sims.catalyst import CATALYSTS, catalyst_model, catalyst_space
from daedalus.sims.pareto import CATALYST_REFERENCE_POINT
from daedalus.space import Real

FIXTURE = Path(__file__).resolve().parents[1] / "src/daedalus/sims/data/catalyst_front.json"
NAMES = ("catalyst_loading_mol_pct", "residence_time_s", "temperature_c")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=FIXTURE)
    parser.add_argument("--grid", type=int, default=100, help="points per continuous axis")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    space = catalyst_space()
    axes = []
    for name in NAMES:
        p = space[name]
        assert isinstance(p, Real)
        axes.append(np.linspace(p.low, p.high, args.grid))
    ref_yield = CATALYST_REFERENCE_POINT["yield_frac"]
    ref_cost = CATALYST_REFERENCE_POINT["cost_usd_per_mol"]
    points: list[tuple[float, float, dict[str, object]]] = []
    for catalyst in CATALYSTS:
        for values in itertools.product(*axes):
            design = {"catalyst": catalyst, **dict(zip(NAMES, map(float, values), strict=True))}
            out = catalyst_model(design)
            if out["yield_frac"] > ref_yield and out["cost_usd_per_mol"] < ref_cost:
                points.append((out["yield_frac"], out["cost_usd_per_mol"], design))
    # Non-dominated: by falling yield, keep each point cheaper than every one before it.
    points.sort(key=lambda item: (-item[0], item[1]))
    front, cheapest = [], np.inf
    for y, cost, design in points:
        if cost < cheapest:
            cheapest = cost
            front.append((y, cost, design))
    front.reverse()  # rising yield and cost
    volume = hypervolume([(y, -c) for y, c, _ in front], (ref_yield, -ref_cost))
    data = {
        "value": volume,
        "params": {},
        "reference_point": CATALYST_REFERENCE_POINT,
        "front": [{"yield_frac": y, "cost_usd_per_mol": c} for y, c, _ in front],
        "designs": [d for _, _, d in front],
        "source": "scripts/make_catalyst_front.py",
        "method": (
            f"noiseless model, case 1; non-dominated set of a {args.grid}^3 grid over loading, "
            "residence time and temperature for each of the 8 catalysts; hypervolume exact at "
            "the reference point"
        ),
    }
    args.output.write_text(json.dumps(data, indent=2) + "\n")
    print(f"{len(front)} front points, hypervolume {volume:.4f}; wrote {args.output.name}")
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
