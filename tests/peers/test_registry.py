"""Peers by name, and how a missing peer library is reported (never silently skipped)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from daedalus.errors import InvalidCampaign
from daedalus.peers import PEERS, PeerUnavailable, peer_versions
from daedalus.peers.ax import AxProposer
from daedalus.peers.baybe import BaybeProposer
from daedalus.peers.optuna import OptunaGPProposer, OptunaTPEProposer
from daedalus.peers.random import RandomProposer
from daedalus.proposers import make_proposer

CLASSES = {
    "ax": AxProposer,
    "baybe": BaybeProposer,
    "optuna-gp": OptunaGPProposer,
    "optuna-tpe": OptunaTPEProposer,
    "random": RandomProposer,
}


@pytest.mark.parametrize(("name", "cls"), CLASSES.items())
def test_make_proposer_builds_each_peer(name: str, cls: type) -> None:
    proposer = make_proposer(name)
    assert isinstance(proposer, cls)
    assert proposer.name == name


def test_registry_names_every_peer() -> None:
    assert sorted(PEERS) == sorted(CLASSES)


def test_unknown_name_lists_our_proposers_and_the_peers() -> None:
    with pytest.raises(InvalidCampaign, match=r"peers, with pip install 'daedalus\[peers\]'"):
        make_proposer("turbo")


def test_peer_options_are_checked_like_ours() -> None:
    with pytest.raises(InvalidCampaign, match="unknown options"):
        make_proposer("ax", n_init=3)


def test_versions_name_each_library() -> None:
    assert set(peer_versions()) == {"ax-platform", "baybe", "optuna"}


def _hide(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """A fake missing library: None in sys.modules makes `import module` raise ImportError."""
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize(
    ("name", "module"),
    [("ax", "ax"), ("optuna-tpe", "optuna"), ("optuna-gp", "optuna"), ("baybe", "baybe")],
)
def test_a_missing_library_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, name: str, module: str
) -> None:
    _hide(monkeypatch, module)
    with pytest.raises(PeerUnavailable, match=r"pip install 'daedalus\[peers\]'") as caught:
        make_proposer(name)
    assert isinstance(caught.value, InvalidCampaign | ImportError)
    assert f"'{module}'" in str(caught.value)


def _bench_script() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "peers.py"
    spec = importlib.util.spec_from_file_location("peers_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))  # as when run: the script's directory is on the path
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def test_the_benchmark_reports_a_missing_peer_as_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _hide(monkeypatch, "optuna")
    found = _bench_script().availability(["random", "optuna-tpe"])
    assert found["random"] is None
    assert "daedalus[peers]" in str(found["optuna-tpe"])


def test_the_benchmark_joins_result_files_without_losing_or_doubling_runs() -> None:
    bench = _bench_script()

    def record(problem: str, proposer: str, seed: int, regret: float) -> dict[str, object]:
        return {"problem": problem, "proposer": proposer, "seed": seed, "regret": regret}

    peers = {
        "records": [record("branin", "ax", 0, 0.1), record("branin", "ax", 1, 0.2)],
        "settings": {"problems": {"branin": 30}, "proposers": ["ax"], "commands": ["a"]},
        "versions": {"ax-platform": "1"},
        "unavailable": {},
    }
    ours = {
        "records": [
            record("hartmann6", "bayes", 0, 0.3),
            record("branin", "ax", 1, 0.25),
            {"problem": "branin", "proposer": "ax", "seed": 0, "error": "crashed"},
        ],
        "settings": {"problems": {"hartmann6": 40}, "proposers": ["bayes"], "commands": ["b"]},
        "versions": {"daedalus": "2"},
        "unavailable": {"baybe": "missing", "ax": "was missing"},
    }
    data = bench.merged([peers, ours])
    keys = sorted((r["problem"], r["proposer"], r["seed"], r["regret"]) for r in data["records"])
    assert keys == [
        ("branin", "ax", 0, 0.1),  # a later error does not replace a recorded run
        ("branin", "ax", 1, 0.25),  # the later file's record of the same run
        ("hartmann6", "bayes", 0, 0.3),
    ]
    assert data["settings"]["problems"] == {"branin": 30, "hartmann6": 40}
    assert data["settings"]["proposers"] == ["bayes", "ax"]
    assert data["settings"]["commands"] == ["a", "b"]
    assert data["unavailable"] == {"baybe": "missing"}  # ax has recorded runs
    # A report on some problems only: the others' records and budgets are left out.
    part = bench.only(data, ["hartmann6"])
    assert [r["problem"] for r in part["records"]] == ["hartmann6"]
    assert part["settings"]["problems"] == {"hartmann6": 40}
    assert data["settings"]["problems"] == {"branin": 30, "hartmann6": 40}  # left as it was


def test_the_benchmark_report_links_the_reports_kept_beside_it(tmp_path: Path) -> None:
    bench = _bench_script()
    report = tmp_path / "benchmarks.md"
    for name in ("benchmarks-previous.md", "benchmarks-20-seeds.md", "other.md"):
        (tmp_path / name).write_text("# kept\n", encoding="utf-8")
    companions = bench._companions(report)
    assert companions == ["benchmarks-20-seeds.md", "benchmarks-previous.md"]
    record = {
        "problem": "branin",
        "proposer": "ax",
        "seed": 0,
        "budget": 2,
        "best": [3.0, 1.0],
        "regret": 0.6,
        "reference": 0.4,
        "failed": 0,
        "proposer_cpu_s": [0.1, 0.2],
        "proposer_s": [0.1, 0.2],
    }
    data = {
        "records": [record],
        "settings": {"problems": {"branin": 2}, "proposers": ["ax"], "seeds": 1, "cpus": 2},
        "versions": {},
        "unavailable": {},
    }
    text = bench.markdown(data, companions=companions)
    assert "earlier versions: [benchmarks-previous.md](benchmarks-previous.md)" in text
    assert "beside this one: [benchmarks-20-seeds.md](benchmarks-20-seeds.md)" in text
    assert "other.md" not in text


def test_the_benchmark_pairs_each_peer_with_bayes_seed_by_seed() -> None:
    bench = _bench_script()
    optimum = 0.397887

    def record(proposer: str, seed: int, best: float | None) -> dict[str, object]:
        curve = [] if best is None else [best]
        return {
            "problem": "branin",
            "proposer": proposer,
            "seed": seed,
            "budget": 1,
            "best": curve,
            "failed": 0,
            "proposer_cpu_s": [0.1],
            "proposer_s": [0.1],
        }

    ours = [optimum + 0.01, optimum + 0.02, None, optimum + 0.5, optimum + 0.1]
    ax = [optimum + 0.05, optimum + 0.03, None, optimum + 0.4, optimum + 0.2]
    records = [record("bayes", s, v) for s, v in enumerate(ours)]
    records += [record("ax", s, v) for s, v in enumerate(ax)]
    records.append(record("random", 0, optimum + 1.0))  # one seed only: one pair
    records.append({"problem": "branin", "proposer": "random", "seed": 1, "error": "crashed"})
    data = {
        "records": records,
        "settings": {
            "problems": {"branin": 1},
            "proposers": ["bayes", "random", "ax"],
            "seeds": 5,
            "cpus": 2,
        },
        "versions": {},
        "unavailable": {},
    }
    pairs = bench.paired(data, "branin")
    assert list(pairs) == ["random", "ax"]  # in the suite's order
    wins, ties, losses, p = pairs["ax"]
    assert (wins, ties, losses) == (3, 1, 1)  # no result on both sides of seed 2 is a tie
    assert p == pytest.approx(0.625)  # two-sided: P(3 or more of 4 one way) doubled
    assert pairs["random"] == (1, 0, 0, 1.0)
    text = bench.markdown(data)
    assert "| branin | 0.1 | ax (0.2) | 0.5 | 3-1-1 (p = 0.62) |" in text
    assert "ax 3-1-1 (p = 0.62)" in text and "random 1-0-0 (p = 1)" in text
