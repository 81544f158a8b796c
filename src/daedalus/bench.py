"""`daedalus bench`: run proposers on a problem with the simulated clock and score them.

Each run is a real campaign on an in-memory journal, driven by the same runtime, agents and
simulated machines as `daedalus run`, with `batch` machines so that `batch` experiments run at
once. A record per run holds the best feasible value after each experiment (proposal order),
the regret against the problem's reference, failures, and seconds inside the proposer per batch.
With several objectives "best" is the hypervolume of the feasible outcomes so far at the goal's
reference point, and the record also holds every recorded design with its values (`recorded`),
so that a benchmark can re-score the designs on a noiseless model.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from daedalus.events import DesignProposed
from daedalus.journal.memory import MemoryJournal
from daedalus.report import best_so_far
from daedalus.runtime.campaign import Campaign
from daedalus.runtime.files import build_machines
from daedalus.sims.registry import get_simulator
from daedalus.state import Status


def run_once(
    problem: str,
    proposer: str,
    *,
    seed: int,
    budget: int,
    batch: int,
    sim_options: Mapping[str, Any] | None = None,
    proposer_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One campaign; returns its record."""
    sim = get_simulator(problem, **dict(sim_options or {}))
    journal = MemoryJournal()
    name = f"{problem}-{proposer}-{seed}"
    spec = {"simulator": problem, "count": batch, "options": dict(sim_options or {})}
    with Campaign.create(
        name,
        sim.problem,
        journal=journal,
        seed=seed,
        budget=budget,
        batch=batch,
        proposer=proposer,
        proposer_options=proposer_options,
        machines=spec,
    ) as campaign:
        result = campaign.run(build_machines(spec))
        state = result.state
        per_decision: dict[int, float] = {}
        cpu_per_decision: dict[int, float] = {}
        for record in journal.read(name):
            event = record.event()
            if isinstance(event, DesignProposed):
                per_decision[event.decision] = event.proposer_s
                cpu_per_decision[event.decision] = event.proposer_cpu_s
    curve = best_so_far(state)
    final = curve[-1] if curve else None
    best = state.best()
    extra: dict[str, Any] = {}
    if sim.problem.goal.multi:
        extra["recorded"] = [
            {"id": e.id, "params": dict(e.params), "values": dict(e.values)}
            for e in state.experiments.values()
            if e.status is Status.RECORDED and e.values is not None
        ]
    return extra | {
        "problem": problem,
        "proposer": proposer,
        "seed": seed,
        "budget": budget,
        "batch": batch,
        "best": curve,
        "final_best": final,
        "best_params": None if best is None else dict(best.params),
        "regret": sim.problem.regret(final),
        "reference": None if sim.problem.reference is None else sim.problem.reference.value,
        "failed": sum(1 for e in state.experiments.values() if e.status is Status.FAILED),
        "proposer_s": [per_decision[k] for k in sorted(per_decision)],
        "proposer_cpu_s": [cpu_per_decision[k] for k in sorted(cpu_per_decision)],
    }


def run_bench(
    problem: str,
    proposers: Sequence[str],
    *,
    seeds: int,
    budget: int,
    batch: int,
    on_run: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Every proposer on every seed `0..seeds-1`; records in that order."""
    records = []
    for proposer in proposers:
        for seed in range(seeds):
            record = run_once(problem, proposer, seed=seed, budget=budget, batch=batch)
            records.append(record)
            if on_run is not None:
                on_run(record)
    return records


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(q1, median, q3); all equal for a single value."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def summarise(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per proposer: quartiles of final best and regret, median failures, mean proposer s/batch."""
    rows = []
    for proposer in dict.fromkeys(r["proposer"] for r in records):
        runs = [r for r in records if r["proposer"] == proposer]
        finals = [r["final_best"] for r in runs if r["final_best"] is not None]
        regrets = [r["regret"] for r in runs if r["regret"] is not None]
        times = [t for r in runs for t in r["proposer_s"]]
        rows.append(
            {
                "proposer": proposer,
                "runs": len(runs),
                "final_best": quartiles(finals) if finals else None,
                "regret": quartiles(regrets) if regrets else None,
                "failed": statistics.median(r["failed"] for r in runs),
                # A mean, not a median: most batches of a short run are the cheap initial design.
                "proposer_s": statistics.fmean(times) if times else None,
            }
        )
    return rows
