"""The `daedalus` command, run as a real subprocess on real files."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest


def cli(
    *args: str, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "daedalus", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_help_explains_every_command() -> None:
    done = cli("--help")
    assert done.returncode == 0
    for command in (
        "demo",
        "sims",
        "run",
        "resume",
        "show",
        "approve",
        "deny",
        "verify",
        "report",
        "bench",
    ):
        assert command in done.stdout


def test_sims_lists_builtin_simulators_as_json() -> None:
    done = cli("sims", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert {"snar", "branin", "hartmann6"} <= set(rows)
    assert "temperature_c" in [p["name"] for p in rows["snar"]["parameters"]]
    assert rows["snar"]["constraints"] == ["e_factor <= 9"]


def test_sims_shows_one_simulator_in_detail() -> None:
    one = json.loads(cli("sims", "snar", "--json").stdout)
    temperature = next(p for p in one["parameters"] if p["name"] == "temperature_c")
    assert (temperature["low"], temperature["high"], temperature["unit"]) == (30, 120, "°C")
    assert one["reference"]["value"] > 11_000 and "noise" in one["options"]
    text = cli("sims", "snar")
    assert "reference: 11487.9" in text.stdout
    unknown = cli("sims", "warp-drive")
    assert unknown.returncode == 2 and "known simulators" in unknown.stderr


@pytest.mark.slow
def test_demo_smoke(tmp_path: Path) -> None:
    done = cli("demo", "--budget", "8", "--machines", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "run ended: completed" in done.stdout and "journal:" in done.stdout
    report = tmp_path / "daedalus-runs" / "demo.html"
    assert "<svg" in report.read_text()
    show = cli("show", "snar-demo", "--journal", "daedalus-runs/demo.db", "--json", cwd=tmp_path)
    data = json.loads(show.stdout)
    assert data["budget"]["total"] == 8 and len(data["experiments"]) >= 8
    assert data["status"] == "completed"


def test_run_show_verify_report(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    done = cli(
        "run",
        "branin",
        "--budget",
        "6",
        "--machines",
        "2",
        "--proposer",
        "sobol",
        "--journal",
        str(journal),
        "--name",
        "b1",
        "--seed",
        "4",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(cli("show", "b1", "--journal", str(journal), "--json").stdout)
    assert [e["id"] for e in data["experiments"]] == [f"e000{i}" for i in range(1, 7)]
    assert set(data["experiments"][0]) >= {"id", "status", "params", "values", "cause"}
    assert data["best"]["values"]["value"] == min(e["values"]["value"] for e in data["experiments"])
    assert data["budget"] == {"total": 6, "spent": 6, "finished": 6}
    verified = cli("verify", "--journal", str(journal))
    assert verified.returncode == 0 and "hash chain ok" in verified.stdout
    out = tmp_path / "r.html"
    assert cli("report", "b1", "--journal", str(journal), "--out", str(out)).returncode == 0
    assert out.read_text().count("<svg") == 3  # best-so-far and one trace per parameter


def test_show_and_report_a_pareto_front(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    path = tmp_path / "bc.toml"
    path.write_text(
        "simulator = 'branin_currin'\nname = 'bc'\n"
        "[campaign]\nbudget = 8\nseed = 2\nproposer = 'sobol'\n[machines]\ncount = 2\n"
        "[goal]\nreference_point = { branin = 300, currin = 14 }\n"
    )
    done = cli("run", str(path), "--journal", str(journal))
    assert done.returncode == 0, done.stderr
    data = json.loads(cli("show", "bc", "--journal", str(journal), "--json").stdout)
    front = data["pareto"]
    assert front["reference_point"] == {"branin": 300.0, "currin": 14.0}
    assert front["rule"] == "goal" and front["hypervolume"] > 0
    values = [e["values"] for e in data["experiments"]]
    ids = {p["id"] for p in front["front"]}
    for e in data["experiments"]:  # on the front exactly when nothing dominates it
        dominated = any(
            v["branin"] <= e["values"]["branin"]
            and v["currin"] <= e["values"]["currin"]
            and v != e["values"]
            for v in values
        )
        assert (e["id"] in ids) != dominated
    from daedalus.goal import hypervolume

    inside = [(-v["branin"], -v["currin"]) for v in values]
    assert front["hypervolume"] == pytest.approx(hypervolume(inside, (-300.0, -14.0)))
    text = cli("show", "bc", "--journal", str(journal)).stdout
    assert "Pareto front" in text and "hypervolume" in text
    out = tmp_path / "r.html"
    assert cli("report", "bc", "--journal", str(journal), "--out", str(out)).returncode == 0
    page = out.read_text()
    # The front against the reference front, hypervolume so far, one trace per parameter.
    assert page.count("<svg") == 4 and "reference front (green)" in page
    assert "<h2>Pareto front</h2>" in page


def test_verify_names_the_seq_of_a_broken_record(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    cli(
        "run",
        "branin",
        "--budget",
        "3",
        "--proposer",
        "sobol",
        "--journal",
        str(journal),
        "--name",
        "b",
    )
    with sqlite3.connect(journal) as db:
        (seq,) = db.execute("SELECT min(seq) FROM events WHERE type = 'design.proposed'").fetchone()
        db.execute("UPDATE events SET payload = replace(payload, 'x1', 'x9') WHERE seq = ?", (seq,))
    db.close()
    before = digest(journal)
    done = cli("verify", "--journal", str(journal))
    assert done.returncode == 2
    assert f"seq {seq}:" in done.stderr and "Traceback" not in done.stderr
    assert digest(journal) == before


BAD_FILES = {
    "syntax": ("simulator = 'snar'\n[campaign\n", "not valid TOML"),
    "unknown_top": ("simulator = 'snar'\nbudgett = 3\n", "unknown key 'budgett'"),
    "no_sim": ("[campaign]\nbudget = 3\n", "missing key 'simulator'"),
    "bad_sim": ("simulator = 'warp-drive'\n", "warp-drive"),
    "budget_type": (
        "simulator = 'snar'\n[campaign]\nbudget = 'ten'\n",
        "[campaign].budget: expected int",
    ),
    "budget_zero": (
        "simulator = 'snar'\n[campaign]\nbudget = 0\n",
        "budget must be an integer >= 1",
    ),
    "bad_rule": (
        "simulator = 'snar'\n[safety]\nforbidden = ['__import__(\"os\")']\n",
        "safety rule",
    ),
    "unknown_param": (
        "simulator = 'snar'\n[safety]\nlimits = { pressure_bar = [0, 1] }\n",
        "unknown parameter 'pressure_bar'",
    ),
    "bad_constraint": (
        "simulator = 'snar'\n[goal]\nconstraints = ['e_factor <<= 9']\n",
        "outcome constraint",
    ),
    "bad_proposer": ("simulator = 'snar'\n[campaign]\nproposer = 'oracle'\n", "oracle"),
    "bad_reference_point": (
        "simulator = 'snar_pareto'\n[goal]\nreference_point = { sty = 0 }\n",
        "reference_point must name each objective",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_campaign_files_are_refused_and_change_nothing(tmp_path: Path, case: str) -> None:
    text, expected = BAD_FILES[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text)
    journal = tmp_path / "j.db"
    cli(
        "run",
        "branin",
        "--budget",
        "1",
        "--proposer",
        "sobol",
        "--journal",
        str(journal),
        "--name",
        "keep",
    )
    before = digest(journal)
    done = cli("run", str(path), "--journal", str(journal))
    assert done.returncode == 2, done.stdout
    assert str(path) in done.stderr and expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert digest(journal) == before


def test_campaign_file_runs(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        "name = 'filed'\nsimulator = 'branin'\n[campaign]\nbudget = 4\nproposer = 'sobol'\n"
        "[machines]\ncount = 2\n[safety]\nlimits = { x1 = [-5, 5] }\n"
    )
    journal = tmp_path / "j.db"
    assert cli("run", str(path), "--journal", str(journal)).returncode == 0
    data = json.loads(cli("show", "filed", "--journal", str(journal), "--json").stdout)
    assert all(e["params"]["x1"] <= 5 for e in data["experiments"] if e["status"] != "blocked")


def test_approve_from_another_process_then_resume(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        "simulator = 'branin'\n[campaign]\nbudget = 1\nproposer = 'sobol'\n"
        "[safety]\napproval = ['x1 > -10']\n"
    )
    journal = str(tmp_path / "j.db")
    first = cli("run", str(path), "--journal", journal, "--name", "a")
    assert first.returncode == 0 and "daedalus approve a e0001" in first.stdout
    wrong = cli("approve", "a", "e0002", "--journal", journal)
    assert wrong.returncode == 2 and "no experiment e0002" in wrong.stderr
    assert cli("approve", "a", "e0001", "--journal", journal, "--by", "ann").returncode == 0
    assert cli("resume", "a", "--journal", journal).returncode == 0
    data = json.loads(cli("show", "a", "--journal", journal, "--json").stdout)
    assert data["experiments"][0]["status"] == "recorded"
    assert data["experiments"][0]["approval"] == "granted"


def test_second_runtime_exits_naming_the_holder(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    env = {**os.environ}
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daedalus",
            "run",
            "branin",
            "--budget",
            "50",
            "--proposer",
            "sobol",
            "--journal",
            str(journal),
            "--name",
            "held",
            "--pace",
            "20",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if journal.exists():
                with sqlite3.connect(journal) as db:
                    try:
                        rows = db.execute(
                            "SELECT count(*) FROM events WHERE type = 'runtime.started'"
                        ).fetchone()
                    except sqlite3.OperationalError:
                        rows = (0,)
                db.close()
                if rows[0]:
                    break
            time.sleep(0.2)
        second = cli("resume", "held", "--journal", str(journal))
        assert second.returncode != 0
        assert "held by" in second.stderr and str(first.pid) in second.stderr, second.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    if first.stderr is not None:
        first.stderr.close()


@pytest.mark.slow
def test_bench_writes_records(tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    done = cli(
        "bench", "branin", "--proposer", "sobol", "--seeds", "2", "--budget", "5", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    records = json.loads(out.read_text())
    assert len(records) == 2
    assert {
        "problem",
        "proposer",
        "seed",
        "budget",
        "batch",
        "best",
        "regret",
        "failed",
        "proposer_s",
    } <= set(records[0])
    assert len(records[0]["best"]) == 5
    assert records[0]["regret"] >= 0
    assert "median" in done.stdout


def _unknown_outcome(journal: Path) -> None:
    """A campaign whose first experiment's outcome is unknown and whose machine is paused."""
    from daedalus import Campaign
    from daedalus.agents.roles import OPERATOR, SAFETY
    from daedalus.events import MachinePaused, OutcomeUnknown
    from daedalus.journal.sqlite import SqliteJournal
    from daedalus.sims.registry import get_simulator

    store = SqliteJournal(journal)
    problem = get_simulator("branin").problem
    with Campaign.create("u", problem, journal=store, budget=2, proposer="sobol") as campaign:
        [exp] = campaign.ask(1)
    lost = OutcomeUnknown(experiment_id=exp.id, machine="manual", reason="link lost")
    store.append("u", [lost], actor=OPERATOR, expected_seq=store.last_seq("u"), at=0.0)
    paused = MachinePaused(machine="manual", reason="link lost")
    store.append("u", [paused], actor=SAFETY, expected_seq=store.last_seq("u"), at=0.0)
    store.close()


@pytest.mark.parametrize(("flag", "status"), [("--failed", "failed"), ("--rerun", "accepted")])
def test_resolve_an_unknown_outcome(tmp_path: Path, flag: str, status: str) -> None:
    journal = tmp_path / "j.db"
    _unknown_outcome(journal)
    shown = json.loads(cli("show", "u", "--journal", str(journal), "--json").stdout)
    assert shown["experiments"][0]["status"] == "unknown" and shown["paused_machines"]
    both = cli("resolve", "u", "e0001", "--rerun", "--failed", "--journal", str(journal))
    assert both.returncode == 2 and "exactly one" in both.stderr
    done = cli("resolve", "u", "e0001", flag, "--reason", "checked", "--journal", str(journal))
    assert done.returncode == 0, done.stderr
    assert "machine manual resumed" in done.stdout
    shown = json.loads(cli("show", "u", "--journal", str(journal), "--json").stdout)
    assert shown["experiments"][0]["status"] == status and shown["paused_machines"] == {}
    again = cli("resolve", "u", "e0001", flag, "--journal", str(journal))
    assert again.returncode == 2 and "not unknown" in again.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--machines", "0"], "count must be >= 1"),
        (["--pace", "0"], "--pace must be > 0"),
        (["--budget", "0"], "budget must be an integer >= 1"),
    ],
)
def test_bad_flags_are_refused_before_anything_is_written(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    journal = tmp_path / "j.db"
    done = cli("run", "branin", "--journal", str(journal), "--proposer", "sobol", *args)
    assert done.returncode == 2 and expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    if journal.exists():
        shown = cli("show", "branin", "--journal", str(journal))
        assert shown.returncode == 2 and "no campaign 'branin'" in shown.stderr


def test_missing_or_unusable_journals_are_one_line_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "j.db"
    for command in (["show", "c"], ["report", "c"], ["resume", "c"], ["approve", "c", "e0001"]):
        done = cli(*command, "--journal", str(missing))
        assert done.returncode == 2 and "no journal file" in done.stderr, done.stderr
    assert not missing.parent.exists()
    a_directory = cli("run", "branin", "--budget", "1", "--journal", str(tmp_path))
    assert a_directory.returncode == 2 and "Traceback" not in a_directory.stderr
