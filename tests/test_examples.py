"""Every example in examples/ runs."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path: Path) -> None:
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_ask_tell_example_improves_on_its_first_design() -> None:
    module = runpy.run_path(str(EXAMPLES[0]))
    assert module["main"](8) < 20.0  # Branin's range is about [0.4, 308]
