"""A self-contained HTML report of one campaign: best-so-far, parameter traces, the best designs;
with several objectives the Pareto front against the reference front, and hypervolume so far.

Plots are inline SVG drawn here, so the file opens anywhere with no network and no scripts.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from daedalus.goal import Goal, hypervolume
from daedalus.state import Experiment, State, Status

W, H, PAD = 640, 260, 48
COLOURS = {Status.RECORDED: "#1f77b4", Status.FAILED: "#d62728", Status.REJECTED: "#ff7f0e"}


def best_so_far(state: State) -> list[float | None]:
    """The best feasible first-objective value after each experiment, in proposal order; with
    several objectives the hypervolume of the feasible outcomes so far, at the reference point
    of `pareto` (None until one beats it)."""
    assert state.problem is not None
    goal = state.problem.goal
    if goal.multi:
        return _hypervolume_so_far(state)
    out: list[float | None] = []
    best: float | None = None
    for exp in list(state.experiments.values()):
        if exp.status in (Status.BLOCKED, Status.DENIED):
            continue
        values = exp.values
        if exp.status is Status.RECORDED and values is not None and goal.is_feasible(values):
            value = values[goal.primary.name]
            if best is None or goal.primary.sign * value > goal.primary.sign * best:
                best = value
        out.append(best)
    return out


def _ran(state: State) -> list[Experiment]:
    """Experiments that were run or are running (not blocked or denied), in proposal order."""
    skipped = (Status.BLOCKED, Status.DENIED)
    return [e for e in list(state.experiments.values()) if e.status not in skipped]


def _feasible_outcomes(goal: Goal, experiments: Sequence[Experiment]) -> list[Experiment]:
    return [
        e
        for e in experiments
        if e.status is Status.RECORDED and e.values is not None and goal.is_feasible(e.values)
    ]


def pareto(state: State) -> dict[str, Any] | None:
    """With several objectives: the observed Pareto front (feasible, valid readings), its
    hypervolume and the reference point used, in Problem units; None with one objective.

    The reference point is the goal's own (`"rule": "goal"`) or else inferred from every
    feasible outcome of the campaign by `Goal.signed_reference` (`"rule": "inferred"`: the
    nadir of the front less 10 % of its range), so a campaign's hypervolume is only comparable
    with another's at the goal's own point.
    """
    assert state.problem is not None
    goal = state.problem.goal
    if not goal.multi:
        return None
    feasible = _feasible_outcomes(goal, _ran(state))
    outcomes = [e.values or {} for e in feasible]
    ref = goal.signed_reference(outcomes)
    front = sorted(
        (feasible[i] for i in goal.pareto_indices(outcomes)),
        key=lambda e: -goal.utility(e.values or {}),
    )
    return {
        "front": [
            {"id": e.id, "params": dict(e.params), "values": dict(e.values or {})} for e in front
        ],
        "hypervolume": 0.0 if ref is None else goal.hypervolume(outcomes, ref),
        "reference_point": None
        if ref is None
        else {o.name: o.sign * r for o, r in zip(goal.objectives, ref, strict=True)},
        "rule": "goal" if goal.reference_point is not None else "inferred",
    }


def _hypervolume_so_far(state: State) -> list[float | None]:
    assert state.problem is not None
    goal = state.problem.goal
    summary = pareto(state)
    point: Mapping[str, float] | None = None if summary is None else summary["reference_point"]
    ref = None if point is None else goal.signed(point)
    out: list[float | None] = []
    seen: list[tuple[float, ...]] = []
    volume: float | None = None
    for exp in _ran(state):
        if ref is not None and _feasible_outcomes(goal, [exp]):
            seen.append(goal.signed(exp.values or {}))
            grown = hypervolume(seen, ref)
            volume = grown if grown > 0 else volume
        out.append(volume)
    return out


def _scale(values: Sequence[float], size: float, *, flip: bool) -> list[float]:
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return [(size - (v - lo) / span * size) if flip else (v - lo) / span * size for v in values]


def _axes(title: str, y_lo: float, y_hi: float, x_lo: float, x_hi: float, x_label: str) -> str:
    return (
        f'<text x="{PAD}" y="16" font-weight="bold">{html.escape(title)}</text>'
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 10}" y2="{H - PAD}" stroke="#444"/>'
        f'<line x1="{PAD}" y1="24" x2="{PAD}" y2="{H - PAD}" stroke="#444"/>'
        f'<text x="4" y="34" font-size="11">{y_hi:.4g}</text>'
        f'<text x="4" y="{H - PAD}" font-size="11">{y_lo:.4g}</text>'
        f'<text x="{PAD}" y="{H - PAD + 14}" font-size="11">{x_lo:.4g}</text>'
        f'<text x="{W - 50}" y="{H - PAD + 14}" font-size="11">{x_hi:.4g}</text>'
        f'<text x="{W / 2 - 60:.0f}" y="{H - 14}" font-size="11">{html.escape(x_label)}</text>'
    )


def svg_plot(
    title: str,
    points: Sequence[tuple[float, float, str]],
    *,
    line: bool,
    x_label: str,
    reference: float | None = None,
    marker_x: float | None = None,
) -> str:
    """An SVG scatter (and line) plot of `(x, y, colour)` points.

    `reference` draws a horizontal dashed line at that y; `marker_x` a vertical one at that x.
    """
    if not points:
        return f"<p>{html.escape(title)}: no data yet.</p>"
    xs = [p[0] for p in points] + ([marker_x] if marker_x is not None else [])
    ys = [p[1] for p in points] + ([reference] if reference is not None else [])
    plot_w, plot_h = W - PAD - 20, H - PAD - 30
    sx = [PAD + x for x in _scale(xs, plot_w, flip=False)]
    sy = [30 + y for y in _scale(ys, plot_h, flip=True)]
    body = [_axes(title, min(ys), max(ys), min(xs), max(xs), x_label)]
    if reference is not None:
        ry = sy[-1]
        body.append(
            f'<line x1="{PAD}" y1="{ry:.1f}" x2="{W - 10}" y2="{ry:.1f}" '
            'stroke="#2ca02c" stroke-dasharray="4 3"/>'
            f'<text x="{W - 130}" y="{ry - 4:.1f}" font-size="11" fill="#2ca02c">'
            f"reference {reference:.5g}</text>"
        )
    if marker_x is not None:
        mx = sx[-1]
        body.append(
            f'<line x1="{mx:.1f}" y1="24" x2="{mx:.1f}" y2="{H - PAD}" '
            'stroke="#2ca02c" stroke-dasharray="4 3"/>'
        )
    pts = list(zip(points, sx, sy, strict=False))
    if line:
        path = " ".join(f"{x:.1f},{y:.1f}" for _, x, y in pts)
        body.append(f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{path}"/>')
    for (_, _, colour), x, y in pts:
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}">{"".join(body)}</svg>'


def _row(exp: Experiment, names: Sequence[str], metrics: Sequence[str]) -> str:
    cells = [exp.id, str(exp.status)]
    cells += [_fmt(exp.params[n]) for n in names]
    cells += [_fmt((exp.values or {}).get(m)) for m in metrics]
    cells.append(exp.cause or "")
    return "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.5g}" if math.isfinite(value) else str(value)
    return "" if value is None else str(value)


def inside(goal: Goal, values: Mapping[str, float], point: Mapping[str, float] | None) -> bool:
    """True when `values` is no worse than the reference `point` in any objective (always
    True without a point)."""
    return point is None or all(
        o.sign * (values[o.name] - point[o.name]) >= 0 for o in goal.objectives
    )


def _front_plot(state: State, summary: Mapping[str, Any]) -> str:
    """The first two objectives: the feasible outcomes inside the reference point's box (grey),
    the observed front (blue) and the problem's reference front (green) where one is known."""
    assert state.problem is not None
    problem, goal = state.problem, state.problem.goal
    x_name, y_name = goal.objectives[0].name, goal.objectives[1].name
    feasible = _feasible_outcomes(goal, _ran(state))
    point = summary["reference_point"]
    points = [
        ((e.values or {})[x_name], (e.values or {})[y_name], "#bbbbbb")
        for e in feasible
        if inside(goal, e.values or {}, point)
    ]
    points += [(p["values"][x_name], p["values"][y_name], "#1f77b4") for p in summary["front"]]
    known = problem.reference.front if problem.reference is not None else ()
    points += [(p[x_name], p[y_name], "#2ca02c") for p in known if x_name in p and y_name in p]
    title = f"{y_name} against {x_name}: observed front (blue)"
    title += ", reference front (green)" if known else ""
    return svg_plot(title, points, line=False, x_label=x_name)


def _front_summary(summary: Mapping[str, Any] | None) -> str:
    if summary is None:
        return ""
    point = html.escape(str(summary["reference_point"]))
    return (
        f"<p>{len(summary['front'])} designs on the observed front; hypervolume "
        f"{summary['hypervolume']:.6g} at reference point {point} "
        f"({html.escape(summary['rule'])}).</p>"
    )


def render_html(state: State, *, top: int = 10) -> str:
    """The report as one HTML document."""
    assert state.problem is not None
    problem, goal = state.problem, state.problem.goal
    ran = [
        e
        for e in list(state.experiments.values())
        if e.status not in (Status.BLOCKED, Status.DENIED)
    ]
    curve = [
        (float(i + 1), v, "#1f77b4") for i, v in enumerate(best_so_far(state)) if v is not None
    ]
    ref = problem.reference.value if problem.reference else None
    label = f"experiment (1..{len(ran)})"
    title = f"best feasible {goal.primary.name} so far"
    summary_mo = pareto(state)
    if summary_mo is not None:
        point = summary_mo["reference_point"]
        title = f"hypervolume so far (reference point {point}, {summary_mo['rule']})"
        ref = ref if goal.reference_point is not None else None
    plots = [svg_plot(title, curve, line=True, reference=ref, x_label=label)]
    if summary_mo is not None:
        plots.insert(0, _front_plot(state, summary_mo))
    for name in problem.space.names:
        pts = [
            (float(i + 1), float(e.params[name]), COLOURS.get(e.status, "#7f7f7f"))
            for i, e in enumerate(ran)
            if not isinstance(e.params[name], str)
        ]
        plots.append(
            svg_plot(f"{name} per experiment (red: failed)", pts, line=False, x_label=label)
        )
    recorded = [e for e in ran if e.status is Status.RECORDED and e.values is not None]
    feasible = [e for e in recorded if goal.is_feasible(e.values or {})]
    feasible.sort(key=lambda e: -goal.utility(e.values or {}))
    if summary_mo is not None:
        on_front = {p["id"] for p in summary_mo["front"]}
        feasible = [e for e in feasible if e.id in on_front]
        top = len(feasible)
    names, metrics = problem.space.names, goal.metrics
    head = ["id", "status", *names, *metrics, "cause"]
    table = (
        "<table><tr>"
        + "".join(f"<th>{html.escape(h)}</th>" for h in head)
        + "</tr>"
        + "".join(_row(e, names, metrics) for e in feasible[:top])
        + "</table>"
    )
    failed = sum(1 for e in ran if e.status is Status.FAILED)
    summary = (
        f"<p>{len(ran)} experiments, {len(recorded)} recorded, {failed} failed; "
        f"status {state.status}{': ' + state.completed_reason if state.completed_reason else ''}."
        f" Goal: {html.escape(str(goal))}.</p>"
    )
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:60em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
        "font-size:13px}svg{display:block;margin:1em 0}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>daedalus: "
        f"{html.escape(state.name)}</title><style>{style}</style></head><body>"
        f"<h1>Campaign {html.escape(state.name)}</h1>{summary}"
        f"<h2>{'Pareto front' if summary_mo else 'Best designs'}</h2>{table}"
        f"{_front_summary(summary_mo)}<h2>Progress</h2>{''.join(plots)}</body></html>"
    )
