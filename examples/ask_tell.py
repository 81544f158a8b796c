"""Ask/tell: run the experiments yourself and tell daedalus what you measured.

Here "yourself" is the noiseless Branin function; in a lab it is a person at a bench.
"""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

from daedalus import Campaign, Goal, Minimize, Problem, Real, Space


def branin(x1: float, x2: float) -> float:
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def main(budget: int = 12) -> float:
    problem = Problem(
        "branin-by-hand",
        Space([Real("x1", -5, 10), Real("x2", 0, 15)]),
        Goal(Minimize("value")),
    )
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "journal.db"
        with Campaign.create(
            "by-hand", problem, journal=journal, budget=budget, seed=0, proposer="bayes"
        ) as campaign:
            while experiments := campaign.ask(2):
                for exp in experiments:
                    value = branin(float(exp.params["x1"]), float(exp.params["x2"]))
                    campaign.tell(exp.id, {"value": value})
            best = campaign.best()
            assert best is not None and best.values is not None
            print(f"best after {budget}: {best.values['value']:.4f} at {dict(best.params)}")
            return best.values["value"]


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 12)
