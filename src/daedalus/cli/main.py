"""The `daedalus` command. Thin: parse, call the Python API, print."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from daedalus.errors import ConcurrencyConflict, DaedalusError, InvalidCampaign, InvalidParams
from daedalus.events import (
    ApprovalDenied,
    ApprovalGranted,
    MachineResumed,
    OutcomeResolved,
    Resolution,
)
from daedalus.runtime.clock import VirtualClock
from daedalus.state import Experiment, State, Status

app = typer.Typer(
    help="daedalus: closed-loop experiments on simulated and real machines, on a durable journal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# User data (paths, reasons like '[30, 110]') is printed as is: no markup, no highlighting.
out = Console(markup=False, highlight=False)
err = Console(stderr=True, markup=False, highlight=False)

DEFAULT_JOURNAL = Path("daedalus-runs") / "journal.db"
JournalOpt = Annotated[Path, typer.Option("--journal", "-j", help="SQLite journal file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


@contextmanager
def friendly() -> Iterator[None]:
    """Turn daedalus errors into one red line and exit code 2, never a traceback."""
    try:
        yield
    except (DaedalusError, sqlite3.Error, OSError) as error:
        err.print(f"error: {error}", style="red", highlight=False)
        raise typer.Exit(2) from error


def _progress_callback(progress: Progress, task: Any, budget: int) -> Callable[[State], None]:
    def update(state: State) -> None:
        exps = state.experiments.values()
        done = sum(1 for e in exps if e.status in (Status.RECORDED, Status.FAILED, Status.REJECTED))
        failed = sum(1 for e in exps if e.status is Status.FAILED)
        best = state.best() if state.problem else None
        metric = state.problem.goal.primary.name if state.problem else ""
        best_txt = "-" if best is None or best.values is None else f"{best.values[metric]:.5g}"
        progress.update(
            task, completed=done, total=budget, info=f"failed {failed}  best {metric} {best_txt}"
        )

    return update


def _clock(pace: float | None) -> VirtualClock:
    if pace is not None and not pace > 0:
        raise InvalidCampaign(f"--pace must be > 0 campaign seconds per real second, got {pace}")
    return VirtualClock(pace=pace)


def _run_with_progress(campaign: Any, machines: list[Any], *, clock: VirtualClock) -> Any:
    budget = campaign.state.budget
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=out, transient=False) as progress:
            task = progress.add_task(campaign.name, total=budget, info="")
            return campaign.run(
                machines, clock=clock, on_change=_progress_callback(progress, task, budget)
            )
    except KeyboardInterrupt:
        err.print(
            f"interrupted; everything journaled is kept. Continue with: "
            f"daedalus resume {campaign.name}"
        )
        raise typer.Exit(130) from None


def _cell(value: object) -> str:
    return f"{value:.5g}" if isinstance(value, float) else str(value)


def _summary(campaign: Any, result: Any, journal: Path) -> None:
    from daedalus.report import pareto

    state: State = result.state
    assert state.problem is not None
    goal = state.problem.goal
    recorded = [
        e
        for e in state.experiments.values()
        if e.status is Status.RECORDED and e.values and goal.is_feasible(e.values)
    ]
    recorded.sort(key=lambda e: -goal.utility(e.values or {}))
    # Designs as columns, names as rows: fits a terminal however long the names are.
    top = recorded[:5]
    table = Table(title=f"best feasible designs of {state.name}")
    table.add_column("")
    for e in top:
        table.add_column(e.id, justify="right")
    units = state.problem.units
    for n in state.problem.space.names:
        table.add_row(n, *(_cell(e.params[n]) for e in top))
    for m in goal.metrics:
        table.add_row(
            f"{m} [{units[m]}]" if m in units else m, *(_cell((e.values or {})[m]) for e in top)
        )
    out.print(table if top else "no feasible design yet")
    failed = sum(1 for e in state.experiments.values() if e.status is Status.FAILED)
    out.print(f"run ended: {result.stopped}; {len(state.experiments)} designs, {failed} failed")
    ref = state.problem.reference
    front = pareto(state)
    if front is not None:
        share = ""
        if ref is not None and goal.reference_point is not None and ref.value > 0:
            share = f" = {100 * front['hypervolume'] / ref.value:.1f}% of the reference front's"
        out.print(
            f"Pareto front: {len(front['front'])} designs, hypervolume "
            f"{front['hypervolume']:.5g}{share} (as measured)"
        )
    elif ref is not None and recorded:
        best = (recorded[0].values or {})[goal.primary.name]
        if goal.primary.sign > 0 and ref.value > 0:
            share = (
                f" = {100 * best / ref.value:.1f}% of the reference {ref.value:.5g} (as measured)"
            )
        else:
            share = f"; regret {state.problem.regret(best):.4g} against {ref.value:.5g}"
        out.print(f"best {goal.primary.name} {best:.5g}{share}")
    out.print(f"journal: {journal}")
    for e in state.with_status(Status.UNKNOWN):
        out.print(
            f"  {e.id} on {e.machine}: outcome unknown ({e.reason}). Check the machine, then: "
            f"daedalus resolve {state.name} {e.id} --rerun|--failed --journal {journal}"
        )
    if result.stopped == "waiting for approval":
        for e in state.with_status(Status.AWAITING_APPROVAL):
            out.print(
                f"  approve with: daedalus approve {state.name} {e.id} --journal {journal}"
                f"   ({e.reason})"
            )
        out.print(f"  then: daedalus resume {state.name} --journal {journal}")


def _write_report(campaign: Any, path: Path) -> None:
    from daedalus.report import render_html

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(campaign.state), encoding="utf-8")
    out.print(f"report: {path}")


def _free_name(journal: Any, base: str) -> str:
    known = set(journal.campaigns())
    if base not in known:
        return base
    return next(f"{base}-{i}" for i in range(2, 10_000) if f"{base}-{i}" not in known)


@app.command()
def demo(
    budget: Annotated[int, typer.Option(help="Experiments to run.")] = 40,
    machines: Annotated[int, typer.Option(help="Simulated reactors running at once.")] = 4,
    seed: Annotated[int, typer.Option(help="Campaign seed.")] = 7,
    journal: JournalOpt = Path("daedalus-runs") / "demo.db",
    report: Annotated[Path, typer.Option(help="Where the HTML report goes.")] = Path(
        "daedalus-runs"
    )
    / "demo.html",
    pace: Annotated[float | None, typer.Option(help="Campaign seconds per real second.")] = None,
) -> None:
    """Optimise the simulated SnAr flow reactor: max space-time yield with E-factor <= 9."""
    from daedalus.runtime.campaign import Campaign, open_journal
    from daedalus.runtime.files import CampaignSpec

    with friendly():
        spec = CampaignSpec(name=None, simulator="snar", count=machines)
        fleet, clock = spec.machines(), _clock(pace)  # refuse bad flags before writing
        store, _ = open_journal(journal)
        try:
            name = _free_name(store, "snar-demo")
            out.print(
                f"campaign {name}: {budget} experiments on {machines} simulated SnAr reactors, "
                f"seed {seed}"
            )
            campaign = Campaign.create(
                name,
                spec.problem(),
                journal=store,
                seed=seed,
                budget=budget,
                batch=1,
                proposer="bayes",
                machines=spec.machines_setting(),
            )
            with campaign:
                result = _run_with_progress(campaign, fleet, clock=clock)
                _summary(campaign, result, journal)
                _write_report(campaign, report)
        finally:
            store.close()


@app.command()
def sims(
    name: Annotated[str | None, typer.Argument(help="One simulator to show in detail.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the built-in simulators, or show one: parameters, goal, reference, options."""
    from daedalus.sims.registry import SIMULATORS, describe

    with friendly():
        rows = [describe(name)] if name else [describe(n) for n in SIMULATORS]
    if as_json:
        sys.stdout.write(json.dumps(rows[0] if name else rows, indent=2) + "\n")
        return
    if name:
        _sim_detail(rows[0])
        return
    table = Table(title="built-in simulators")
    for col in ("name", "domain", "parameters", "goal", "reference"):
        table.add_column(col, overflow="fold")
    for r in rows:
        if not r["available"]:
            table.add_row(r["name"], r["domain"], "unavailable: " + r["reason"], "", "")
            continue
        goal = [f"{o['sense']} {o['name']}" for o in r["objectives"]] + r["constraints"]
        ref = r["reference"]
        table.add_row(
            r["name"],
            r["domain"],
            ", ".join(p["name"] for p in r["parameters"]),
            ", ".join(goal),
            "-" if ref is None else f"{ref['value']:.6g}",
        )
    out.print(table)


def _sim_detail(r: dict[str, Any]) -> None:
    out.print(f"{r['name']} ({r['domain']}): {r['summary']}")
    if not r["available"]:
        out.print(f"unavailable: {r['reason']}")
        return
    out.print(r["description"])
    table = Table(title="parameters")
    for col in ("name", "kind", "range or options", "unit"):
        table.add_column(col, overflow="fold")
    for p in r["parameters"]:
        span = (
            ", ".join(map(str, p["options"]))
            if p["kind"] == "choice"
            else f"[{p['low']:g}, {p['high']:g}]" + (" log" if p.get("log") else "")
        )
        table.add_row(p["name"], p["kind"], span, p["unit"])
    out.print(table)
    for o in r["objectives"]:
        out.print(
            f"objective: {'maximize' if o['sense'] == 'max' else 'minimize'} {o['name']} "
            f"[{o['unit']}]"
        )
    for c in r["constraints"]:
        out.print(f"constraint: {c}")
    ref = r["reference"]
    if ref is not None:
        out.print(f"reference: {ref['value']:.6g} at {ref['params']} ({ref['source']})")
    out.print(f"options: {', '.join(r['options']) or '-'}")


@app.command()
def run(
    target: Annotated[
        str, typer.Argument(help="A simulator name (see `daedalus sims`) or a campaign .toml file.")
    ],
    budget: Annotated[int | None, typer.Option(help="Experiments to run.")] = None,
    batch: Annotated[int | None, typer.Option(help="Designs per proposer call.")] = None,
    machines: Annotated[int | None, typer.Option(help="Simulated machines at once.")] = None,
    seed: Annotated[int | None, typer.Option(help="Campaign seed.")] = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
    name: Annotated[
        str | None, typer.Option(help="Campaign name (default: from file or simulator).")
    ] = None,
    proposer: Annotated[
        str | None,
        typer.Option(help="bayes (default) or sobol; with the peers extra also a peer (ax, ...)."),
    ] = None,
    pace: Annotated[
        float | None,
        typer.Option(help="Campaign seconds per real second (default: as fast as possible)."),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Also write an HTML report here.")] = None,
) -> None:
    """Create a campaign and run it to the end (or until a person is needed)."""
    from daedalus.runtime.campaign import Campaign, open_journal
    from daedalus.runtime.files import CampaignSpec, load_campaign_file

    with friendly():
        if target.endswith(".toml"):
            spec = load_campaign_file(target)
        else:
            spec = CampaignSpec(name=None, simulator=target)
            spec.problem()  # unknown simulator: fail before touching the journal
        options = dict(spec.options)
        for key, value in (
            ("budget", budget),
            ("batch", batch),
            ("seed", seed),
            ("proposer", proposer),
        ):
            if value is not None:
                options[key] = value
        count = machines if machines is not None else spec.count
        spec = dataclasses.replace(spec, options=options, count=count)
        fleet, clock = spec.machines(), _clock(pace)  # refuse bad flags before writing
        store, _ = open_journal(journal)
        try:
            campaign_name = name or spec.name or _free_name(store, spec.simulator)
            campaign = Campaign.create(
                campaign_name,
                spec.problem(),
                journal=store,
                machines=spec.machines_setting(),
                **options,
            )
            with campaign:
                result = _run_with_progress(campaign, fleet, clock=clock)
                _summary(campaign, result, journal)
                if report is not None:
                    _write_report(campaign, report)
        finally:
            store.close()


@app.command()
def resume(
    name: Annotated[str, typer.Argument(help="Campaign name.")],
    journal: JournalOpt = DEFAULT_JOURNAL,
    machines: Annotated[int | None, typer.Option(help="Override the number of machines.")] = None,
    pace: Annotated[float | None, typer.Option(help="Campaign seconds per real second.")] = None,
) -> None:
    """Continue a campaign after a stop, a crash or an approval: reconcile, then run on."""
    from daedalus.runtime.campaign import Campaign
    from daedalus.runtime.files import build_machines

    with friendly(), Campaign.open(name, journal=journal) as campaign:
        fleet = build_machines(campaign.state.settings.get("machines", {}), count=machines)
        result = _run_with_progress(campaign, fleet, clock=_clock(pace))
        _summary(campaign, result, journal)


def _show_json(state: State) -> dict[str, Any]:
    from daedalus.report import pareto

    best = state.best() if state.problem else None
    return {
        "name": state.name,
        "status": str(state.status),
        "completed_reason": state.completed_reason,
        "budget": {"total": state.budget, "spent": state.spent, "finished": state.finished},
        "goal": None if state.problem is None else state.problem.goal.to_dict(),
        "best": None if best is None else best.to_dict(),
        "pareto": None if state.problem is None else pareto(state),
        "experiments": [e.to_dict() for e in list(state.experiments.values())],
        "paused_machines": state.paused_machines,
        "seq": state.seq,
    }


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Campaign name.")],
    journal: JournalOpt = DEFAULT_JOURNAL,
    as_json: JsonOpt = False,
) -> None:
    """Show a campaign's experiments, its best feasible design (with several objectives: its
    Pareto front and hypervolume) and its budget."""
    from daedalus.runtime.campaign import Campaign

    with friendly(), Campaign.open(name, journal=journal) as campaign:
        state = campaign.state
        data = _show_json(state)
        if as_json:
            sys.stdout.write(json.dumps(data, indent=2) + "\n")
            return
        assert state.problem is not None
        table = Table(title=f"{name}: {data['status']} {data['completed_reason']}")
        metrics = state.problem.goal.metrics
        for col in ("id", "status", *state.problem.space.names, *metrics, "cause"):
            table.add_column(col)
        for e in list(state.experiments.values()):
            table.add_row(
                e.id,
                str(e.status),
                *(
                    f"{e.params[n]:.4g}" if isinstance(e.params[n], float) else str(e.params[n])
                    for n in state.problem.space.names
                ),
                *(
                    "" if e.values is None else f"{e.values.get(m, float('nan')):.5g}"
                    for m in metrics
                ),
                e.cause or "",
            )
        out.print(table)
        b = data["budget"]
        out.print(f"budget: {b['spent']}/{b['total']} spent, {b['finished']} finished")
        front = data["pareto"]
        if front is not None:
            ids = ", ".join(p["id"] for p in front["front"]) or "none yet"
            out.print(f"Pareto front ({len(front['front'])}): {ids}")
            out.print(
                f"hypervolume: {front['hypervolume']:.6g} at reference point "
                f"{front['reference_point']} ({front['rule']})"
            )
        elif data["best"]:
            out.print(f"best: {data['best']['id']} {data['best']['values']}")


def _as_person(
    name: str, journal: Path, by: str, decide: Callable[[State], tuple[list[Any], str]]
) -> None:
    """Append a person's events, decided afresh from the latest state if a runtime appended
    meanwhile; print what was done and how to continue."""
    from daedalus.agents.roles import human
    from daedalus.runtime.campaign import Campaign

    with friendly(), Campaign.open(name, journal=journal) as campaign:
        for _ in range(5):
            state = campaign.state
            events, done = decide(state)
            try:
                campaign.journal.append(
                    name, events, actor=human(by), expected_seq=state.seq, at=state.clock
                )
                break
            except ConcurrencyConflict:
                continue  # the runtime appended meanwhile: look again
        else:
            raise ConcurrencyConflict(
                f"{name}: the runtime kept appending; nothing was written, try again"
            )
        out.print(done)
        out.print(f"continue with: daedalus resume {name} --journal {journal}")


def _waiting(state: State, experiment_id: str, status: Status) -> Experiment:
    found = state.experiments.get(experiment_id)
    wanted = str(status).replace("_", " ")
    if found is None:
        raise InvalidParams(f"no experiment {experiment_id} in {state.name}; see `daedalus show`")
    if found.status is not status:
        now = str(found.status).replace("_", " ")
        raise InvalidParams(f"{experiment_id} in {state.name} is {now}, not {wanted}")
    return found


def _decide(
    name: str, experiment_id: str, journal: Path, *, grant: bool, by: str, reason: str
) -> None:
    def decide(state: State) -> tuple[list[Any], str]:
        exp = _waiting(state, experiment_id, Status.AWAITING_APPROVAL)
        if exp.approval_expires_at is not None and time.time() > exp.approval_expires_at:
            raise InvalidCampaign(f"the approval request for {experiment_id} has expired")
        digest = exp.design_hash
        event: Any = (
            ApprovalGranted(experiment_id=exp.id, design_hash=digest, by=by)
            if grant
            else ApprovalDenied(experiment_id=exp.id, design_hash=digest, by=by, reason=reason)
        )
        verb = "approved" if grant else "denied"
        return [event], f"{experiment_id} {verb}: {dict(exp.params)} (design {digest})"

    _as_person(name, journal, by, decide)


@app.command()
def approve(
    name: str,
    experiment_id: str,
    journal: JournalOpt = DEFAULT_JOURNAL,
    by: Annotated[str, typer.Option(help="Who approves.")] = "operator",
) -> None:
    """Approve one design that safety sent to a person; binds to that exact design."""
    _decide(name, experiment_id, journal, grant=True, by=by, reason="")


@app.command()
def deny(
    name: str,
    experiment_id: str,
    journal: JournalOpt = DEFAULT_JOURNAL,
    by: Annotated[str, typer.Option(help="Who denies.")] = "operator",
    reason: Annotated[str, typer.Option(help="Why.")] = "",
) -> None:
    """Deny one design that safety sent to a person."""
    _decide(name, experiment_id, journal, grant=False, by=by, reason=reason)


@app.command()
def resolve(
    name: str,
    experiment_id: str,
    journal: JournalOpt = DEFAULT_JOURNAL,
    rerun: Annotated[
        bool, typer.Option("--rerun", help="Run it again: you checked it did not run.")
    ] = False,
    failed: Annotated[bool, typer.Option("--failed", help="Count it as failed.")] = False,
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
    by: Annotated[str, typer.Option(help="Who decides.")] = "operator",
) -> None:
    """Decide an experiment whose outcome is unknown; its machine resumes when nothing on it
    is left undecided."""
    if rerun == failed:
        err.print("error: pass exactly one of --rerun or --failed", style="red")
        raise typer.Exit(2)

    def decide(state: State) -> tuple[list[Any], str]:
        exp = _waiting(state, experiment_id, Status.UNKNOWN)
        resolution = Resolution.RERUN if rerun else Resolution.FAILED
        events: list[Any] = [
            OutcomeResolved(experiment_id=exp.id, resolution=resolution, reason=reason, by=by)
        ]
        machine = exp.machine or ""
        others = [e for e in state.with_status(Status.UNKNOWN) if e.machine == machine]
        if machine in state.paused_machines and others == [exp]:
            events.append(MachineResumed(machine=machine))
        return events, f"{experiment_id}: {resolution}; machine {machine} " + (
            "resumed" if len(events) == 2 else "stays paused"
        )

    _as_person(name, journal, by, decide)


@app.command()
def verify(
    name: Annotated[str | None, typer.Argument(help="Campaign (default: all).")] = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
) -> None:
    """Check every record's hash chain and replay each campaign from its first event."""
    from daedalus.runtime.campaign import open_journal
    from daedalus.state import replay

    with friendly():
        if not journal.exists():
            raise InvalidCampaign(f"{journal}: no such journal file")
        store, _ = open_journal(journal)
        try:
            names = [name] if name else store.campaigns()
            for n in names:
                state = replay(store.read(n))
                out.print(
                    f"{n}: {state.seq} records, hash chain ok, replay ok, "
                    f"state {state.digest()[:16]}"
                )
        finally:
            store.close()


@app.command()
def report(
    name: str,
    journal: JournalOpt = DEFAULT_JOURNAL,
    out_path: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path(
        "report.html"
    ),
) -> None:
    """Write a self-contained HTML report of a campaign."""
    from daedalus.runtime.campaign import Campaign

    with friendly(), Campaign.open(name, journal=journal) as campaign:
        _write_report(campaign, out_path)


@app.command()
def bench(
    problem: Annotated[
        str, typer.Argument(help="Any built-in simulator (`daedalus sims` lists them).")
    ],
    proposer: Annotated[
        list[str] | None,
        typer.Option(
            help="Proposer to score (bayes, sobol, or with the peers extra ax, optuna-tpe, "
            "optuna-gp, baybe, random); repeat for several."
        ),
    ] = None,
    seeds: Annotated[int, typer.Option(help="Runs per proposer (seeds 0..N-1).")] = 10,
    budget: Annotated[int, typer.Option(help="Experiments per run.")] = 30,
    batch: Annotated[int, typer.Option(help="Experiments at once.")] = 1,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="JSON file for the run records.")
    ] = None,
) -> None:
    """Score proposers on a problem: best value after each experiment (with several objectives,
    the hypervolume), regret, failures, time."""
    from daedalus.bench import run_bench, summarise
    from daedalus.sims.registry import get_simulator

    with friendly():
        multi = get_simulator(problem).problem.goal.multi
        proposers = proposer or ["bayes", "sobol"]
        if seeds < 1 or budget < 1 or batch < 1:
            raise InvalidCampaign("--seeds, --budget and --batch must be >= 1")
        total = len(proposers) * seeds
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            task = progress.add_task(f"bench {problem}", total=total)
            records = run_bench(
                problem,
                proposers,
                seeds=seeds,
                budget=budget,
                batch=batch,
                on_run=lambda _: progress.advance(task),
            )
        if out_path is not None:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            out_path.write_text(json.dumps(records, indent=1), encoding="utf-8")
        table = Table(
            title=f"{problem}: budget {budget}, batch {batch}, {seeds} seeds (median [q1, q3])"
        )
        best = "final hypervolume" if multi else "final best"
        for col in ("proposer", best, "regret", "failed", "mean proposer s/batch"):
            table.add_column(col, justify="right")

        def q(v: Any) -> str:
            return "-" if v is None else f"{v[1]:.5g} [{v[0]:.4g}, {v[2]:.4g}]"

        for row in summarise(records):
            table.add_row(
                row["proposer"],
                q(row["final_best"]),
                q(row["regret"]),
                f"{row['failed']:g}",
                "-" if row["proposer_s"] is None else f"{row['proposer_s']:.3f}",
            )
        out.print(table)
        if out_path is not None:
            out.print(f"records: {out_path}")


def main() -> None:
    app()
