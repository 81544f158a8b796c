"""Draw, for every built-in simulator, a one-dimensional slice through its reference optimum,
or for a simulator with several objectives its reference front.

For each simulator the first objective is evaluated noiselessly (options `noise`, `noise_sd`
set to 0 and `failures` off, where the simulator takes them) along one parameter, the others
held at the reference design. Writes `docs/sims/<name>-slice.svg`. With several objectives it
writes `docs/sims/<name>-front.svg` instead: the first two objectives of those of 256 Sobol
designs, evaluated noiselessly, that lie inside the reference point's box (grey), and the
reference front (green). Usage:

    .venv/bin/python scripts/make_sim_docs.py [NAME ...]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from daedalus.machines.base import Outcome
from daedalus.proposers import History, SobolProposer
from daedalus.report import inside, svg_plot
from daedalus.sims.registry import SIMULATORS, get_simulator
from daedalus.space import Choice, Integer, Real

DOCS = Path(__file__).resolve().parents[1] / "docs" / "sims"
QUIET = {"noise": 0.0, "noise_sd": 0.0, "failures": False, "scatter": False, "randomize": False}
POINTS = 41


def slice_points(name: str, parameter: str | None = None) -> tuple[str, list[Any], Any, Any]:
    """(parameter, [(x, y, colour)], reference x, reference y) for simulator `name`."""
    info = SIMULATORS[name]
    sim = get_simulator(name, **{k: v for k, v in QUIET.items() if k in info.options})
    problem = sim.problem
    assert problem.reference is not None and problem.reference.params
    numeric = [p for p in problem.space.parameters if isinstance(p, Real | Integer)]
    ref = problem.reference.params

    def interior(p: Real | Integer) -> bool:
        margin = 0.02 * (p.high - p.low)
        return p.low + margin < float(ref[p.name]) < p.high - margin

    # An interior optimum shows more than one pinned at a bound.
    candidates = [p for p in numeric if parameter in (None, p.name)]
    if not candidates:
        return _choice_slice(sim, parameter)
    chosen = next((p for p in candidates if interior(p)), candidates[0])
    goal, metric = problem.goal, problem.goal.primary.name
    points = []
    for i in range(POINTS):
        x = min(chosen.low + (chosen.high - chosen.low) * i / (POINTS - 1), chosen.high)
        value: float = round(x) if isinstance(chosen, Integer) else x
        params = {**problem.reference.params, chosen.name: value}
        result = sim.evaluate(params, seed=0)
        if isinstance(result, Outcome):
            colour = "#1f77b4" if goal.is_feasible(result.values) else "#ff7f0e"
            points.append((float(value), result.values[metric], colour))
    ref_x = problem.reference.params[chosen.name]
    return chosen.name, points, ref_x, problem.reference.value


def _choice_slice(sim: Any, parameter: str | None) -> tuple[str, list[Any], Any, Any]:
    """A slice over the options of a categorical parameter (x = the option's index)."""
    problem = sim.problem
    ref = problem.reference.params
    chosen = next(
        p for p in problem.space.parameters if isinstance(p, Choice) and parameter in (None, p.name)
    )
    goal, metric = problem.goal, problem.goal.primary.name
    points = []
    for index, option in enumerate(chosen.options):
        result = sim.evaluate({**ref, chosen.name: option}, seed=0)
        if isinstance(result, Outcome):
            colour = "#1f77b4" if goal.is_feasible(result.values) else "#ff7f0e"
            points.append((float(index), result.values[metric], colour))
    return (
        f"{chosen.name} (option index)",
        points,
        chosen.options.index(ref[chosen.name]),
        (problem.reference.value),
    )


def front_points(name: str, n: int = 256) -> list[tuple[float, float, str]]:
    """The first two objectives of `n` Sobol designs (grey) and of the reference front
    (green), noiseless."""
    info = SIMULATORS[name]
    sim = get_simulator(name, **{k: v for k, v in QUIET.items() if k in info.options})
    problem = sim.problem
    assert problem.reference is not None and problem.reference.front
    x_name, y_name = (o.name for o in problem.goal.objectives[:2])
    designs = SobolProposer().propose(problem.space, problem.goal, History(), n=n, seed=0)
    points = []
    for design in designs:
        result = sim.evaluate(design, seed=0)
        if isinstance(result, Outcome) and inside(
            problem.goal, result.values, problem.goal.reference_point
        ):
            points.append((result.values[x_name], result.values[y_name], "#bbbbbb"))
    front = [(p[x_name], p[y_name], "#2ca02c") for p in problem.reference.front]
    return points + front


def write_front(name: str) -> Path:
    goal = get_simulator(name).problem.goal
    x_name, y_name = (o.name for o in goal.objectives[:2])
    points = front_points(name)
    title = f"{name}: {y_name} against {x_name} (green: reference front)"
    out = DOCS / f"{name}-front.svg"
    out.write_text(svg_plot(title, points, line=False, x_label=x_name) + "\n", encoding="utf-8")
    return out


def main(names: list[str]) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    for name in names or list(SIMULATORS):
        if get_simulator(name).problem.goal.multi:
            out = write_front(name)
            print(f"{name}: {out.relative_to(DOCS.parents[1])}")
            continue
        try:
            parameter, points, ref_x, ref_y = slice_points(name)
        except ImportError as err:
            print(f"{name}: skipped ({err})")
            continue
        sim_problem = get_simulator(name).problem
        metric = sim_problem.goal.primary.name
        title = f"{name}: {metric} along {parameter} (others at the reference; orange: infeasible)"
        svg = svg_plot(
            title,
            points,
            line=True,
            x_label=parameter,
            reference=ref_y,
            marker_x=float(ref_x) if not isinstance(ref_x, str) else None,
        )
        out = DOCS / f"{name}-slice.svg"
        out.write_text(svg + "\n", encoding="utf-8")
        print(f"{name}: {out.relative_to(DOCS.parents[1])} ({len(points)} points)")


if __name__ == "__main__":
    main(sys.argv[1:])
