"""Our proposers against peer optimisers (Ax, Optuna TPE and GP, BayBE, random) on seven problems.

Every run is `daedalus.bench.run_once`: a real campaign on the simulated clock, with the same
runtime, agents, simulated machines, seeds, budgets and noise for every proposer; the seconds
inside the proposer (ours or the peer library, tell and ask) are timed by the runtime around each
planner decision. Results are appended to a JSON file as runs finish (rerunning with the same
`--out` skips the runs already there), and a markdown report is written at the end.

    .venv/bin/python benchmarks/peers.py [--seeds 10] [--problems branin,...]
        [--proposers bayes,ax,...] [--workers 2] [--out benchmarks/results/peers.json]
        [--markdown docs/benchmarks.md]
    .venv/bin/python benchmarks/peers.py --summarise benchmarks/results/peers.json [more.json ...]

Two suites may run at once only with different `--out` files (each rewrites its own file as
runs finish); `--summarise` with several files reports their records together.

A peer whose library is missing is reported as unavailable in the output; a run that raises is
recorded with its error and the suite goes on.
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import json
import math
import multiprocessing
import os
import statistics
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from report import versions

# Budgets as the field uses them: Branin 30 and Hartmann6 40 (BoTorch and Ax tutorials), Ackley
# 10-D 100 (TuRBO-style), pressure vessel 50, SnAr 40 (Summit), our mixed and unknown-constraint
# Branin variants 40.
PROBLEMS: dict[str, int] = {
    "branin": 30,
    "branin_disc": 40,
    "branin_cat": 40,
    "hartmann6": 40,
    "snar": 40,
    "pressure_vessel": 50,
    "ackley10": 100,
}
# Problems whose readings are noisy, and the options of their noiseless, fault-free model: the
# design each run found best is re-scored there ("true" regret), so that luck in the noise
# neither rewards nor punishes a proposer.
NOISELESS: dict[str, dict[str, Any]] = {"snar": {"noise": 0.0, "failures": False}}
PROPOSERS = ("bayes", "ax", "optuna-tpe", "optuna-gp", "baybe", "random")
LIBRARIES = ("daedalus", "torch", "botorch", "gpytorch", "numpy", "scipy", "ax-platform")
LIBRARIES += ("optuna", "baybe", "pandas")
DEFAULT_OUT = "benchmarks/results/peers.json"
COMMAND = "nice .venv/bin/python benchmarks/peers.py --seeds {seeds} --workers {workers}"

NOTES = """
## Problems

| problem | budget | optimum | source |
|---|---|---|---|
| branin | 30 | 0.397887 | Dixon & Szegő 1978; Virtual Library |
| branin_disc | 40 | 0.397887 | Branin + Atlas's unknown-constraint discs |
| branin_cat | 40 | 0.397887 | ours: Branin reshaped by a categorical |
| hartmann6 | 40 | -3.32237 | Dixon & Szegő 1978; Virtual Library |
| snar | 40 | shipped reference | Hone et al. 2017 as in Summit |
| pressure_vessel | 50 | 6059.714335 | Kannan & Kramer 1994 (1/16 in plate) |
| ackley10 | 100 | 0 | Ackley 1987; Virtual Library; [-5, 10]^10 |

All minimise except `snar` (maximise STY subject to E-factor <= 9, with 1 % noise, clogging
and analysis faults). `branin_disc` fails inside two discs (Hickman et al. 2025); `branin_cat`
is Branin reshaped by a three-option categorical, so the minimum needs the right option.

The pressure vessel's often quoted 6059.946 (Coello & Mezura-Montes 2002) is a best found, not
the minimum: on the 1/16 in grid the exact minimum is 6059.714335 (Ts = 13/16, Th = 7/16,
R = 42.098446, L = 176.636596; g1 and g3 active), checked against every thickness pair in
`tests/sims/test_peer_problems.py`, and regret is measured from it. Its wall-thickness rules are
linear constraints of the space; the volume is an outcome constraint.

On `snar` the values are measured (1 % noise), so the best measured STY can exceed the
noiseless reference and the measured regret can be negative; every proposer sees the same noise
draws. Proposers are therefore ranked on `snar` by the true regret: the design each run measured
best, re-scored on the noiseless, fault-free model (`inf` if it is infeasible there).

## How each peer is driven

Every peer runs in the same ask/tell loop (`daedalus.peers`): one live session per run, told
each finished trial once, failed trials told as failures where the library has the notion.

- **ax**: `ax.Client` with the generation strategy it chooses itself (Sobol with the centre
  point, then Ax's modular BoTorch defaults); linear constraints and outcome constraints are
  Ax's own; failed trials are marked failed.
- **optuna-tpe / optuna-gp**: Optuna's `TPESampler` and `GPSampler` with their defaults;
  outcome constraints through `Trial.set_constraint`; failures as `TrialState.FAIL`. Optuna has
  no linear parameter constraints: a suggestion that breaks one is repaired to the nearest valid
  design, which is what runs and is told. Optuna ignores failed trials, so on `branin_disc` and
  `snar` it can suggest a failed design again; after 5 such suggestions for one design the
  adapter proposes a uniform random design instead (and tells it to the peer).
- **baybe**: a `baybe.Campaign` with BayBE's default recommender (random first design, then
  its `BotorchRecommender`); integers relaxed to continuous and rounded; linear constraints
  native. BayBE 0.15 has **no outcome constraints and no failed experiments**: on `snar` and
  `pressure_vessel` it optimises the objective alone (its designs are still scored against the
  constraints), and failed designs are passed to it as pending experiments.
- **random**: uniform random designs, no library.

All proposers, ours and the peers, run with one torch thread.
"""


_BAYES_SOURCE = {"sha256": "unknown"}


def _worker_init() -> None:
    import torch

    import daedalus.proposers.bayes  # noqa: F401  (pin the version this worker runs)

    torch.set_num_threads(1)
    # Others edit bayes.py while suites run: each record names the version its worker imported.
    _BAYES_SOURCE["sha256"] = _source_hash("daedalus.proposers.bayes")


def run_one(problem: str, proposer: str, seed: int, budget: int) -> dict[str, Any]:
    """One run's record, or an error record; never raises."""
    from daedalus.bench import run_once

    started = time.perf_counter()
    try:
        record = run_once(problem, proposer, seed=seed, budget=budget, batch=1)
    except Exception as err:  # a peer that crashes is recorded, and the suite goes on
        record = {
            "problem": problem,
            "proposer": proposer,
            "seed": seed,
            "budget": budget,
            "error": f"{type(err).__name__}: {err}",
            "traceback": traceback.format_exc(limit=8),
        }
    record["wall_s"] = time.perf_counter() - started
    record["bayes_sha256"] = _BAYES_SOURCE["sha256"]
    return record


def availability(proposers: Sequence[str]) -> dict[str, str | None]:
    """None for each proposer that can be built, else why not (the missing extra)."""
    from daedalus.errors import InvalidCampaign
    from daedalus.proposers import make_proposer

    out: dict[str, str | None] = {}
    for name in proposers:
        try:
            make_proposer(name)
            out[name] = None
        except InvalidCampaign as err:
            out[name] = str(err)
    return out


def _source_hash(module: str) -> str:
    import hashlib
    import importlib.util

    spec = importlib.util.find_spec(module)
    origin = spec.origin if spec is not None else None
    return hashlib.sha256(Path(origin).read_bytes()).hexdigest()[:12] if origin else "unknown"


def _key(record: Mapping[str, Any]) -> tuple[str, str, int]:
    return record["problem"], record["proposer"], int(record["seed"])


def load(path: Path) -> dict[str, Any]:
    if path.exists():
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    return {"records": [], "unavailable": {}, "versions": {}, "settings": {}}


def merged(files: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One result set from several files: every record (a run recorded in two files is kept
    once: the later file's, unless that one is an error and the earlier is not), the union of
    problems, proposers, commands and unavailable peers (less any with a recorded run), the
    most seeds, and the versions of the last file. With files from suites of different
    `--workers`, `workers` is None (the commands say each)."""
    records: dict[tuple[str, str, int], dict[str, Any]] = {}
    problems: dict[str, int] = {}
    proposers: list[str] = []
    commands: list[str] = []
    for data in files:
        for record in data["records"]:
            earlier = records.get(_key(record))
            if earlier is None or "error" in earlier or "error" not in record:
                records[_key(record)] = record
        settings = data.get("settings", {})
        problems.update(settings.get("problems", {}))
        proposers += [p for p in settings.get("proposers", []) if p not in proposers]
        commands += [c for c in settings.get("commands", []) if c not in commands]
    last = files[-1]
    ran = {r["proposer"] for r in records.values() if "error" not in r}
    unavailable = {
        name: reason
        for data in files
        for name, reason in data.get("unavailable", {}).items()
        if name not in ran
    }
    workers = {f.get("settings", {}).get("workers") for f in files}
    settings = dict(last.get("settings", {}))
    settings.update(
        problems={p: problems[p] for p in PROBLEMS if p in problems},
        proposers=[p for p in PROPOSERS if p in proposers]
        + sorted(set(proposers) - set(PROPOSERS)),
        commands=commands,
        seeds=max(int(f.get("settings", {}).get("seeds", 0)) for f in files),
        workers=workers.pop() if len(workers) == 1 else None,
    )
    return {
        "records": list(records.values()),
        "unavailable": unavailable,
        "versions": dict(last.get("versions", {})),
        "settings": settings,
    }


def only(data: Mapping[str, Any], problems: Sequence[str]) -> dict[str, Any]:
    """`data` with the records and settings of `problems` alone (a report on the problems whose
    runs are complete while others still run)."""
    settings = dict(data["settings"])
    settings["problems"] = {p: b for p, b in settings["problems"].items() if p in problems}
    records = [r for r in data["records"] if r["problem"] in problems]
    return {**data, "records": records, "settings": settings}


def save(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    tmp.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Runs already in --out are skipped, so an interrupted suite picks up where it "
        "stopped. Two suites may run at once only with different --out files.",
    )
    parser.add_argument(
        "--seeds", type=int, default=10, help="seeds 0 .. N-1 of every problem (default 10)"
    )
    parser.add_argument(
        "--problems",
        default=",".join(PROBLEMS),
        help=f"comma-separated problems (default all: {', '.join(PROBLEMS)})",
    )
    parser.add_argument(
        "--proposers",
        default=",".join(PROPOSERS),
        help=f"comma-separated proposers (default all: {', '.join(PROPOSERS)})",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="runs at once, one process each (default 2)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(DEFAULT_OUT),
        help=f"JSON file the runs are appended to as they finish (default {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        default=Path("docs/benchmarks.md"),
        help="markdown report written at the end (default docs/benchmarks.md)",
    )
    parser.add_argument(
        "--summarise",
        type=Path,
        nargs="+",
        default=None,
        help="report saved runs only, run nothing; with several files their records together, "
        "a later file's run replacing an earlier one's of the same problem, proposer and seed "
        "unless only the later one raised; with --problems, those problems only",
    )
    args = parser.parse_args()
    problems = [p for p in args.problems.split(",") if p]
    proposers = [p for p in args.proposers.split(",") if p]
    unknown = sorted(set(problems) - set(PROBLEMS))
    if unknown:
        sys.exit(f"unknown problems {unknown}; known: {sorted(PROBLEMS)}")
    if args.summarise is not None:
        data = merged([load(path) for path in args.summarise])
        some = set(problems) != set(PROBLEMS)
        if some:
            data = only(data, problems)
        if len(args.summarise) > 1 or some:  # the command that joined or cut them belongs too
            files = " ".join(str(path) for path in args.summarise)
            cut = f" --problems {','.join(problems)}" if some else ""
            data["settings"]["commands"].append(
                f".venv/bin/python benchmarks/peers.py --summarise {files}{cut}"
            )
        report = markdown(data, companions=_companions(args.markdown))
        args.markdown.write_text(report, encoding="utf-8")
        print(report)
        return
    data = load(args.out)
    data["versions"] = versions(LIBRARIES)
    data["unavailable"] = {k: v for k, v in availability(proposers).items() if v}
    # A later invocation adds problems and proposers to what the file already covers.
    recorded = {r["problem"] for r in data["records"]} | set(problems)
    known = set(data.get("settings", {}).get("proposers", [])) | set(proposers)
    commands = [c for c in data.get("settings", {}).get("commands", []) if c]
    command = COMMAND.format(seeds=args.seeds, workers=args.workers)
    command += "" if set(problems) == set(PROBLEMS) else f" --problems {','.join(problems)}"
    command += "" if set(proposers) == set(PROPOSERS) else f" --proposers {','.join(proposers)}"
    command += "" if args.out == Path(DEFAULT_OUT) else f" --out {args.out}"
    if command not in commands:
        commands.append(command)
    data["settings"] = {
        "seeds": args.seeds,
        "problems": {p: PROBLEMS[p] for p in PROBLEMS if p in recorded},
        "proposers": [p for p in PROPOSERS if p in known] + sorted(known - set(PROPOSERS)),
        "batch": 1,
        "workers": args.workers,
        "commands": commands,
        "cpus": os.cpu_count(),
    }
    for name, reason in data["unavailable"].items():
        print(f"unavailable: {name}: {reason}", flush=True)
    done = {_key(r) for r in data["records"] if "error" not in r}
    data["records"] = [r for r in data["records"] if "error" not in r]
    todo = [
        (problem, proposer, seed, PROBLEMS[problem])
        for problem in problems
        for seed in range(args.seeds)
        for proposer in proposers
        if proposer not in data["unavailable"] and (problem, proposer, seed) not in done
    ]
    print(f"{len(todo)} runs to do, {len(done)} already recorded", flush=True)
    save(args.out, data)
    context = multiprocessing.get_context("spawn")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with futures.ProcessPoolExecutor(
        max_workers=args.workers, mp_context=context, initializer=_worker_init
    ) as pool:
        pending = [pool.submit(run_one, *job) for job in todo]
        for count, future in enumerate(futures.as_completed(pending), start=1):
            record = future.result()
            data["records"].append(record)
            save(args.out, data)
            status = record.get("error") or f"regret {record['regret']}, failed {record['failed']}"
            print(
                f"[{count}/{len(todo)}] {record['problem']} {record['proposer']} seed "
                f"{record['seed']}: {status} ({record['wall_s']:.0f} s)",
                flush=True,
            )
    report = markdown(data, companions=_companions(args.markdown))
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(report, encoding="utf-8")
    print(report)


# -- summary -------------------------------------------------------------------------------------


def regret_at(record: Mapping[str, Any], n: int) -> float:
    """Regret after the first `n` experiments (as `Problem.regret`); inf before any feasible
    result."""
    from daedalus.sims.registry import get_simulator

    curve = record["best"]
    best = curve[min(n, len(curve)) - 1] if curve else None
    regret = get_simulator(record["problem"]).problem.regret(best)
    return math.inf if regret is None else float(regret)


def true_regret(record: Mapping[str, Any]) -> float:
    """Regret of the run's best measured design re-scored on the noiseless model (inf when it
    found no feasible design, or the design is infeasible there)."""
    from daedalus.sims.registry import get_simulator

    if record.get("best_params") is None:
        return math.inf
    sim = get_simulator(record["problem"], **NOISELESS[record["problem"]])
    outcome = sim.evaluate(record["best_params"], seed=0)
    values = getattr(outcome, "values", None)
    goal = sim.problem.goal
    if values is None or not goal.is_feasible(values):
        return math.inf
    regret = sim.problem.regret(float(values[goal.primary.name]))
    return math.inf if regret is None else float(regret)


def final_regret(row: Mapping[str, Any]) -> float:
    """The median final regret a proposer is ranked by: the true one where readings are noisy."""
    return float(row["true"][1] if "true" in row else row["full"][1])


def ranked_regret(record: Mapping[str, Any]) -> float:
    """The final regret one run is ranked by: the true one where readings are noisy."""
    if record["problem"] in NOISELESS:
        return true_regret(record)
    return regret_at(record, record["budget"])


def paired(
    data: Mapping[str, Any], problem: str, ours: str = "bayes"
) -> dict[str, tuple[int, int, int, float]]:
    """peer -> (wins, ties, losses, p) of `ours` against each other proposer on `problem`,
    seed by seed over the seeds both ran (every proposer sees the same problem, noise and
    budget on a seed): a win is a lower final regret (`ranked_regret`), a tie an equal one
    (both `inf` included); `p` is the two-sided exact sign test of wins against losses, ties
    left out (1.0 when every seed ties)."""
    from scipy.stats import binomtest

    by_seed: dict[str, dict[int, float]] = {}
    for record in data["records"]:
        if record["problem"] == problem and "error" not in record:
            by_seed.setdefault(record["proposer"], {})[record["seed"]] = ranked_regret(record)
    mine = by_seed.pop(ours, {})
    order = list(data["settings"]["proposers"])
    out = {}
    for peer in sorted(by_seed, key=lambda k: (order.index(k) if k in order else len(order), k)):
        theirs = by_seed[peer]
        wins = ties = losses = 0
        for seed in sorted(mine.keys() & theirs.keys()):
            a, b = mine[seed], theirs[seed]
            if a == b or (math.isfinite(a) and math.isclose(a, b, rel_tol=1e-12)):
                ties += 1
            elif a < b:
                wins += 1
            else:
                losses += 1
        p = binomtest(wins, wins + losses, 0.5).pvalue if wins + losses else 1.0
        out[peer] = (wins, ties, losses, float(p))
    return out


def _fmt_paired(result: tuple[int, int, int, float]) -> str:
    wins, ties, losses, p = result
    return f"{wins}-{ties}-{losses} (p = {p:.2g})"


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0], ordered[0], ordered[0]
    if any(math.isinf(v) for v in ordered):  # statistics.quantiles cannot interpolate inf
        n = len(ordered)

        def at(q: float) -> float:
            return ordered[min(n - 1, max(0, round(q * (n - 1))))]

        return at(0.25), at(0.5), at(0.75)
    q1, q2, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return q1, q2, q3


def summary(data: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """problem -> proposer -> regret quartiles at half and full budget, s/suggestion, errors."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for problem in data["settings"]["problems"]:
        rows: dict[str, dict[str, Any]] = {}
        for proposer in data["settings"]["proposers"]:
            runs = [
                r for r in data["records"] if r["problem"] == problem and r["proposer"] == proposer
            ]
            good = [r for r in runs if "error" not in r]
            if not runs:
                continue
            row: dict[str, Any] = {"runs": len(good), "errors": len(runs) - len(good)}
            if good:
                budget = good[0]["budget"]
                row["half"] = quartiles([regret_at(r, budget // 2) for r in good])
                row["full"] = quartiles([regret_at(r, budget) for r in good])
                if problem in NOISELESS:
                    row["true"] = quartiles([true_regret(r) for r in good])
                # CPU seconds where the record has them (the host's load does not inflate them).
                times = [t for r in good for t in r.get("proposer_cpu_s") or r["proposer_s"]]
                walls = [t for r in good for t in r["proposer_s"]]
                row["s_per_suggestion"] = statistics.median(times) if times else None
                row["wall_s_per_suggestion"] = statistics.median(walls) if walls else None
                row["failed"] = statistics.median(r["failed"] for r in good)
            if len(good) < len(runs):
                row["error"] = next(r["error"] for r in runs if "error" in r)
            rows[proposer] = row
        out[problem] = rows
    return out


def _fmt(q: tuple[float, float, float] | None) -> str:
    if q is None:
        return "-"
    return f"{q[1]:.3g} [{q[0]:.3g}, {q[2]:.3g}]"


def _companions(report: Path) -> list[str]:
    """The names of the reports kept beside `report` (`benchmarks-previous.md`,
    `benchmarks-20-seeds.md`, ... beside `benchmarks.md`), sorted."""
    return sorted(p.name for p in report.parent.glob(f"{report.stem}-*{report.suffix}"))


def markdown(data: Mapping[str, Any], *, companions: Sequence[str] = ()) -> str:
    settings, table = data["settings"], summary(data)
    pairs = {problem: paired(data, problem) for problem in table if "bayes" in table[problem]}
    lines = [
        "# Benchmarks: daedalus against peer optimisers",
        "",
        "Written by `benchmarks/peers.py`; do not edit by hand. Commands (a later one adds runs "
        "to the same file):",
        "",
        "```",
        *(settings.get("commands") or [settings.get("command", "")]),
        "```",
        "",
        f"Seeds 0..{settings['seeds'] - 1} per proposer and problem, one experiment at a time "
        "(batch 1), "
        + (
            f"{settings['workers']} runs in parallel"
            if settings.get("workers")
            else "suites run at the same time (each command gives its `--workers`)"
        )
        + f" on a {settings.get('cpus')}-core host, one torch thread per run. Regret is the "
        "reference optimum minus the best feasible value so far (signed so that larger is "
        "worse; `inf` until a feasible result), "
        "as median [q1, q3] over seeds, after half and all of the budget. Every proposer "
        "runs the same seeds, so each problem also counts the seeds on which bayes ended "
        "lower, level or higher than each peer (wins-ties-losses), with the two-sided sign "
        "test's p: the chance of a split at least that uneven if neither were better; a "
        "median's lead with p well above 0.05 may be luck of the seeds. Seconds per "
        "suggestion: median over every planner decision of every run of the CPU time the "
        "run's process spent inside the proposer, every thread counted (the peer library's "
        "tell and ask included); CPU time, because the host ran other jobs and wall time "
        "would grow with them. The wall-time median is in the JSON (`wall_s_per_suggestion`).",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items()),
        "",
        NOTES,
        "## Results",
        "",
        *_status(data),
        *(
            f"The previous suite's report, run on earlier versions: [{name}]({name})."
            if name.endswith(f"-previous{Path(name).suffix}")
            else f"Another report kept beside this one: [{name}]({name})."
            for name in companions
        ),
        "",
        *_target_table(table, pairs),
    ]
    for name, reason in data.get("unavailable", {}).items():
        lines.append(f"- **{name} unavailable**: {reason}")
    for problem, rows in table.items():
        budget = settings["problems"][problem]
        lines += [
            "",
            f"### {problem} (budget {budget})",
            "",
            f"| proposer | runs | regret at {budget // 2} | regret at {budget} | "
            + ("true regret | " if problem in NOISELESS else "")
            + "failed | s/suggestion |",
            "|---|---|---|---|" + ("---|" if problem in NOISELESS else "") + "---|---|",
        ]
        for proposer, row in rows.items():
            seconds = row.get("s_per_suggestion")
            lines.append(
                f"| {proposer} | {row['runs']}"
                + (f" ({row['errors']} errors)" if row["errors"] else "")
                + f" | {_fmt(row.get('half'))} | {_fmt(row.get('full'))} | "
                + (f"{_fmt(row.get('true'))} | " if problem in NOISELESS else "")
                + f"{row.get('failed', '-')} | "
                + ("-" if seconds is None else f"{seconds:.3g}")
                + " |"
            )
        for proposer, row in rows.items():
            if "error" in row:
                lines.append(f"\n{proposer} error: `{row['error'][:300]}`")
        lines += _targets(rows)
        if pairs.get(problem):
            lines += [
                "",
                "bayes against each peer seed by seed (wins-ties-losses of bayes's final "
                + ("true " if problem in NOISELESS else "")
                + "regret, two-sided sign test p): "
                + ", ".join(f"{peer} {_fmt_paired(r)}" for peer, r in pairs[problem].items())
                + ".",
            ]
    return "\n".join(lines) + "\n"


def _status(data: Mapping[str, Any]) -> list[str]:
    settings = data["settings"]
    expected = len(settings["problems"]) * settings["seeds"] * len(settings["proposers"])
    done = sum(1 for r in data["records"] if "error" not in r)
    versions = sorted(
        {r.get("bayes_sha256") or "unrecorded" for r in data["records"] if r["proposer"] == "bayes"}
    )
    lines = [
        f"Runs recorded: {done} of {expected}"
        + (
            " (the suite is still running or was stopped: tables below are partial)."
            if done < expected
            else "."
        ),
        f"bayes.py versions (sha256 prefix) in these runs: {', '.join(versions) or '-'}.",
        *(
            [f"No runs of {', '.join(missing)} in these files."]
            if (missing := [p for p in PROBLEMS if p not in settings["problems"]])
            else []
        ),
    ]
    if any(not r.get("proposer_cpu_s") for r in data["records"] if "error" not in r):
        lines.append(
            "Some runs predate CPU timing: their seconds are wall time, on a host whose load "
            "varied."
        )
    return lines


def _target_table(
    table: Mapping[str, Mapping[str, Mapping[str, Any]]],
    pairs: Mapping[str, Mapping[str, tuple[int, int, int, float]]],
) -> list[str]:
    lines = [
        "| problem | bayes final regret | best peer (final regret) | bayes / ax regret | "
        "bayes vs best peer, by seed | bayes s | ax s |",
        "|---|---|---|---|---|---|---|",
    ]
    for problem, rows in table.items():
        ours = rows.get("bayes", {})
        peers = {k: final_regret(v) for k, v in rows.items() if k != "bayes" and "full" in v}
        if "full" not in ours or not peers:
            continue
        best = min(peers, key=lambda k: peers[k])
        ax, mine = peers.get("ax"), final_regret(ours)
        ratio = "-" if ax in (None, 0.0, math.inf) else f"{mine / ax:.3g}"
        against = pairs.get(problem, {}).get(best)
        ours_s, ax_s = ours.get("s_per_suggestion"), rows.get("ax", {}).get("s_per_suggestion")
        lines.append(
            f"| {problem}{' (true)' if 'true' in ours else ''} | {mine:.3g} | "
            f"{best} ({peers[best]:.3g}) | {ratio} | "
            + ("-" if against is None else _fmt_paired(against))
            + " | "
            + ("-" if ours_s is None else f"{ours_s:.3g}")
            + " | "
            + ("-" if ax_s is None else f"{ax_s:.3g}")
            + " |"
        )
    return lines


def _targets(rows: Mapping[str, Mapping[str, Any]]) -> list[str]:
    if "full" not in rows.get("bayes", {}):
        return []
    ours = final_regret(rows["bayes"])
    peers = {
        k: final_regret(v) for k, v in rows.items() if k not in ("bayes", "sobol") and "full" in v
    }
    if not peers:
        return []
    best_peer = min(peers, key=lambda k: peers[k])
    which = "true " if "true" in rows["bayes"] else ""
    lines = [
        "",
        f"bayes median {which}final regret {ours:.3g}; best peer {best_peer} {peers[best_peer]:.3g}"
        f" ({'met' if ours <= peers[best_peer] else 'NOT met'}).",
    ]
    if "ax" in peers:
        ax = peers["ax"]
        ratio = ours / ax if ax not in (0.0, math.inf) else math.nan
        lines[-1] += f" bayes / ax regret ratio {ratio:.3g}."
        ours_s = rows["bayes"].get("s_per_suggestion")
        ax_s = rows["ax"].get("s_per_suggestion")
        if ours_s is not None and ax_s is not None:
            verdict = "met" if ours_s <= ax_s else "NOT met"
            lines[-1] += f" Seconds per suggestion {ours_s:.3g} vs ax {ax_s:.3g} ({verdict})."
    return lines


if __name__ == "__main__":
    main()
