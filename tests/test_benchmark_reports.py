"""The markdown reports of the benchmark scripts that print tables (`benchmarks/report.py`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def report(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import report as module

    return module


def test_what_is_printed_is_kept_and_standard_output_restored(
    report: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sys.stdout
    with report.printed() as text:
        print("observations  seconds")
        print(100, 0.5, flush=True)
    assert sys.stdout is before
    assert "".join(text) == "observations  seconds\n100 0.5\n"
    assert capsys.readouterr().out == "observations  seconds\n100 0.5\n"


def test_the_command_hides_the_value_of_a_private_option(report: ModuleType) -> None:
    argv = ["--events", "10", "--dir", "/scratch/here", "--markdown", "docs/x.md"]
    shown = report.command("journal.py", argv, private=("--dir",))
    assert shown.endswith("benchmarks/journal.py --events 10 --dir DIR --markdown docs/x.md")
    assert "/scratch" not in shown
    joined = report.command("journal.py", ["--dir=/scratch/here"], private=("--dir",))
    assert joined.endswith("journal.py --dir=DIR")
    assert "/scratch/here" in report.command("journal.py", ["--dir", "/scratch/here"])


def _run(script: str, *args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return done.stdout


def test_the_journal_benchmark_writes_the_tables_it_prints(tmp_path: Path) -> None:
    out = _run(
        "journal.py",
        *("--events", "1500", "--appends", "10", "--batch", "10"),
        *("--dir", str(tmp_path / "scratch"), "--markdown", "docs/journal.md"),
        cwd=tmp_path,
    )
    text = (tmp_path / "docs" / "journal.md").read_text(encoding="utf-8")
    assert "--dir DIR --markdown docs/journal.md" in text
    assert str(tmp_path) not in text
    assert "durable append throughput" in text.lower()
    row = next(line for line in out.splitlines() if line.lstrip().startswith("1500 "))
    assert row in text  # the replay table's row, as printed


def test_the_scale_benchmark_writes_the_curve_it_prints(tmp_path: Path) -> None:
    out = _run(
        "scale.py",
        *("--sizes", "12", "--repeats", "1", "--seeds", "0", "--markdown", "scale.md"),
        cwd=tmp_path,
    )
    text = (tmp_path / "scale.md").read_text(encoding="utf-8")
    assert "benchmarks/scale.py --sizes 12 --repeats 1 --seeds 0 --markdown scale.md" in text
    row = next(line for line in out.splitlines() if line.split()[:1] == ["12"])
    assert row in text
    assert "botorch" in text
