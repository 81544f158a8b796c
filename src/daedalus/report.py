"""A self-contained HTML report of one campaign: best-so-far, parameter traces, the best designs.

Plots are inline SVG drawn here, so the file opens anywhere with no network and no scripts.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from daedalus.state import Experiment, State, Status

W, H, PAD = 640, 260, 48
COLOURS = {Status.RECORDED: "#1f77b4", Status.FAILED: "#d62728", Status.REJECTED: "#ff7f0e"}


def best_so_far(state: State) -> list[float | None]:
    """The best feasible first-objective value after each experiment, in proposal order."""
    assert state.problem is not None
    goal = state.problem.goal
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
    plots = [svg_plot(title, curve, line=True, reference=ref, x_label=label)]
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
        f"<h2>Best designs</h2>{table}<h2>Progress</h2>{''.join(plots)}</body></html>"
    )
